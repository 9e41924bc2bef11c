"""What brings the chance of liquidation under a target: collateral to add, or a cut.

"Adding 3,400 USDT, or cutting the BTC long by 30 %, brings it under 5 %." Both figures are
solved exactly by the engine's own margin arithmetic:

1. The target distance. The move model gives, for the current volatility, the distance D* at
   which the 24 h touch probability equals the target (each direction that can liquidate gets
   its share of the target in proportion to its present probability, so the two together stay
   under it).
2. Collateral. Along the joint move r (the leader by r, every other symbol by beta·r) the
   surplus f(r) = equity − maintenance is concave: equity is linear in r, and maintenance is
   convex in each price (tier rates rise with notional, and the deductions keep it continuous).
   So on the way to r* = e^(−D*) − 1 the surplus is lowest at r* itself, and the collateral
   that keeps the account alive to r* is exactly max(0, −f(r*)).
3. The cut. Closing a fraction x of one position at its mark realises that part's PnL into the
   wallet and removes that part's maintenance: f(r*; x) = f(r*; 0) − x·s·q·(p* − mark)
   + mm(q·p*) − mm((1 − x)·q·p*), piecewise linear in x with kinks where the remaining notional
   crosses a tier bound, and concave; the smallest x with f(r*; x) = 0 is solved on its
   segment. The position cut is the one carrying the most exposure in the dangerous
   direction (beta-weighted notional). Trading fees for the cut are not counted.

An isolated position's remedy is margin only: cutting it releases its margin in proportion and
leaves its liquidation price where it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from risk.liquidation import beta_of
from risk.probability import MoveModel, Odds
from risk.rules import RuleSet
from risk.types import Account, MarginMode, Position, Side, TierBasis

HORIZON_H = 24.0


@dataclass(frozen=True, slots=True)
class Remedy:
    """How to bring P(24 h) under ``target``.

    ``collateral``: settle currency to add to the cross wallet (or to the isolated position's
    margin); 0 when already under. ``cut_*``: the position to reduce and by what fraction
    (0–1); None when no cut of one position suffices (or for an isolated position)."""

    target: float
    collateral: float
    cut_symbol: str | None = None
    cut_side: Side | None = None
    cut_fraction: float | None = None
    isolated_symbol: str | None = None


def _target_moves(model: MoveModel, odds: Odds, target: float) -> tuple[float | None, float | None]:
    """The joint moves (fractions: down ≤ 0, up ≥ 0) the liquidation must be pushed beyond;
    None for a direction that cannot liquidate."""
    p_down = _p(model, odds.sigma_hourly, odds.down, -1)
    p_up = _p(model, odds.sigma_hourly, odds.up, +1)
    total = p_down + p_up
    out: list[float | None] = []
    for r, p, sign in ((odds.down, p_down, -1), (odds.up, p_up, +1)):
        if r is None:
            out.append(None)
            continue
        share = target * (p / total) if total > 0 else target / 2
        share = max(share, 1e-9)
        if sign < 0:
            d = model.distance_for(HORIZON_H, odds.sigma_hourly, share)
            out.append(max(math.expm1(-d), -1.0))
        else:
            d = model.distance_up_for(HORIZON_H, odds.sigma_hourly, share)
            out.append(math.expm1(d))
    return out[0], out[1]


def _p(model: MoveModel, sigma: float, r: float | None, sign: int) -> float:
    if r is None:
        return 0.0
    if sign < 0:
        d = math.inf if r <= -1 else -math.log1p(min(r, 0.0))
        return float(model.touch(HORIZON_H, sigma, log_down=d))
    return float(model.touch(HORIZON_H, sigma, log_up=math.log1p(max(r, 0.0))))


def surplus_along(
    account: Account, rules: RuleSet, leader: str, betas: Mapping[str, float], r: float
) -> float:
    """The cross account's equity − maintenance after the joint move r (the same sums as
    risk.liquidation.account_totals, at the moved prices)."""
    f = account.wallet_balance
    for p in account.positions:
        if p.margin_mode is not MarginMode.CROSS:
            continue
        price = p.mark_price * (1.0 + beta_of(p.symbol, leader, betas) * r)
        f += p.unrealized_pnl(price) - rules.maintenance(p, price)
    return f


def cross_remedy(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    model: MoveModel,
    odds: Odds,
    target: float,
) -> Remedy:
    """Collateral, and a cut of one position, that bring the cross account's P(24 h) to at
    most ``target``."""
    if odds.p24 <= target:
        return Remedy(target, 0.0)
    r_down, r_up = _target_moves(model, odds, target)
    need = 0.0
    worst: tuple[float, float] | None = None  # (surplus at r*, r*)
    for r_star in (r_down, r_up):
        if r_star is None:
            continue
        r_star = _within_path(account, leader, betas, r_star)
        f = surplus_along(account, rules, leader, betas, r_star)
        need = max(need, -f)
        if f < 0 and (worst is None or f < worst[0]):
            worst = (f, r_star)
    collateral = need
    if worst is None:
        return Remedy(target, collateral)
    f0, r_star = worst
    cut = _best_cut(account, rules, leader, betas, r_star, f0)
    if cut is None:
        return Remedy(target, collateral)
    pos, x = cut
    return Remedy(target, collateral, pos.symbol, pos.side, x)


def _within_path(account: Account, leader: str, betas: Mapping[str, float], r: float) -> float:
    """r, or the end of the joint path when r lies past it: the path ends where the first
    symbol's price reaches zero (a follower with beta 1.3 at a leader fall of 77 %), and no
    move past that exists."""
    end = math.inf
    for p in account.cross_positions:
        b = beta_of(p.symbol, leader, betas)
        if b * r < 0:
            end = min(end, abs(1.0 / b))
    if abs(r) >= end:
        return math.copysign(end * (1.0 - 1e-9), r)
    return r


def _best_cut(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    r_star: float,
    f0: float,
) -> tuple[Position, float] | None:
    """The position with the most beta-weighted exposure in the direction of r*, and the
    smallest fraction of it whose cut lifts f(r*) to zero."""
    direction = 1 if r_star > 0 else -1
    best: tuple[float, int] | None = None
    for i, p in enumerate(account.positions):
        if p.margin_mode is not MarginMode.CROSS:
            continue
        # A leg loses on the move when sign·beta·direction < 0.
        exposure = -p.sign * beta_of(p.symbol, leader, betas) * direction * p.notional()
        if exposure > 0 and (best is None or exposure > best[0]):
            best = (exposure, i)
    if best is None:
        return None
    pos = account.positions[best[1]]
    price = pos.mark_price * (1.0 + beta_of(pos.symbol, leader, betas) * r_star)
    x = cut_fraction(pos, rules, price, f0)
    return None if x is None else (pos, x)


def cut_fraction(position: Position, rules: RuleSet, price: float, f0: float) -> float | None:
    """Smallest x in [0, 1] with f0 − x·s·q·(price − mark) + mm(q, price) − mm((1−x)q, price)
    ≥ 0, solved on the linear segment between the tier kinks that holds the root; None when
    even closing all of it is not enough."""
    q = position.size
    mark = position.mark_price
    mm_full = rules.maintenance(position, price)

    def g(x: float) -> float:
        rest = _scaled(position, 1.0 - x)
        mm_rest = rules.maintenance(rest, price) if rest is not None else 0.0
        return f0 - x * position.sign * q * (price - mark) + mm_full - mm_rest

    if g(0.0) >= 0:
        return 0.0
    if g(1.0) < 0:
        return None
    kinks = {0.0, 1.0}
    by_size = position.tiers[0].basis is TierBasis.SIZE
    amount = position.contracts if by_size else q * price
    for tier in position.tiers:
        for bound in (tier.min_bound, tier.max_bound):
            if 0 < bound < amount and math.isfinite(bound):
                kinks.add(1.0 - bound / amount)
    points = sorted(kinks)
    lo = 0.0
    g_lo = g(lo)
    for hi in points[1:]:
        g_hi = g(hi)
        if g_hi >= 0:
            if g_hi == g_lo:
                return hi
            return lo + (0.0 - g_lo) * (hi - lo) / (g_hi - g_lo)
        lo, g_lo = hi, g_hi
    return 1.0


def _scaled(position: Position, keep: float) -> Position | None:
    if keep <= 0:
        return None
    return replace(position, contracts=position.contracts * keep)


def isolated_remedy(
    position: Position, rules: RuleSet, model: MoveModel, odds: Odds, target: float
) -> Remedy:
    """Margin to add to an isolated position so its P(24 h) is at most ``target``."""
    if odds.p24 <= target:
        return Remedy(target, 0.0, isolated_symbol=position.symbol)
    r_down, r_up = _target_moves(model, odds, target)
    r_star = r_down if position.side is Side.LONG else r_up
    if r_star is None:
        return Remedy(target, 0.0, isolated_symbol=position.symbol)
    price = position.mark_price * (1.0 + r_star)
    # The rules take maintenance at the entry where the exchange does (and add its fee term).
    needed = rules.maintenance(position, price) - position.unrealized_pnl(price)
    add = max(0.0, needed - rules.isolated_collateral(position))
    return Remedy(target, add, isolated_symbol=position.symbol)
