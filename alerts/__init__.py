"""The warning policy: pure (no Qt, no I/O, no clock), like ``risk``.

Which warnings exist and what they say: the vocabulary (``Severity``, ``WarningRule``,
``WarningState``, ``Change``, ``ResolveReason``, ``warning_key``, ``Condition``), the
thresholds (``Thresholds``, declared once; unknown names are refused) and the market rules
with their message text. One entry point, ``evaluate(state, market, thresholds, active,
now_ms) -> list[Condition]``, takes an account (``AccountState``: its ``Account`` and the
report built from it) and its market (``MarketState``) and returns the conditions that hold.

The warning lifecycle (fire once, escalate, resolve, acknowledge, snooze) is the monitor's
(``monitor.alerts``), and so are the loop's own health rules (``monitor.health``): they are
about the watch, not the market. ``risk`` keeps the margin maths, levels, the liquidation map
and the cascade model these rules read.
"""

from alerts.account_rules import undecided_symbols
from alerts.policy import evaluate
from alerts.state import (
    AccountState,
    CascadeRisk,
    Crowding,
    LeaderMarket,
    LiquidationFlows,
    MarketState,
    ScheduledEvent,
)
from alerts.thresholds import ThresholdError, Thresholds
from alerts.vocabulary import (
    HEALTH_RULES,
    MARKET_RULES,
    NO_ACCOUNT,
    STORAGE_RULES,
    WATCH_RULES,
    Active,
    Change,
    Condition,
    ResolveReason,
    Severity,
    WarningRule,
    WarningState,
    warning_key,
)

__all__ = [
    "HEALTH_RULES",
    "MARKET_RULES",
    "NO_ACCOUNT",
    "STORAGE_RULES",
    "WATCH_RULES",
    "AccountState",
    "Active",
    "CascadeRisk",
    "Change",
    "Condition",
    "Crowding",
    "LeaderMarket",
    "LiquidationFlows",
    "MarketState",
    "ResolveReason",
    "ScheduledEvent",
    "Severity",
    "ThresholdError",
    "Thresholds",
    "WarningRule",
    "WarningState",
    "evaluate",
    "undecided_symbols",
    "warning_key",
]
