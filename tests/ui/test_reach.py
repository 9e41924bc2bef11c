"""The window keeps watching: closing hides it to the tray (asked once, remembered), Quit
quits; a warning while the window is away becomes a desktop notification whose click brings
the window forward at that warning; the sound and login settings are applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from alerts.vocabulary import Severity
from settings.registry import (
    CLOSE_ASK,
    CLOSE_HIDE,
    CLOSE_QUIT,
    CLOSE_TO_TRAY,
    SOUND,
    SOUND_VOLUME,
    START_AT_LOGIN,
    Setting,
    T,
)
from tests.ui.dbus_session import private_session_bus
from tests.ui.ui_feed import feed_backend, settled
from ui.app import App
from ui.settings_dialog import SettingsDialog

WAIT_MS = 20_000

pytestmark = pytest.mark.qt_log_ignore(
    # Qt's offscreen platform (the tests' display) has no tray and cannot raise a window; the
    # tests say a tray exists, and the window is brought forward as on a real display
    r"^QObject::connect: No such signal QPlatformNativeInterface::systemTrayWindowChanged",
    r"^This plugin does not support raise\(\)$",
)


@pytest.fixture
def tray_app(qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    a = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    a.start()
    yield a
    a.shutdown()
    a.window.deleteLater()
    qapp.setQuitOnLastWindowClosed(True)


def stored(app: App, setting: Setting[T]) -> T:
    """What the backend's settings store holds now (the window stores off the GUI thread)."""
    return app.backend.settings.get(setting)  # type: ignore[union-attr]


def _answer_close_box(answers: list[str], button_text: str) -> None:
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox)
    answers.append(box.text())
    next(b for b in box.buttons() if b.text() == button_text).click()


def test_close_hides_to_the_tray_asked_once_and_quit_quits(
    tray_app: App, qtbot: QtBot, tmp_path: Path
) -> None:
    w = tray_app.window
    assert w.tray is not None
    assert not QApplication.quitOnLastWindowClosed()
    asked: list[str] = []
    QTimer.singleShot(0, lambda: _answer_close_box(asked, "Keep watching in the tray"))
    w.close()
    assert len(asked) == 1 and "Keep watching" in asked[0]
    assert not w.isVisible()
    qtbot.waitUntil(lambda: stored(tray_app, CLOSE_TO_TRAY) == CLOSE_HIDE, timeout=WAIT_MS)
    with qtbot.waitSignal(tray_app.bridge.sigAccount, timeout=WAIT_MS):
        pass  # the watch goes on while the window is hidden
    w.bring_forward()
    assert w.isVisible()
    w.close()
    assert not w.isVisible() and len(asked) == 1, "asked only once"
    w.bring_forward()
    w.quit_action.trigger()
    assert not w.isVisible() and w._quitting


def test_choosing_quit_closes_and_cancel_keeps_the_window(tray_app: App, qtbot: QtBot) -> None:
    w = tray_app.window
    asked: list[str] = []
    QTimer.singleShot(0, lambda: _answer_close_box(asked, "Cancel"))
    w.close()
    assert w.isVisible() and w.prefs.values.get(CLOSE_TO_TRAY) == CLOSE_ASK
    QTimer.singleShot(0, lambda: _answer_close_box(asked, "Quit"))
    w.close()
    assert not w.isVisible() and w._quitting
    assert w.prefs.values.get(CLOSE_TO_TRAY) == CLOSE_QUIT
    qtbot.waitUntil(lambda: stored(tray_app, CLOSE_TO_TRAY) == CLOSE_QUIT, timeout=WAIT_MS)


def test_a_warning_while_away_is_a_desktop_notification_that_opens_it(
    qapp: QApplication, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with private_session_bus() as (address, fake):
        assert fake is not None
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        a = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
        try:
            a.start()
            w = a.window
            w.hide()
            with qtbot.waitSignal(w.sigWarningShown, timeout=WAIT_MS) as shown:
                pass
            key = shown.args[0]
            calls = fake.wait_for(1)
            assert calls, "no desktop notification arrived"
            first = calls[0]
            record = w.warnings.active[key]
            assert first["summary"].startswith(record.severity.name + " · ")
            assert first["body"] == record.message
            expected = 2 if record.severity is Severity.CRITICAL else 1
            assert first["hints"]["urgency"] == ["y", expected]
            # a person clicks seconds later; wait until the notice is known as dispatched
            qtbot.waitUntil(lambda: w.notices.route == "native", timeout=WAIT_MS)
            fake.click(first["id"])
            qtbot.waitUntil(w.isVisible, timeout=WAIT_MS)
            qtbot.waitUntil(lambda: w.warnings.selected_key() == key, timeout=WAIT_MS)
            assert w.warnings.tabs.currentIndex() == 0
        finally:
            a.shutdown()
            a.window.deleteLater()


def test_sound_and_login_settings_are_applied(
    qapp: QApplication, tmp_path: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    a = App(tmp_path / "data", crash_dialog=False, backend_factory=feed_backend())
    try:
        w = a.window
        settled(a)
        dlg = SettingsDialog(w.prefs, w)
        dlg.fields[SOUND_VOLUME.key].setValue(35)  # type: ignore[union-attr]
        dlg.fields[START_AT_LOGIN.key].setChecked(True)  # type: ignore[union-attr]
        dlg.fields[CLOSE_TO_TRAY.key].setCurrentText(CLOSE_QUIT)  # type: ignore[union-attr]
        w.apply_preferences(dlg.result_preferences())
        assert (w.sound.volume, w.sound.muted) == (35, False)
        entry = tmp_path / "config" / "autostart" / "cascade-watch.desktop"
        assert entry.exists() and "Exec=" in entry.read_text()
        qtbot.waitUntil(lambda: stored(a, START_AT_LOGIN), timeout=WAIT_MS)
        assert (stored(a, SOUND_VOLUME), stored(a, CLOSE_TO_TRAY)) == (35, CLOSE_QUIT)
        dlg = SettingsDialog(w.prefs, w)
        assert dlg.fields[SOUND_VOLUME.key].value() == 35  # type: ignore[union-attr]
        assert dlg.fields[CLOSE_TO_TRAY.key].currentText() == CLOSE_QUIT  # type: ignore[union-attr]
        dlg.fields[SOUND.key].setChecked(False)  # type: ignore[union-attr]
        dlg.fields[START_AT_LOGIN.key].setChecked(False)  # type: ignore[union-attr]
        w.apply_preferences(dlg.result_preferences())
        assert w.sound.muted and not entry.exists()
    finally:
        a.shutdown()
        a.window.deleteLater()
