"""The connector's contract values, without ccxt: what a connector reports besides the risk
engine's types (its errors, what a key may do, what it can read).

Kept apart from ``connectors.errors`` (which translates ccxt's exceptions and so imports ccxt)
so that the monitor and the window can name these types without loading ccxt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ErrorKind(Enum):
    """What kind of failure a connector call met; stored and shown as its value."""

    AUTH = "auth"
    """Key or signature rejected (or missing)."""
    PERMISSION = "permission"
    """Key valid but not allowed here: no futures permission, IP not whitelisted."""
    CLOCK_SKEW = "clock_skew"
    RATE_LIMITED = "rate_limited"
    EXCHANGE_DOWN = "exchange_down"
    """5xx, maintenance, or the exchange says it is unavailable."""
    TIMEOUT = "timeout"
    UNKNOWN_SYMBOL = "unknown_symbol"
    NOT_SUPPORTED = "not_supported"
    NETWORK = "network"
    """The exchange could not be reached at all (DNS, refused, reset)."""
    MALFORMED = "malformed"
    """The exchange answered with something we cannot read."""


class ConnectorError(Exception):
    """A connector failure: its kind, one trader-readable line, and how long to wait (seconds)
    before trying again when the exchange said so (Retry-After) or the kind implies it."""

    def __init__(self, kind: ErrorKind, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"ConnectorError({self.kind.value}, {self.message!r}, retry_after={self.retry_after})"
        )


class Capability(Enum):
    """A read a connector may offer beyond the account, the candles, the market figures and
    the book. A connector declares the ones it offers in ``capabilities``; the monitor calls
    only those (it never probes for a method)."""

    KEY_PERMISSIONS = "key_permissions"
    """``key_permissions()``: what the API key may do."""
    OPEN_INTEREST_HISTORY = "open_interest_history"
    """``fetch_open_interest_history(symbol, timeframe, limit)``: the liquidation map's
    vintages."""
    FUNDING_HISTORY = "funding_history"
    """``fetch_funding_history(symbol)``: past funding rates for the crowding z-score."""
    LIQUIDATIONS = "liquidations"
    """``fetch_liquidations(since_ms)``: the account's own positions the exchange's liquidation
    engine closed (``risk.types.ForcedClose``), from the exchange's records. The monitor asks
    only when positions vanish, to tell a liquidation from a close."""


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    """What the API key may do, as the exchange reports it. ``known`` is False when the
    exchange would not say (then can_trade / can_withdraw are None). ``warning`` is one line
    for the user when the key can do more than this read-only app needs."""

    can_read: bool
    can_trade: bool | None
    can_withdraw: bool | None
    known: bool
    warning: str | None = None


def permissions_warning(can_trade: bool | None, can_withdraw: bool | None) -> str | None:
    if can_withdraw:
        return (
            "this API key can WITHDRAW funds; Cascade Watch only reads — replace it with a "
            "read-only key"
        )
    if can_trade:
        return "this API key can trade; Cascade Watch only reads — a read-only key is enough"
    return None
