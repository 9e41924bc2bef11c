"""What the monitor reports, as immutable values: one per callback.

Callbacks run on the scheduler's worker threads. The UI's bridge turns each into a Qt signal
(queued to the GUI thread); ``python main.py watch`` prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Protocol

import numpy as np
import numpy.typing as npt

from alerts.vocabulary import Change, ResolveReason
from connectors.types import ErrorKind, KeyPermissions
from monitor.health import is_stale
from risk.cascade import Cascade
from risk.levels import Levels
from risk.liqmap import LiqMap
from risk.report import AccountReport
from risk.types import Account, Candles
from storage.records import WarningRecord


class AccountStatus(Enum):
    """An account's connection as the window and ``watch`` show it."""

    CONNECTING = "connecting"
    """Not read yet."""
    OK = "ok"
    ERROR = "error"
    """The last poll failed; the figures are the last good ones (still recent)."""
    STALE = "stale"
    """The figures are older than the stale limit (``monitor.health.is_stale``)."""


class MarkSource(Enum):
    """Where a mark in a report came from."""

    POLL = "poll"
    """The REST read of the account."""
    STREAM = "stream"
    """The venue's mark-price (or ticker) stream, since that read."""


@dataclass(frozen=True, slots=True)
class LiveMark:
    """The mark a report used for one symbol: where it came from and when it arrived (this
    computer's clock, like every age)."""

    symbol: str
    price: float
    source: MarkSource
    as_of_ms: int


class LiveState(Enum):
    """An account's streams, as the window and ``watch`` show them."""

    OFF = "off"
    """No streams: they are switched off, or an account on its own API address has no
    stream address; the account is polled."""
    CONNECTING = "connecting"
    LIVE = "live"
    """Its marks and its account stream are live: the report follows every mark, and REST
    re-reads the account when the venue says it changed (and every minute for the
    account-level figures)."""
    POLLING = "polling"
    """A stream it needs is down or silent: polling covers at its normal cadence."""


@dataclass(frozen=True, slots=True)
class StreamHealth:
    state: LiveState
    reason: str | None = None
    """Which stream is down and why (a stale feed's reason), or why there are none."""
    since_ms: int | None = None


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """An account after a poll (or a failed one): the ``Account`` the connector returned and
    the report built from it, together (both None until the first good poll), so the table,
    the chart, the scenario panel and the warnings all work from one account and one report.
    On failure they are the last good ones and ``age_ms`` says how old they are."""

    account_id: int
    label: str
    exchange: str
    is_demo: bool
    account: Account | None
    report: AccountReport | None
    status: AccountStatus
    error: str | None
    error_kind: ErrorKind | None
    last_ok_ms: int | None
    age_ms: int | None
    stale_after_ms: int
    """The age past which these figures are stale (the window applies it as they age)."""
    permissions: KeyPermissions | None = None
    marks: tuple[LiveMark, ...] = ()
    """The mark of each symbol held, with its source and time."""
    live: StreamHealth | None = None
    """The account's streams (None: the monitor runs without streams)."""

    @property
    def stale(self) -> bool:
        return is_stale(self.age_ms, self.stale_after_ms)


CHART_TIMEFRAMES = ("1m", "5m", "15m", "1h", "4h", "1d")
"""The bar lengths the chart offers: every exchange we support serves them (Binance, Bybit,
OKX and Hyperliquid's klines; the local exchange too)."""


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """A symbol's market picture after a refresh: candles (1h), support levels, the market's
    liquidation map, the cascade model's result (nearest supports first) and the betas to the
    leader. ``series`` holds the other bar lengths the monitor has for the symbol (4h and 1d,
    and the chart's own when the window watches the symbol), keyed by timeframe;
    ``timeframes`` are those the monitor can fetch for it (the chart's menu offers them)."""

    symbol: str
    as_of_ms: int
    candles: Candles | None
    levels: Levels | None
    liqmap: LiqMap | None
    cascade: tuple[Cascade, ...] | None
    betas: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    series: Mapping[str, Candles] = field(default_factory=lambda: MappingProxyType({}))
    timeframes: tuple[str, ...] = ()
    mark: float | None = None
    """The exchange's mark price read with these figures (at ``as_of_ms``), when it gives one."""


@dataclass(frozen=True, slots=True)
class Replay:
    """What the demo replays and where its clock stands: the scenario (its name, its title
    and the span it covers, ms), the pace, and the scenario time ``at_ms`` read at wall time
    ``at_wall_s`` (scenario time runs on from there at ``speed`` × the wall clock)."""

    name: str
    title: str
    start_ms: int
    end_ms: int
    speed: float
    at_ms: int
    at_wall_s: float
    paused: bool = False

    def now_ms(self, wall_s: float) -> int:
        """The scenario time at wall time ``wall_s``."""
        if self.paused:
            return self.at_ms
        return self.at_ms + int((wall_s - self.at_wall_s) * 1000 * self.speed)


@dataclass(frozen=True, slots=True)
class Watch:
    """What the window shows, so the monitor fetches it whether or not a position is open:
    the symbols it watches (the chart's and the leader), and the chart's symbol and bar
    length."""

    symbols: frozenset[str] = frozenset()
    chart_symbol: str | None = None
    chart_timeframe: str = "1h"


@dataclass(frozen=True, slots=True, eq=False)
class LiquidationUpdate:
    """The market's liquidations of one symbol on one venue, per minute, as its stream heard
    them (the newest minute still filling): USD of longs and of shorts liquidated. Minutes are
    the venue's own time. ``live`` says whether the stream is up now; ``covered`` lists the
    spans it was (a minute inside one without a print had none; outside, it is unknown)."""

    exchange: str
    symbol: str
    minute_ms: npt.NDArray[np.int64]
    long_usd: npt.NDArray[np.float64]
    short_usd: npt.NDArray[np.float64]
    live: bool
    covered: tuple[tuple[int, int], ...] = ()
    as_of_ms: int = 0


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """A change in a warning's life. ``warning`` is the record as persisted after the change;
    a resolved warning keeps its last message, and ``reason`` says why it resolved."""

    change: Change
    warning: WarningRecord
    reason: ResolveReason | None = None
    at_ms: int | None = None
    """When the monitor made the change (its clock); None from a source that does not say."""

    @property
    def why_resolved(self) -> str:
        """The reason, or the general one when the resolver gave none."""
        return (self.reason or ResolveReason.CLEARED).text


class MonitorCallbacks(Protocol):
    def on_account(self, u: AccountUpdate) -> None: ...

    def on_market(self, u: MarketUpdate) -> None: ...

    def on_warning(self, e: WarningEvent) -> None: ...

    def on_liquidations(self, u: LiquidationUpdate) -> None: ...


class NullCallbacks:
    """Callbacks that do nothing; a base for callers that want only some of them."""

    def on_account(self, u: AccountUpdate) -> None:
        return None

    def on_market(self, u: MarketUpdate) -> None:
        return None

    def on_warning(self, e: WarningEvent) -> None:
        return None

    def on_liquidations(self, u: LiquidationUpdate) -> None:
        return None
