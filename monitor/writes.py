"""What the watch loop writes, written after the warning is out and kept while the database
refuses it.

A warning reaches the screen, the terminal and the push channels first (the callbacks); its
record, its history and the poll's snapshot follow: each is ``submit``-ted and written in order
by ``flush``, which the loop calls after the callbacks. When the database cannot be written (a
read-only file or disk, a full disk, an I/O error: ``storage.failures.diagnose``), the writes
wait in order and are retried with backoff (1 s doubling to 30 s): one log line when the trouble
starts, one when writes succeed again, never a traceback per poll; ``trouble()`` is what the
storage warning says (``monitor.health.storage_conditions``). Nothing waits on the database but
the flush itself, which runs after the callbacks and for at most ``FLUSH_BUDGET_S`` at a time.

Bounded: a write may name what it ``replaces`` (a warning's record seen again at the same
severity replaces its pending copy; a symbol's candles replace the older candles), and at most
``capacity`` writes wait. When that is full the oldest snapshot is dropped (the history then
misses its first seconds of the outage), then the oldest market data; the warnings' records
and their history only when nothing else is left. Every drop is counted, logged once per
episode and said by the storage warning. A write that can never succeed (a constraint, not the
database: ``diagnose`` gives None) is dropped and logged, so it cannot hold the others back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from storage.failures import WriteProblem

logger = logging.getLogger(__name__)

CAPACITY = 5_000
"""Writes that may wait: at one poll a second, more than an hour of one account's snapshots
(each holds its report, a few kB) beside the warnings' records."""
RETRY_FIRST_MS = 1_000
RETRY_MAX_MS = 30_000
FLUSH_BUDGET_S = 0.25
"""A flush writes for at most this long (after an outage the backlog drains over a few
polls rather than holding one up)."""


class Kind(Enum):
    """What a write keeps, in the order it is dropped when the queue is full."""

    SNAPSHOT = "snapshot"
    MARKET = "market data"
    WARNING = "warning"
    HISTORY = "warning history"

    @property
    def keep(self) -> int:
        return _KEEP[self]


_KEEP = {Kind.SNAPSHOT: 0, Kind.MARKET: 1, Kind.WARNING: 2, Kind.HISTORY: 2}


@dataclass(frozen=True, slots=True)
class StorageTrouble:
    """The database refuses writes: why, since when, what waits and what was dropped."""

    problem: WriteProblem
    since_ms: int
    pending: int
    dropped: Mapping[Kind, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(slots=True)
class _Entry:
    kind: Kind
    write: Callable[[], object]
    token: Hashable | None


Diagnose = Callable[[BaseException], WriteProblem | None]


class Writes:
    """The loop's pending writes; thread-safe (any job may submit, one flushes at a time)."""

    def __init__(self, diagnose: Diagnose, *, capacity: int = CAPACITY) -> None:
        self._diagnose = diagnose
        self._capacity = max(1, capacity)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._queue: deque[_Entry] = deque()
        self._tokens: dict[Hashable, _Entry] = {}
        self._trouble: StorageTrouble | None = None
        self._dropped: Counter[Kind] = Counter()
        self._retry_ms = 0
        self._next_try_ms = 0
        self._refused: set[Kind] = set()

    def submit(
        self, kind: Kind, write: Callable[[], object], *, replaces: Hashable | None = None
    ) -> None:
        """Queue ``write``; with ``replaces``, a pending write queued with the same token is
        replaced in its place (the newer one supersedes it)."""
        with self._lock:
            if replaces is not None and (old := self._tokens.get(replaces)) is not None:
                old.write = write
                return
            if len(self._queue) >= self._capacity:
                self._drop_one()
            entry = _Entry(kind, write, replaces)
            self._queue.append(entry)
            if replaces is not None:
                self._tokens[replaces] = entry

    def diagnose(self, exc: BaseException) -> WriteProblem | None:
        """What stops the database from being written, from a write's exception (None: the
        exception is not the database's)."""
        return self._diagnose(exc)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def trouble(self) -> StorageTrouble | None:
        """None while the database takes the writes."""
        with self._lock:
            t = self._trouble
            if t is None:
                return None
            return StorageTrouble(
                t.problem, t.since_ms, len(self._queue), MappingProxyType(dict(self._dropped))
            )

    def flush(
        self, now_ms: int, budget_s: float = FLUSH_BUDGET_S, *, retry_now: bool = False
    ) -> bool:
        """Write what waits, in order, until it is done, a write fails (then retry after the
        backoff) or ``budget_s`` is spent. Returns at once when another thread is flushing or
        the backoff has not run out (unless ``retry_now``). True when nothing is left
        waiting."""
        if not self._flushing.acquire(blocking=False):
            return False
        try:
            with self._lock:
                backing_off = self._trouble is not None and now_ms < self._next_try_ms
                if self._queue and backing_off and not retry_now:
                    return False
            deadline = time.monotonic() + budget_s
            while True:
                with self._lock:
                    if not self._queue:
                        return True
                    entry = self._queue[0]
                    write = entry.write
                try:
                    write()
                except Exception as exc:
                    problem = self._diagnose(exc)
                    if problem is None:
                        self._refuse(entry, exc)
                        continue
                    self._failed(problem, now_ms)
                    return False
                self._done(entry, write, now_ms)
                if time.monotonic() >= deadline:
                    with self._lock:
                        return not self._queue
        finally:
            self._flushing.release()

    # --- internals (under self._lock unless said) ---------------------------------------------

    def _drop_one(self) -> None:
        victim = min(self._queue, key=lambda e: e.kind.keep)  # the oldest of the least kept
        self._queue.remove(victim)
        if victim.token is not None:
            self._tokens.pop(victim.token, None)
        if not self._dropped:
            logger.warning(
                "storage: %d writes are waiting, the most that may; the oldest %s are dropped "
                "from now on",
                self._capacity,
                "snapshots" if victim.kind is Kind.SNAPSHOT else victim.kind.value + " writes",
            )
        self._dropped[victim.kind] += 1

    def _remove(self, entry: _Entry) -> None:
        if self._queue and self._queue[0] is entry:
            self._queue.popleft()
        elif entry in self._queue:
            self._queue.remove(entry)
        else:
            return
        if entry.token is not None and self._tokens.get(entry.token) is entry:
            del self._tokens[entry.token]

    def _done(self, entry: _Entry, write: Callable[[], object], now_ms: int) -> None:
        """Called without the lock: ``write`` (the entry's write when taken) succeeded."""
        with self._lock:
            if entry.write is write:  # else a newer write replaced it meanwhile: keep that
                self._remove(entry)
            trouble, self._trouble = self._trouble, None
            self._retry_ms = self._next_try_ms = 0
            if trouble is None:
                return
            dropped, self._dropped = self._dropped, Counter()
            waiting = len(self._queue)
        lost = ", ".join(f"{n} {k.value} write(s)" for k, n in dropped.items())
        logger.info(
            "storage: the database is written again after %.0f s; %d delayed write(s) follow%s",
            max(0, now_ms - trouble.since_ms) / 1000,
            waiting,
            f" ({lost} were dropped while it could not be)" if lost else "",
        )

    def _failed(self, problem: WriteProblem, now_ms: int) -> None:
        with self._lock:
            before = self._trouble
            self._retry_ms = min(RETRY_MAX_MS, max(RETRY_FIRST_MS, self._retry_ms * 2))
            self._next_try_ms = now_ms + self._retry_ms
            if before is not None and before.problem == problem:
                return
            since = before.since_ms if before is not None else now_ms
            self._trouble = StorageTrouble(problem, since, 0)
            waiting = len(self._queue)
        logger.warning(
            "storage: the database cannot be written: %s; warnings are still shown, and the "
            "%d write(s) waiting are retried (every %d s at most)",
            problem.text,
            waiting,
            RETRY_MAX_MS // 1000,
        )

    def _refuse(self, entry: _Entry, exc: Exception) -> None:
        """A write the database will never take: drop it so it holds nothing back."""
        with self._lock:
            self._remove(entry)
            first = entry.kind not in self._refused
            self._refused.add(entry.kind)
        logger.error(
            "storage: a %s write was refused and dropped: %s",
            entry.kind.value,
            exc,
            exc_info=exc if first else None,
        )
