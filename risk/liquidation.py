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


def _tier_of(m: _Mover, direction: int) -> int:
    """The mover's tier just past t = 0 in the given direction."""
    pos = m.position
    if pos.tiers[0].basis is TierBasis.SIZE:
        return tier_index(pos.tiers, pos.contracts)
    value = pos.size * m.mark
    if m.slope * direction < 0:  # price falling: a mark exactly on a bound is in the tier below
        value *= 1 - 1e-12
    return tier_index(pos.tiers, value)


def _maintenance_terms(m: _Mover, tier: int, fee: float) -> tuple[float, float]:
    """The mover's −maintenance on a segment as (constant, slope in t)."""
    t = m.position.tiers[tier]
    rate = t.maintenance_margin_rate + fee
    q = m.position.size
    return -(q * m.mark * rate - t.maintenance_amount), -q * m.slope * rate


def _first_root(
    constant: float, movers: Sequence[_Mover], rules: RuleSet, direction: int
) -> float | None:
    """Smallest |t| in the given direction where f(t) = constant + f_movers(t) reaches zero.

    f is linear between tier kinks; walking the kinks nearest first, only the mover whose
    notional crosses a bound changes its terms, so each kink costs O(1).
    Returns the signed t, or None when the path reaches a zero price (or infinity) first.
    """
    if all(m.slope * direction * m.position.sign >= 0 for m in movers):
        # Every leg gains along this path, and each gains faster than its maintenance grows
        # (rates are below 1): f only rises, so only an account already under water is hit.
        return 0.0 if _surplus_at_marks(constant, movers, rules) <= 0 else None
    fee = rules.closing_fee_rate
    alpha = constant
    beta = 0.0
    end = math.inf
    tiers: list[int] = []
    events: list[tuple[float, int, int]] = []  # (|t|, mover, tier index beyond the kink)
    for i, m in enumerate(movers):
        pos = m.position
        alpha += pos.sign * pos.size * (m.mark - pos.entry_price)
        beta += pos.sign * pos.size * m.slope
        if m.slope != 0:
            zero_at = -m.mark / m.slope
            if zero_at * direction > 0:
                end = min(end, abs(zero_at))
        k = _tier_of(m, direction) if m.with_maintenance else -1
        tiers.append(k)
        if k < 0:
            continue
        a, b = _maintenance_terms(m, k, fee)
        alpha += a
        beta += b
        if m.slope == 0 or pos.tiers[0].basis is TierBasis.SIZE:
            continue
        rising = m.slope * direction > 0
        q = pos.size
        for j, tier in enumerate(pos.tiers[:-1]):
            t = (tier.max_bound / q - m.mark) / m.slope
            if t * direction > 0:
                events.append((abs(t), i, j + 1 if rising else j))
    events.sort()

    start = 0.0
    for stop, i, new_tier in [*events, (end, -1, -1)]:
        if stop > end:
            stop, i = end, -1
        slope = beta * direction  # df/d|t|
        f_start = alpha + beta * direction * start
        if f_start <= 0:
            return direction * start
        if slope < 0:
            root = start - f_start / slope
            # A root at the path's end is a zero price (up to rounding): no liquidation.
            limit = stop * (1 - 1e-9) if i < 0 else stop
            if root < limit:
                return direction * root
        if i < 0:
            return None
        m = movers[i]
        a, b = _maintenance_terms(m, tiers[i], fee)
        alpha -= a
        beta -= b
        tiers[i] = new_tier
        a, b = _maintenance_terms(m, new_tier, fee)
        alpha += a
        beta += b
        start = stop
    return None


def _surplus_at_marks(constant: float, movers: Sequence[_Mover], rules: RuleSet) -> float:
    f = constant
    for m in movers:
        f += m.position.unrealized_pnl(m.mark)
        if m.with_maintenance:
            f -= rules.maintenance(m.position, m.mark)
    return f


def cross_legs(account: Account) -> dict[str, tuple[Position, ...]]:
    """The account's cross positions grouped by symbol (hedge mode puts two legs in one)."""
    groups: dict[str, list[Position]] = {}
    for p in account.positions:
        if p.margin_mode is MarginMode.CROSS:
            groups.setdefault(p.symbol, []).append(p)
    return {k: tuple(v) for k, v in groups.items()}


def liquidation_price(
    account: Account,
    rules: RuleSet,
    position: Position,
    totals: AccountTotals | None = None,
    legs: Mapping[str, tuple[Position, ...]] | None = None,
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
    legs = legs if legs is not None else cross_legs(account)
    movers: list[_Mover] = []
    moving_upnl = 0.0
    moving_mm = 0.0
    for p in legs.get(position.symbol, ()):
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
