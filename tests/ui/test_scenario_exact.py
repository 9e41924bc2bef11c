"""The scenario panel at 0 % shows exactly the table's liquidation prices and the engine's
joint move, on an account whose tiers matter: the demo account scaled ×40 (its BTC notional
is far past the first maintenance tier), fed through the monitor's bridge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import formatting as fmt
from monitor.events import AccountStatus, AccountUpdate, MarketUpdate
from resources import default_tiers
from risk.report import build_report, default_leader
from risk.types import Account, Position, Side
from tests.ui.ui_feed import feed_backend
from ui.app import App
from ui.positions_model import COLUMNS
from ui.scenario_panel import shifted

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
BETAS = {BTC: 1.0, ETH: 1.3}
SCALE = 40


def demo_x40() -> Account:
    """resources/scenarios/2025-11-04.json's demo account ×40, BTC at 118,000."""
    btc, eth = 118_000.0, 3_850.0 * (1 + 1.3 * (118_000.0 / 109_000.0 - 1))
    return Account(
        "binanceusdm",
        27_000.0 * SCALE,
        (
            Position(
                BTC, Side.LONG, 3.0 * SCALE, 109_000.0, btc, default_tiers("binanceusdm", "BTC")
            ),
            Position(
                ETH, Side.LONG, 8.0 * SCALE, 3_850.0, eth, default_tiers("binanceusdm", "ETH")
            ),
        ),
        label="Demo ×40",
    )


@pytest.fixture
def app(qapp: object, tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path, crash_dialog=False, backend_factory=feed_backend())
    a.window.show()  # the feed is not started: only the update below reaches the window
    yield a
    a.shutdown()
    a.window.deleteLater()


def test_the_panel_at_zero_matches_the_table_and_the_engine(app: App, qtbot) -> None:
    account = demo_x40()
    btc = account.positions[0]
    assert btc.notional() > btc.tiers[0].max_bound * 10, "the tiers past the first must matter"
    report = build_report(account, leader=default_leader(account), betas=BETAS)
    for symbol, beta in BETAS.items():
        app.bridge.on_market(MarketUpdate(symbol, 0, None, None, None, None, {symbol: beta}))
    app.bridge.on_account(
        AccountUpdate(7, "Demo ×40", "binanceusdm", True, account, report,
                      AccountStatus.OK, None, None, 0, 0, 15_000)
    )  # fmt: skip
    window, panel = app.window, app.window.scenario
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 2 and panel.table.rowCount() == 2)
    assert panel.leader_move == 0.0

    liq_col = [c.title for c in COLUMNS].index("Liq. price")
    symbol_col = [c.title for c in COLUMNS].index("Symbol")
    table = {
        window.proxy.index(r, symbol_col).data(): window.proxy.index(r, liq_col).data()
        for r in range(2)
    }
    on_panel = {panel.table.item(r, 1).text(): panel.table.item(r, 3).text() for r in range(2)}
    expected = {
        p.symbol: fmt.price(p.shown_liquidation_price.value if p.shown_liquidation_price else None)
        for p in report.positions
    }
    assert table == {"BTC/USDT": expected[BTC], "ETH/USDT": expected[ETH]}
    assert on_panel == {"BTC long": expected[BTC], "ETH long": expected[ETH]}

    jm = report.joint_move
    assert jm is not None and jm.nearest is not None
    assert f"BTC moves <b>{fmt.pct(jm.nearest)}</b>" in panel.summary.text()
    assert fmt.pct(jm.nearest) in window.summary.text()
    shown = panel.last_reports[7]
    assert shown.joint_move is not None and shown.joint_move.nearest == jm.nearest
    assert [p.shown_liquidation_price for p in shown.positions] == [
        p.shown_liquidation_price for p in report.positions
    ]
    # off 0 the panel recomputes with the betas the joint move was solved with: the recompute
    # at 0 is the engine's report exactly, so leaving 0 moves the figures smoothly
    assert panel.effective_betas() == BETAS
    again = build_report(shifted(account, BTC, panel.effective_betas(), 0.0), betas=BETAS)
    assert again.joint_move == jm
    assert [p.liquidation_price for p in again.positions] == [
        p.liquidation_price for p in report.positions
    ]
    panel.slider.setValue(-1)
    assert panel.last_reports[7].joint_move.nearest > jm.nearest  # half a percent used up
    panel.slider.setValue(0)
    assert panel.last_reports[7] is report


def coin_margined() -> Account:
    """A COIN-M BTCUSD long margined in BTC beside a USDT BTC long (two pools)."""
    from risk.types import Collateral, ContractType

    return Account(
        "binanceusdm",
        15_000.0,
        (
            Position(BTC, Side.LONG, 0.4, 99_000.0, 100_000.0, default_tiers("binanceusdm", "BTC")),
            Position(
                "BTC/USD:BTC",
                Side.LONG,
                600,
                101_000.0,
                100_000.0,
                default_tiers("binanceusdm", "BTC", ContractType.INVERSE),
                contract_size=100,
                contract_type=ContractType.INVERSE,
            ),
        ),
        collateral=(Collateral("BTC", 0.35, 100_000.0),),
        label="Coin",
    )


def test_the_slider_moves_coin_margined_positions_and_their_coin(app: App, qtbot) -> None:
    """Pressing the slider down 10 % moves the inverse contract and the BTC that margins it:
    the panel shows what build_report says of the moved account, pool by pool."""
    from PySide6.QtCore import Qt

    from ui.scenario_panel import STEPS_PER_PCT, shifted

    account = coin_margined()
    report = build_report(account, leader=BTC, betas={})
    app.bridge.on_account(
        AccountUpdate(
            9,
            "Coin",
            "binanceusdm",
            False,
            account,
            report,
            AccountStatus.OK,
            None,
            None,
            0,
            0,
            15_000,
        )
    )
    panel = app.window.scenario
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2)
    panel.slider.setFocus()
    for _ in range(10 * STEPS_PER_PCT):
        qtbot.keyClick(panel.slider, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: panel.leader_move == pytest.approx(-0.10))
    moved = shifted(account, panel.leader, {}, -0.10)
    assert moved.collateral[0].price == pytest.approx(90_000.0)
    want = build_report(moved, leader=panel.leader, betas={})
    shown = panel.last_reports[9]
    assert [p.shown_liquidation_price for p in shown.positions] == [
        p.shown_liquidation_price for p in want.positions
    ]
    now = build_report(account, leader=panel.leader, betas={})
    assert f"{fmt.money(want.equity - now.equity, True)} vs now" in panel.summary.text()
