"""The words every layer uses for a warning: its rule, severity, state, the changes in its life
and why it resolved, its identity (``warning_key``) and a condition that holds now.

Each is an enum so that a boundary (the database, the window, the ``watch`` command) can only
pass a known value; the database stores each as its ``value`` (severity as its ``label``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, IntEnum


class Severity(IntEnum):
    """Ordered so that a rise is an escalation."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        """The stored and printed name: "info", "warning", "critical"."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """A severity from its label; ValueError naming the text when it is none."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None


class WarningRule(Enum):
    """What a warning is about: the first part of its identity. Not to be confused with the
    margin rule sets of ``risk.rules`` (``RuleSet``), which are the exchanges' formulas."""

    LIQUIDATED = "liquidated"
    LIQUIDATION_PROBABILITY = "liquidation_probability"
    LIQUIDATION_DISTANCE = "liquidation_distance"
    JOINT_MOVE = "joint_move"
    CASCADE_SUPPORT = "cascade_support"
    SCHEDULED_EVENT = "scheduled_event"
    CALENDAR_COVERAGE = "calendar_coverage"
    CROWDING = "crowding"
    CASCADE_UNDER_WAY = "cascade_under_way"
    UNREACHABLE = "unreachable"
    KEY_REJECTED = "key_rejected"
    CLOCK_SKEW = "clock_skew"
    STALE_DATA = "stale_data"
    PUSH_CHANNEL = "push_channel"
    """A push channel keeps failing: warnings no longer reach the phone (``NO_ACCOUNT``)."""
    STORAGE = "storage"
    """The database cannot be written: history is not being saved (``NO_ACCOUNT``)."""


MARKET_RULES = frozenset(
    {
        WarningRule.LIQUIDATED,
        WarningRule.LIQUIDATION_PROBABILITY,
        WarningRule.LIQUIDATION_DISTANCE,
        WarningRule.JOINT_MOVE,
        WarningRule.CASCADE_SUPPORT,
        WarningRule.SCHEDULED_EVENT,
        WarningRule.CALENDAR_COVERAGE,
        WarningRule.CROWDING,
        WarningRule.CASCADE_UNDER_WAY,
    }
)
"""The rules ``alerts.evaluate`` runs: the account's positions against the market."""
HEALTH_RULES = frozenset(
    {
        WarningRule.UNREACHABLE,
        WarningRule.KEY_REJECTED,
        WarningRule.CLOCK_SKEW,
        WarningRule.STALE_DATA,
    }
)
"""The watch loop's own health for an account, judged by ``monitor.health``."""
WATCH_RULES = frozenset({WarningRule.PUSH_CHANNEL})
"""The watch's health beyond any account (its warnings are on ``NO_ACCOUNT``), judged by
``monitor.health`` too."""
STORAGE_RULES = frozenset({WarningRule.STORAGE})
"""The database's health (its warning is on ``NO_ACCOUNT``), judged by ``monitor.health``."""
NO_ACCOUNT = 0
"""The account id of a warning about the watch itself rather than an account (a push channel
failing, the database that cannot be written). Stored accounts' ids start at 1."""


class WarningState(Enum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Change(Enum):
    """A change in a warning's life, as the monitor reports it."""

    FIRED = "fired"
    ESCALATED = "escalated"
    UPDATED = "updated"
    """Still active; its figures (and so its message) moved, or its severity changed without
    news: a fall, or a rise back to a severity it had lately (``monitor.alerts``)."""
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RETURNED = "returned"
    """Its snooze ran out while it still holds: active again."""

    @property
    def is_new(self) -> bool:
        """A warning to put in front of the trader again: fired, escalated, or back from a
        snooze."""
        return self in (Change.FIRED, Change.ESCALATED, Change.RETURNED)


class ResolveReason(Enum):
    """Why a warning resolved."""

    CLEARED = "cleared"
    CLOSED = "closed"
    ALL_CLOSED = "all_closed"
    LIQUIDATED = "liquidated"
    """Its positions ended in a liquidation (the exchange's record, or confirmed reads)."""
    ACCOUNT_REMOVED = "account_removed"

    @property
    def text(self) -> str:
        return _REASON_TEXT[self]


_REASON_TEXT = {
    ResolveReason.CLEARED: "the condition no longer holds",
    ResolveReason.CLOSED: "the position was closed",
    ResolveReason.ALL_CLOSED: "the positions were closed",
    ResolveReason.LIQUIDATED: "it ended in a liquidation",
    ResolveReason.ACCOUNT_REMOVED: "the account was removed or disabled",
}


def warning_key(rule: WarningRule, account_id: int, symbols: Iterable[str]) -> str:
    """A warning's identity: rule + account + symbols (sorted, so order does not matter)."""
    return f"{rule.value}|{account_id}|{','.join(sorted(symbols))}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule that holds now for an account (and some of its symbols)."""

    rule: WarningRule
    severity: Severity
    account_id: int
    symbols: tuple[str, ...]
    message: str
    metric: float | None = None
    """The figure the rule compared (a distance, a z-score, an age), for display and tests."""

    @property
    def key(self) -> str:
        return warning_key(self.rule, self.account_id, self.symbols)


Active = Mapping[str, Severity]
"""The open warnings of an account: their keys and their severity now. A rule relaxes its
threshold (hysteresis) only for a warning already open at that severity."""
