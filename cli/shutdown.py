"""Stopping a command that runs until Ctrl-C (``watch``, ``localexchange``), safely.

Python runs a signal handler on the main thread between two bytecodes, wherever that thread
is: possibly inside ``threading.Event.wait``, holding the lock ``Event.set`` needs, so a
handler that sets the event the main thread waits on can deadlock the process. The handler
here takes no lock: it counts the signal and writes one byte to a socket; the main thread
waits on that socket with ``select`` and does the stopping itself. A second signal (Ctrl-C
again while the stop is under way, or hanging) ends the process at once with status
128 + the signal's number (130 for Ctrl-C), writing one line straight to the stderr file
descriptor (a buffered print could be the very thing the main thread was in the middle of).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
from collections.abc import Callable
from types import FrameType, TracebackType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
FORCED_MESSAGE = b"cascade-watch: interrupted again: exiting now without a clean stop\n"


def force_exit(signum: int) -> None:
    """End the process now: no clean-up runs (the database keeps every committed write)."""
    with contextlib.suppress(OSError):
        os.write(2, FORCED_MESSAGE)
    os._exit(128 + signum)


class StopSignals:
    """While entered, SIGINT and SIGTERM ask the main thread to stop; ``wait`` returns True
    once one has. Use on the main thread only (``signal.signal`` requires it)."""

    def __init__(
        self,
        signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
        on_second: Callable[[int], None] = force_exit,
    ) -> None:
        self.signals = signals
        self.received = 0
        self._on_second = on_second
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous: dict[signal.Signals, object] = {}

    @property
    def requested(self) -> bool:
        return self.received > 0

    def __enter__(self) -> StopSignals:
        for s in self.signals:
            self._previous[s] = signal.signal(s, self.handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)  # type: ignore[arg-type]
        self._previous.clear()
        self.close()

    def close(self) -> None:
        self._reader.close()
        self._writer.close()

    def handle(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler: a counter and a non-blocking send, nothing that locks."""
        self.received += 1
        if self.received > 1:
            self._on_second(signum)
        with contextlib.suppress(OSError):
            self._writer.send(b"\0")

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a stop is asked (True) or ``timeout`` seconds pass (False)."""
        if not self.requested:
            with contextlib.suppress(InterruptedError):
                select.select([self._reader], [], [], timeout)
            with contextlib.suppress(OSError):
                self._reader.recv(64)
        return self.requested
