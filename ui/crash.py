"""Uncaught exceptions in any thread end in the log and a dialog, never a silent death.

The dialog's text goes through the log redaction (connectors/redaction.py): an exception
message or a traceback that carries a key, a secret or an address's password shows it masked.

Worker threads must not touch widgets, so the hooks only log and emit a signal; the dialog is
shown on the GUI thread by a queued slot.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox

from connectors.redaction import redact
from formatting import safe_text

log = logging.getLogger(__name__)


class CrashReporter(QObject):
    """Owns the excepthooks; ``sigCrash`` carries (title, traceback text) to the GUI thread."""

    sigCrash = Signal(str, str)

    def __init__(self, show_dialog: bool = True) -> None:
        super().__init__()
        self.show_dialog = show_dialog
        self.last: tuple[str, str] | None = None
        self._dialog_open = False
        self._prev_sys = sys.excepthook
        self._prev_thread = threading.excepthook
        self.sigCrash.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        sys.excepthook = self._prev_sys
        threading.excepthook = self._prev_thread

    def _sys_hook(
        self, etype: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(etype, KeyboardInterrupt):
            QApplication.quit()
            return
        self.report(threading.current_thread().name, etype, value, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "thread"
        assert args.exc_value is not None
        self.report(name, args.exc_type, args.exc_value, args.exc_traceback)

    def report(
        self,
        where: str,
        etype: type[BaseException],
        value: BaseException,
        tb: TracebackType | None,
    ) -> None:
        text = redact("".join(traceback.format_exception(etype, value, tb)))
        log.error("uncaught exception in %s:\n%s", where, text)
        title = safe_text(redact(f"{etype.__name__} in {where}: {value}"))
        self.sigCrash.emit(title, text)

    @Slot(str, str)
    def _show(self, title: str, text: str) -> None:
        self.last = (title, text)
        if not self.show_dialog or self._dialog_open:
            return
        self._dialog_open = True
        try:
            box = QMessageBox(QApplication.activeWindow())
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("Cascade Watch: unexpected error")
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setText(
                "Something went wrong. The app keeps running; the details are in the log.\n\n"
                + title
            )
            box.setDetailedText(text)
            box.exec()
        finally:
            self._dialog_open = False
