"""Immutable records the database takes and returns.

Snapshots come back as columns (``SnapshotSeries``): one NumPy array per figure, aligned on
``ts_ms``, which is what a chart wants. Positions are keyed by (symbol, side); a position not
held at some time has NaN there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from alerts.vocabulary import Change, ResolveReason, Severity, WarningRule, WarningState

MAX_TS = 2**62
"""Beyond any timestamp in ms: the open end of a time range."""


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An exchange account. ``secret_name`` is the NAME of its entry in the secret store;
    the secret itself never reaches the database."""

    exchange: str
    label: str
    base_url: str | None = None
    enabled: bool = True
    is_demo: bool = False
    secret_name: str | None = None
    id: int | None = None
    ws_url: str | None = None
    """Where an account with its own ``base_url`` streams from (None: it is polled only);
    an account on the venue's own address streams from the venue's own."""


@dataclass(frozen=True, slots=True)
class WarningRecord:
    """A warning's persisted state. ``key`` is its identity (rule + account + symbols,
    ``alerts.warning_key``). ``severity_history`` is kept by the database: (ts_ms, severity)
    each time the severity changed, oldest first; it is ignored on input. The enums are
    stored as their values (the severity as its label)."""

    key: str
    rule: WarningRule
    severity: Severity
    message: str
    account_id: int
    symbols: tuple[str, ...]
    first_seen_ms: int
    last_seen_ms: int
    state: WarningState = WarningState.ACTIVE
    snoozed_until_ms: int | None = None
    resolved_ms: int | None = None
    acknowledged_ms: int | None = None
    severity_history: tuple[tuple[int, Severity], ...] = ()


@dataclass(frozen=True, slots=True)
class WarningChange:
    """One change in a warning's life as the history shows it (its figures' updates are not
    history): when, which warning, what changed, at which severity, its message then, and
    why it resolved."""

    ts_ms: int
    key: str
    change: Change
    severity: Severity
    account_id: int
    message: str
    reason: ResolveReason | None = None


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A scheduled market event (built-in calendar or the user's own). ``typical_move`` is the
    usual absolute move as a fraction (0.02 = 2 %), when known."""

    ts_ms: int
    name: str
    kind: str
    typical_move: float | None = None
    source: str = "builtin"
    user_defined: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class PositionSeries:
    """One position's figures over time, aligned on the owning SnapshotSeries' ``ts_ms``.
    ``side`` is "long" or "short". ``liquidation`` is our computed price, ``exchange_liquidation``
    the exchange's; ``distance`` is liquidation / mark − 1."""

    symbol: str
    side: str
    size: np.ndarray
    mark: np.ndarray
    liquidation: np.ndarray
    exchange_liquidation: np.ndarray
    distance: np.ndarray


@dataclass(frozen=True, slots=True, eq=False)
class SnapshotSeries:
    """An account's risk history as columns, oldest first. Missing figures are NaN;
    ``joint_leader`` is an object array of the leader symbol per row ("" when none)."""

    account_id: int
    ts_ms: np.ndarray
    equity: np.ndarray
    maintenance: np.ndarray
    margin_ratio: np.ndarray
    joint_down: np.ndarray
    joint_up: np.ndarray
    joint_leader: np.ndarray
    positions: Mapping[tuple[str, str], PositionSeries] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])


@dataclass(frozen=True, slots=True)
class LiquidationMinute:
    """The market's liquidations on one venue, one symbol, one minute (``minute_ms``: its
    start): USD notional and count of longs and of shorts liquidated."""

    exchange: str
    symbol: str
    minute_ms: int
    long_usd: float = 0.0
    short_usd: float = 0.0
    long_count: int = 0
    short_count: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class LiquidationSeries:
    """One venue's and symbol's liquidations per minute as columns, oldest first (minutes
    without a print are absent; ``covered`` says which spans were being recorded)."""

    exchange: str
    symbol: str
    minute_ms: np.ndarray
    long_usd: np.ndarray
    short_usd: np.ndarray
    covered: tuple[tuple[int, int], ...] = ()

    def __len__(self) -> int:
        return int(self.minute_ms.shape[0])


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one ``prune`` call did; ``done`` is False when it stopped on its time budget and
    should be called again."""

    steps: int
    rows_compacted: int
    rows_removed: int
    done: bool
