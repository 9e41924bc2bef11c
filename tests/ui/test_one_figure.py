"""One figure everywhere: a position's liquidation price and the account's joint move read
the same in the table, the header, the banner, the warnings, the scenario panel at 0 % and
on the chart, from one poll's report, and move together on the next poll.

The account is the demo's (3 BTC and 8 ETH long, cross, 27,000 USDT) near its liquidation;
its warnings come from the real policy (``alerts.evaluate``) through the real warning
lifecycle (``monitor.alerts.AlertManager``) into the window's bridge, as the monitor sends
them. Binance's own BTC figure differs from ours by 1 %: it is shown beside ours, marked."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument

import alerts
import formatting as fmt
from alerts.state import AccountState, MarketState
from alerts.thresholds import Thresholds
from alerts.vocabulary import MARKET_RULES
from monitor.alerts import AlertManager
from monitor.events import AccountStatus, AccountUpdate, LiveMark, MarketUpdate, MarkSource
from resources import default_tiers, move_model
from risk.report import AccountReport, build_report
from risk.types import Account, Figure, MarginTier, Position, Side, Source
from storage.database import Database
from storage.records import AccountRecord
from tests.ui.ui_feed import feed_backend, history_candles
from ui.app import App
from ui.positions_model import COLUMNS, Row

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
BETAS = {BTC: 1.0, ETH: 1.51}
ACCOUNT_ID = 1
"""The first account stored in the test's database."""


def demo_account(btc: float, eth: float, now_ms: int) -> Account:
    """resources/scenarios/2025-11-04.json's demo account at these marks; Binance's own BTC
    liquidation price 1 % above ours (a stale or differently rounded exchange figure)."""
    plain = Account(
        "binanceusdm",
        27_000.0,
        (
            Position(BTC, Side.LONG, 3.0, 109_000.0, btc, default_tiers("binanceusdm", "BTC")),
            Position(ETH, Side.LONG, 8.0, 3_850.0, eth, default_tiers("binanceusdm", "ETH")),
        ),
        as_of_ms=now_ms,
        label="Demo Binance",
    )
    ours = build_report(plain, betas=BETAS).positions[0].liquidation_price
    assert ours is not None
    theirs = Figure(ours.value * 1.01, Source.EXCHANGE, now_ms)
    btc_pos = Position(**{**_fields(plain.positions[0]), "exchange_liquidation_price": theirs})
    return Account(
        plain.exchange,
        plain.wallet_balance,
        (btc_pos, plain.positions[1]),
        as_of_ms=now_ms,
        label=plain.label,
    )


def _fields(p: Position) -> dict[str, object]:
    return {name: getattr(p, name) for name in Position.__dataclass_fields__}


def plain_text(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText().replace("\xa0", " ")


@pytest.fixture
def app(qapp: object, tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path, crash_dialog=False, backend_factory=feed_backend())
    a.window.resize(1560, 960)
    a.window.show()  # the feed is not started: only the polls below reach the window
    yield a
    a.shutdown()
    a.window.deleteLater()


SIGMA_HOURLY = {BTC: 0.006, ETH: 0.008}
THRESHOLDS = Thresholds(fixed_percent=True)
"""The chance-of-liquidation warning and, switched on, the fixed-% distance and joint-move
ones: every warning that prints these figures."""


def poll(app: App, lifecycle: AlertManager, btc: float, eth: float, now_ms: int) -> AccountReport:
    """What monitor.jobs.Jobs.poll_account does with one read: report it (as
    Jobs.build_report does), then evaluate."""
    account = demo_account(btc, eth, now_ms)
    report = build_report(account, betas=BETAS, moves=move_model(), sigma_hourly=SIGMA_HOURLY)
    app.bridge.on_account(
        AccountUpdate(ACCOUNT_ID, account.label, "binanceusdm", True, account, report,
                      AccountStatus.OK, None, None, now_ms, 0, 15_000)
    )  # fmt: skip
    state = AccountState(ACCOUNT_ID, account, report)
    active = lifecycle.active_keys(ACCOUNT_ID)
    conds = alerts.evaluate(state, MarketState(), THRESHOLDS, active, now_ms)
    lifecycle.update(ACCOUNT_ID, conds, MARKET_RULES, now_ms, set(account.symbols))
    return report


def cell(app: App, symbol: str, title: str) -> str:
    proxy = app.window.proxy
    col = [c.title for c in COLUMNS].index(title)
    sym = [c.title for c in COLUMNS].index("Symbol")
    row = next(r for r in range(proxy.rowCount()) if proxy.index(r, sym).data() == symbol)
    return str(proxy.index(row, col).data())


def test_every_panel_shows_the_same_figures_and_follows_each_poll(
    app: App, db: Database, qtbot
) -> None:
    window = app.window
    stored = db.accounts.add(AccountRecord("binanceusdm", "Demo Binance", is_demo=True))
    assert stored.id == ACCOUNT_ID
    lifecycle = AlertManager(db.warnings, app.bridge.on_warning, update_every_ms=0)
    for symbol, price in ((BTC, 106_000.0), (ETH, 3_550.0)):
        bars = history_candles(symbol, 1_762_249_940_000, 600, price)
        app.bridge.on_market(MarketUpdate(symbol, 1_762_249_990_000, bars, None, None, None))
    poll(app, lifecycle, 106_058.2, 3_554.94, 1_762_250_000_000)
    qtbot.waitUntil(lambda: window.banner.isVisible() and window.proxy.rowCount() == 2)
    chart = window.chart
    chart.set_symbol(BTC)
    first_banner = window.banner.text()

    report = poll(app, lifecycle, 105_420.0, 3_520.10, 1_762_250_002_000)
    btc, eth = report.positions
    ours = btc.liquidation_price.value
    theirs = btc.exchange_liquidation_price.value
    jm = report.joint_move
    assert jm is not None and jm.nearest is not None and btc.mismatch is not None
    joint_price = fmt.price(btc.mark_price * (1 + jm.nearest))  # the engine's: mark × (1 + r)
    joint_pct = fmt.pct(jm.nearest)
    eth_at_joint = fmt.price(eth.mark_price * (1 + BETAS[ETH] * jm.nearest))
    btc_liq = f"{fmt.price(ours)} ≠ exch. {fmt.price(theirs)}"
    assert report.odds is not None
    p24 = fmt.pct(report.odds.p24, signed=False, decimals=0)
    eth_liq = fmt.price(eth.liquidation_price.value)
    # one redraw shows the poll everywhere: from here on nothing is waited for
    qtbot.waitUntil(lambda: cell(app, "BTC/USDT", "Mark") == fmt.price(105_420.0))

    # the table: our figure first, the exchange's beside it, marked; the joint move per row
    assert cell(app, "BTC/USDT", "Liq. price") == btc_liq
    assert cell(app, "ETH/USDT", "Liq. price") == eth_liq
    assert cell(app, "BTC/USDT", "Joint liq.") == f"{joint_price} at BTC {joint_pct}"
    assert cell(app, "ETH/USDT", "Joint liq.") == f"{eth_at_joint} at BTC {joint_pct}"
    assert cell(app, "BTC/USDT", "P 24 h") == cell(app, "ETH/USDT", "P 24 h") == p24

    # the header: the engine's joint move and the leader's price at it, from the same report
    header = plain_text(window.summary.text())
    assert f"liquidated if BTC moves {joint_pct} (at {joint_price})" in header

    # the scenario panel at 0 %: the table's cells and the header's joint move
    panel = window.scenario
    assert panel.leader_move == 0.0
    on_panel = {panel.table.item(r, 1).text(): panel.table.item(r, 3).text() for r in range(2)}
    assert on_panel == {"BTC long": btc_liq, "ETH long": eth_liq}
    summary = plain_text(panel.summary.text())
    assert f"BTC moves {joint_pct} (at {joint_price}) from here" in summary
    assert f"a {p24} chance within 24 h" in summary

    # the chart: a line at our price labelled as the table reads, and the joint move's line
    labels = chart.label_texts()
    assert f"LIQ DEMO long  {btc_liq}" in labels
    assert f"LIQ DEMO whole account  {joint_price} at BTC {joint_pct} · P(24 h) {p24}" in labels
    assert chart.mark_label.text().endswith(fmt.price(105_420.0))
    assert any(math.isclose(p, ours) for p, *_ in chart._liq_lines)

    # the warnings: the joint-move and distance warnings print the same figures, in the
    # panel and in the banner, which follows the current message of the warning it shows
    messages = [w.message for w in window.warnings.active.values()]
    assert any(f"BTC {joint_pct} (at BTC {joint_price})" in m for m in messages)
    assert any(f"liquidation at {fmt.price(ours)}" in m for m in messages)
    # the chance-of-liquidation warning names the same move; it prints the price in whole
    # units through its own helper (alerts.probability_rule.whole, not formatting.price)
    chance = [m for m in messages if "In the current volatility" in m]
    whole = f"{btc.mark_price * (1 + jm.nearest):,.0f}"
    assert chance and all(f"BTC {joint_pct} (at {whole})" in m for m in chance), chance
    table = window.warnings.active_table
    on_table = {table.item(r, 1).text() for r in range(table.rowCount())}
    assert set(messages) <= on_table
    assert window._banner_key is not None
    shown = window.warnings.active[window._banner_key]
    assert shown.message in window.banner.text() and window.banner.text() != first_banner

    # ETH's chart: its price at the joint move; its own liquidation (−41 %) is off the chart,
    # its line kept with the table's text
    chart.set_symbol(ETH)
    qtbot.waitUntil(lambda: any(eth_at_joint in t for t in chart.label_texts()))
    assert f"LIQ DEMO long  {eth_liq}" in [line.text for line in chart._liq_lines]


def test_a_cross_row_shows_its_own_price_and_the_joint_move_each_in_its_colour(
    app: App, qtbot
) -> None:
    """An ETH long far from its own liquidation price still dies when BTC's fall liquidates
    the shared account: its own distance is painted calm, the joint move beside it red."""
    from ui import theme

    tier = (MarginTier(0, math.inf, 0.005),)
    btc = Position(BTC, Side.LONG, 3, 109_000, 104_000, tier)
    eth = Position(ETH, Side.LONG, 8, 3_850, 3_400, tier)
    account = Account("binanceusdm", 27_000, (btc, eth), label="Demo")
    report = build_report(account)
    assert abs(report.positions[1].distance) > 0.2
    assert report.joint_move is not None and abs(report.joint_move.nearest) < 0.05
    app.bridge.on_account(
        AccountUpdate(1, "Demo", "binanceusdm", True, account, report,
                      AccountStatus.OK, None, None, 0, 0, 15_000)
    )  # fmt: skip
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 2)
    model = app.window.model
    eth_row = next(i for i, r in enumerate(model.rows) if r.position.symbol == ETH)
    titles = [c.title for c in COLUMNS]

    def colour(title: str) -> str:
        index = model.index(eth_row, titles.index(title))
        return model.data(index, Qt.ItemDataRole.ForegroundRole).color().name()

    t = theme.current()
    assert colour("Distance") == t.calm
    assert colour("Joint liq.") == t.red
    assert isinstance(model.rows[eth_row], Row)


def test_the_chart_moves_with_a_stream_mark_newer_than_the_market_read(
    app: App, db: Database, qtbot
) -> None:
    """With streams the account's marks arrive between its reads: the chart's last price is
    the stream's mark (newer than the market's last refresh), as the table's is, not the
    market refresh's older one."""
    window = app.window
    db.accounts.add(AccountRecord("binanceusdm", "Demo Binance", is_demo=True))
    read_ms = 1_762_250_000_000
    bars = history_candles(BTC, read_ms - 60_000, 600, 106_000.0)
    account = demo_account(106_058.2, 3_554.94, read_ms)
    report = build_report(account, betas=BETAS)

    def update(marks: tuple[LiveMark, ...]) -> AccountUpdate:
        return AccountUpdate(ACCOUNT_ID, account.label, "binanceusdm", True, account, report,
                             AccountStatus.OK, None, None, read_ms, 0, 15_000,
                             marks=marks)  # fmt: skip

    app.bridge.on_account(update(()))
    window.chart.set_symbol(BTC)
    # the market refresh, read 3 s after the account: its mark is newer than that read
    app.bridge.on_market(MarketUpdate(BTC, read_ms + 3_000, bars, None, None, None, mark=105_111.0))
    qtbot.waitUntil(lambda: window.chart.mark_label.text().endswith(fmt.price(105_111.0)))
    # the stream's BTC mark, heard 4 s after the read: the report was rebuilt at it
    streamed = demo_account(104_900.0, 3_554.94, read_ms)
    report = build_report(streamed, betas=BETAS)
    account = streamed
    app.bridge.on_account(
        update((LiveMark(BTC, 104_900.0, MarkSource.STREAM, read_ms + 4_000),
                LiveMark(ETH, 3_554.94, MarkSource.POLL, read_ms)))
    )  # fmt: skip
    qtbot.waitUntil(lambda: window.chart.mark_label.text().endswith(fmt.price(104_900.0)))
    assert cell(app, "BTC/USDT", "Mark") == fmt.price(104_900.0)
