"""The only thread boundary: monitor callbacks (worker threads) become Qt signals.

The bridge lives on the GUI thread; a signal emitted from a worker thread to a receiver on the
GUI thread is delivered as a queued call, so every slot runs on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from monitor.events import AccountUpdate, LiquidationUpdate, MarketUpdate, WarningEvent


class MonitorBridge(QObject):
    """Implements the monitor's callbacks (``ui.ports.ResettableCallbacks``) with signals."""

    sigAccount = Signal(object)
    sigMarket = Signal(object)
    sigWarning = Signal(object)
    sigLiquidations = Signal(object)
    """The market's liquidations per minute on one venue (a ``LiquidationUpdate``)."""
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
    sigReplay = Signal(object)
    """What the demo replays and its clock (``monitor.events.Replay``, or None), read off the
    GUI thread."""
    sigPreferences = Signal(object)
    """The stored settings and calendar (``ui.ports.Preferences``), read off the GUI thread."""
    sigStoredWarnings = Signal(object)
    """The open warnings and their history from the database (``ui.ports.StoredWarnings``),
    read off the GUI thread when a watch starts."""

    def on_account(self, u: AccountUpdate) -> None:
        self.sigAccount.emit(u)

    def on_market(self, u: MarketUpdate) -> None:
        self.sigMarket.emit(u)

    def on_warning(self, e: WarningEvent) -> None:
        self.sigWarning.emit(e)

    def on_liquidations(self, u: LiquidationUpdate) -> None:
        self.sigLiquidations.emit(u)

    def on_reset(self, demo: bool) -> None:
        self.sigReset.emit(demo)
