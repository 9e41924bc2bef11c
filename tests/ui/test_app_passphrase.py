"""The app's own passphrase dialog, on the real monitor: an account whose key sits in the
encrypted file; the first answer typed is wrong, and the dialog that asks again says so; the
right one opens the file and the account connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from connectors.localexchange import LocalExchange
from storage.database import open_database
from storage.records import AccountRecord
from storage.secrets import SecretStore
from ui.app import App
from ui.passphrase import AGAIN_TEXT, OPEN_TEXT

RIGHT = "the right passphrase"


def test_a_wrong_passphrase_is_said_to_be_wrong_in_the_apps_dialog(
    qapp: object, tmp_path: Path, qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CASCADE_SECRET_BACKEND", "file")
    lx = LocalExchange(scenario="2025-11-04", speed=60.0).start()
    try:
        SecretStore.open(tmp_path, lambda ask: RIGHT, backend="file").set(
            "binance-main", lx.credentials("binanceusdm")
        )
        db = open_database(tmp_path)
        db.accounts.add(
            AccountRecord("binanceusdm", "Main", lx.base_url, secret_name="binance-main")
        )
        db.close()

        answers = ["not it", RIGHT]
        shown: list[str] = []

        def answer() -> None:
            dialogs = [
                w
                for w in QApplication.topLevelWidgets()
                if isinstance(w, QInputDialog) and w.isVisible()
            ]
            if not dialogs:
                QTimer.singleShot(20, answer)
                return
            dialog = dialogs[0]
            shown.append(dialog.labelText())
            field = dialog.findChild(QLineEdit)
            assert field is not None and field.echoMode() is QLineEdit.EchoMode.Password
            qtbot.keyClicks(field, answers.pop(0))
            qtbot.keyClick(field, Qt.Key.Key_Return)
            if answers:
                QTimer.singleShot(20, answer)

        QTimer.singleShot(20, answer)
        app = App(tmp_path, crash_dialog=False)
        try:
            app.start()
            qtbot.waitUntil(lambda: not answers, timeout=60_000)
            assert shown == [OPEN_TEXT, AGAIN_TEXT]
            assert "did not open" in shown[1]
            qtbot.waitUntil(
                lambda: any(
                    "connected" in label.text() for label in app.window.status_labels.values()
                ),
                timeout=60_000,
            )
        finally:
            app.shutdown()
            app.window.deleteLater()
    finally:
        lx.stop()
