"""The only thread boundary: monitor callbacks (worker threads) become Qt signals.

The bridge lives on the GUI thread; a signal emitted from a worker thread to a receiver on the
GUI thread is delivered as a queued call, so every slot runs on the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal


class MonitorBridge(QObject):
    """Implements the monitor's MonitorCallbacks protocol with signals."""

    sigAccount = Signal(object)
    sigMarket = Signal(object)
    sigWarning = Signal(object)
    sigReset = Signal(bool)
    """The watch switched between the demo (True) and the stored accounts (False)."""
    sigBackend = Signal(object)
    """The watch service was built (on a worker thread) and started."""
    sigRecords = Signal(list)
    """The stored accounts, read off the GUI thread for the accounts menu."""
    sigNotice = Signal(str)
    """A command run off the GUI thread failed; the text says what, in plain words."""
    sigStorageError = Signal(object)
    """The database could not be opened while starting the watch (a storage.errors error)."""

    def on_account(self, update: Any) -> None:
        self.sigAccount.emit(update)

    def on_market(self, update: Any) -> None:
        self.sigMarket.emit(update)

    def on_warning(self, event: Any) -> None:
        self.sigWarning.emit(event)

    def on_reset(self, demo: bool) -> None:
        self.sigReset.emit(demo)
