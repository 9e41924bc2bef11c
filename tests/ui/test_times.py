"""Times in the user's time zone (a setting; UTC in the tooltip), the event calendar included,
and the demo's scenario clock: what it replays, where it stands, at what pace."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QDialogButtonBox, QMenu

import formatting as fmt
from settings.registry import TIME_ZONE
from tests.ui.ui_feed import feed_backend
from ui.app import App
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog

WAIT_MS = 30_000
FOMC_UTC_MS = 1_796_929_200_000  # 2026-12-10 19:00 UTC, 2026-12-11 04:00 in Tokyo


@pytest.fixture(autouse=True)
def utc_after() -> Iterator[None]:
    yield
    fmt.set_display_zone("UTC")  # the display zone is the process's: leave it as found


def menu_action(window: MainWindow, *path: str) -> Callable[[], None]:
    """The trigger of the menu item at ``path`` (menu titles, then the item's text)."""
    menu: QMenu | None = None
    actions = window.menuBar().actions()
    for i, title in enumerate(path):
        action = next(a for a in actions if a.text().replace("&", "") == title)
        if i == len(path) - 1:
            return action.trigger
        menu = action.menu()
        assert isinstance(menu, QMenu)
        menu.aboutToShow.emit()
        actions = menu.actions()
    raise AssertionError(path)


def in_settings(qtbot, act: Callable[[SettingsDialog], None]) -> None:
    """Run ``act`` on the settings dialog once it is open, then press OK."""

    def handle() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, SettingsDialog):
            QTimer.singleShot(50, handle)
            return
        act(dlg)
        box = dlg.findChild(QDialogButtonBox)
        assert box is not None
        ok = box.button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(50, handle)


def test_times_follow_the_time_zone_setting(qapp: object, tmp_path: Path, qtbot) -> None:
    app = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    window = app.window
    try:
        window.resize(1280, 720)
        app.start()
        qtbot.waitUntil(lambda: window.warnings.active_table.rowCount() >= 1, timeout=WAIT_MS)

        def choose_tokyo(dlg: SettingsDialog) -> None:
            combo = dlg.fields[TIME_ZONE.key]
            assert isinstance(combo, QComboBox)
            combo.setCurrentIndex(combo.findText("Asia/Tokyo"))  # as picked from its list
            assert "Asia/Tokyo, JST" in str(dlg.events.horizontalHeaderItem(0).text())
            dlg._add_event("2026-12-11 04:00", "FOMC rate decision")
            assert dlg.events.item(0, 0).toolTip() == "2026-12-10 19:00 UTC"

        in_settings(qtbot, choose_tokyo)
        menu_action(window, "Accounts", "Settings…")()
        qtbot.waitUntil(lambda: window.prefs.values.get(TIME_ZONE) == "Asia/Tokyo")
        assert [(e.at_ms, e.name) for e in window.prefs.events] == [
            (FOMC_UTC_MS, "FOMC rate decision")
        ]

        # the status bar's clock, UTC in its tooltip
        qtbot.waitUntil(lambda: window.clock_label.text().endswith(" JST"), timeout=3_000)
        local = window.clock_label.text()
        utc = window.clock_label.toolTip()
        assert utc.endswith(" UTC")
        hours = (int(local[:2]) - int(utc[:2])) % 24
        assert hours == 9

        # the warnings' times
        table = window.warnings.active_table
        qtbot.waitUntil(
            lambda: table.item(0, 3) is not None and table.item(0, 3).text().endswith("JST"),
            timeout=WAIT_MS,
        )

        # the chart: its time axis and the readout under the mouse
        chart = window.chart
        qtbot.waitUntil(lambda: chart.time_axis.utcOffset == -9 * 3600, timeout=3_000)
        view = chart.glw.viewport()
        centre = chart.plot.getViewBox().sceneBoundingRect().center()
        qtbot.mouseMove(view, QPoint(int(centre.x()), int(centre.y())))
        qtbot.waitUntil(lambda: "JST" in chart.readout.text(), timeout=3_000)

        # the calendar shows the stored entry in the zone when opened again
        seen: list[str] = []
        in_settings(qtbot, lambda dlg: seen.append(dlg.events.item(0, 0).text()))
        menu_action(window, "Accounts", "Settings…")()
        qtbot.waitUntil(lambda: bool(seen))
        assert seen == ["2026-12-11 04:00"]
    finally:
        app.shutdown()
        app.window.deleteLater()


def test_the_demo_shows_what_it_replays_and_its_clock(qapp: object, tmp_path: Path, qtbot) -> None:
    app = App(tmp_path, speed=1800.0, crash_dialog=False)
    window = app.window
    fmt.set_display_zone("UTC")
    pattern = re.compile(r"Replaying 3–4 Nov 2025 · (\d\d)-(\d\d) (\d\d):(\d\d) UTC · ×(\d+)")
    try:
        app.start()
        label = window.replay_label
        qtbot.waitUntil(lambda: pattern.fullmatch(label.text()) is not None, timeout=WAIT_MS)
        assert label.isVisible()
        assert "3-4 Nov 2025" in label.toolTip() and "Scenario time 2025-11-0" in label.toolTip()

        def minutes() -> int:
            m = pattern.fullmatch(label.text())
            assert m is not None
            month, day, hour, minute, _ = (int(g) for g in m.groups())
            assert month == 11
            return day * 1440 + hour * 60 + minute

        first = minutes()
        start = time.monotonic()
        qtbot.waitUntil(lambda: minutes() >= first + 30, timeout=10_000)
        elapsed = time.monotonic() - start
        assert elapsed < 4, "scenario time runs at ×1800: half an hour in about a second"

        menu_action(window, "Demo", "Speed", "×600")()
        qtbot.waitUntil(lambda: label.text().endswith("×600"), timeout=WAIT_MS)
    finally:
        app.shutdown()
        app.window.deleteLater()
