"""Asks the user for the secret file's passphrase on the GUI thread, for a worker thread.

The secret store calls its passphrase provider when a worker first needs a key (a poll, a
saved account). The provider posts a request to the GUI thread and waits for the answer; the
GUI thread itself never waits. After a wrong answer the store asks again (a few times per run,
for all accounts at once) and the dialog says the previous one did not open the file.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit

from storage.secrets import PassphraseAsk

NEW_TEXT = (
    "No system keychain was found, so API keys are kept in an encrypted file.\n"
    "Choose a passphrase for it. It cannot be recovered: without it the keys must be "
    "entered again."
)
OPEN_TEXT = "Enter the passphrase of the encrypted key file:"
AGAIN_TEXT = (
    "That passphrase did not open the encrypted key file.\n"
    "Enter the passphrase of the encrypted key file again:"
)
TEXTS = {
    PassphraseAsk.NEW: NEW_TEXT,
    PassphraseAsk.OPEN: OPEN_TEXT,
    PassphraseAsk.AGAIN: AGAIN_TEXT,
}


class PassphrasePrompt(QObject):
    sigAsk = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._answer = ""
        self._done = threading.Event()
        self._lock = threading.Lock()
        self.sigAsk.connect(self._ask, Qt.ConnectionType.QueuedConnection)

    def __call__(self, ask: PassphraseAsk) -> str:
        """The provider handed to storage.secrets.SecretStore.open (called on a worker)."""
        if threading.current_thread() is threading.main_thread():
            self._ask(ask)
            return self._answer
        with self._lock:
            self._done.clear()
            self.sigAsk.emit(ask)
            self._done.wait()
            return self._answer

    @Slot(object)
    def _ask(self, ask: PassphraseAsk) -> None:
        try:
            text, ok = QInputDialog.getText(
                QApplication.activeWindow(),
                "Cascade Watch: key file",
                TEXTS[ask],
                QLineEdit.EchoMode.Password,
            )
            self._answer = text if ok else ""
        finally:
            self._done.set()
