"""One account's risk report: what the table, the CLI and the warnings all read.

``build_report`` is the engine's front door: given an account (and optionally the leader, betas
and volatilities) it returns every figure with its source and the account's timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from risk.distance import distance_pct, distance_sigma, touch_probability
from risk.liquidation import JointMove, account_totals, cross_legs, joint_move, liquidation_price
from risk.rules import RuleSet, rules_for
from risk.types import Account, Figure, MarginMode, Position, Side, Source

MISMATCH_TOLERANCE = 0.005
"""Computed and exchange liquidation prices further apart than this (0.5 %) are flagged:
our model or our inputs are wrong."""


@dataclass(frozen=True, slots=True)
class PositionReport:
    symbol: str
    side: Side
    margin_mode: MarginMode
    size: float
    entry_price: float
    mark_price: float
    notional: float
    unrealized_pnl: float
    maintenance_margin: float
    liquidation_price: Figure | None
    exchange_liquidation_price: Figure | None
    distance: float | None
    distance_sigma: float | None
    touch_probability: float | None
    mismatch: float | None
    """Relative gap between the computed and the exchange's figure, when both exist and
    differ by more than MISMATCH_TOLERANCE."""

    @property
    def shown_liquidation_price(self) -> Figure | None:
        """What the user sees first: our computed figure, else the exchange's."""
        return self.liquidation_price or self.exchange_liquidation_price


@dataclass(frozen=True, slots=True)
class AccountReport:
    exchange: str
    label: str
    as_of_ms: int | None
    wallet_balance: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    """maintenance / equity; the account is liquidated at 1.0 (inf when equity ≤ 0)."""
    joint_move: JointMove | None
    positions: tuple[PositionReport, ...]

    @property
    def liquidated(self) -> bool:
        return self.margin_ratio >= 1.0

    def effective_distance(self, position: PositionReport) -> float | None:
        """How close a position is to liquidation, as a size: its own distance, or for a cross
        position the account's joint move when that is nearer (in a shared account a BTC fall
        liquidates the ETH long too, however far ETH's own liquidation price is)."""
        own = None if position.distance is None else abs(position.distance)
        jm = self.joint_move
        if position.margin_mode is MarginMode.CROSS and jm is not None and jm.nearest is not None:
            return abs(jm.nearest) if own is None else min(own, abs(jm.nearest))
        return own

    @property
    def mismatches(self) -> tuple[PositionReport, ...]:
        return tuple(p for p in self.positions if p.mismatch is not None)


def _mismatch(computed: float | None, exchange: Figure | None) -> float | None:
    if computed is None or exchange is None or exchange.value <= 0:
        return None
    gap = abs(computed / exchange.value - 1.0)
    return gap if gap > MISMATCH_TOLERANCE else None


def build_report(
    account: Account,
    *,
    rules: RuleSet | None = None,
    leader: str | None = None,
    betas: Mapping[str, float] | None = None,
    sigma_daily: Mapping[str, float] | None = None,
    horizon_days: float = 1.0,
) -> AccountReport:
    """Liquidation prices, distances and the joint move of every position in the account.

    ``leader`` defaults to the account's BTC position when it has one, else its largest
    position by notional; ``betas`` default to 1. ``sigma_daily`` maps symbols to the daily
    standard deviation of log returns, for the distances in sigmas and touch probabilities.
    """
    rules = rules or rules_for(account.exchange)
    betas = betas or {}
    sigma_daily = sigma_daily or {}
    totals = account_totals(account, rules)
    legs = cross_legs(account)
    reports = []
    for pos in account.positions:
        lp = liquidation_price(account, rules, pos, totals, legs)
        reports.append(_position_report(pos, lp, rules, account, sigma_daily, horizon_days))
    chosen_leader = leader or default_leader(account)
    jm = joint_move(account, rules, chosen_leader, betas, totals) if chosen_leader else None
    return AccountReport(
        exchange=account.exchange,
        label=account.label,
        as_of_ms=account.as_of_ms,
        wallet_balance=account.wallet_balance,
        equity=totals.equity,
        maintenance_margin=totals.maintenance,
        margin_ratio=totals.margin_ratio,
        joint_move=jm,
        positions=tuple(reports),
    )


def _position_report(
    pos: Position,
    lp: float | None,
    rules: RuleSet,
    account: Account,
    sigma_daily: Mapping[str, float],
    horizon_days: float,
) -> PositionReport:
    sigma = sigma_daily.get(pos.symbol)
    return PositionReport(
        symbol=pos.symbol,
        side=pos.side,
        margin_mode=pos.margin_mode,
        size=pos.size,
        entry_price=pos.entry_price,
        mark_price=pos.mark_price,
        notional=pos.notional(),
        unrealized_pnl=pos.unrealized_pnl(),
        maintenance_margin=rules.maintenance(pos, pos.mark_price),
        liquidation_price=None if lp is None else Figure(lp, Source.COMPUTED, account.as_of_ms),
        exchange_liquidation_price=pos.exchange_liquidation_price,
        distance=distance_pct(lp, pos.mark_price),
        distance_sigma=distance_sigma(lp, pos.mark_price, sigma, horizon_days),
        touch_probability=touch_probability(lp, pos.mark_price, sigma, horizon_days),
        mismatch=_mismatch(lp, pos.exchange_liquidation_price),
    )


def default_leader(account: Account) -> str | None:
    """BTC when the account holds it, else the largest position by notional."""
    if not account.positions:
        return None
    for pos in account.positions:
        if pos.symbol.upper().startswith("BTC"):
            return pos.symbol
    return max(account.positions, key=lambda p: p.notional()).symbol
