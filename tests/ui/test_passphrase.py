"""The key-file passphrase dialog, driven through a real encrypted store from a worker thread:
a wrong answer is asked for again and the dialog says the previous one did not open the file."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from connectors.credentials import Credentials
from storage.secrets import SecretStore
from ui.passphrase import AGAIN_TEXT, OPEN_TEXT, PassphrasePrompt

CREDS = Credentials(api_key="key-000001", secret="Secret-000001")


def test_a_wrong_passphrase_is_asked_again_and_the_dialog_says_so(qtbot, tmp_path: Path) -> None:
    SecretStore.open(tmp_path, lambda ask: "right one", backend="file", scrypt_n=2**10).set(
        "main", CREDS
    )
    prompt = PassphrasePrompt()
    store = SecretStore.open(tmp_path, prompt, backend="file", scrypt_n=2**10)
    answers = ["wrong one", "right one"]
    shown: list[str] = []

    def answer() -> None:
        dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QInputDialog)]
        visible = [d for d in dialogs if d.isVisible()]
        if not visible:
            QTimer.singleShot(20, answer)
            return
        dialog = visible[0]
        shown.append(dialog.labelText())
        dialog.setTextValue(answers.pop(0))
        dialog.accept()
        if answers:
            QTimer.singleShot(20, answer)

    got: list[Credentials | None] = []
    worker = threading.Thread(target=lambda: got.append(store.get("main")))
    QTimer.singleShot(20, answer)
    worker.start()
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    worker.join()
    assert got == [CREDS]
    assert shown == [OPEN_TEXT, AGAIN_TEXT]
    assert "did not open" in AGAIN_TEXT
