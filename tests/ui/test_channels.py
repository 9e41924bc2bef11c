"""Settings → push notifications, clicked as a trader would: a URL apprise cannot use is one
line in the dialog (never the URL); a good one shows masked, "Send test" reaches a receiver on
127.0.0.1 and says so, a failing one says why; bad quiet hours keep the dialog open; OK keeps
the URL in the secret store only; a channel can be switched off and removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialogButtonBox,
    QGroupBox,
    QTableWidgetItem,
)
from pytestqt.qtbot import QtBot

from alerts import Severity
from notify.store import ChannelStore
from settings.registry import REMINDER_MIN, Group
from storage.database import Database
from tests.notify.push_receiver import PushReceiver
from tests.ui.ui_feed import FeedBackend, feed_backend, settled
from ui.app import App
from ui.channels_widget import ChannelList
from ui.settings_dialog import SettingsDialog

WAIT_MS = 20_000
TOKEN = "tok-Zq8secretToken77"


@pytest.fixture
def app(qapp: QApplication, tmp_path: Path) -> Iterator[App]:
    a = App(tmp_path, crash_dialog=False, backend_factory=feed_backend())
    a.start()
    settled(a)
    yield a
    a.shutdown()
    a.window.deleteLater()


def backend(app: App) -> FeedBackend:
    assert isinstance(app.backend, FeedBackend)
    return app.backend


def dialog(app: App) -> SettingsDialog:
    w = app.window
    dlg = SettingsDialog(w.prefs, w, test_channel=w._test_channel)
    dlg.show()
    return dlg


def ok(qtbot: QtBot, dlg: SettingsDialog) -> None:
    box = dlg.findChild(QDialogButtonBox)
    assert box is not None
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def test_add_test_keep_masked_switch_off_and_remove(
    app: App, qtbot: QtBot, receiver: PushReceiver, tmp_path: Path
) -> None:
    dlg = dialog(app)
    ch = dlg.channels
    qtbot.keyClicks(ch.url, f"nope://hooks/{TOKEN}")
    click(qtbot, ch.add_button)
    assert "unknown notification scheme nope://" in ch.status.text()
    assert TOKEN not in ch.status.text() and ch.table.rowCount() == 0
    assert ch.url.text() == f"nope://hooks/{TOKEN}", "what was typed is kept to correct"
    ch.url.clear()
    qtbot.keyClicks(ch.url, f"json://127.0.0.1:{receiver.port}/{TOKEN}/")
    click(qtbot, ch.add_button)
    masked = f"json://127.0.0.1:{receiver.port}/…"
    assert ch.table.item(0, 0).text() == masked and ch.url.text() == ""  # type: ignore[union-attr]
    click(qtbot, ch.test_button)
    qtbot.waitUntil(lambda: ch.status.text().startswith("Test sent to"), timeout=WAIT_MS)
    assert masked in ch.status.text()
    got = receiver.wait_for(1)
    assert got[0].title == "Test · Cascade Watch" and got[0].path == f"/{TOKEN}/"

    ch.table.setItem(0, 3, QTableWidgetItem("late"))
    ok(qtbot, dlg)
    assert dlg.isVisible(), "refused"
    assert "quiet hours must look like 22:00-07:00" in ch.status.text()
    ch.table.setItem(0, 3, QTableWidgetItem("22:00-07:00"))
    severity = ch.table.cellWidget(0, 2)
    assert isinstance(severity, QComboBox)
    severity.setCurrentText("critical")
    ok(qtbot, dlg)
    assert not dlg.isVisible()
    app.window.apply_preferences(dlg.result_preferences())
    settled(app)
    stored = backend(app).channels.prefs()
    assert [(p.label, p.min_severity, str(p.quiet)) for p in stored] == [
        (masked, Severity.CRITICAL, "22:00-07:00")
    ]
    assert list(backend(app).secrets.texts.values()) == [
        f"json://127.0.0.1:{receiver.port}/{TOKEN}/"
    ]
    assert TOKEN not in repr(app.window.prefs)
    for f in (p for p in tmp_path.rglob("*") if p.is_file()):
        assert TOKEN.encode() not in f.read_bytes(), f"the URL's token is in {f.name}"

    # again: a stored channel is tested with the URL from the secret store; a failure says why
    receiver.set(status=500)
    dlg = dialog(app)
    ch = dlg.channels
    assert ch.table.item(0, 0).text() == masked  # type: ignore[union-attr]
    click(qtbot, ch.test_button)
    qtbot.waitUntil(lambda: ch.status.text().startswith("Test to"), timeout=WAIT_MS)
    assert ch.status.text().startswith(f"Test to {masked} failed: ")
    assert "error=500" in ch.status.text() and "\n" not in ch.status.text()
    enabled = ch.table.cellWidget(0, 1)
    assert isinstance(enabled, QCheckBox)
    click(qtbot, enabled)
    ok(qtbot, dlg)
    app.window.apply_preferences(dlg.result_preferences())
    settled(app)
    assert [p.enabled for p in backend(app).channels.prefs()] == [False]

    dlg = dialog(app)
    ch = dlg.channels
    ch.table.selectRow(0)
    click(qtbot, ch.remove_button)
    assert ch.table.rowCount() == 0 and "Removed" in ch.status.text()
    ok(qtbot, dlg)
    app.window.apply_preferences(dlg.result_preferences())
    settled(app)
    assert backend(app).channels.prefs() == [] and backend(app).secrets.texts == {}


def test_an_unreachable_channel_says_so_in_one_line(app: App, qtbot: QtBot) -> None:
    dlg = dialog(app)
    ch = dlg.channels
    qtbot.keyClicks(ch.url, f"json://127.0.0.1:9/{TOKEN}/")
    click(qtbot, ch.add_button)
    click(qtbot, ch.test_button)
    qtbot.waitUntil(lambda: ch.status.text().startswith("Test to"), timeout=WAIT_MS)
    assert ch.status.text() == (
        "Test to json://127.0.0.1:9/… failed: A Connection error occurred sending JSON "
        "notification to 127.0.0.1 (connection refused)."
    )
    dlg.reject()


def test_settings_menu_shows_the_notifications_with_the_channel_list(
    app: App, qtbot: QtBot
) -> None:
    seen: list[str] = []

    def look() -> None:
        dlg = QApplication.activeModalWidget()
        try:
            assert isinstance(dlg, SettingsDialog)
            titles = [box.title() for box in dlg.findChildren(QGroupBox)]
            seen.extend(titles)
            assert dlg.findChild(ChannelList) is dlg.channels
            assert REMINDER_MIN.key in dlg.fields
        finally:
            if dlg is not None:
                dlg.reject()

    QTimer.singleShot(0, look)
    settings = app.window.actions_by_name["settings"]
    assert settings in app.window.menuBar().actions()[0].menu().actions(), "in the Accounts menu"
    settings.trigger()
    assert Group.NOTIFICATIONS.value in seen


@pytest.mark.slow
def test_the_app_pushes_the_demo_s_warnings_to_a_channel_added_in_settings(
    qapp: QApplication,
    tmp_path: Path,
    qtbot: QtBot,
    receiver: PushReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ui.backend import Backend
    from ui.passphrase import PassphrasePrompt

    monkeypatch.setenv("CASCADE_SECRET_BACKEND", "file")
    monkeypatch.setattr(PassphrasePrompt, "__call__", lambda self, ask: "test passphrase")
    a = App(tmp_path, speed=1800.0, crash_dialog=False)
    try:
        assert isinstance(a.backend, Backend) and a.backend.demo
        a.start()
        settled(a)
        dlg = dialog(a)
        qtbot.keyClicks(dlg.channels.url, f"json://127.0.0.1:{receiver.port}/{TOKEN}/")
        click(qtbot, dlg.channels.add_button)
        ok(qtbot, dlg)
        a.window.apply_preferences(dlg.result_preferences())
        qtbot.waitUntil(lambda: bool(receiver.received), timeout=120_000)
        first = receiver.received[0]
        assert first.title.endswith("· Demo Binance")
        sentence = first.message.splitlines()[0]
        qtbot.waitUntil(  # the same warning is on screen
            lambda: any(row.text == sentence for row in a.window.warnings.history),
            timeout=10_000,
        )
        assert (tmp_path / "secrets.enc").exists()
        for f in (p for p in tmp_path.rglob("*") if p.is_file()):
            assert TOKEN.encode() not in f.read_bytes(), f"the URL's token is in {f.name}"
    finally:
        a.shutdown()
        a.window.deleteLater()


def test_settings_ok_keeps_a_channel_added_from_the_command_line_meanwhile(
    app: App, qtbot: QtBot, tmp_path: Path
) -> None:
    """The app runs with channel A; ``cascade-watch channels add`` stores C in the same
    database (the window never heard of it); the trader opens Settings from the menu, changes
    A's severity and presses OK: A is changed, C is still there with its URL."""
    dlg = dialog(app)
    qtbot.keyClicks(dlg.channels.url, "json://127.0.0.1:9/a/")
    click(qtbot, dlg.channels.add_button)
    ok(qtbot, dlg)
    app.window.apply_preferences(dlg.result_preferences())
    settled(app)
    other = Database.open(tmp_path / "feed.db")
    elsewhere = ChannelStore(other.settings, backend(app).secrets).add("json://127.0.0.1:9/c/")
    other.close()

    def edit_a() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, SettingsDialog):
            QTimer.singleShot(50, edit_a)
            return
        assert box.channels.table.rowCount() == 1
        severity = box.channels.table.cellWidget(0, 2)
        assert isinstance(severity, QComboBox)
        severity.setCurrentText("critical")
        ok(qtbot, box)

    QTimer.singleShot(0, edit_a)
    app.window.actions_by_name["settings"].trigger()
    qtbot.waitUntil(
        lambda: backend(app).channels.prefs()[0].min_severity is Severity.CRITICAL,
        timeout=WAIT_MS,
    )
    stored = backend(app).channels.prefs()
    assert [p.min_severity for p in stored] == [Severity.CRITICAL, Severity.WARNING]
    assert stored[1].id == elsewhere.id
    assert [c.url for c in backend(app).channels.load()][1] == "json://127.0.0.1:9/c/"
