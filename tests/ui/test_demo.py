"""First start on the real monitor: no account stored, so the app plays the local-exchange demo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from alerts import WarningRule
from tests.damaged_db import damage_pages, filled_database
from tests.ui.ui_feed import feed_backend
from ui.app import App
from ui.backend import Backend
from ui.positions_model import COLUMNS


def test_first_start_plays_the_demo_and_warns(qapp: object, tmp_path: Path, qtbot) -> None:
    # On the real 3-4 Nov 2025 candles the chance of liquidation reaches 10 % 29 scenario
    # hours in: at 3,600× about 29 s.
    app = App(tmp_path, speed=3600.0, crash_dialog=False)
    try:
        assert isinstance(app.backend, Backend) and app.backend.demo
        app.start()
        qtbot.waitUntil(lambda: app.window.proxy.rowCount() >= 1, timeout=30_000)
        col = [c.title for c in COLUMNS].index("Account")
        assert str(app.window.proxy.index(0, col).data()).startswith("DEMO")
        qtbot.waitUntil(lambda: bool(app.window.warnings.active), timeout=60_000)
        qtbot.waitUntil(lambda: app.window.warnings.active_table.rowCount() >= 1, timeout=5_000)
        rules = {w.rule for w in app.window.warnings.active.values()}
        assert WarningRule.LIQUIDATION_PROBABILITY in rules
        assert "DEMO" in app.window.summary.text()
        qtbot.waitUntil(
            lambda: any("connected" in lbl.text() for lbl in app.window.status_labels.values()),
            timeout=30_000,
        )
    finally:
        app.shutdown()
        app.window.deleteLater()


def test_uncaught_thread_exception_reaches_the_reporter(
    qapp: object, tmp_path: Path, qtbot, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(tmp_path, crash_dialog=False, backend_factory=feed_backend())
    try:

        def boom() -> None:
            raise ValueError("worker exploded")

        with qtbot.waitSignal(app.crash.sigCrash, timeout=10_000) as blocker:
            t = threading.Thread(target=boom, name="worker-x")
            t.start()
            t.join()
        title, text = blocker.args
        assert "ValueError in worker-x" in title and "worker exploded" in text
        qtbot.waitUntil(lambda: app.crash.last is not None, timeout=5_000)
        assert "uncaught exception in worker-x" in caplog.text
    finally:
        app.shutdown()
        app.window.deleteLater()


def test_adding_a_real_account_leaves_the_demo(
    qapp: object, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connectors.localexchange import LocalExchange
    from ui.connect_dialog import AccountForm
    from ui.passphrase import PassphrasePrompt

    monkeypatch.setenv("CASCADE_SECRET_BACKEND", "file")
    monkeypatch.setattr(PassphrasePrompt, "__call__", lambda self, is_new: "test passphrase")
    lx = LocalExchange(scenario="2025-11-04", speed=60.0).start()
    app = App(tmp_path, speed=60.0, crash_dialog=False)
    try:
        app.start()
        qtbot.waitUntil(lambda: app.window.proxy.rowCount() >= 1, timeout=30_000)
        assert all(r.is_demo for r in app.window.model.rows)
        form = AccountForm("binanceusdm", "Local real", lx.base_url, lx.credentials("binanceusdm"))
        app.window._run_command("add account", lambda b: b.add_account(form))
        qtbot.waitUntil(
            lambda: (
                bool(app.window.model.rows) and all(not r.is_demo for r in app.window.model.rows)
            ),
            timeout=60_000,
        )
        assert app.window.model.rows[0].account_label == "Local real"
        assert not app.backend.demo
        stored = app.backend.accounts()
        assert [r.label for r in stored] == ["Local real"]
        secret = lx.credentials("binanceusdm").secret.encode()
        assert secret not in (tmp_path / "cascade.db").read_bytes()
        app.window._run_command("remove", lambda b: b.remove_account(stored[0]))
        qtbot.waitUntil(
            lambda: bool(app.window.model.rows) and all(r.is_demo for r in app.window.model.rows),
            timeout=60_000,
        )
    finally:
        app.shutdown()
        app.window.deleteLater()
        lx.stop()


@pytest.mark.parametrize("fresh", [True, False])
def test_an_unreadable_database_offers_a_fresh_start(
    qapp: object, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch, fresh: bool
) -> None:
    """A damaged database: the trader is told why and chooses; moving it aside never deletes
    it, and the watch then starts on an empty database (the demo)."""
    damaged = tmp_path / "cascade.db"
    damaged.write_bytes(b"not a database" * 100)
    app = App(tmp_path, speed=60.0, crash_dialog=False, defer_backend=True)
    asked: list[str] = []
    exits: list[int] = []
    monkeypatch.setattr(app, "choose_recovery", lambda e: asked.append(str(e)) or fresh)
    monkeypatch.setattr(app.qapp, "exit", lambda code=0: exits.append(code))
    try:
        if fresh:
            with qtbot.waitSignal(app.bridge.sigBackend, timeout=30_000):
                app.start()
            assert app.backend.demo
            kept = list(tmp_path.glob("cascade.db.corrupt-*"))
            assert len(kept) == 1 and kept[0].read_bytes() == b"not a database" * 100
        else:
            app.start()
            qtbot.waitUntil(lambda: bool(exits), timeout=30_000)
            assert exits == [1] and damaged.read_bytes() == b"not a database" * 100
        assert len(asked) == 1 and "not a SQLite database" in asked[0]
    finally:
        app.shutdown()
        app.window.deleteLater()


def test_damaged_pages_show_the_dialog_and_start_fresh_gives_a_working_window(
    qapp: object, tmp_path: Path, qtbot
) -> None:
    """A real database with pages overwritten in its middle: the app's dialog appears (the real
    QMessageBox, naming the file); clicking "Move it aside and start fresh" sets the file aside
    untouched and the window comes up watching (the demo, as with no account stored)."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    db_path = tmp_path / "cascade.db"
    filled_database(db_path)
    damage_pages(db_path, 0.5)
    damaged = db_path.read_bytes()
    app = App(tmp_path, speed=60.0, crash_dialog=False, defer_backend=True)
    shown: list[str] = []

    def click_when_shown() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            return
        shown.append(box.text())
        (fresh,) = [b for b in box.buttons() if b.text() == "Move it aside and start fresh"]
        qtbot.mouseClick(fresh, Qt.MouseButton.LeftButton)

    poll = QTimer()
    poll.timeout.connect(click_when_shown)
    poll.start(50)
    try:
        with qtbot.waitSignal(app.bridge.sigBackend, timeout=60_000):
            app.start()
        poll.stop()
        assert len(shown) == 1 and "cascade.db is damaged" in shown[0]
        assert "Traceback" not in shown[0]
        (kept,) = tmp_path.glob("cascade.db.corrupt-*")
        assert kept.read_bytes() == damaged
        assert app.backend.demo
        qtbot.waitUntil(lambda: app.window.proxy.rowCount() >= 1, timeout=30_000)
        col = [c.title for c in COLUMNS].index("Account")
        assert str(app.window.proxy.index(0, col).data()).startswith("DEMO")
    finally:
        poll.stop()
        app.shutdown()
        app.window.deleteLater()
