"""The main window driven by the scripted demo feed (fast, deterministic, no network)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

import formatting as fmt
from settings.registry import DISTANCE_WARNING, POLL_INTERVAL_S, SOUND, THEME
from tests.ui.ui_feed import feed_backend
from ui.app import App
from ui.ports import Preferences, UserEvent
from ui.positions_model import COLUMNS

FOMC_MS = 1_796_929_200_000  # 2026-12-10 19:00 UTC

WAIT_MS = 20_000


def cell(app: App, row: int, title: str) -> str:
    col = [c.title for c in COLUMNS].index(title)
    return str(app.window.proxy.index(row, col).data())


def test_table_fills_with_demo_positions(app: App, qtbot) -> None:
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 3, timeout=WAIT_MS)
    accounts = {cell(app, r, "Account") for r in range(3)}
    assert all(a.startswith("DEMO") for a in accounts)
    symbols = {cell(app, r, "Symbol") for r in range(3)}
    assert symbols == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    assert all(cell(app, r, "Distance").endswith("%") for r in range(3))
    assert "DEMO" in app.window.summary.text()


def test_the_chance_of_liquidation_sits_beside_the_distance_from_the_report(
    app: App, qtbot
) -> None:
    """One computation: the table, the chart's joint-move line and the scenario panel read the
    report's own chance of liquidation."""
    chart = app.window.chart
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 3, timeout=WAIT_MS)
    chart.symbol_box.setCurrentText("BTC/USDT:USDT")
    qtbot.waitUntil(lambda: any("P(24 h)" in text for text in chart.label_texts()), timeout=WAIT_MS)
    app.backend.stop(3.0)  # freeze the feed
    qtbot.wait(300)  # the last update's redraw (12 Hz)
    titles = [c.title for c in COLUMNS]
    assert titles.index("P 24 h") == titles.index("Distance") + 1
    row = app.window.model.rows[0]
    odds = row.account.odds
    assert odds is not None
    shown = fmt.pct(odds.p24, signed=False, decimals=0)
    assert {cell(app, r, "P 24 h") for r in range(3)} == {shown}
    drawn = chart.label_texts()
    assert any(f"P(24 h) {shown}" in text for text in drawn), drawn
    panel = app.window.scenario
    panel.set_move(0.0)
    assert f"{shown}</b> chance within 24 h" in panel.summary.text()
    panel.set_move(-0.01)  # a fall brings the liquidation nearer: the chance rises
    moved = next(iter(panel.last_reports.values())).odds
    assert moved is not None and moved.p24 > odds.p24


def test_sorting_by_distance_puts_the_nearest_first(app: App, qtbot) -> None:
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 3, timeout=WAIT_MS)
    col = [c.title for c in COLUMNS].index("Distance")
    app.window.table.sortByColumn(col, Qt.SortOrder.AscendingOrder)
    values = [abs(float(cell(app, r, "Distance").replace("−", "-").rstrip(" %"))) for r in range(3)]
    assert values == sorted(values)


def test_a_warning_reaches_the_panel_and_the_banner(app: App, qtbot) -> None:
    with qtbot.waitSignal(app.window.sigWarningShown, timeout=WAIT_MS):
        pass
    assert app.window.warnings.active
    # the panel redraws once per burst of events, within REFRESH_MS
    qtbot.waitUntil(lambda: app.window.warnings.active_table.rowCount() >= 1, timeout=WAIT_MS)
    assert app.window.banner.isVisible()
    assert "liquidates" in app.window.banner.text() or "broke" in app.window.banner.text()


def test_acknowledge_goes_to_the_service_and_back(app: App, qtbot) -> None:
    with qtbot.waitSignal(app.window.sigWarningShown, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(lambda: app.window.warnings.selected_key() is not None, timeout=WAIT_MS)
    key = app.window.warnings.selected_key()
    assert key
    app.window.warnings.ack_button.click()
    history = app.window.warnings.history
    qtbot.waitUntil(lambda: any(row.change == "acknowledged" for row in history), timeout=WAIT_MS)


def test_scenario_slider_changes_the_figures(app: App, qtbot) -> None:
    panel = app.window.scenario
    qtbot.waitUntil(lambda: bool(panel.accounts), timeout=WAIT_MS)
    app.backend.stop(3.0)  # freeze the feed so only the slider moves the figures
    panel.set_move(0.0)
    before = next(iter(panel.last_reports.values()))
    panel.set_move(-0.10)
    after = next(iter(panel.last_reports.values()))
    assert after.equity < before.equity
    assert after.margin_ratio > before.margin_ratio
    assert "−10.0 %" in panel.move_label.text()
    panel.set_move(-0.30)
    assert "LIQUIDATED" in panel.summary.text()
    panel.set_move(+0.05)
    assert next(iter(panel.last_reports.values())).equity > before.equity


def test_beta_edit_moves_the_followers(app: App, qtbot) -> None:
    panel = app.window.scenario
    qtbot.waitUntil(
        lambda: panel.beta_table.rowCount() >= 2 and bool(panel.accounts), timeout=WAIT_MS
    )
    app.backend.stop(3.0)
    panel.set_move(-0.05)
    eth = next(
        r for r in range(panel.beta_table.rowCount()) if panel.beta_table.item(r, 0).text() == "ETH"
    )
    equity_before = next(iter(panel.last_reports.values())).equity
    panel.beta_table.item(eth, 1).setText("3.0")
    assert panel.user_betas["ETH/USDT:USDT"] == 3.0
    assert next(iter(panel.last_reports.values())).equity < equity_before


def test_status_bar_shows_each_account(app: App, qtbot) -> None:
    qtbot.waitUntil(lambda: bool(app.window.status_labels), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: "connected" in next(iter(app.window.status_labels.values())).text(),
        timeout=WAIT_MS,
    )


def test_chart_follows_the_selected_symbol(app: App, qtbot) -> None:
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 3, timeout=WAIT_MS)
    chart = app.window.chart
    qtbot.waitUntil(lambda: len(chart.candles.x) > 100, timeout=WAIT_MS)
    eth_row = next(r for r in range(3) if cell(app, r, "Symbol") == "ETH/USDT")
    app.window.table.selectRow(eth_row)
    assert chart.symbol == "ETH/USDT:USDT"
    qtbot.waitUntil(lambda: any("LIQ" in line.text for line in chart._liq_lines), timeout=WAIT_MS)
    chart.set_timeframe("15m")
    qtbot.waitUntil(lambda: chart.bar_seconds == 900, timeout=WAIT_MS)


def test_settings_and_layout_persist_across_a_restart(qapp: object, tmp_path: Path, qtbot) -> None:
    first = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    first.start()
    qtbot.waitUntil(lambda: first.window.proxy.rowCount() == 3, timeout=WAIT_MS)
    values = first.window.prefs.values.replace(
        {DISTANCE_WARNING.key: 0.125, SOUND.key: False, POLL_INTERVAL_S.key: 30}
    )
    first.window.apply_preferences(Preferences(values, (UserEvent(FOMC_MS, "FOMC"),)))
    first.window.chart.set_symbol("SOL/USDT:USDT")
    first.window.chart.set_timeframe("5m")
    first.window.resize(780, 600)  # the offscreen screen is small: keep within it
    first.window.splitters["middle"].setSizes([400, 300])
    saved_middle = first.window.splitters["middle"].saveState()
    first.shutdown()
    first.window.deleteLater()

    second = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    try:
        qtbot.waitUntil(lambda: second.window.prefs.events != (), timeout=WAIT_MS)
        v = second.window.prefs.values
        assert (v.get(DISTANCE_WARNING), v.get(SOUND), v.get(POLL_INTERVAL_S)) == (0.125, False, 30)
        assert second.window.prefs.events == (UserEvent(FOMC_MS, "FOMC"),)
        assert second.window.model.amber == 0.125
        assert second.window.chart.symbol == "SOL/USDT:USDT"
        assert second.window.chart.timeframe == "5m"
        assert second.window.size().height() == 600
        assert second.window_state.get_bytes("window/splitter_middle") == saved_middle
        assert second.window.splitters["middle"].saveState() == saved_middle
    finally:
        second.shutdown()
        second.window.deleteLater()


def test_preferences_an_earlier_version_kept_in_ui_ini_move_to_the_database_once(
    qapp: object, tmp_path: Path, qtbot
) -> None:
    from PySide6.QtCore import QSettings

    old = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    for key, value in {
        "prefs/amber_pct": "12.5",
        "prefs/sound": "false",
        "prefs/account_poll_s": "30",
        "prefs/theme": "light",
        "prefs/stale_after_s": "90",
        "prefs/events": '[{"when": "2026-12-10 19:00", "name": "FOMC"}]',
    }.items():
        old.setValue(key, value)
    old.sync()
    app = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    try:
        assert app.window_state.theme_hint() == "light"
        qtbot.waitUntil(lambda: app.window.prefs.events != (), timeout=WAIT_MS)
        v = app.window.prefs.values
        assert (v.get(DISTANCE_WARNING), v.get(SOUND), v.get(POLL_INTERVAL_S)) == (0.125, False, 30)
        assert v.get(THEME) == "light"
        assert app.window.prefs.events == (UserEvent(FOMC_MS, "FOMC"),)
        assert not [k for k in app.window_state.qs.allKeys() if k.startswith("prefs/")]
    finally:
        app.shutdown()
        app.window.deleteLater()
