"""What the warning rules read: immutable values describing one account and the market.

The monitor assembles them once per evaluation (under its locks) and hands them to
``alerts.evaluate``; nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from risk.levels import Levels
from risk.liqflow import Flow
from risk.liqmap import LiqMap
from risk.probability import EventMoves, MoveModel
from risk.report import AccountReport
from risk.types import Account, ForcedClose, OrderBook

_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class AccountState:
    """One account as read: the ``Account`` the connector returned and the report built from
    it (so every rule, like the window, works from one account and one report)."""

    account_id: int
    account: Account
    report: AccountReport
    before_change: AccountReport | None = None
    """The report read just before the account's positions last changed (None until they
    have): the liquidation rule compares it with ``report``."""
    reads_since_change: int = 0
    """Good reads since that change, the read that saw it included: a change seen on two
    reads in a row is no torn read (one request before it, one after)."""
    forced_closes: tuple[ForcedClose, ...] | None = None
    """The exchange's own record of the account's liquidations since the positions were last
    seen before the change; None where the exchange keeps none, or it could not be read."""


@dataclass(frozen=True, slots=True)
class LeaderMarket:
    """The joint move's leader (BTC) as the cascade rule reads it."""

    symbol: str
    price: float
    """The last close of its 1h candles."""
    levels: Levels | None
    liqmap: LiqMap | None
    book: OrderBook | None
    sigma_daily: float | None
    daily_volume: float | None
    """Notional traded per day (``risk.indicators.daily_volume_notional``)."""
    atr: float | None


@dataclass(frozen=True, slots=True)
class Crowding:
    """A symbol's funding rate and open interest, each as a z-score over 30 days."""

    symbol: str
    funding_rate: float | None
    funding_z: float | None
    open_interest_z: float | None


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """A scheduled macro release: its name, time (ms, UTC) and typical moves by base asset
    ("*" for any asset not named)."""

    name: str
    at_ms: int
    typical_move: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    source: str = ""
    kind: str = ""
    """"cpi" or "fomc" for the built-in releases, sized by the moves after past ones
    (``MarketState.event_moves``); "" for the user's own, sized by ``typical_move``."""


@dataclass(frozen=True, slots=True)
class LiquidationFlows:
    """The market's liquidations of one symbol held, as the streams heard them: the flow of
    each side on each venue over the last few minutes against its norm, and the mark on the
    account's venue now and ``FlowThresholds.move_window_ms`` before (market time: the
    venue's own timestamps)."""

    symbol: str
    flows: tuple[Flow, ...]
    mark: float | None
    mark_before: float | None
    """None when the marks heard do not reach back over the move window."""
    sigma_daily: float | None


@dataclass(frozen=True, slots=True)
class MarketState:
    """The market around an account: the leader's picture, the betas to the leader, the
    crowding of each symbol held, the scheduled events near now, the move distributions and
    the market's liquidations of each symbol held (by symbol; only where a liquidation stream
    is live). ``events_known_days``: how many days ahead any scheduled event is known (None:
    not assessed)."""

    leader: LeaderMarket | None = None
    betas: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    crowding: Mapping[str, Crowding] = field(default_factory=lambda: MappingProxyType({}))
    events: tuple[ScheduledEvent, ...] = ()
    moves: MoveModel | None = None
    """The move distribution the report's odds came from (the remedy solves against it)."""
    event_moves: Mapping[str, EventMoves] = field(default_factory=lambda: MappingProxyType({}))
    """The moves after past releases, by ``ScheduledEvent.kind``."""
    events_known_days: float | None = None
    liquidations: Mapping[str, LiquidationFlows] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, slots=True)
class CascadeRisk:
    """What the cascade model says about one support (or resistance) of one symbol.

    ``direction`` is −1 for a support below the price (long liquidations push it down) and +1
    for a resistance above; ``reach_price`` is where forced selling (or buying) would carry the
    price once the level breaks; ``sentence`` is the cascade module's own warning text.
    """

    symbol: str
    level: float
    domino_ratio: float
    reach_price: float
    direction: int = -1
    sentence: str | None = None
