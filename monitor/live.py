"""Streams into the watch loop: every mark tick recomputes the accounts that hold the symbol,
the venues' liquidation prints become per-minute flows, and pushes from an account's private
stream ask REST to re-read it.

``LiveFeed`` owns a ``connectors.streams.StreamHub`` (ccxt.pro in one asyncio thread) and one
worker thread of its own ("live"). The hub's callbacks run on the stream thread and only
record what arrived and wake the worker; the worker does the work:

- a mark tick: the account's ``Account`` with the new mark goes through the one report
  builder (``Jobs.build_report``), the report is kept, and the warnings are evaluated
  (``Jobs.evaluate``), so a warning follows the tick it is about. At most ``MAX_REPORTS_PER_S``
  recomputes per account a second: ticks arriving faster are merged (the newest mark wins, the
  last one is never dropped). The window hears of it at most every ``UI_INTERVAL_S``
  (``on_account``), so a tick storm does not flood the GUI thread; warnings are not delayed.
- an account push (positions or wallet changed, or the private stream came back): REST reads
  the account now (``poll_now``); what the stream says is a signal, the figures are REST's.
- stream states: an account whose account stream and held symbols' marks are live is
  ``LiveState.LIVE`` and its poll waits (``AccountSlot.streams_cover``; REST still re-reads it
  every ``STREAM_REFRESH_MS``, and a failed read is retried on its backoff); a stale or silent
  stream makes it ``POLLING``: REST reads it at once, then at the normal cadence (and once more
  when the streams are back). Ages follow the sources (``AccountSlot.as_of_ms``), and
  staleness is ``monitor.health.is_stale`` on that age, as for a poll.
- liquidation prints: summed per venue, symbol and minute (the venue's own time), stored in
  ``db.liquidations`` with the spans the stream was live, sent to the window
  (``on_liquidations``, a ``LiquidationUpdate``), and read as the last few minutes' flow
  against its norm (``risk.liqflow``) for the cascade-under-way rule.

Market time: the flow windows and the mark's move are measured on the venue's own timestamps
(its mark and print times), which for a real venue is the wall clock and for the demo the
replay's clock; ages and staleness use this computer's clock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Protocol

import numpy as np

from alerts.state import LiquidationFlows
from connectors.credentials import Credentials
from connectors.streams import (
    LIQUIDATION_FEEDS,
    AccountPush,
    Endpoint,
    FeedKind,
    LiquidationPrint,
    MarkTick,
    StreamHub,
    StreamState,
    StreamStatus,
)
from formatting import venue
from monitor.events import LiquidationUpdate, LiveState, MonitorCallbacks, StreamHealth
from monitor.ports import LiquidationStore
from monitor.state import AccountSlot
from resources import liquidation_prior
from risk.liqflow import DAY_MS, MINUTE_MS, Flow, FlowThresholds, NormSource, history_norm
from risk.report import AccountReport
from risk.types import Account, Side, base_asset
from storage.records import LiquidationMinute

logger = logging.getLogger(__name__)

MAX_REPORTS_PER_S = 20.0
"""Recomputes per account a second at most (the engine and the rules take a few ms)."""
UI_INTERVAL_S = 0.2
"""An account's stream-driven updates reach the window at most this often."""
SNAPSHOT_EVERY_MS = 2_000
"""A stream-driven report is stored at most this often (the poll's own reads always are)."""
FLUSH_S = 5.0
"""Liquidation minutes and live spans are written this often."""
LIQUIDATION_UI_S = 1.0
"""A symbol's liquidation bars reach the window at most this often."""
NORM_REFRESH_S = 600.0
SERIES_MINUTES = 24 * 60
"""Minutes of liquidations kept in memory for the chart (its bars sum them to its own bar
length, an hour with the hourly candles the monitor reads)."""
HOUSEKEEPING_S = 0.5
MOVE_TOLERANCE_MS = 2 * MINUTE_MS
"""The mark "10 minutes ago" may be this much older than that (a stream tick, a gap)."""
NOT_STREAMED = "an account on its own API address without a stream address is polled only"


class LiveJobs(Protocol):
    """What the feed needs of the watch loop's jobs (``monitor.jobs.Jobs``)."""

    accounts: dict[int, AccountSlot]

    def now_ms(self) -> int: ...

    def build_report(self, account: Account) -> AccountReport: ...

    def evaluate(self, slot: AccountSlot, now_ms: int) -> object: ...

    def sigma_daily(self, symbol: str) -> float | None: ...

    def save_snapshot(self, slot: AccountSlot, report: AccountReport, now_ms: int) -> None: ...


HubFactory = Callable[..., StreamHub]


@dataclass
class _Book:
    """One venue's liquidations of one symbol: the recent prints and the minutes."""

    endpoint: Endpoint
    symbol: str
    recent: deque[tuple[int, Side, float]] = field(default_factory=deque)
    minutes: dict[int, list[float]] = field(default_factory=dict)
    """minute -> [long USD, short USD, long count, short count]"""
    unflushed: dict[int, list[float]] = field(default_factory=dict)
    live_from_ms: int | None = None
    """Market time since which the stream has been live (None: not live)."""
    changed: bool = True
    seeded: bool = False
    last_emit: float = 0.0

    def add(self, p: LiquidationPrint) -> None:
        usd = p.notional
        self.recent.append((p.time_ms, p.side, usd))
        minute = p.time_ms - p.time_ms % MINUTE_MS
        col = 0 if p.side is Side.LONG else 1
        for table in (self.minutes, self.unflushed):
            row = table.setdefault(minute, [0.0, 0.0, 0.0, 0.0])
            row[col] += usd
            row[col + 2] += 1
        self.changed = True

    def prune(self, now_ms: int, keep_ms: int) -> None:
        while self.recent and self.recent[0][0] <= now_ms - keep_ms:
            self.recent.popleft()
        oldest = now_ms - SERIES_MINUTES * MINUTE_MS
        for minute in [m for m in self.minutes if m < oldest]:
            del self.minutes[minute]

    def window(self, side: Side, now_ms: int, window_ms: int) -> float:
        return sum(u for t, s, u in self.recent if s is side and now_ms - window_ms < t <= now_ms)


class LiveFeed:
    """The streams of every account the watch loop holds; see the module docstring.

    ``start()``, ``stop()``; ``add(slot, credentials)`` when the service builds an account,
    ``drop(account_id)`` when it removes one, ``sync()`` after the held symbols may have
    changed, ``set_watched(symbols)`` for symbols the user watches without a position;
    ``after_read(account_id)`` after a REST read; ``liquidation_flows(account_id, account)``
    for the rules.
    """

    def __init__(
        self,
        jobs: LiveJobs,
        callbacks: MonitorCallbacks,
        poll_now: Callable[[int], None],
        store: LiquidationStore | None,
        *,
        clock: Callable[[], float] = time.time,
        keep_liquidations: Callable[[Endpoint], bool] = lambda e: e.api_url is None,
        flow: FlowThresholds | None = None,
        hub_factory: HubFactory = StreamHub,
    ) -> None:
        self.jobs = jobs
        self.callbacks = callbacks
        self.poll_now = poll_now
        self.store = store
        self.clock = clock
        self.keep_liquidations = keep_liquidations
        self.flow = flow or FlowThresholds()
        self.hub = hub_factory(self, clock=clock)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        # what the service asked for
        self._endpoints: dict[int, Endpoint | None] = {}
        self._requested: dict[Endpoint, frozenset[str]] = {}
        self._watched: frozenset[str] = frozenset()
        self._sync_lock = threading.Lock()
        # what the streams said (written on the stream thread, under _cond)
        self._marks: dict[tuple[Endpoint, str], MarkTick] = {}
        self._history: dict[tuple[Endpoint, str], deque[tuple[int, float]]] = {}
        self._market_now: dict[Endpoint, int] = {}
        self._prints: list[LiquidationPrint] = []
        self._pushes: list[AccountPush] = []
        self._statuses: dict[tuple[Endpoint | None, FeedKind, str | None, str | None], StreamStatus]
        self._statuses = {}
        self._statuses_changed = False
        self._dirty: set[int] = set()
        self._holders: dict[tuple[Endpoint, str], frozenset[int]] = {}
        """Which accounts hold each symbol on each venue (a tick recomputes only those)."""
        # the worker's own (the books also read by the rules, under _books_lock)
        self._books: dict[tuple[Endpoint, str], _Book] = {}
        self._books_lock = threading.RLock()
        self._last_report: dict[int, float] = {}
        self._ui_sent: dict[int, float] = {}
        self._ui_pending: set[int] = set()
        self._snapshot_ms: dict[int, int] = {}
        self._norms: dict[tuple[Endpoint, str, Side], tuple[float, tuple[float, NormSource] | None]]
        self._norms = {}
        self._evaluated: dict[int, float] = {}
        self._failed_logged: dict[int, float] = {}
        self._next_flush = 0.0
        self.reports = 0
        """Stream-driven recomputes so far (for the benchmark)."""

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> LiveFeed:
        if self._thread is not None:
            return self
        self._stopping = False
        self.hub.start()
        self._thread = threading.Thread(target=self._run, name="live", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.hub.stop(timeout)
        try:
            self._flush()
        except Exception:
            logger.exception("could not store the last liquidation minutes")

    # --- what to stream (any thread) -------------------------------------------------------

    def add(self, slot: AccountSlot, credentials: Credentials) -> None:
        """Stream an account the service has just built (its private stream now, its
        symbols' marks once it has been read)."""
        cfg = slot.config
        endpoint = endpoint_of(cfg.exchange, cfg.base_url, cfg.ws_url)
        with self._cond:
            self._endpoints[cfg.account_id] = endpoint
        with slot.lock:
            if endpoint is None:
                slot.live = StreamHealth(LiveState.OFF, NOT_STREAMED, self.jobs.now_ms())
            else:
                slot.live = StreamHealth(LiveState.CONNECTING, None, self.jobs.now_ms())
        if endpoint is not None:
            self.hub.watch_account(str(cfg.account_id), endpoint, credentials)

    def drop(self, account_id: int) -> None:
        with self._cond:
            endpoint = self._endpoints.pop(account_id, None)
            self._dirty.discard(account_id)
        if endpoint is not None:
            self.hub.drop_account(str(account_id))
        self.sync()

    def set_watched(self, symbols: Iterable[str]) -> None:
        """Symbols the user watches without a position: their marks (and liquidations) are
        streamed from every venue watched that settles in their quote."""
        self._watched = frozenset(symbols)
        self.sync()

    def sync(self) -> None:
        """Ask the hub for exactly the symbols held (and watched) on each venue."""
        with self._sync_lock:
            wanted: dict[Endpoint, set[str]] = {}
            holders: dict[tuple[Endpoint, str], set[int]] = {}
            with self._cond:
                endpoints = list(self._endpoints.items())
            for account_id, endpoint in endpoints:
                if endpoint is None:
                    continue
                symbols = wanted.setdefault(endpoint, set())
                slot = self.jobs.accounts.get(account_id)
                if slot is not None:
                    with slot.lock:
                        account = slot.account
                    if account is not None:
                        symbols.update(account.symbols)
                        for symbol in account.symbols:
                            holders.setdefault((endpoint, symbol), set()).add(account_id)
            with self._cond:
                self._holders = {k: frozenset(v) for k, v in holders.items()}
            for endpoint, symbols in wanted.items():
                settle = ":USDC" if endpoint.exchange == "hyperliquid" else ":USDT"
                symbols.update(s for s in self._watched if s.endswith(settle))
            for endpoint, symbols in wanted.items():
                frozen = frozenset(symbols)
                if self._requested.get(endpoint) != frozen:
                    self._requested[endpoint] = frozen
                    self.hub.watch_symbols(endpoint, frozen)
            for endpoint in set(self._requested) - set(wanted):
                del self._requested[endpoint]
                self.hub.watch_symbols(endpoint, ())
        with self._cond:
            self._statuses_changed = True
            self._cond.notify_all()

    def after_read(self, account_id: int) -> None:
        """A REST read replaced the account: stream its symbols (and recompute it on their
        ticks) if they changed."""
        with self._cond:
            endpoint = self._endpoints.get(account_id)
            holders = dict(self._holders)
        slot = self.jobs.accounts.get(account_id)
        if endpoint is None or slot is None:
            return
        with slot.lock:
            account = slot.account
        held = {k[1] for k, ids in holders.items() if k[0] == endpoint and account_id in ids}
        if account is not None and set(account.symbols) != held:
            self.sync()
        else:
            with self._cond:
                self._statuses_changed = True
                self._cond.notify_all()

    # --- the hub's callbacks (the stream thread: record and wake) ------------------------------

    def on_mark(self, tick: MarkTick) -> None:
        endpoint = tick.endpoint
        if endpoint is None:
            return
        market_ms = tick.exchange_ms if tick.exchange_ms is not None else tick.received_ms
        key = (endpoint, tick.symbol)
        with self._cond:
            self._marks[key] = tick
            history = self._history.setdefault(key, deque())
            if not history or market_ms > history[-1][0]:
                history.append((market_ms, tick.mark))
            keep = self.flow.move_window_ms + MOVE_TOLERANCE_MS + MINUTE_MS
            while history and history[0][0] < market_ms - keep:
                history.popleft()
            if market_ms > self._market_now.get(endpoint, 0):
                self._market_now[endpoint] = market_ms
            holders = self._holders.get(key)
            if holders:
                self._dirty |= holders
                self._cond.notify_all()

    def on_liquidations(self, prints: tuple[LiquidationPrint, ...]) -> None:
        with self._cond:
            self._prints.extend(prints)
            self._cond.notify_all()

    def on_account_push(self, push: AccountPush) -> None:
        with self._cond:
            self._pushes.append(push)
            self._cond.notify_all()

    def on_stream_status(self, status: StreamStatus) -> None:
        key = (status.endpoint, status.kind, status.symbol, status.account_key)
        with self._cond:
            self._statuses[key] = status
            self._statuses_changed = True
            self._cond.notify_all()

    # --- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        next_housekeeping = 0.0
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    ready = {a for a in self._dirty if self._report_due(a, now)}
                    if (
                        ready
                        or self._prints
                        or self._pushes
                        or self._statuses_changed
                        or now >= next_housekeeping
                    ):
                        break
                    self._cond.wait(self._wait_s(now, next_housekeeping))
                if self._stopping:
                    return
                self._dirty -= ready
                prints, self._prints = self._prints, []
                pushes, self._pushes = self._pushes, []
                statuses_changed, self._statuses_changed = self._statuses_changed, False
            try:
                self._work(ready, prints, pushes, statuses_changed)
                if time.monotonic() >= next_housekeeping:
                    next_housekeeping = time.monotonic() + HOUSEKEEPING_S
                    self._housekeeping()
            except Exception:
                logger.exception("the live feed's worker failed; it carries on")

    def _report_due(self, account_id: int, now: float) -> bool:
        return now - self._last_report.get(account_id, 0.0) >= 1.0 / MAX_REPORTS_PER_S

    def _wait_s(self, now: float, next_housekeeping: float) -> float:
        wait = next_housekeeping - now
        for account_id in self._dirty:
            due = self._last_report.get(account_id, 0.0) + 1.0 / MAX_REPORTS_PER_S
            wait = min(wait, due - now)
        return max(0.001, wait)

    def _work(
        self,
        ready: set[int],
        prints: list[LiquidationPrint],
        pushes: list[AccountPush],
        statuses_changed: bool,
    ) -> None:
        for push in pushes:
            try:
                account_id = int(push.key)
            except ValueError:
                continue
            logger.debug("account %s pushed %s: reading it now", account_id, push.kind.value)
            self.poll_now(account_id)
        if prints:
            self._add_prints(prints)
        if statuses_changed:
            self._refresh_health()
        for account_id in ready:
            self._last_report[account_id] = time.monotonic()
            self._recompute(account_id)
        self._send_accounts()

    # --- a mark tick: the report and the warnings --------------------------------------------

    def _recompute(self, account_id: int) -> None:
        slot = self.jobs.accounts.get(account_id)
        with self._cond:
            endpoint = self._endpoints.get(account_id)
        if slot is None or endpoint is None:
            return
        with slot.lock:
            account = slot.account
            error = slot.error_kind
        if account is None:
            return
        with self._cond:
            ticks = {s: self._marks.get((endpoint, s)) for s in account.symbols}
        now = self.jobs.now_ms()
        with slot.lock:
            for symbol, tick in ticks.items():
                if tick is not None:
                    slot.stream_marks[symbol] = (tick.mark, tick.received_ms)
        positions = []
        applied: dict[str, int] = {}
        confirmed: dict[str, int] = {}
        for pos in account.positions:
            tick = ticks.get(pos.symbol)
            if tick is not None and tick.received_ms > (pos.mark_as_of_ms or 0):
                if tick.mark != pos.mark_price:
                    pos = replace(pos, mark_price=tick.mark, mark_as_of_ms=tick.received_ms)
                    applied[pos.symbol] = tick.received_ms
                else:
                    confirmed[pos.symbol] = tick.received_ms
            positions.append(pos)
        if confirmed:
            # the stream says the same mark again: its source and time move, the report not
            with slot.lock:
                if slot.account is account:
                    slot.stream_applied.update(confirmed)
            self._ui_pending.add(account_id)
        mono = time.monotonic()
        if not applied and mono - self._evaluated.get(account_id, -math.inf) < 1.0:
            return  # the same marks: nothing to recompute (the flows are re-read each second)
        self._evaluated[account_id] = mono
        try:
            # a new mark, or the once-a-second pass: the report is rebuilt either way, so the
            # market figures it reads (volatility, betas) reach it without a REST read
            moved = replace(account, positions=tuple(positions)) if applied else account
            report = self.jobs.build_report(moved)
            with slot.lock:
                replaced = slot.account is not account
                if not replaced:
                    slot.record_marks(moved, report, applied)
            if replaced:
                # a REST read replaced it meanwhile: again at once on the new account, with the
                # marks heard since that read was asked for (a pinned mark is pushed again only
                # a second later)
                with self._cond:
                    self._dirty.add(account_id)
                    self._cond.notify_all()
                return
            if applied:
                self.reports += 1
                if now - self._snapshot_ms.get(account_id, 0) >= SNAPSHOT_EVERY_MS and not error:
                    self._snapshot_ms[account_id] = now
                    self.jobs.save_snapshot(slot, report, now)
            self.jobs.evaluate(slot, now)
        except Exception:
            last = self._failed_logged.get(account_id, -math.inf)
            if time.monotonic() - last >= 60.0:
                self._failed_logged[account_id] = time.monotonic()
                logger.exception("the live report of account %s failed", account_id)
            return
        self._ui_pending.add(account_id)

    def _send_accounts(self, force: Iterable[int] = ()) -> None:
        now = time.monotonic()
        for account_id in set(self._ui_pending) | set(force):
            if account_id not in force and now - self._ui_sent.get(account_id, 0.0) < UI_INTERVAL_S:
                continue
            self._ui_pending.discard(account_id)
            slot = self.jobs.accounts.get(account_id)
            if slot is None:
                continue
            self._ui_sent[account_id] = now
            with slot.lock:
                update = slot.update(self.jobs.now_ms())
            try:
                self.callbacks.on_account(update)
            except Exception:
                logger.exception("monitor callback failed")

    # --- stream states -----------------------------------------------------------------------

    def _refresh_health(self) -> None:
        now = self.jobs.now_ms()
        with self._cond:
            statuses = dict(self._statuses)
            endpoints = list(self._endpoints.items())
        changed: list[int] = []
        dropped: list[int] = []
        for account_id, endpoint in endpoints:
            slot = self.jobs.accounts.get(account_id)
            if slot is None or endpoint is None:
                continue
            with slot.lock:
                account = slot.account
                before = slot.live
            held = account.symbols if account is not None else ()
            own = statuses.get((endpoint, FeedKind.ACCOUNT, None, str(account_id)))
            needed = [own] + [statuses.get((endpoint, FeedKind.MARKS, s, None)) for s in held]
            live_marks = frozenset(
                s
                for s in held
                if (st := statuses.get((endpoint, FeedKind.MARKS, s, None))) is not None
                and st.state is StreamState.LIVE
            )
            stale = [s for s in needed if s is not None and s.state is StreamState.STALE]
            if stale:
                first = min(stale, key=lambda s: s.since_ms)
                what = venue(first.exchange) + (
                    f" marks of {first.symbol}" if first.symbol else " account stream"
                )
                health = StreamHealth(
                    LiveState.POLLING, f"{what}: {first.reason or 'down'}", first.since_ms
                )
            elif all(s is not None and s.state is StreamState.LIVE for s in needed):
                since = max(s.since_ms for s in needed if s is not None)
                health = StreamHealth(LiveState.LIVE, None, since)
            else:
                health = StreamHealth(LiveState.CONNECTING, None, now)
            feed_live = own is not None and own.state is StreamState.LIVE
            with slot.lock:
                if slot.account_feed_live and not feed_live:
                    slot.account_feed_ms = own.since_ms if own is not None else now
                slot.account_feed_live = feed_live
                slot.marks_live = live_marks
                if (
                    before is None
                    or before.state is not health.state
                    or (before.reason != health.reason)
                ):
                    slot.live = health
                    changed.append(account_id)
                    if before is not None and LiveState.LIVE in (before.state, health.state):
                        dropped.append(account_id)
            if before is not None and before.state is not health.state:
                log = logger.info if health.state is not LiveState.CONNECTING else logger.debug
                log(
                    "account %s: streams %s%s",
                    slot.config.label,
                    health.state.value,
                    f" ({health.reason})" if health.reason else "",
                )
        with self._books_lock:
            books = list(self._books.values())
        for book in books:
            st = statuses.get((book.endpoint, FeedKind.LIQUIDATIONS, book.symbol, None))
            live = st is not None and st.state is StreamState.LIVE
            if live and book.live_from_ms is None:
                book.live_from_ms = self._market_now.get(book.endpoint)
                book.changed = True
            elif not live and book.live_from_ms is not None:
                book.live_from_ms = None
                book.changed = True
        for account_id in dropped:
            # a stream dropped (polling takes over at once, then at its cadence) or came back
            # (REST confirms the account, its backoff set aside once)
            self.poll_now(account_id)
        self._send_accounts(force=changed)

    # --- liquidations ------------------------------------------------------------------------

    def _book(self, endpoint: Endpoint, symbol: str) -> _Book:
        book = self._books.get((endpoint, symbol))
        if book is None:
            book = self._books[(endpoint, symbol)] = _Book(endpoint, symbol)
            with self._cond:
                st = self._statuses.get((endpoint, FeedKind.LIQUIDATIONS, symbol, None))
                now = self._market_now.get(endpoint)
            if st is not None and st.state is StreamState.LIVE:
                book.live_from_ms = now
        return book

    def _add_prints(self, prints: list[LiquidationPrint]) -> None:
        with self._books_lock:
            for p in prints:
                if p.endpoint is not None:
                    self._book(p.endpoint, p.symbol).add(p)
        with self._cond:
            for p in prints:
                if p.endpoint is not None and p.time_ms > self._market_now.get(p.endpoint, 0):
                    self._market_now[p.endpoint] = p.time_ms

    def _housekeeping(self) -> None:
        now_ms = self.jobs.now_ms()
        with self._cond:
            market_now = dict(self._market_now)
            requested = [(e, s) for e, symbols in self._requested.items() for s in symbols]
        keep = max(self.flow.window_ms, self.flow.move_window_ms) + MINUTE_MS
        with self._books_lock:
            for endpoint, symbol in requested:
                if endpoint.exchange in LIQUIDATION_FEEDS:
                    self._book(endpoint, symbol)
            for (endpoint, _symbol), book in self._books.items():
                t = market_now.get(endpoint)
                if t is not None:
                    book.prune(t, keep)
        # an account whose stream is live vouches for its figures up to now; and every
        # streamed account is evaluated at least once a second, ticks or none (one whose
        # positions were closed has no marks to tick, and its poll waits while it is live)
        with self._cond:
            ids = [a for a, e in self._endpoints.items() if e is not None]
        mono = time.monotonic()
        due: set[int] = set()
        for account_id in ids:
            slot = self.jobs.accounts.get(account_id)
            if slot is not None:
                with slot.lock:
                    if slot.account_feed_live:
                        slot.account_feed_ms = now_ms
                if mono - self._evaluated.get(account_id, -math.inf) >= 1.0:
                    due.add(account_id)
        if due:
            with self._cond:
                self._dirty |= due
        if time.monotonic() >= self._next_flush:
            self._next_flush = time.monotonic() + FLUSH_S
            self._flush()
        self._send_liquidations()
        self._send_accounts()

    def _flush(self) -> None:
        """Write the minutes heard since the last flush, and the live spans."""
        if self.store is None:
            return
        with self._cond:
            market_now = dict(self._market_now)
        rows: list[LiquidationMinute] = []
        spans: list[tuple[str, str, int, int]] = []
        with self._books_lock:
            for (endpoint, symbol), book in self._books.items():
                if not self.keep_liquidations(endpoint):
                    book.unflushed.clear()
                    continue
                rows += [
                    LiquidationMinute(
                        endpoint.exchange, symbol, m, v[0], v[1], int(v[2]), int(v[3])
                    )
                    for m, v in book.unflushed.items()
                ]
                book.unflushed = {}
                t = market_now.get(endpoint)
                if book.live_from_ms is not None and t is not None:
                    spans.append((endpoint.exchange, symbol, book.live_from_ms, t))
        for exchange, symbol, lo, hi in spans:
            try:
                self.store.cover(exchange, symbol, lo, hi)
            except Exception:
                logger.exception("could not record the live span of %s", symbol)
        if rows:
            try:
                self.store.add(rows)
            except Exception:
                logger.exception("could not store %d liquidation minute(s)", len(rows))

    def _send_liquidations(self) -> None:
        now = time.monotonic()
        with self._cond:
            market_now = dict(self._market_now)
        updates: list[LiquidationUpdate] = []
        with self._books_lock:
            books = list(self._books.items())
        for (endpoint, symbol), book in books:
            if not book.changed or now - book.last_emit < LIQUIDATION_UI_S:
                continue
            t = market_now.get(endpoint)
            if t is None:
                continue
            if not book.seeded:
                book.seeded = True
                self._seed(book, t)
            with self._books_lock:
                book.changed = False
                book.last_emit = now
                minutes = sorted(book.minutes)
                updates.append(
                    LiquidationUpdate(
                        endpoint.exchange,
                        symbol,
                        np.array(minutes, dtype=np.int64),
                        np.array([book.minutes[m][0] for m in minutes], dtype=float),
                        np.array([book.minutes[m][1] for m in minutes], dtype=float),
                        book.live_from_ms is not None,
                        ((book.live_from_ms, t),) if book.live_from_ms is not None else (),
                        t,
                    )
                )
        for update in updates:
            try:
                self.callbacks.on_liquidations(update)
            except Exception:
                logger.exception("monitor callback failed")

    def _seed(self, book: _Book, market_now: int) -> None:
        """The chart's first bars: the stored minutes of the last few hours."""
        if self.store is None or not self.keep_liquidations(book.endpoint):
            return
        since = market_now - SERIES_MINUTES * MINUTE_MS
        try:
            series = self.store.query(book.endpoint.exchange, book.symbol, since, market_now)
        except Exception:
            logger.exception("could not read the stored liquidations of %s", book.symbol)
            return
        with self._books_lock:
            for m, lo, sh in zip(series.minute_ms, series.long_usd, series.short_usd, strict=True):
                if int(m) not in book.minutes:
                    book.minutes[int(m)] = [float(lo), float(sh), 0.0, 0.0]

    def _norm(
        self, endpoint: Endpoint, symbol: str, side: Side, now_ms: int
    ) -> tuple[float, NormSource] | None:
        """The usual notional for the flow window: the mean of the stored minutes over the
        last week when the stream has covered it without a gap, else the CoinGlass prior."""
        key = (endpoint, symbol, side)
        cached = self._norms.get(key)
        if cached is not None and time.monotonic() - cached[0] < NORM_REFRESH_S:
            return cached[1]
        found: tuple[float, NormSource] | None = None
        if self.store is not None and self.keep_liquidations(endpoint):
            try:
                since = self.store.covered_since(endpoint.exchange, symbol, now_ms)
                if since is not None and now_ms - since >= self.flow.norm_days * DAY_MS:
                    series = self.store.query(
                        endpoint.exchange, symbol, now_ms - int(self.flow.norm_days * DAY_MS)
                    )
                    usd = series.long_usd if side is Side.LONG else series.short_usd
                    norm = history_norm(series.minute_ms, usd, now_ms, since, self.flow)
                    if norm is not None and norm > 0:
                        found = (norm, NormSource.HISTORY)
            except Exception:
                logger.exception("could not read the liquidation norm of %s", symbol)
        if found is None:
            prior = liquidation_prior(endpoint.exchange, symbol, side.name.lower())
            if prior is not None and prior > 0:
                found = (prior, NormSource.PRIOR)
        self._norms[key] = (time.monotonic(), found)
        return found

    # --- for the rules -----------------------------------------------------------------------

    def liquidation_flows(
        self, account_id: int, account: Account
    ) -> Mapping[str, LiquidationFlows]:
        """The market's liquidations of each symbol the account holds: every venue's flow of
        the same asset over the last few minutes against its norm, and the mark's move on the
        account's own venue (market time)."""
        with self._cond:
            endpoint = self._endpoints.get(account_id)
        if endpoint is None:
            return MappingProxyType({})
        f = self.flow
        out: dict[str, LiquidationFlows] = {}
        with self._books_lock:
            books = list(self._books.values())
        with self._cond:
            market_now = dict(self._market_now)
            histories = {s: tuple(self._history.get((endpoint, s), ())) for s in account.symbols}
            statuses = dict(self._statuses)
        for symbol in account.symbols:
            asset = base_asset(symbol)
            flows: list[Flow] = []
            for book in books:
                if base_asset(book.symbol) != asset:
                    continue
                st = statuses.get((book.endpoint, FeedKind.LIQUIDATIONS, book.symbol, None))
                t = market_now.get(book.endpoint)
                if st is None or st.state is not StreamState.LIVE or t is None:
                    continue
                for side in (Side.LONG, Side.SHORT):
                    norm = self._norm(book.endpoint, book.symbol, side, t)
                    if norm is None:
                        continue
                    with self._books_lock:
                        notional = book.window(side, t, f.window_ms)
                    flows.append(
                        Flow(
                            book.endpoint.exchange,
                            book.symbol,
                            side,
                            f.window_ms,
                            notional,
                            norm[0],
                            norm[1],
                            t,
                        )
                    )
            if not flows:
                continue
            history = histories.get(symbol, ())
            mark = history[-1][1] if history else None
            before = mark_at(history, history[-1][0] - f.move_window_ms) if history else None
            out[symbol] = LiquidationFlows(
                symbol, tuple(flows), mark, before, self.jobs.sigma_daily(symbol)
            )
        return MappingProxyType(out)


def mark_at(history: tuple[tuple[int, float], ...], t_ms: int) -> float | None:
    """The mark heard last at or before ``t_ms``, when that is no more than
    ``MOVE_TOLERANCE_MS`` older than it."""
    found: tuple[int, float] | None = None
    for entry in history:
        if entry[0] > t_ms:
            break
        found = entry
    if found is None or t_ms - found[0] > MOVE_TOLERANCE_MS:
        return None
    return found[1]


def endpoint_of(exchange: str, base_url: str | None, ws_url: str | None) -> Endpoint | None:
    """Where an account streams from: the venue itself (no address of its own), or its own
    API address together with the stream address given for it; None when it has an API
    address of its own and no stream address (it is polled only)."""
    if base_url is None:
        return Endpoint(exchange)
    if ws_url is None:
        return None
    return Endpoint(exchange, base_url, ws_url)
