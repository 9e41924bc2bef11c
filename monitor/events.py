"""What the monitor reports, as immutable values: one per callback.

Callbacks run on the scheduler's worker threads. The UI's bridge turns each into a Qt signal
(queued to the GUI thread); ``python main.py watch`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from risk.report import AccountReport
from risk.types import Candles
from storage.records import WarningRecord

STATUS_CONNECTING = "connecting"
STATUS_OK = "ok"
STATUS_ERROR = "error"
STATUS_STALE = "stale"

CHANGES = ("fired", "escalated", "updated", "resolved", "acknowledged", "snoozed")


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """An account after a poll (or a failed one). On failure ``report`` is the last good one,
    ``age_ms`` says how old it is and ``stale`` is True once it is older than three polls."""

    account_id: str
    label: str
    exchange: str
    is_demo: bool
    report: AccountReport | None
    status: str
    error: str | None
    last_ok_ms: int | None
    age_ms: int | None
    stale: bool
    permissions: object | None = None


@dataclass(frozen=True, slots=True)
class MarketUpdate:
    """A symbol's market picture after a refresh: candles (1h), support levels, the market's
    liquidation map, the cascade model's result and the betas to the leader."""

    symbol: str
    as_of_ms: int
    candles: Candles | None
    levels: object | None
    liqmap: object | None
    cascade: object | None
    betas: dict[str, float] = field(default_factory=dict)


REASON_CLEARED = "the condition no longer holds"
REASON_CLOSED = "the position was closed"
REASON_ALL_CLOSED = "the positions were closed"
REASON_ACCOUNT_REMOVED = "the account was removed or disabled"


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """A change in a warning's life: fired, escalated, updated, resolved, acknowledged or
    snoozed. ``warning`` is the record as persisted after the change; a resolved warning keeps
    its last message, and ``reason`` says why it resolved."""

    change: str
    warning: WarningRecord
    reason: str = ""

    @property
    def why_resolved(self) -> str:
        """The reason, or the general one when the resolver gave none."""
        return self.reason or REASON_CLEARED


class MonitorCallbacks(Protocol):
    def on_account(self, u: AccountUpdate) -> None: ...

    def on_market(self, u: MarketUpdate) -> None: ...

    def on_warning(self, e: WarningEvent) -> None: ...


class NullCallbacks:
    """Callbacks that do nothing; a base for callers that want only some of them."""

    def on_account(self, u: AccountUpdate) -> None:
        return None

    def on_market(self, u: MarketUpdate) -> None:
        return None

    def on_warning(self, e: WarningEvent) -> None:
        return None
