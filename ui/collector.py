"""Keeps Python's cyclic garbage collector off the GUI thread's back.

Each time an account is read for the first time its connectors' ccxt markets and tiers are
loaded, some 200,000 objects that live as long as the app. Every full collection would walk
them and hold the GUI thread for 40-110 ms (five accounts polled ten times a second:
benchmarks/bench_ui.py), so what is alive then is moved into the collector's permanent
generation (gc.freeze; no collection first: that would be the very stall on the GUI thread).

A QObject, not a method of the App: a Qt connection to a plain Python object's method outlives
the object, and a queued account update delivered after it is gone corrupts memory.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, Slot

from monitor.events import AccountUpdate


class LongLivedFreezer(QObject):
    """Freezes what is alive after each account's first report."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._seen: set[int] = set()

    @Slot(object)
    def on_account(self, update: AccountUpdate) -> None:
        if update.report is None or update.account_id in self._seen:
            return
        self._seen.add(update.account_id)
        gc.freeze()
