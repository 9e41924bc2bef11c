"""The cascade model: if a support breaks, how far would forced selling alone carry the price?

From a support S (research notes §3.2): start at the zone's bottom p0, let the break trade a
little below it, to b = p0·(1 − ``break_depth``), then iterate

    Q_k     = long liquidation notional with a price in [p_k, top of S)
    p_{k+1} = b · (1 − I(Q_k))

where I is the price impact of selling Q_k: walking the order book when one is given, else the
square-root law I(Q) = Y·σ_daily·√(Q / V_daily) (Donier & Bonart 2015; Y = 0.7, the middle of
the 0.5–1 range the literature gives). The walk starts at b because the break's own selling
has already taken the bids between p0 and b. Q grows as p falls, so the sequence only falls;
it stops when it converges or reaches the floor p0·(1 − max_drop). The domino ratio is the move
that forced selling alone makes, b·I(Q*), over the gap p0 − (top of the next support below):
the break's own ``break_depth`` only lights the fuse and is not counted. At ≥ 1 a break of S
alone reaches the next level: a cascade-prone support. Every figure is an estimate and says so.

A book snapshot holds a limited number of levels (100 by default: a fraction of a percent of
BTC's price on a real book). Beyond its last level the fall keeps growing with the fuel, as the
square-root law does: the latent book whose depth grows linearly with the distance from the
price is the one that gives the square-root law (Donier, Bonart, Mastromatteo & Bouchaud 2015),
so the snapshot's span x₀ and notional D₀ extend to x = x₀·√(Q/D₀). The larger of that and the
volume-calibrated law is taken. Carrying the snapshot's depth per percent on linearly instead
(a book that never refills) makes the model knife-edge: wherever the fuel per percent exceeds
it, the price runs away — with a map that counts all the open interest, to about 70,700 from
106,000 on the calm scenario (docs/architecture.md, "Cascade reach").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from risk.levels import Level, Levels, round_steps
from risk.liqmap import ESTIMATE_LABEL, LiqMap
from risk.liquidation import AccountModel, beta_of
from risk.rules import RuleSet
from risk.types import Account, MarginMode, OrderBook, Side

SQUARE_ROOT = "square-root law"
ORDER_BOOK = "order book"


@dataclass(frozen=True, slots=True)
class CascadeParams:
    y: float = 0.7
    """Square-root-law prefactor Y (0.5–1 in the literature)."""
    break_depth: float = 0.0025
    """How far below the zone's bottom a break is taken to trade before forced selling."""
    max_drop: float = 0.5
    max_iter: int = 200
    rel_tol: float = 1e-7
    min_next_score: float = 1.0
    """A zone below S counts as the next support only with at least this score."""
    market_fuel_scale: float = 1.0
    """Multiplies the market map's amounts (calibration of a proxy map against volume)."""
    prone_ratio: float = 1.0


def sqrt_impact(q: float, sigma_daily: float, v_daily: float, y: float = 0.7) -> float:
    """Fractional price impact of selling notional q: Y·σ_daily·√(q / V_daily)."""
    if q <= 0 or v_daily <= 0 or sigma_daily <= 0:
        return 0.0
    return y * sigma_daily * math.sqrt(q / v_daily)


def book_impact(book: OrderBook, q: float) -> tuple[float, bool]:
    """Fractional fall below the best bid after market-selling notional q into the bids.

    Returns (impact, exhausted): exhausted when the book's bids hold less than q. Beyond its
    last level the fall grows as x₀·√(q/D₀) (x₀, D₀: the snapshot's span and notional; see the
    module docstring); a book without a price span (one level) cannot be extended, and its
    impact is that of emptying it.
    """
    bids = book.bids
    if q <= 0 or bids.shape[0] == 0:
        return 0.0, bids.shape[0] == 0 and q > 0
    px = bids[:, 0]
    cum = np.cumsum(px * bids[:, 1])
    i = int(np.searchsorted(cum, q, side="left"))
    best = float(px[0])
    if i >= px.shape[0]:
        span = 1.0 - float(px[-1]) / best
        total = float(cum[-1])
        if span <= 0 or total <= 0:
            return max(span, 0.0), True
        return span * math.sqrt(q / total), True
    return 1.0 - float(px[i]) / best, False


@dataclass(frozen=True, slots=True, eq=False)
class Fuel:
    """Long liquidation notional by price: sorted prices and their running total (leading 0).
    ``user_*`` is the part that belongs to the user's own account."""

    prices: np.ndarray
    cum: np.ndarray
    user_prices: np.ndarray
    user_cum: np.ndarray

    def between(self, low: float, high: float) -> float:
        return _range(self.prices, self.cum, low, high)

    def user_between(self, low: float, high: float) -> float:
        return _range(self.user_prices, self.user_cum, low, high)


def _range(prices: np.ndarray, cum: np.ndarray, low: float, high: float) -> float:
    if high <= low or prices.shape[0] == 0:
        return 0.0
    a = int(np.searchsorted(prices, low, side="left"))
    b = int(np.searchsorted(prices, high, side="left"))
    return float(cum[b] - cum[a])


def make_fuel(
    liqmap: LiqMap | None,
    user: Sequence[tuple[float, float]] = (),
    market_scale: float = 1.0,
) -> Fuel:
    """The market's estimated long liquidations plus the user's own (price, notional) pairs."""
    up = np.array([u[0] for u in user], dtype=float)
    ua = np.array([u[1] for u in user], dtype=float)
    uo = np.argsort(up, kind="stable")
    up, ua = up[uo], ua[uo]
    if liqmap is None:
        mp, ma = np.empty(0), np.empty(0)
    else:
        mp = liqmap.long_prices
        ma = np.diff(liqmap.long_cum) * market_scale
    prices = np.concatenate([mp, up])
    amounts = np.concatenate([ma, ua])
    order = np.argsort(prices, kind="stable")
    return Fuel(
        prices[order],
        np.r_[0.0, np.cumsum(amounts[order])],
        up,
        np.r_[0.0, np.cumsum(ua)],
    )


@dataclass(frozen=True, slots=True)
class Cascade:
    """What a break of ``support`` would do. Prices in the support's symbol; notional in quote.

    ``gap`` runs from the support's bottom (``start_price``) to the top of ``next_support``
    (or to the floor when there is none); ``fuel`` is the long liquidation notional in
    [next support's top, support's top); ``forced_notional`` what the path actually liquidates.
    """

    symbol: str
    support: Level
    next_support: Level | None
    start_price: float
    gap: float
    fuel: float
    user_fuel: float
    stop_price: float
    forced_notional: float
    domino_ratio: float
    cascade_prone: bool
    converged: bool
    hit_floor: bool
    iterations: int
    impact_model: str
    estimate: bool = True
    label: str = ESTIMATE_LABEL

    @property
    def gap_pct(self) -> float:
        return self.gap / self.start_price


def next_support_below(support: Level, supports: Sequence[Level], min_score: float) -> Level | None:
    below = [z for z in supports if z.high < support.low and z.score >= min_score]
    return max(below, key=lambda z: z.high) if below else None


def cascade_from(
    support: Level,
    supports: Sequence[Level],
    fuel: Fuel,
    sigma_daily: float,
    v_daily: float,
    *,
    book: OrderBook | None = None,
    params: CascadeParams | None = None,
    symbol: str = "",
) -> Cascade:
    """Run the cascade from ``support``; ``supports`` are the candidate zones below it.

    With a ``book``, impact is the fall below its best bid after selling the fuel into its
    bids — the current book's depth profile taken as if it stood at the break — and beyond its
    last level the larger of the book's own square-root extension and the square-root law.
    """
    p = params or CascadeParams()
    nxt = next_support_below(support, supports, p.min_next_score)
    p0 = support.low
    top = support.high
    floor = p0 * (1.0 - p.max_drop)
    target = nxt.high if nxt is not None else floor
    gap = max(p0 - target, 1e-12 * p0)
    model = ORDER_BOOK if book is not None else SQUARE_ROOT

    def impact(q: float) -> float:
        if book is not None:
            frac, exhausted = book_impact(book, q)
            if exhausted:
                return max(frac, sqrt_impact(q, sigma_daily, v_daily, p.y))
            return frac
        return sqrt_impact(q, sigma_daily, v_daily, p.y)

    seed = p0 * (1.0 - p.break_depth)
    price = seed
    forced = 0.0
    converged = False
    hit_floor = False
    iterations = 0
    for iterations in range(1, p.max_iter + 1):  # noqa: B007
        forced = min(impact(fuel.between(price, top)), p.max_drop)
        new = seed * (1.0 - forced)
        if new <= floor:
            price, hit_floor = floor, True
            break
        if abs(new - price) <= p.rel_tol * p0:
            price, converged = new, True
            break
        price = new
    ratio = seed * forced / gap
    return Cascade(
        symbol=symbol,
        support=support,
        next_support=nxt,
        start_price=p0,
        gap=gap,
        fuel=fuel.between(target, top),
        user_fuel=fuel.user_between(target, top),
        stop_price=price,
        forced_notional=fuel.between(price, top),
        domino_ratio=ratio,
        cascade_prone=ratio >= p.prone_ratio,
        converged=converged,
        hit_floor=hit_floor,
        iterations=iterations,
        impact_model=model,
    )


def cascades(
    levels: Levels,
    liqmap: LiqMap | None,
    sigma_daily: float,
    v_daily: float,
    *,
    user_fuel: Sequence[tuple[float, float]] = (),
    book: OrderBook | None = None,
    params: CascadeParams | None = None,
    count: int = 3,
    min_score: float | None = None,
) -> tuple[Cascade, ...]:
    """Cascades from the ``count`` nearest supports below the price with score ≥ min_score
    (default: the params' min_next_score)."""
    p = params or CascadeParams()
    fuel = make_fuel(liqmap, user_fuel, p.market_fuel_scale)
    floor_score = p.min_next_score if min_score is None else min_score
    chosen = [z for z in levels.supports if z.score >= floor_score][:count]
    return tuple(
        cascade_from(
            z,
            levels.supports,
            fuel,
            sigma_daily,
            v_daily,
            book=book,
            params=p,
            symbol=levels.symbol,
        )
        for z in chosen
    )


@dataclass(frozen=True, slots=True)
class AccountExposure:
    """The user's account in the leader's price terms.

    ``liquidation_price`` is the leader price at which the joint move (others following by
    beta) liquidates the cross account; ``fuel`` the (leader price, beta-weighted long notional)
    that liquidation and any isolated longs would force-sell.
    """

    leader: str
    leader_price: float
    liquidation_price: float | None
    followers: tuple[tuple[str, float], ...]
    fuel: tuple[tuple[float, float], ...]


def account_exposure(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    leader_price: float,
) -> AccountExposure:
    """Joint-move liquidation of the cross account and the isolated longs, in leader terms."""
    model = AccountModel(account, rules)
    jm = model.joint_move(leader, betas)
    fuel: list[tuple[float, float]] = []
    liq: float | None = None
    if jm.down is not None:
        r = jm.down
        liq = leader_price * (1.0 + r)
        net = 0.0
        for pos in account.cross_positions:
            b = beta_of(pos.symbol, leader, betas)
            # dollars to sell: an inverse contract's size is already in USD
            usd = pos.size if pos.inverse else pos.size * pos.mark_price * (1.0 + b * r)
            net += pos.sign * usd * b
        if net > 0:
            fuel.append((liq, net))
    for pos in account.positions:
        if pos.margin_mode is not MarginMode.ISOLATED or pos.side is not Side.LONG:
            continue
        lp = model.liquidation_price(pos)
        b = beta_of(pos.symbol, leader, betas)
        if lp is None or lp <= 0 or b <= 0:
            continue
        r_i = (lp / pos.mark_price - 1.0) / b
        usd = pos.size if pos.inverse else pos.size * lp
        fuel.append((leader_price * (1.0 + r_i), usd * b))
    followers = tuple(
        (sym, beta_of(sym, leader, betas)) for sym in account.symbols if sym != leader
    )
    return AccountExposure(leader, leader_price, liq, followers, tuple(fuel))


@dataclass(frozen=True, slots=True)
class AccountCascade:
    """The cascade from the nearest support below, with the user's account in it."""

    cascade: Cascade
    exposure: AccountExposure
    liquidated_on_way: bool
    liquidated_before_break: bool
    sentence: str
    estimate: bool = True
    label: str = ESTIMATE_LABEL


def assess_account(
    levels: Levels,
    liqmap: LiqMap | None,
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    sigma_daily: float,
    v_daily: float,
    *,
    book: OrderBook | None = None,
    params: CascadeParams | None = None,
    min_score: float | None = None,
    support: Level | None = None,
) -> AccountCascade | None:
    """Where a cascade from ``support`` (default: the nearest support with score ≥ min_score
    below the leader's price) would stop, with the account's own liquidation as extra fuel,
    and whether the account is liquidated on the way. None when no support qualifies.
    ``levels`` and ``liqmap`` are the leader's."""
    p = params or CascadeParams()
    floor_score = p.min_next_score if min_score is None else min_score
    exposure = account_exposure(account, rules, leader, betas, levels.price)
    if support is None:
        chosen = [z for z in levels.supports if z.score >= floor_score]
        if not chosen:
            return None
        support = chosen[0]
    fuel = make_fuel(liqmap, exposure.fuel, p.market_fuel_scale)
    cas = cascade_from(
        support,
        levels.supports,
        fuel,
        sigma_daily,
        v_daily,
        book=book,
        params=p,
        symbol=leader,
    )
    liq = exposure.liquidation_price
    before = liq is not None and liq > cas.support.high
    on_way = liq is not None and cas.stop_price <= liq <= cas.support.high
    return AccountCascade(
        cas, exposure, on_way, before, warning_sentence(cas, exposure), estimate=True
    )


def round_price(x: float) -> float:
    """To four significant figures: 101,523 → 101,500; 3,912.4 → 3,912."""
    if x <= 0 or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - 3)
    return round(x / step) * step


def format_price(x: float) -> str:
    """Rounded, with thousands separators: 101,500; 3,912; 142.4; 0.5123."""
    r = round_price(x)
    if r >= 1000:
        return f"{r:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(r))) if r > 0 else 0
    return f"{r:,.{decimals}f}"


def display_symbol(symbol: str) -> str:
    """The base asset: "BTC/USDT:USDT" → "BTC", "ETHUSDT" → "ETH"."""
    base = symbol.split("/")[0].split(":")[0].upper()
    for quote in ("USDT", "USDC", "USD"):
        if base.endswith(quote) and len(base) > len(quote):
            return base[: -len(quote)]
    return base


def _followers_text(followers: Sequence[tuple[str, float]]) -> str:
    if not followers:
        return ""
    parts = [f"{display_symbol(s)} following at {b:.1f}×" for s, b in followers[:1]]
    parts += [f"{display_symbol(s)} at {b:.1f}×" for s, b in followers[1:]]
    return " (" + ", ".join(parts) + ")"


def warning_sentence(cascade: Cascade, exposure: AccountExposure | None = None) -> str:
    """The warning, e.g. "If 105,000 breaks, forced selling could carry BTC to about 101,500;
    your account is liquidated at BTC 102,300 (ETH following at 1.3×)."."""
    sym = display_symbol(exposure.leader if exposure else cascade.symbol)
    level = _level_price(cascade.support)
    head = (
        f"If {format_price(level)} breaks, forced selling could carry {sym} "
        f"to about {format_price(cascade.stop_price)}"
    )
    if exposure is None:
        return head + "."
    liq = exposure.liquidation_price
    tail = _followers_text(exposure.followers)
    if liq is None:
        return head + "; a fall does not liquidate your account."
    where = f"{sym} {format_price(liq)}"
    if liq > cascade.support.high:
        return head + f"; your account is liquidated before that, at {where}{tail}."
    if liq >= cascade.stop_price:
        return head + f"; your account is liquidated at {where}{tail}."
    return head + f"; your account survives that: it is liquidated at {where}{tail}."


def _level_price(z: Level) -> float:
    """The price to name a zone by: a round number inside it, else its mid."""
    if z.mid > 0:
        for step in round_steps(z.mid):
            r = round(z.mid / step) * step
            if z.low <= r <= z.high:
                return r
    return z.mid


LIQUIDATION_SCALE = 0.22
"""The open-interest map's long liquidations scaled to the ones that really happened. Fit on
CoinGlass's Binance BTC long liquidations of 2024-12-28 .. 2025-03-14 (4 h bars) against the map
built walk-forward from Binance's open interest (the median ratio); on the next 3.5 months the
scaled map totals 0.72 B USD against 0.95 B that happened, with a rank correlation of 0.50 per
bar (the bar's own fall ranks them at 0.77). benchmarks/eval_warnings.py, cascade_calibration.
The same data say why a cascade warning cannot rest on this model: on the ten largest 4 h falls
the square-root law moves the price by about 1 % of the fall with the liquidations that really
happened; producing the fall from them alone needs a prefactor Y of about 50 where the
literature measures 0.5–1. Forced selling was not what moved those prices, and nothing in the
public data measures how fast the book withdraws in a fall, so the model does not model it."""

SCENARIO_LABEL = "scenario, not a forecast"


@dataclass(frozen=True, slots=True)
class SupportContext:
    """What the chart says beside a support: the estimated USD of long liquidations between it
    and the next support below (or 5 % below it when there is none). ``calibrated`` when the map
    came from open interest and was scaled by LIQUIDATION_SCALE; a proxy map's amounts are only
    relative, and it says so."""

    support: Level
    long_usd_below: float
    down_to: float
    calibrated: bool
    label: str = SCENARIO_LABEL


def support_context(levels: Levels, liqmap: LiqMap) -> tuple[SupportContext, ...]:
    """One context line per support of ``levels`` (nearest first), from ``liqmap``."""
    out: list[SupportContext] = []
    supports = levels.supports
    scale = 1.0 if liqmap.is_proxy else LIQUIDATION_SCALE
    for i, z in enumerate(supports):
        below = supports[i + 1].high if i + 1 < len(supports) else z.low * 0.95
        usd = liqmap.long_between(below, z.high) * scale
        out.append(SupportContext(z, usd, below, not liqmap.is_proxy))
    return tuple(out)
