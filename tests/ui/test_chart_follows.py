"""The chart follows the market of the symbol it shows whether or not a position is open, a
closed or liquidated position leaves every panel, and the bar-length menu offers what works
(the real monitor on the local exchange serves 1m to 1d)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QMenu

import formatting as fmt
from monitor.events import CHART_TIMEFRAMES, AccountStatus, AccountUpdate, MarketUpdate, Watch
from resources import default_tiers
from risk.report import build_report
from risk.types import Account, Candles, Position, Side
from tests.ui.ui_feed import FeedBackend, feed_backend, history_candles, hourly_candles
from ui.app import App
from ui.main_window import MainWindow

BTC, ETH, SOL = "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"
T0 = 1_762_250_000_000
WAIT_MS = 20_000


def account(btc: float, eth: float, now_ms: int, held: bool = True) -> AccountUpdate:
    positions = (
        (
            Position(BTC, Side.LONG, 3.0, 109_000.0, btc, default_tiers("binanceusdm", "BTC")),
            Position(ETH, Side.LONG, 8.0, 3_850.0, eth, default_tiers("binanceusdm", "ETH")),
        )
        if held
        else ()
    )
    acc = Account("binanceusdm", 27_000.0 if held else 0.0, positions, as_of_ms=now_ms)
    report = build_report(acc)
    return AccountUpdate(
        1, "Demo", "binanceusdm", True, acc, report, AccountStatus.OK, None, None, now_ms, 0, 15_000
    )


def hourly(symbol: str, close: float, end_ms: int) -> Candles:
    return hourly_candles(symbol, end_ms - end_ms % 3_600_000, close)


def menu_of(window: MainWindow, title: str) -> QMenu:
    for action in window.menuBar().actions():
        if action.text().replace("&", "") == title:
            menu = action.menu()
            assert isinstance(menu, QMenu)
            return menu
    raise AssertionError(f"no {title} menu")


def timeframe_menu(window: MainWindow) -> QMenu:
    view = menu_of(window, "View")
    sub = next(a.menu() for a in view.actions() if a.text().replace("&", "") == "Timeframe")
    assert isinstance(sub, QMenu)
    sub.aboutToShow.emit()  # what Qt sends as the menu opens
    return sub


def offered(menu: QMenu) -> list[str]:
    """The bar lengths the menu shows."""
    return [a.text() for a in menu.actions() if a.isVisible()]


def choose(menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text and a.isVisible())
    action.trigger()


@pytest.fixture
def quiet_app(qapp: object, tmp_path: Path) -> Iterator[App]:
    """The window on a feed that is never started: only the updates a test sends arrive."""
    a = App(tmp_path, crash_dialog=False, backend_factory=feed_backend())
    a.window.resize(1280, 720)
    a.window.show()
    yield a
    a.shutdown()
    a.window.deleteLater()


def test_a_liquidated_position_leaves_every_panel_and_the_chart_follows_the_market(
    quiet_app: App, qtbot
) -> None:
    window, bridge, chart = quiet_app.window, quiet_app.bridge, quiet_app.window.chart
    bridge.on_market(MarketUpdate(BTC, T0, hourly(BTC, 104_500.0, T0), None, None, None))
    bridge.on_account(account(104_000.0, 3_500.0, T0 + 1_000))
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 2 and window.scenario.table.rowCount() == 2)
    chart.set_symbol(BTC)
    # a mark read after the candles moves the last bar
    qtbot.waitUntil(lambda: chart.mark_label.text().endswith(fmt.price(104_000.0)))
    assert any(t.startswith("LIQ") for t in chart.label_texts())

    # the exchange liquidated the account: it holds nothing any more
    bridge.on_account(account(102_000.0, 3_420.0, T0 + 2_000, held=False))
    bridge.on_market(MarketUpdate(BTC, T0 + 3_000, hourly(BTC, 101_234.5, T0), None, None, None))
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 0)
    qtbot.waitUntil(lambda: chart.mark_label.text().endswith(fmt.price(101_234.5)))
    assert window.scenario.table.rowCount() == 0
    assert "No open positions" in window.scenario.summary.text()
    assert not chart._liq_lines
    qtbot.waitUntil(lambda: not any(t.startswith("LIQ") for t in chart.label_texts()))
    assert "liquidated if" not in window.summary.text()


def test_candles_newer_than_a_stale_mark_win(quiet_app: App, qtbot) -> None:
    """An account whose polls fail keeps its last mark; the market moved on since."""
    window, bridge, chart = quiet_app.window, quiet_app.bridge, quiet_app.window.chart
    bridge.on_account(account(104_000.0, 3_500.0, T0))
    bridge.on_market(MarketUpdate(BTC, T0 + 60_000, hourly(BTC, 103_000.0, T0), None, None, None))
    chart.set_symbol(BTC)
    qtbot.waitUntil(lambda: window.proxy.rowCount() == 2)
    qtbot.waitUntil(lambda: chart.mark_label.text().endswith(fmt.price(103_000.0)))
    assert float(chart.candles.c[-1]) == 103_000.0


def test_the_menu_offers_what_works_and_the_monitor_is_told_what_is_shown(
    quiet_app: App, qtbot
) -> None:
    window, bridge, chart = quiet_app.window, quiet_app.bridge, quiet_app.window.chart
    backend = quiet_app.backend
    assert isinstance(backend, FeedBackend)
    # only 1h bars (no bar length the monitor can fetch): 1h, and 4h and 1d resampled
    bridge.on_market(MarketUpdate(SOL, T0, hourly(SOL, 160.0, T0), None, None, None))
    qtbot.waitUntil(lambda: chart.symbol == SOL)
    assert offered(timeframe_menu(window)) == ["1h", "4h", "1d"]
    choose(timeframe_menu(window), "4h")
    assert chart.bar_seconds == 14_400
    assert set(np.diff(chart.candles.x[-20:])) == {14_400.0}
    qtbot.waitUntil(lambda: backend.watched == Watch(frozenset({SOL, BTC}), SOL, "4h"))

    # a symbol the monitor fetches at any bar length: the whole menu, the bars it sends
    minutes = history_candles(ETH, T0, 3_000, 3_500.0)
    bridge.on_market(
        MarketUpdate(
            ETH,
            T0,
            hourly(ETH, 3_500.0, T0),
            None,
            None,
            None,
            series={"1m": minutes},
            timeframes=CHART_TIMEFRAMES,
        )
    )
    box = chart.symbol_box
    qtbot.waitUntil(lambda: box.findText(ETH) >= 0)
    box.setCurrentIndex(box.findText(ETH))  # as the user picks it from the list
    assert chart.symbol == ETH
    assert offered(timeframe_menu(window)) == list(CHART_TIMEFRAMES)
    choose(timeframe_menu(window), "15m")
    qtbot.waitUntil(lambda: backend.watched == Watch(frozenset({ETH, BTC}), ETH, "15m"))
    assert chart.bar_seconds == 900
    assert set(np.diff(chart.candles.x[-20:])) == {900.0}  # resampled from the 1m bars
    checked = [a.text() for a in timeframe_menu(window).actions() if a.isChecked()]
    assert checked == ["15m"]


def test_the_demo_monitor_serves_every_bar_length_the_menu_offers(
    qapp: object, tmp_path: Path, qtbot
) -> None:
    """The real monitor on the local exchange: the chart's own bar length is fetched."""
    app = App(tmp_path, speed=60.0, crash_dialog=False)
    try:
        app.window.resize(1280, 720)
        app.start()
        chart = app.window.chart
        qtbot.waitUntil(
            lambda: chart.symbol is not None and len(chart.candles.x) > 100, timeout=60_000
        )
        assert offered(timeframe_menu(app.window)) == list(CHART_TIMEFRAMES)
        for tf, seconds in (("5m", 300.0), ("1m", 60.0), ("1d", 86_400.0)):
            choose(timeframe_menu(app.window), tf)

            def shown(tf: str = tf, seconds: float = seconds) -> bool:
                steps = set(np.diff(chart.candles.x[-20:]))
                return chart.timeframe == tf and not chart.note.text() and steps == {seconds}

            qtbot.waitUntil(shown, timeout=60_000)
    finally:
        app.shutdown()
        app.window.deleteLater()
