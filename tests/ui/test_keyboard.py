"""The window without a mouse: every frequent action has a shortcut shown in its menu, the keys
do what the menus do (read back from the screen), Tab walks the controls in reading order, and
every control a screen reader lands on has a name."""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAccessible, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QMenu,
    QWidget,
)

from ui import keys
from ui.app import App
from ui.connect_dialog import ConnectDialog
from ui.settings_dialog import SettingsDialog

WAIT_MS = 20_000
FREQUENT = {
    "acknowledge": ("&Warnings", keys.ACKNOWLEDGE),
    "acknowledge_all": ("&Warnings", keys.ACKNOWLEDGE_ALL),
    "snooze_60": ("&Warnings", keys.SNOOZE_HOUR),
    "next_warning": ("&Warnings", keys.NEXT_WARNING),
    "previous_warning": ("&Warnings", keys.PREVIOUS_WARNING),
    "add_account": ("&Accounts", keys.ADD_ACCOUNT),
    "settings": ("&Accounts", keys.SETTINGS),
    "quit": ("&Accounts", keys.QUIT),
    "reset_scenario": ("&View", keys.RESET_SCENARIO),
    "next_pane": ("&View", keys.NEXT_PANE),
    **{f"timeframe_{tf}": ("&View", key) for tf, key in keys.TIMEFRAMES.items()},
}


def active(app: App, qtbot) -> None:
    """The window in front (shortcuts are the window's) with its positions shown."""
    app.window.activateWindow()
    qtbot.waitUntil(app.window.isActiveWindow, timeout=5000)
    qtbot.waitUntil(lambda: app.window.proxy.rowCount() == 3, timeout=WAIT_MS)


def press(qtbot, sequence: str) -> None:
    """Type a key sequence ("Ctrl+K", "Shift+F8") where the focus is."""
    combo = QKeySequence(sequence)[0]
    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert target is not None, "no window has the keyboard"
    qtbot.keyClick(target, combo.key(), combo.keyboardModifiers())


def menu_actions(menu: QMenu) -> list:
    out = []
    for act in menu.actions():
        out.append(act)
        if act.menu() is not None:
            out += menu_actions(act.menu())
    return out


def test_every_frequent_action_has_its_own_shortcut_shown_in_its_menu(app: App) -> None:
    w = app.window
    menus = {a.text(): a.menu() for a in w.menuBar().actions()}
    for name, (menu_title, key) in FREQUENT.items():
        act = w.actions_by_name[name]
        assert act.shortcut().toString() == QKeySequence(key).toString(), name
        assert act in menu_actions(menus[menu_title]), f"{name} is not in {menu_title}"
    shortcuts = [
        a.shortcut().toString() for a in w.actions_by_name.values() if not a.shortcut().isEmpty()
    ]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"


def test_the_timeframe_and_the_scenario_by_keys(app: App, qtbot) -> None:
    active(app, qtbot)
    w = app.window
    press(qtbot, keys.TIMEFRAMES["4h"])
    qtbot.waitUntil(lambda: w.chart.tf_box.currentText() == "4h", timeout=3000)
    assert w.actions_by_name["timeframe_4h"].isChecked()
    press(qtbot, keys.TIMEFRAMES["15m"])
    qtbot.waitUntil(lambda: w.chart.tf_box.currentText() == "15m", timeout=3000)

    at_rest = w.scenario.move_label.text()
    for _ in range(4):  # F6 goes positions → chart → warnings → scenario
        press(qtbot, keys.NEXT_PANE)
        if QApplication.focusWidget() is w.scenario.slider:
            break
    assert QApplication.focusWidget() is w.scenario.slider
    for _ in range(5):
        press(qtbot, "PgDown")
    assert "−5.0 %" in w.scenario.move_label.text()
    press(qtbot, keys.RESET_SCENARIO)
    assert w.scenario.slider.value() == 0
    assert w.scenario.move_label.text() == at_rest


def state_of(app: App, key: str | None) -> str:
    """The State cell on screen of the warning ``key`` (wherever its row is now)."""
    table = app.window.warnings.active_table
    for row in range(table.rowCount()):
        first = table.item(row, 0)
        if first is not None and first.data(Qt.ItemDataRole.UserRole) == key:
            item = table.item(row, 4)
            return item.text() if item is not None else ""
    return ""


def selected_rows(app: App) -> list[int]:
    return [i.row() for i in app.window.warnings.active_table.selectionModel().selectedRows()]


def test_warnings_are_walked_acknowledged_and_snoozed_by_keys(app: App, qtbot) -> None:
    active(app, qtbot)
    table = app.window.warnings.active_table
    qtbot.waitUntil(lambda: table.rowCount() >= 2, timeout=WAIT_MS)
    app.backend.stop(3.0)  # freeze the feed: only the keys change the warnings now
    qtbot.wait(200)  # the last burst drawn
    app.window.table.setFocus()

    press(qtbot, keys.NEXT_WARNING)
    assert QApplication.focusWidget() is table
    assert selected_rows(app) == [0]
    press(qtbot, keys.NEXT_WARNING)
    assert selected_rows(app) == [1]
    press(qtbot, keys.PREVIOUS_WARNING)
    assert selected_rows(app) == [0]
    first = app.window.warnings.selected_key()

    press(qtbot, keys.ACKNOWLEDGE)
    qtbot.waitUntil(lambda: state_of(app, first) == "acknowledged", timeout=WAIT_MS)
    # a quiet warning sorts last, and the selection went with it
    assert app.window.warnings.selected_key() == first and selected_rows(app) == [1]

    press(qtbot, keys.NEXT_WARNING)  # wraps to the top: the one still active
    second = app.window.warnings.selected_key()
    assert second not in (None, first) and state_of(app, second) == "active"
    press(qtbot, keys.SNOOZE_HOUR)
    qtbot.waitUntil(lambda: state_of(app, second).startswith("snoozed until "), timeout=WAIT_MS)


def test_add_account_and_settings_open_by_keys_and_escape_closes_them(app: App, qtbot) -> None:
    active(app, qtbot)
    seen: list[str] = []
    poll = QTimer()
    poll.setInterval(100)

    def close_the_dialog() -> None:
        """Once the dialog is up: note it, and press Escape in it as the user would."""
        dlg = QApplication.activeModalWidget()
        if dlg is None:
            return
        poll.stop()
        seen.append(type(dlg).__name__)
        # QTest directly: this runs inside the dialog's own event loop
        QTest.keyClick(QApplication.focusWidget() or dlg, Qt.Key.Key_Escape)

    poll.timeout.connect(close_the_dialog)
    for sequence, dialog in ((keys.ADD_ACCOUNT, ConnectDialog), (keys.SETTINGS, SettingsDialog)):
        # Qt's offscreen platform does not hand the activation back when a dialog closes
        app.window.activateWindow()
        qtbot.waitUntil(app.window.isActiveWindow, timeout=5000)
        poll.start()
        press(qtbot, sequence)  # returns when the dialog has closed
        assert seen[-1] == dialog.__name__
        assert QApplication.activeModalWidget() is None
    poll.stop()


def focus_name(w: QWidget | None) -> str:
    """The focused control's name (a tab's count left out: it changes as warnings come)."""
    name = "" if w is None else w.accessibleName() or accessible_name(w)
    return re.sub(r" \(\d+\)$", "", name)


def test_tab_walks_the_window_in_reading_order_and_back(app: App, qtbot) -> None:
    active(app, qtbot)
    w = app.window
    w.add_button.setFocus()
    forward = []
    for _ in range(30):
        press(qtbot, "Tab")
        forward.append(focus_name(QApplication.focusWidget()))
        if QApplication.focusWidget() is w.add_button:
            break
    assert forward == [
        "Positions",
        "Chart symbol",
        "Chart timeframe",
        "Active",  # the warnings' tabs: "Active (n)", History
        "Acknowledge",
        "Snooze",
        "Active warnings",
        "BTC move",
        "Reset the scenario",
        "Scenario positions",
        "Betas to BTC",
        "Add exchange account",
    ]
    backward = []
    for _ in range(len(forward)):
        press(qtbot, "Shift+Tab")
        backward.append(focus_name(QApplication.focusWidget()))
    assert backward == [*forward[-2::-1], "Add exchange account"]


def accessible_name(w: QWidget) -> str:
    face = QAccessible.queryAccessibleInterface(w)
    return face.text(QAccessible.Text.Name) if face is not None else ""


def test_every_control_and_table_has_a_name_and_the_tables_say_what_they_hold(app: App) -> None:
    w = app.window
    kinds = (
        QAbstractButton,
        QAbstractItemView,
        QComboBox,
        QAbstractSlider,
        QAbstractSpinBox,
        QLineEdit,
    )
    controls = [
        c
        for c in w.findChildren(QWidget)
        if isinstance(c, kinds) and c.focusPolicy() & Qt.FocusPolicy.TabFocus and c.isVisibleTo(w)
    ]
    assert len(controls) >= 11
    unnamed = [type(c).__name__ for c in controls if not (c.accessibleName() or accessible_name(c))]
    assert unnamed == []
    tables = [c for c in controls if isinstance(c, QAbstractItemView)]
    assert {t.accessibleName() for t in tables} >= {
        "Positions",
        "Active warnings",
        "Scenario positions",
        "Betas to BTC",
    }
    for t in tables:
        assert len(t.accessibleDescription()) > 20, t.accessibleName()
