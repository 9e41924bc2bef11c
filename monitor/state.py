"""What the monitor remembers between jobs: per account (its connector, last report, failures
and backoff) and per symbol (candles, market figures, levels, liquidation map, cascade).

Each slot has its own lock; jobs read a slot's fields under it and hand out immutable values
(``AccountUpdate``), never the slot itself.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from monitor.events import (
    STATUS_CONNECTING,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_STALE,
    AccountUpdate,
)
from risk.cascade import Cascade
from risk.levels import Levels
from risk.liqmap import LiqMap
from risk.report import AccountReport
from risk.types import Account, Candles, MarketStats, OrderBook
from risk.warnings import Condition, ConnectionStatus, Thresholds

DEFAULT_POLL_S = 5.0
MAX_BACKOFF_S = 60.0
STALE_POLLS = 3.0


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """An account to watch: from the database's account record plus its settings."""

    account_id: str
    label: str
    exchange: str
    is_demo: bool = False
    base_url: str | None = None
    secret_name: str | None = None
    poll_interval_s: float = DEFAULT_POLL_S
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class AccountSlot:
    """Mutable per-account state; touch it only under ``lock``."""

    config: AccountConfig
    connector: Any = None
    market_connector: Any = None
    report: AccountReport | None = None
    account: Account | None = None
    last_ok_ms: int | None = None
    failures: int = 0
    next_attempt_ms: int = 0
    error_kind: str | None = None
    error_message: str | None = None
    permissions: object | None = None
    permissions_checked: bool = False
    clock_note: str | None = None
    force_next: bool = False
    """Set by ``poll_now``: the next poll ignores the backoff."""
    liquidated: Condition | None = None
    """A suspected liquidation, held until its symbols are traded again."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def poll_ms(self) -> int:
        return int(self.config.poll_interval_s * 1000)

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.last_ok_ms is None else max(0, now_ms - self.last_ok_ms)

    def is_stale(self, now_ms: int) -> bool:
        age = self.age_ms(now_ms)
        return age is not None and age > STALE_POLLS * self.poll_ms

    def record_success(self, now_ms: int) -> None:
        self.last_ok_ms = now_ms
        self.failures = 0
        self.next_attempt_ms = 0
        self.error_kind = None
        self.error_message = None

    def record_failure(
        self, now_ms: int, kind: str, message: str, retry_after_s: float | None
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
            failures=self.failures,
            clock_note=self.clock_note,
        )

    def update(self, now_ms: int) -> AccountUpdate:
        stale = self.is_stale(now_ms)
        if self.last_ok_ms is None and self.error_kind is None:
            status = STATUS_CONNECTING
        elif stale:
            status = STATUS_STALE
        elif self.error_kind is not None:
            status = STATUS_ERROR
        else:
            status = STATUS_OK
        cfg = self.config
        return AccountUpdate(
            account_id=cfg.account_id,
            label=cfg.label,
            exchange=cfg.exchange,
            is_demo=cfg.is_demo,
            report=self.report,
            status=status,
            error=self.error_message,
            last_ok_ms=self.last_ok_ms,
            age_ms=self.age_ms(now_ms),
            stale=stale,
            permissions=self.permissions,
        )


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
    oi_history: tuple[np.ndarray, np.ndarray] | None = None
    """(snapshot times in ms, open interest in base units) from the exchange, oldest first."""
    funding: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_LEN))
    open_interest: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_LEN))
    levels: Levels | None = None
    liqmap: LiqMap | None = None
    cascade: tuple[Cascade, ...] | None = None
    sigma_daily: float | None = None
    atr: float | None = None
    beta: float | None = None
    as_of_ms: int = 0
    last_candle_ms: int | None = None
    computed_candle_ms: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
