"""What the monitor remembers between jobs: per account (its connector, last report, failures
and backoff) and per symbol (candles, market figures, levels, liquidation map, cascade).

Each slot has its own lock; jobs read a slot's fields under it and hand out immutable values
(``AccountUpdate``), never the slot itself.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from alerts.account_rules import CONFIRMING_READS
from alerts.thresholds import Thresholds
from connectors.types import ErrorKind, KeyPermissions
from monitor.events import AccountStatus, AccountUpdate, LiveMark, MarkSource, StreamHealth
from monitor.health import STALE_POLLS, ConnectionStatus, is_stale, stale_after_ms
from monitor.ports import Connector
from risk.cascade import Cascade
from risk.levels import Levels
from risk.liqmap import LiqMap
from risk.report import AccountReport
from risk.types import Account, Candles, ContractType, ForcedClose, MarketStats, OrderBook
from settings.registry import POLL_INTERVAL_S

MAX_BACKOFF_S = 60.0
EVIDENCE_ASKS = 2
"""Times the exchange's record of liquidations is read after positions vanish (the read that
saw them gone and the next), unless the first names them: a record may lag the close."""
STREAM_REFRESH_MS = 60_000
"""While the streams cover an account, REST still re-reads it this often: the account-level
figures (maintenance, the exchange's margin ratio), the tiers and funding come only that way."""


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """An account to watch: from the database's account record plus its settings."""

    account_id: int
    label: str
    exchange: str
    is_demo: bool = False
    base_url: str | None = None
    ws_url: str | None = None
    """Where it streams from when ``base_url`` is its own (None there: polled only)."""
    secret_name: str | None = None
    poll_interval_s: float = float(POLL_INTERVAL_S.default)
    stale_polls: float = STALE_POLLS
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class AccountSlot:
    """Mutable per-account state; touch it only under ``lock``."""

    config: AccountConfig
    connector: Connector | None = None
    market_connector: Connector | None = None
    report: AccountReport | None = None
    account: Account | None = None
    """The account the connector last returned; ``report`` was built from it."""
    before_change: AccountReport | None = None
    """The report read just before the account's positions last changed."""
    changed_after_ms: int | None = None
    """When the positions were last read as they were before that change."""
    reads_since_change: int = 0
    """Good reads since that change, the read that saw it included."""
    forced_closes: tuple[ForcedClose, ...] | None = None
    """The exchange's record of the account's liquidations since ``changed_after_ms``
    (``Capability.LIQUIDATIONS``), read only when positions vanish; None until read."""
    evidence_asks: int = 0
    last_ok_ms: int | None = None
    failures: int = 0
    next_attempt_ms: int = 0
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    permissions: KeyPermissions | None = None
    permissions_checked: bool = False
    clock_note: str | None = None
    mismatched: frozenset[str] = frozenset()
    """Symbols whose computed and exchange liquidation prices differed at the last read (a
    mismatch is logged when it appears, not on every poll)."""
    force_next: bool = False
    """Set by ``poll_now``: the next poll ignores the backoff."""
    live: StreamHealth | None = None
    """The account's streams (None: it has none; it is polled)."""
    account_feed_live: bool = False
    account_feed_ms: int | None = None
    """When the account's private stream was last known live."""
    marks_live: frozenset[str] = frozenset()
    """The symbols whose mark stream is live on this account's venue."""
    stream_marks: dict[str, tuple[float, int]] = field(default_factory=dict)
    """The newest streamed mark of each symbol: (price, received ms)."""
    stream_applied: dict[str, int] = field(default_factory=dict)
    """The symbols whose mark in ``account`` came from the stream, with its time."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def poll_ms(self) -> int:
        return int(self.config.poll_interval_s * 1000)

    @property
    def stale_after_ms(self) -> int:
        return stale_after_ms(self.poll_ms, self.config.stale_polls)

    def as_of_ms(self, now_ms: int) -> int | None:
        """Since when the figures are known current: the last REST read, or with streams the
        oldest of what they carry — the account stream (its positions and wallet are pushed
        when they change, so it vouches for them while live) and each held symbol's mark."""
        if self.last_ok_ms is None:
            return None
        account = self.account
        if self.live is None or account is None:
            return self.last_ok_ms
        read = self.last_ok_ms
        held = now_ms if self.account_feed_live else max(read, self.account_feed_ms or 0)
        times = [held]
        for symbol in account.symbols:
            tick = self.stream_marks.get(symbol)
            times.append(max(read, tick[1]) if tick is not None else read)
        return min(times)

    def age_ms(self, now_ms: int) -> int | None:
        as_of = self.as_of_ms(now_ms)
        return None if as_of is None else max(0, now_ms - as_of)

    def streams_cover(self, now_ms: int) -> bool:
        """Whether the streams carry this account now, so a poll may wait: its account stream
        and the marks of every symbol it holds are live, no mark is so old that a poll would
        no longer come before it is stale (a venue that pushes an unchanged mark only every
        few seconds, such as OKX, is still live), the last REST read is younger than
        ``STREAM_REFRESH_MS``, and no change in its positions awaits its confirming reads."""
        account = self.account
        if self.live is None or account is None or self.last_ok_ms is None:
            return False
        if not self.account_feed_live or now_ms - self.last_ok_ms >= STREAM_REFRESH_MS:
            return False
        if self.before_change is not None and self.reads_since_change < CONFIRMING_READS:
            return False  # positions changed: REST reads confirm how they ended
        limit = max(self.poll_ms, self.stale_after_ms - self.poll_ms)
        for symbol in account.symbols:
            tick = self.stream_marks.get(symbol)
            if symbol not in self.marks_live or tick is None or now_ms - tick[1] > limit:
                return False
        return True

    def record_marks(
        self, account: Account, report: AccountReport, applied: dict[str, int]
    ) -> None:
        """Keep a report recomputed with streamed marks (positions and wallet unchanged)."""
        self.account = account
        self.report = report
        self.stream_applied.update(applied)

    def live_marks(self) -> tuple[LiveMark, ...]:
        account = self.account
        if account is None:
            return ()
        out: list[LiveMark] = []
        for pos in account.positions:
            if any(m.symbol == pos.symbol for m in out):
                continue
            at = self.stream_applied.get(pos.symbol)
            if at is not None:
                out.append(LiveMark(pos.symbol, pos.mark_price, MarkSource.STREAM, at))
            else:
                read = pos.mark_as_of_ms or account.as_of_ms or self.last_ok_ms or 0
                out.append(LiveMark(pos.symbol, pos.mark_price, MarkSource.POLL, read))
        return tuple(out)

    def is_stale(self, now_ms: int) -> bool:
        return is_stale(self.age_ms(now_ms), self.stale_after_ms)

    def record_read(self, account: Account, report: AccountReport, now_ms: int) -> None:
        """Keep a good poll's account and report; remember the report before a change in the
        positions held (what the liquidation rule compares) and start counting the reads
        that confirm the change."""
        previous = self.report
        if previous is not None and _held(previous) != _held(report):
            self.before_change = previous
            self.changed_after_ms = self.last_ok_ms
            self.reads_since_change = 0
            self.forced_closes = None
            self.evidence_asks = 0
        self.reads_since_change += 1
        self.account = account
        self.report = report
        self.stream_applied = {}
        self.record_success(now_ms)

    def liquidation_record_wanted(self) -> frozenset[ContractType]:
        """The kinds of contract whose record to read: those of the positions that vanished at
        the last change, while the exchange's record, read at most ``EVIDENCE_ASKS`` times,
        has not named any of them (empty: nothing to read)."""
        before, report = self.before_change, self.report
        if before is None or report is None or self.evidence_asks >= EVIDENCE_ASKS:
            return frozenset()
        held = _held(report)
        gone = [p for p in before.positions if (p.symbol, p.side.name) not in held]
        recorded = {(c.symbol, c.side) for c in self.forced_closes or ()}
        if any((p.symbol, p.side) in recorded for p in gone):
            return frozenset()
        return frozenset(p.contract_type for p in gone)

    def add_liquidation_record(self, closes: tuple[ForcedClose, ...] | None) -> None:
        """One read of the exchange's record (None: it failed)."""
        self.evidence_asks += 1
        if closes is not None:
            self.forced_closes = tuple(dict.fromkeys((*(self.forced_closes or ()), *closes)))

    def record_success(self, now_ms: int) -> None:
        self.last_ok_ms = now_ms
        self.failures = 0
        self.next_attempt_ms = 0
        self.error_kind = None
        self.error_message = None

    def record_failure(
        self, now_ms: int, kind: ErrorKind, message: str, retry_after_s: float | None
    ) -> None:
        """Count a failed poll and set when to try again: exponential backoff from the poll
        interval, capped, and never sooner than the exchange's Retry-After."""
        self.failures += 1
        self.error_kind = kind
        self.error_message = message
        backoff = min(self.config.poll_interval_s * 2 ** (self.failures - 1), MAX_BACKOFF_S)
        if retry_after_s is not None:
            backoff = max(backoff, retry_after_s)
        self.next_attempt_ms = now_ms + int(backoff * 1000)

    def connection_status(self, now_ms: int) -> ConnectionStatus:
        return ConnectionStatus(
            error_kind=self.error_kind,
            error_message=self.error_message,
            age_ms=self.age_ms(now_ms),
            poll_interval_ms=self.poll_ms,
            stale_polls=self.config.stale_polls,
            failures=self.failures,
            clock_note=self.clock_note,
        )

    def update(self, now_ms: int) -> AccountUpdate:
        if self.last_ok_ms is None and self.error_kind is None:
            status = AccountStatus.CONNECTING
        elif self.is_stale(now_ms):
            status = AccountStatus.STALE
        elif self.error_kind is not None:
            status = AccountStatus.ERROR
        else:
            status = AccountStatus.OK
        cfg = self.config
        return AccountUpdate(
            account_id=cfg.account_id,
            label=cfg.label,
            exchange=cfg.exchange,
            is_demo=cfg.is_demo,
            account=self.account,
            report=self.report,
            status=status,
            error=self.error_message,
            error_kind=self.error_kind,
            last_ok_ms=self.last_ok_ms,
            age_ms=self.age_ms(now_ms),
            stale_after_ms=self.stale_after_ms,
            permissions=self.permissions,
            marks=self.live_marks(),
            live=self.live,
        )


def _held(report: AccountReport) -> frozenset[tuple[str, str]]:
    return frozenset((p.symbol, p.side.name) for p in report.positions)


HISTORY_LEN = 30 * 24 * 60
"""Market figures kept per symbol for the 30-day z-scores (one per one-minute refresh)."""


@dataclass
class MarketSlot:
    """Mutable per-symbol market state; touch it only under ``lock``."""

    symbol: str
    candles: Candles | None = None
    daily: Candles | None = None
    four_hour: Candles | None = None
    higher_fetched_ms: int = -(2**62)
    stats: MarketStats | None = None
    book: OrderBook | None = None
    oi_history: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None
    """(snapshot times in ms, open interest in base units) from the exchange, oldest first."""
    funding: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_LEN))
    open_interest: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_LEN))
    levels: Levels | None = None
    liqmap: LiqMap | None = None
    cascade: tuple[Cascade, ...] | None = None
    sigma_daily: float | None = None
    sigma_hourly: float | None = None
    """``risk.probability.hourly_sigma`` of the 1h candles: the volatility the chance of
    liquidation is read at."""
    atr: float | None = None
    beta: float | None = None
    as_of_ms: int = 0
    last_candle_ms: int | None = None
    computed_candle_ms: int | None = None
    chart: Candles | None = None
    """The bars at the chart's bar length, while the window shows this symbol."""
    unavailable: set[str] = field(default_factory=set)
    """Chart bar lengths the exchange said it does not serve for this symbol."""
    failing: bool = False
    """The last refresh failed (a repeated failure is logged quietly)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
