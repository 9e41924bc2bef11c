"""Snooze through the real menu, on the real monitor (the demo on the local exchange, its
database on disk): the warning is shown as snoozed, nothing crashes, Quit from the menu
works, the snooze survives a restart of the app on the same data folder, and the warning
returns when its time is up (the monitor's clock moved on past it)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from alerts import WarningState
from storage.database import Database
from storage.paths import database_path
from ui.app import App
from ui.warnings_panel import WarningsPanel

WAIT_MS = 60_000
WARNED_AT_S = 30 * 3600
"""4 Nov 06:00 in the 2025-11-04 replay: the demo account's chance of liquidation within 24 h
is about 18 %, a WARNING, for hours either side."""
POPUP_ON_OFFSCREEN = r"^This plugin does not support (raise\(\)|grabbing the keyboard)$"
"""What Qt's offscreen platform (the tests' display) says when a menu pops up."""


def state_of(panel: WarningsPanel, key: str) -> str | None:
    """The "State" cell of the warning ``key`` as the Active table shows it."""
    table = panel.active_table
    for row in range(table.rowCount()):
        item = table.item(row, 0)
        if item is not None and item.data(Qt.ItemDataRole.UserRole) == key:
            cell = table.item(row, 4)
            return None if cell is None else cell.text()
    return None


def history_lines(panel: WarningsPanel) -> list[tuple[str, str]]:
    """(change, text) of every line of the History tab."""
    table = panel.history_table
    return [
        (table.item(r, 1).text(), table.item(r, 3).text())
        for r in range(table.rowCount())
        if table.item(r, 1) is not None and table.item(r, 3) is not None
    ]


def replay_at(app: App, offset_s: float) -> None:
    """Move the demo's replay (the local exchange the real monitor watches) to ``offset_s``
    after the scenario's start."""
    backend = app.backend
    assert backend is not None
    backend.service.demo_exchange.seek(offset_s)  # type: ignore[attr-defined]


def choose_from_menu(qtbot: object, steps: int) -> None:
    """When a menu pops up, go down ``steps`` entries (up, when negative) and press Enter."""

    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if not isinstance(menu, QMenu):
            QTimer.singleShot(20, pick)
            return
        key = Qt.Key.Key_Down if steps > 0 else Qt.Key.Key_Up
        for _ in range(abs(steps)):
            qtbot.keyClick(menu, key)  # type: ignore[attr-defined]
        qtbot.keyClick(menu, Qt.Key.Key_Return)  # type: ignore[attr-defined]

    QTimer.singleShot(50, pick)


def click_row(qtbot: object, panel: WarningsPanel, row: int) -> str:
    table = panel.active_table
    rect = table.visualItemRect(table.item(row, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
    key = panel.selected_key()
    assert key is not None
    return key


@pytest.mark.slow
@pytest.mark.qt_log_ignore(POPUP_ON_OFFSCREEN)
def test_snooze_from_the_menu_hides_persists_and_returns(
    qapp: object, tmp_path: Path, qtbot
) -> None:
    first = App(tmp_path, speed=60.0, crash_dialog=False)
    try:
        first.start()
        replay_at(first, WARNED_AT_S)
        panel = first.window.warnings
        qtbot.waitUntil(lambda: panel.active_table.rowCount() >= 1, timeout=WAIT_MS)
        key = click_row(qtbot, panel, 0)
        assert state_of(panel, key) == "active"

        choose_from_menu(qtbot, 2)  # 15 minutes, 1 hour
        qtbot.mouseClick(panel.snooze_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: (state_of(panel, key) or "").startswith("snoozed until"), timeout=WAIT_MS
        )
        assert first.crash.last is None
        qtbot.wait(1_500)  # a poll or two: the snooze holds while the condition does
        assert (state_of(panel, key) or "").startswith("snoozed until")
        # and Quit, from the Accounts menu, closes the window
        bar = first.window.menuBar()
        accounts = bar.actions()[0]
        choose_from_menu(qtbot, -1)  # up from the top: the last entry, Quit
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(accounts).center())
        qtbot.waitUntil(lambda: not first.window.isVisible(), timeout=WAIT_MS)
        assert first.crash.last is None
    finally:
        first.shutdown()
        first.window.deleteLater()

    with Database.open(database_path(tmp_path, demo=True)) as db:
        stored = db.warnings.get(key)
        assert stored is not None and stored.state is WarningState.SNOOZED
        until = stored.snoozed_until_ms
        assert until is not None
        assert abs(until - (time.time() * 1000 + 3_600_000)) < 120_000

    second = App(tmp_path, speed=60.0, crash_dialog=False)
    try:
        second.start()
        replay_at(second, WARNED_AT_S)  # the replay starts over: back to where it warned
        panel = second.window.warnings
        qtbot.waitUntil(
            lambda: (state_of(panel, key) or "").startswith("snoozed until"), timeout=WAIT_MS
        )
        qtbot.waitUntil(lambda: bool(second.window.account_status), timeout=WAIT_MS)
        qtbot.wait(2_500)  # polls after the restart leave it snoozed
        assert (state_of(panel, key) or "").startswith("snoozed until")
        assert not second.window.banner.isVisible() or key not in second.window.banner.text()
        # the History tab shows what the first run stored
        qtbot.mouseClick(
            panel.tabs.tabBar(),
            Qt.MouseButton.LeftButton,
            pos=panel.tabs.tabBar().tabRect(1).center(),
        )
        assert panel.tabs.currentIndex() == 1
        lines = history_lines(panel)
        assert any(change == "snoozed" for change, _ in lines)
        assert any(change == "fired" for change, _ in lines)

        # the monitor's clock passes the snooze's end: the warning is back, and says so
        backend = second.backend
        assert backend is not None
        jobs = backend.service.jobs  # type: ignore[attr-defined]
        jobs.clock = lambda: time.time() + 3_700.0
        qtbot.waitUntil(lambda: state_of(panel, key) == "active", timeout=WAIT_MS)
        qtbot.waitUntil(lambda: second.window.banner.isVisible(), timeout=WAIT_MS)
        assert "snooze over" in second.window.banner.text()
        qtbot.waitUntil(
            lambda: any(change == "returned" for change, _ in history_lines(panel)),
            timeout=WAIT_MS,
        )
        assert second.crash.last is None
    finally:
        second.shutdown()
        second.window.deleteLater()
