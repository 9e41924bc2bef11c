"""Exact liquidation prices and the joint move, for cross and isolated margin.

The margin surplus f = equity − maintenance is piecewise linear along any straight path through
price space: linear inside a tier, with a kink where a position's notional crosses a tier bound.
Each solve here walks that path from the current marks, segment by segment, and solves the
linear equation inside the first segment whose end is at or below zero. No bisection, no
tolerance: the answer is the closed form of the tier that actually applies at the answer.

Two paths are used:
- one symbol's price moves, every other mark held (the exchange's own per-position figure;
  in a cross account this is why a BTC fall moves an ETH long's liquidation price), and
- the joint move: the leader moves by a fraction r, every other symbol by beta·r.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from risk.rules import RuleSet
from risk.types import Account, MarginMode, Position, TierBasis, tier_index


@dataclass(frozen=True, slots=True)
class _Mover:
    """A position whose price moves along the path: p(t) = mark + slope·t."""

    position: Position
    mark: float
    slope: float
    with_maintenance: bool = True


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """Cross-account sums at the current marks."""

    wallet_balance: float
    unrealized_pnl: float
    maintenance: float

    @property
    def equity(self) -> float:
        return self.wallet_balance + self.unrealized_pnl

    @property
    def surplus(self) -> float:
        return self.equity - self.maintenance

    @property
    def margin_ratio(self) -> float:
        """maintenance / equity, as Binance and Bybit show it: liquidation at 1.0."""
        if self.equity <= 0:
            return math.inf
        return self.maintenance / self.equity


def account_totals(account: Account, rules: RuleSet) -> AccountTotals:
    upnl = 0.0
    mm = 0.0
    for p in account.positions:
        if p.margin_mode is MarginMode.CROSS:
            upnl += p.unrealized_pnl()
            mm += rules.maintenance(p, p.mark_price)
    return AccountTotals(account.wallet_balance, upnl, mm)


def _segment_coefficients(
    movers: Sequence[_Mover], rules: RuleSet, t: float
) -> tuple[float, float]:
    """(alpha, beta) of the movers' share of f on the tier segment holding t: f_m = alpha + beta·t."""
    alpha = 0.0
    beta = 0.0
    fee = rules.closing_fee_rate
    for m in movers:
        pos = m.position
        q = pos.size
        s = pos.sign
        alpha += s * q * (m.mark - pos.entry_price)
        beta += s * q * m.slope
        if m.with_maintenance:
            price = m.mark + m.slope * t
            basis = pos.contracts if pos.tiers[0].basis is TierBasis.SIZE else q * price
            tier = pos.tiers[tier_index(pos.tiers, basis)]
            rate = tier.maintenance_margin_rate + fee
            alpha -= q * m.mark * rate - tier.maintenance_amount
            beta -= q * m.slope * rate
    return alpha, beta


def _breakpoints(movers: Sequence[_Mover], direction: int) -> tuple[list[float], float]:
    """Kinks of f along the path in one direction, nearest first, and where the path ends
    (the first price to reach zero; +inf when none does)."""
    end = math.inf
    points: list[float] = []
    for m in movers:
        if m.slope == 0:
            continue
        zero_at = -m.mark / m.slope
        if zero_at * direction > 0:
            end = min(end, abs(zero_at))
        if not m.with_maintenance or m.position.tiers[0].basis is TierBasis.SIZE:
            continue
        q = m.position.size
        for tier in m.position.tiers[:-1]:
            t = (tier.max_bound / q - m.mark) / m.slope
            if t * direction > 0:
                points.append(abs(t))
    points = sorted(p for p in points if p < end)
    return points, end


def _first_root(
    constant: float, movers: Sequence[_Mover], rules: RuleSet, direction: int
) -> float | None:
    """Smallest |t| in the given direction where f(t) = constant + f_movers(t) reaches zero.

    Returns the signed t, or None when the path reaches a zero price (or infinity) first.
    """
    points, end = _breakpoints(movers, direction)
    start = 0.0
    for stop in [*points, end]:
        mid = start + 1.0 if math.isinf(stop) else (start + stop) / 2
        alpha, beta = _segment_coefficients(movers, rules, direction * mid)
        alpha += constant
        slope = beta * direction  # df/d|t|
        f_start = alpha + beta * direction * start
        if f_start <= 0:
            return direction * start
        if slope < 0:
            root = -f_start / slope + start
            if root < stop:
                return direction * root
        start = stop
    return None


def liquidation_price(
    account: Account,
    rules: RuleSet,
    position: Position,
    totals: AccountTotals | None = None,
) -> float | None:
    """The mark of ``position``'s symbol at which it is liquidated, all other marks held.

    Cross: the whole cross account's surplus reaches zero (every cross leg of the symbol moves
    together, as in Binance hedge mode). Isolated: the position's own collateral plus PnL reaches
    its maintenance. None when no positive price liquidates it — never 0 or a negative price.
    If the account is already at or past liquidation, the current mark is returned.
    """
    if position.margin_mode is MarginMode.ISOLATED:
        return _isolated_liquidation_price(rules, position)
    totals = totals or account_totals(account, rules)
    movers: list[_Mover] = []
    moving_upnl = 0.0
    moving_mm = 0.0
    for p in account.cross_positions:
        if p.symbol == position.symbol:
            movers.append(_Mover(p, p.mark_price, 1.0))
            moving_upnl += p.unrealized_pnl()
            moving_mm += rules.maintenance(p, p.mark_price)
    constant = totals.wallet_balance + (totals.unrealized_pnl - moving_upnl)
    constant -= totals.maintenance - moving_mm
    t = _nearest_root(constant, movers, rules)
    return None if t is None else position.mark_price + t


def _isolated_liquidation_price(rules: RuleSet, position: Position) -> float | None:
    constant = position.isolated_collateral
    with_mm = not rules.isolated_mm_at_entry
    if not with_mm:
        constant -= rules.maintenance(position, position.entry_price)
    t = _nearest_root(constant, [_Mover(position, position.mark_price, 1.0, with_mm)], rules)
    return None if t is None else position.mark_price + t


def _nearest_root(constant: float, movers: Sequence[_Mover], rules: RuleSet) -> float | None:
    down = _first_root(constant, movers, rules, -1)
    if down == 0.0:
        return 0.0
    up = _first_root(constant, movers, rules, +1)
    candidates = [t for t in (down, up) if t is not None]
    return min(candidates, key=abs) if candidates else None


@dataclass(frozen=True, slots=True)
class JointMove:
    """How far the leader can move, others following by beta, before the cross account is
    liquidated: ``down`` ≤ 0 and ``up`` ≥ 0 as fractions of the leader's mark, None where no
    move in that direction liquidates it. ``nearest`` is the smaller of the two in size."""

    leader: str
    down: float | None
    up: float | None

    @property
    def nearest(self) -> float | None:
        candidates = [r for r in (self.down, self.up) if r is not None]
        return min(candidates, key=abs) if candidates else None


def beta_of(symbol: str, leader: str, betas: Mapping[str, float]) -> float:
    if symbol == leader:
        return 1.0
    return float(betas.get(symbol, 1.0))


def joint_move(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    totals: AccountTotals | None = None,
) -> JointMove:
    """Solve the joint move exactly: p_i(r) = mark_i · (1 + beta_i·r) for every cross position."""
    totals = totals or account_totals(account, rules)
    movers: list[_Mover] = []
    constant = totals.wallet_balance
    for p in account.cross_positions:
        b = beta_of(p.symbol, leader, betas)
        movers.append(_Mover(p, p.mark_price, p.mark_price * b))
    if not movers:
        return JointMove(leader, None, None)
    down = _first_root(constant, movers, rules, -1)
    up = None if down == 0.0 else _first_root(constant, movers, rules, +1)
    return JointMove(leader, down, up)


def leader_price_at(account: Account, leader: str, r: float) -> float | None:
    """The leader's price after a joint move r, when the account holds the leader."""
    for p in account.positions:
        if p.symbol == leader:
            return p.mark_price * (1 + r)
    return None
