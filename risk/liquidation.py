"""Exact liquidation prices and the joint move: cross pools, isolated positions, linear and
inverse contracts.

A cross account is one or more margin pools (``margin_pools``): the settle coins the exchange
pools together (Bybit's Unified Trading Account, Binance multi-assets mode, OKX multi-currency
margin), or each settle coin alone (OKX single-currency margin, Binance single-asset mode, every
coin of coin-margined contracts). Each pool is solved on its own; the account's joint move is
the first pool that dies.

What is linear, and in what
---------------------------
A move is a path t ↦ every underlying u at g_u(t) = 1 + k_u·t times its mark (k_u = 1 for the
position's own underlying and 0 for the others in a per-position solve, the betas in the joint
move). Along it a pool's surplus F(t) = value of its coins − Σ maintenance, in the pool's unit,
is piecewise linear in t:

- a linear contract's PnL q·(p − e) is linear in p; its maintenance is linear in p inside a tier
  (value at the mark × rate − amount, plus OKX's fee on the value at the mark), or a constant
  (Bybit: value at the ENTRY price × rate − deduction + the fee to close at the bankruptcy
  price; neither the value nor the tier moves with the mark, so a Bybit pool's surplus is one
  straight line with no kinks at all);
- an inverse contract's PnL S·(1/e − 1/p) and maintenance (S/p)·rate − amount are linear in
  u = 1/p, not in p. Valued at the coin's own moving price (coin amount × p, which is how a
  shared pool counts the coin, and for a coin's own pool only multiplies F by p > 0 and so
  keeps its roots) they become linear in p again: S·(p/e − 1) and S·rate − amount·p. So a
  coin-margined pool is solved in coin × price, which is the solve in u = 1/p times p;
- a coin's collateral value in a shared pool is price × φ(coin equity), with φ linear on each
  slice of the exchange's collateral tiers (and on a negative equity); price × (r·x + c) is
  linear in t because both the USD equity and the price are.

The kinks — a tier bound crossed, a collateral slice or zero crossed — are where one of those
terms changes its piece; all of them are known in advance from the marks. Each solve walks
the kinks in order from t = 0 and solves the linear equation of the first segment whose end is
at or below zero: exact, no bisection, no tolerance, and a jump in the maintenance (a
user-supplied tier table without maintenance amounts) is caught where it happens.

How it stays fast without giving up exactness
---------------------------------------------
A report solves every position's price and the joint move on one compiled model
(``benchmarks/bench_risk.py``: a 50-position report in well under half a millisecond, beside
scipy's brentq on the same functions).

- A position's price is solved once per underlying of its pool (hedge legs, a USDT and a USDC
  perpetual, a coin's inverse contracts share it), from the terms that move with that
  underlying only. Along one underlying g the surplus is K + S·g − Σ maintenance of the
  positions on it: on each segment between the union of their kinks it is A + B·g, whose
  nearest zero on each side of g = 1 is a closed form. A pool with many kinked positions
  (``VECTOR_MOVERS``) does every underlying in one NumPy pass; a smaller one scans each
  underlying's segments outwards from the mark in plain Python (a straight line where every
  position has one piece). A coin valued slice by slice counts as its value at the marks × g
  where only its price moves (its amount stays, so its slice does); where the PnL settled in
  it moves with the underlying, its slices are walked.
- The joint move walks kinks lazily from a heap (only those before the root are generated),
  or, with many kinked movers, in NumPy: every kink at once, sorted once for both directions,
  swept with cumulative sums — the same segment equations. Positions with one piece are
  straight lines summed once for both directions.
- A direction is skipped only where that is provably exact: when every moving position gains
  along the path and its tier table is continuous with rate + fee < 1 (the surplus can only
  rise), or when every table is continuous with rates that never fall (the surplus is concave)
  and the surplus still rises at the path's far end. A table whose maintenance jumps is always
  solved segment by segment, so a long liquidated by a rise is found.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from risk.rules import FeeTerm, RuleSet
from risk.types import (
    Account,
    Collateral,
    ContractType,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
    TierBasis,
    base_asset,
)

STABLECOINS = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "DAI", "TUSD", "USDE", "USDP"})
"""Coins whose price does not move with any underlying."""

_EDGE = 1e-12
_LONG = Side.LONG
_INVERSE = ContractType.INVERSE
_BY_SIZE = TierBasis.SIZE
_FEE_MARK = FeeTerm.MARK
_FEE_BANKRUPTCY = FeeTerm.BANKRUPTCY
_MISSING: float = -1.0
FloatArray = npt.NDArray[np.float64]
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Pool:
    """One margin pool: the positions that share one margin balance.

    ``currency`` is "USD" for a shared pool (every coin valued in USD) and the settle coin
    otherwise; an isolated position is a pool of its own."""

    currency: str
    mode: PoolMode
    positions: tuple[Position, ...]
    isolated: bool = False

    @property
    def key(self) -> str:
        if self.isolated:
            p = self.positions[0]
            return f"isolated {p.symbol} {p.side.name.lower()}"
        return self.currency


def pool_currency(account: Account, rules: RuleSet, position: Position) -> str:
    """The cross pool a position belongs to."""
    coin = account.settle_of(position)
    if account.pool_mode is PoolMode.SHARED and (not position.inverse or rules.inverse_shares_pool):
        return "USD"
    return coin


def margin_pools(account: Account, rules: RuleSet) -> tuple[Pool, ...]:
    """The account's cross pools holding positions, in first-position order; an account with no
    cross position has its settle coin's pool (empty), so its wallet is still reported."""
    groups: dict[str, list[Position]] = {}
    shared = account.pool_mode is PoolMode.SHARED
    cross, inverse = MarginMode.CROSS, ContractType.INVERSE
    for p in account.positions:
        if p.margin_mode is not cross:
            continue
        inv = p.contract_type is inverse
        if shared and (not inv or rules.inverse_shares_pool):
            cur = "USD"
        else:
            cur = p.base if inv else (p.settle or account.settle)
        groups.setdefault(cur, []).append(p)
    if not groups:
        return (Pool("USD" if shared else account.settle, account.pool_mode, ()),)
    return tuple(
        Pool(cur, PoolMode.SHARED if cur == "USD" else PoolMode.SEPARATE, tuple(ps))
        for cur, ps in groups.items()
    )


# --- the compiled pool ----------------------------------------------------------------------


class _Asset:
    """A coin of a pool: its balance, unit price, the underlying its price follows (None for
    stablecoins and for a separate pool's own unit), and its valuation slices (None = at par).
    ``PoolModel`` fills in the positions settled in it, their PnL's slope per underlying
    (``p1_by_under``) and their PnL at the marks (``pnl0``)."""

    __slots__ = ("balance", "coin", "p1_by_under", "pnl0", "positions", "price", "slices", "under")

    def __init__(
        self,
        coin: str,
        balance: float,
        price: float,
        under: str | None,
        slices: list[tuple[float, float, float, float]] | None,
    ) -> None:
        self.coin = coin
        self.balance = balance
        self.price = price
        self.under = under
        self.slices = slices
        self.positions: list[_Pos] = []
        self.p1_by_under: dict[str, float] = {}
        self.pnl0 = 0.0


class _Table:
    """What the solver knows of a tier table, worked out once per table (a connector keeps
    its tables from poll to poll): whether its maintenance is monotone and convex at a fee
    rate, and its pieces in the order of ascending price for the vectorised solves.

    Monotone: the maintenance is continuous across every bound (each amount is the previous
    one + bound × rate step, as the exchanges derive them) and grows slower than the value
    (rate + fee < 1), so a position that gains along a path gains faster than its maintenance
    grows. Convex: monotone with rates that never fall from one tier to the next, so the
    maintenance is a convex function of the price (and of 1/price for an inverse contract) and a
    pool's surplus is concave along any straight path."""

    __slots__ = ("_rows", "convex", "fee", "monotone", "tiers")

    def __init__(self, tiers: tuple[MarginTier, ...], fee: float) -> None:
        self.tiers = tiers
        self.fee = fee
        monotone = all(t.maintenance_margin_rate + fee < 1 for t in tiers)
        convex = True
        for prev, t in itertools.pairwise(tiers):
            expected = prev.maintenance_amount + t.min_bound * (
                t.maintenance_margin_rate - prev.maintenance_margin_rate
            )
            if abs(t.maintenance_amount - expected) > 1e-9 * max(1.0, t.min_bound):
                monotone = False
            if t.maintenance_margin_rate < prev.maintenance_margin_rate:
                convex = False
        self.monotone = monotone
        self.convex = monotone and convex
        self._rows: list[FloatArray | None] = [None, None]

    def rows(self, inverse: bool) -> FloatArray:
        """The pieces along g (ascending price): each one's bound (a linear contract's min
        bound, 0 first; an inverse contract's max bound, the table reversed, inf first), rate
        and amount as a (3, n) array."""
        rows = self._rows[inverse]
        if rows is None:
            tiers = self.tiers
            n = len(tiers)
            order = range(n - 1, -1, -1) if inverse else range(n)
            if inverse:
                bounds = [tiers[k].max_bound if k < n - 1 else _INF for k in order]
            else:
                bounds = [tiers[k].min_bound if k else 0.0 for k in order]
            rows = np.array(
                [
                    bounds,
                    [tiers[k].maintenance_margin_rate for k in order],
                    [tiers[k].maintenance_amount for k in order],
                ]
            )
            self._rows[inverse] = rows
        return rows


_TABLES: dict[int, _Table] = {}


def _table(tiers: tuple[MarginTier, ...], fee: float) -> _Table:
    table = _TABLES.get(id(tiers))
    if table is None or table.tiers is not tiers or table.fee != fee:
        if len(_TABLES) > 4096:
            _TABLES.clear()
        table = _TABLES[id(tiers)] = _Table(tiers, fee)
    return table


class _Pos:
    """A position's PnL P0 + P1·g and maintenance pieces in the pool's unit, g being its
    underlying's move factor: piece j is c0 + c1·g on g in [lows[j], highs[j]), for tier
    tier_of[j]; the pieces and their coefficients are built when a walk first needs them.
    ``settle`` is the coin its PnL is in (``Account.settle_of``)."""

    __slots__ = (
        "_pieces",
        "at_entry",
        "coefs",
        "convex",
        "current",
        "ev",
        "facts",
        "fee_c",
        "fee_k",
        "inv",
        "m",
        "mm0",
        "mm_settle",
        "monotone",
        "n_pieces",
        "notional",
        "p0",
        "p1",
        "pnl",
        "position",
        "settle",
        "sign",
        "size",
        "table_rows",
        "under",
        "v",
    )

    def __init__(
        self, position: Position, under: str, v: float, rules: RuleSet, settle: str
    ) -> None:
        p = position
        self.position = p
        self.under = under
        self.settle = settle
        self.v = v
        m = self.m = p.mark_price
        inv = self.inv = p.contract_type is _INVERSE
        contracts = p.contracts
        size = self.size = contracts * p.contract_size
        s = self.sign = 1 if p.side is _LONG else -1
        e = p.entry_price
        if inv:
            self.p1 = v * s * size / e
            self.p0 = -v * s * size / m
            ev = self.ev = size / e
            notional = self.notional = size / m
            self.pnl = s * size * (1.0 / e - 1.0 / m)
        else:
            self.p1 = v * s * size * m
            self.p0 = -v * s * size * e
            ev = self.ev = size * e
            notional = self.notional = size * m
            self.pnl = s * size * (m - e)
        at_entry = self.at_entry = rules.inverse_mm_at_entry if inv else rules.mm_at_entry
        fee_c = fee_k = fee_rate = 0.0
        fee_term = rules.fee_term
        if fee_term is _FEE_MARK:
            fee_rate = rules.closing_fee_rate
            fee_k = size * fee_rate
        elif fee_term is _FEE_BANKRUPTCY:
            fee_c = rules.fee_to_close(p)
        self.fee_c = fee_c
        self.fee_k = fee_k
        tiers = p.tiers
        by_size = tiers[0].basis is _BY_SIZE
        value = contracts if by_size else ev if at_entry else notional
        current = 0
        for tier in tiers:
            if value < tier.max_bound:
                break
            current += 1
        else:
            current -= 1
        self.current = current
        tier = tiers[current]
        rate = tier.maintenance_margin_rate
        if by_size or at_entry or len(tiers) == 1:
            self.n_pieces = 1
            self.table_rows: FloatArray | None = None
            self.monotone = self.convex = rate + fee_rate < 1
        else:
            self.n_pieces = len(tiers)
            table = _table(tiers, fee_rate)
            self.table_rows = table.rows(inv)
            self.monotone = table.monotone
            self.convex = table.convex
        self.coefs: list[tuple[float, float] | None] | None = None
        self._pieces: tuple[list[float], list[float], list[int]] | None = None
        const = fee_c - tier.maintenance_amount
        if at_entry:
            const += ev * rate
            coeff = fee_k
        else:
            coeff = fee_k + size * rate
        mm = self.mm_settle = const + (coeff / m if inv else coeff * m)
        mm0 = self.mm0 = v * mm
        self.facts = (size, m, v, fee_k, fee_c, self.p0, self.p1, mm0, self.n_pieces, self.convex)
        """What ``_Stack`` reads of the position, in one tuple."""

    def _build_pieces(self) -> tuple[list[float], list[float], list[int]]:
        tiers = self.position.tiers
        n = len(tiers)
        if self.n_pieces == 1:
            lows, tier_of = [0.0], [self.current]
        elif self.inv:
            # coin value S/(m·g) in [lo, hi) <=> g in (S/(m·hi), S/(m·lo)]
            sm = self.size / self.m
            lows = [sm / tiers[k].max_bound if k < n - 1 else 0.0 for k in range(n - 1, -1, -1)]
            tier_of = list(range(n - 1, -1, -1))
        else:
            qm = self.size * self.m
            lows = [tiers[k].min_bound / qm if k > 0 else 0.0 for k in range(n)]
            tier_of = list(range(n))
        pieces = self._pieces = (lows, [*lows[1:], _INF], tier_of)
        return pieces

    @property
    def lows(self) -> list[float]:
        return (self._pieces or self._build_pieces())[0]

    @property
    def highs(self) -> list[float]:
        return (self._pieces or self._build_pieces())[1]

    @property
    def tier_of(self) -> list[int]:
        return (self._pieces or self._build_pieces())[2]

    def coef(self, j: int) -> tuple[float, float]:
        """Piece j's maintenance as c0 + c1·g in the pool's unit."""
        coefs = self.coefs
        if coefs is None:
            coefs = self.coefs = [None] * self.n_pieces
        c = coefs[j]
        if c is None:
            tiers = self.position.tiers
            tier = tiers[self.current] if self.n_pieces == 1 else tiers[self.tier_of[j]]
            rate = tier.maintenance_margin_rate
            const = self.fee_c - tier.maintenance_amount
            coeff = self.fee_k
            if self.at_entry:
                const += self.ev * rate
            else:
                coeff += self.size * rate
            v = self.v
            # inverse: v·g·(const + coeff/(m·g)) = v·coeff/m + v·const·g
            c = (v * coeff / self.m, v * const) if self.inv else (v * const, v * coeff * self.m)
            coefs[j] = c
        return c


def _slices(c: Collateral | None) -> list[tuple[float, float, float, float]] | None:
    """φ(x) on slices of the coin amount x: (x_lo, x_hi, r, c) with φ = r·x + c; None when the
    coin counts at par."""
    if c is None or (not c.tiers and c.liability_ratio == 1.0):
        return None
    out = [(-_INF, 0.0, c.liability_ratio, 0.0)]
    lo, acc = 0.0, 0.0
    tiers = c.tiers or ()
    if not tiers:
        out.append((0.0, _INF, 1.0, 0.0))
        return out
    for i, t in enumerate(tiers):
        hi = _INF if i == len(tiers) - 1 else t.max_amount
        out.append((lo, hi, t.ratio, acc - t.ratio * lo))
        if hi < _INF:
            acc += t.ratio * (hi - lo)
        lo = hi
    return out


def _slice_at(slices: list[tuple[float, float, float, float]], x: float, rising: bool) -> int:
    for i, (lo, hi, _, _) in enumerate(slices):
        if lo < x < hi or (x == lo and rising) or (x == hi and not rising):
            return i
    return len(slices) - 1


class PoolModel:
    """A pool compiled once for every solve on it (the report solves each position and the
    joint move on the same model)."""

    def __init__(self, pool: Pool, account: Account, rules: RuleSet) -> None:
        self.pool = pool
        self.key = pool.key
        self.rules = rules
        shared = pool.mode is PoolMode.SHARED and not pool.isolated
        by_coin = {c.coin: c for c in account.collateral}
        marks: dict[str, float] = {}
        assets: dict[str, _Asset] = {}
        self.assets = assets

        def asset(coin: str) -> _Asset:
            c = by_coin.get(coin)
            if pool.isolated:
                balance = rules.isolated_collateral(pool.positions[0])
            else:
                balance = account.balance_of(coin)
            stable = coin in STABLECOINS
            if shared:
                if c is not None:
                    price = c.price
                elif stable:
                    price = 1.0
                else:
                    if not marks:
                        for q in pool.positions:
                            marks.setdefault(q.base, q.mark_price)
                    price = marks.get(coin, 1.0)
                a = _Asset(coin, balance, price, None if stable else coin, _slices(c))
            else:
                a = _Asset(coin, balance, 1.0, None if stable else coin, None)
            assets[coin] = a
            return a

        if not pool.isolated and shared:
            # every coin with a balance counts in a shared pool, positions or not, but for a
            # coin that margins its own coin-margined pool (Binance COIN-M)
            own_pools = (
                set()
                if rules.inverse_shares_pool
                else {
                    q.base
                    for q in account.positions
                    if q.inverse and q.margin_mode is MarginMode.CROSS
                }
            )
            asset(account.settle)
            for c in account.collateral:
                if c.coin not in own_pools and c.coin not in assets:
                    asset(c.coin)
        elif not pool.isolated:
            asset(pool.currency)
        positions: list[_Pos] = []
        terms: dict[int, _Pos] = {}
        by_under: dict[str, list[_Pos]] = {}
        settle = account.settle
        any_inverse = False
        kinked = 0
        for p in pool.positions:
            under = base_asset(p.symbol)
            if p.contract_type is _INVERSE:
                any_inverse = True
                coin = under
            else:
                coin = p.settle or settle
            a = assets.get(coin) or asset(coin)
            pos = _Pos(p, under, a.price, rules, coin)
            a.positions.append(pos)
            p1 = a.p1_by_under
            p1[under] = p1.get(under, 0.0) + pos.p1
            a.pnl0 += pos.p0 + pos.p1
            positions.append(pos)
            terms[id(p)] = pos
            if pos.n_pieces > 1:
                kinked += 1
            group = by_under.get(under)
            if group is None:
                by_under[under] = [pos]
            else:
                group.append(pos)
        self.positions = positions
        self.kinked = kinked
        """How many positions have more than one maintenance piece (kinks to walk)."""
        self.terms = terms
        self.by_under = by_under
        self.unders = set(by_under) | {a.under for a in assets.values() if a.under}
        """The underlyings whose moves this pool feels (its positions' and its coins')."""
        self.shared = shared
        self.plain = not (shared and any_inverse) and all(a.slices is None for a in assets.values())
        self._vector: _Stack | None = None
        self._solo: dict[str, float | None] | None = None
        """``group_roots``' answers."""
        self._pre: _Prework | None = None
        self._own: dict[str, float | None] = {}
        self._sliced_unders: set[str] | None = None
        self._line_terms: tuple[tuple[tuple[str, float], ...], float, float, bool] | None = None
        self._feels: dict[str, list[_Asset]] | None = None
        self.maintenance0 = sum(pos.mm0 for pos in positions)
        equity = wallet = 0.0
        for a in assets.values():
            equity += self._asset_value0(a)
            wallet += a.balance * a.price
        self.equity0 = equity
        self.wallet0 = wallet

    def _asset_value0(self, a: _Asset) -> float:
        e = a.balance * a.price + a.pnl0
        if a.slices is None:
            return e
        x = e / a.price
        _, _, r, c = a.slices[_slice_at(a.slices, x, True)]
        return r * e + c * a.price

    # --- evaluation ------------------------------------------------------------------------

    def value_at(self, g: Mapping[str, float]) -> tuple[float, float]:
        """(equity, maintenance) in the pool's unit with each underlying at g[u] × its mark
        (1 where missing). A coin's own pool is counted in coin × g (see the module doc)."""
        equity = 0.0
        for a in self.assets.values():
            ga = g.get(a.under, 1.0) if a.under else 1.0
            e = a.balance * a.price * ga
            for pos in a.positions:
                e += pos.p0 + pos.p1 * g.get(pos.under, 1.0)
            if a.slices is None:
                equity += e
            else:
                price = a.price * ga
                _, _, r, c = a.slices[_slice_at(a.slices, e / price, True)]
                equity += r * e + c * price
        mm = 0.0
        for pos in self.positions:
            gi = g.get(pos.under, 1.0)
            j = max(0, bisect.bisect_right(pos.lows, gi) - 1)
            c0, c1 = pos.coef(j)
            mm += c0 + c1 * gi
        return equity, mm

    def value_grid(self, g: Mapping[str, FloatArray]) -> tuple[FloatArray, FloatArray]:
        """``value_at`` for arrays of move factors (the local exchange screens its accounts
        with it), vectorised per term."""
        n = next(iter(g.values())).shape[0] if g else 1
        ones = np.ones(n)
        equity = np.zeros(n)
        for a in self.assets.values():
            ga = g.get(a.under, ones) if a.under else ones
            e = a.balance * a.price * ga
            for pos in a.positions:
                e = e + pos.p0 + pos.p1 * g.get(pos.under, ones)
            if a.slices is None:
                equity += e
            else:
                price = a.price * ga
                lows = np.array([sl[0] for sl in a.slices[1:]])
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.where(price > 0, e / np.where(price > 0, price, 1.0), 0.0)
                idx = np.searchsorted(lows, x, side="right")
                r = np.array([sl[2] for sl in a.slices])[idx]
                c = np.array([sl[3] for sl in a.slices])[idx]
                equity += r * e + c * price
        mm = np.zeros(n)
        for pos in self.positions:
            gi = g.get(pos.under, ones)
            if pos.n_pieces == 1:
                c0, c1 = pos.coef(0)
                mm += c0 + c1 * gi
                continue
            idx = np.searchsorted(np.array(pos.lows[1:]), gi, side="right")
            cs = np.array([pos.coef(j) for j in range(pos.n_pieces)])
            mm += cs[idx, 0] + cs[idx, 1] * gi
        return equity, mm

    def first_root(self, k: Mapping[str, float], direction: int) -> float | None:
        """Smallest |t| in the direction where the surplus reaches zero when every underlying
        u moves as mark × (1 + k[u]·t); None when a price reaches zero (or t infinity) first."""
        return self._first_root(self.moving(k), direction)

    def moving(self, k: Mapping[str, float]) -> dict[str, float]:
        """The underlyings of k that move (k ≠ 0) and that this pool feels."""
        unders = self.unders
        return {u: ku for u, ku in k.items() if ku != 0.0 and u in unders}

    def _first_root(self, moving: dict[str, float], direction: int) -> float | None:
        """``first_root`` of a path given by ``moving``."""
        if not moving:
            fastest = 0.0
        else:  # the largest -k·direction
            fastest = max(moving.values()) if direction < 0 else -min(moving.values())
        end = 1.0 / fastest if fastest > 0 else _INF
        alpha = self.equity0 - self.maintenance0
        if alpha <= 0.0:
            return 0.0
        if self._only_gains(moving, direction):
            return None
        beta = 0.0
        if self.kinked >= VECTOR_MOVERS:
            by_under = self.by_under
            if by_under.keys() <= moving.keys():
                count = self.kinked
            else:
                count = sum(p.n_pieces > 1 for u in moving for p in by_under.get(u, ()))
            if count >= VECTOR_MOVERS:
                return self._vector_root(moving, direction, end, alpha)
        heap: list[tuple[float, int, int, float, float]] = []
        movers: list[_Mover] = []
        lines = self._lines(moving)
        alpha += lines[1]
        beta += lines[2]
        concave = self.plain and lines[3]
        for u, ku in moving.items():
            for pos in self.by_under.get(u, ()):
                if pos.n_pieces > 1:
                    mv = _Mover(pos, ku, direction)
                    alpha += pos.mm0 - mv.a
                    beta -= mv.b
                    movers.append(mv)
        events: list[tuple[float, float, float]] = []
        # a coin that moves with none of the movers adds nothing
        coins: Iterable[_Asset] = (
            self._feel().get(next(iter(moving)), ()) if len(moving) == 1 else self.assets.values()
        )
        for a in coins:
            ka = moving.get(a.under, 0.0) if a.under else 0.0
            e1 = a.balance * a.price * ka
            p1 = a.p1_by_under
            if len(p1) < len(moving):
                for u, p1u in p1.items():
                    k_u = moving.get(u)
                    if k_u is not None:
                        e1 += p1u * k_u
            else:
                for u, ku in moving.items():
                    if u in p1:
                        e1 += p1[u] * ku
            if a.slices is None:
                beta += e1
                continue
            da, db = self._sliced_value(a, e1, ka, direction, end, events)
            alpha += da
            beta += db
        if concave:
            # F is concave along the path: if it still rises at the far end it rises all
            # the way, and there is no root (F > 0 now).
            slope_end = beta
            for mv in movers:
                slope_end += mv.b - mv.b_at(end)
            if slope_end * direction >= 0.0:
                return None
        for i, (at, da, db) in enumerate(events):
            heap.append((at, -1 - i, -1, da, db))
        for i, mv in enumerate(movers):
            ev = mv.next_event(end)
            if ev is not None:
                heap.append((ev[0], i, i, ev[1], ev[2]))
        heapq.heapify(heap)
        return _lazy_walk(alpha, beta, heap, movers, end, direction)

    def _lines(
        self, moving: Mapping[str, float]
    ) -> tuple[tuple[tuple[str, float], ...], float, float, bool]:
        """The moving positions' share of a path's set-up, for both directions: the single-
        piece ones' lines (Δalpha, Δbeta, as a _Mover would give them) and whether every
        moving table is convex."""
        key = tuple(moving.items())
        cached = self._line_terms
        if cached is not None and cached[0] == key:
            return cached
        alpha = beta = 0.0
        convex = True
        for u, ku in moving.items():
            for pos in self.by_under.get(u, ()):
                convex = convex and pos.convex
                if pos.n_pieces == 1:
                    c0, c1 = pos.coef(0)
                    alpha += pos.mm0 - (c0 + c1)
                    beta -= c1 * ku
        cached = self._line_terms = (key, alpha, beta, convex)
        return cached

    def own_factor(self, u: str) -> float | None:
        """The price factor g (price / mark) at which the pool dies when underlying u moves
        alone (the nearer of the two directions), None when no positive price does; solved
        once per underlying and shared by every position on it (hedge legs, a USDT and a USDC
        perpetual, a coin's inverse contracts)."""
        own = self._own
        if u in own:
            return own[u]
        g: float | None
        if self.kinked >= VECTOR_MOVERS and not self.pool.isolated:
            g = self.group_roots().get(u, _MISSING)
            if g is not _MISSING:
                own[u] = g
                return g
        g = self._walk_factor(u) if u in self._sliced() else self._scan_factor(u)
        own[u] = g
        return g

    def _sliced(self) -> set[str]:
        """The underlyings whose move changes the amount of a coin valued slice by slice (the
        PnL settled in it moves): along them its value may change slice. Along its own
        price alone its amount stays, so its value is its value at the marks × g, a line."""
        if self._sliced_unders is None:
            sliced: set[str] = set()
            for a in self.assets.values():
                if a.slices is not None:
                    sliced.update(a.p1_by_under)
            self._sliced_unders = sliced
        return self._sliced_unders

    def _coin_slope(self, a: _Asset) -> float:
        """d(value)/dg of a coin whose price moves as its underlying's g, its amount fixed:
        balance × price at par, its value at the marks slice by slice (see ``_sliced``)."""
        return a.balance * a.price if a.slices is None else self._asset_value0(a)

    def _walk_factor(self, u: str) -> float | None:
        """``own_factor`` by the segment walk (``first_root``), the nearer direction."""
        k = self.moving({u: 1.0})
        down = self._first_root(k, -1)
        if down == 0.0:
            return 1.0
        up = self._first_root(k, +1)
        if down is None:
            return None if up is None else 1.0 + up
        if up is None or not abs(up) < abs(down):
            return 1.0 + down
        return 1.0 + up

    def _scan_factor(self, u: str) -> float | None:
        """``group_roots`` for one underlying whose coins count at par, in plain Python: the
        same segments and closed forms, scanned outwards from g = 1 (the first segment with
        a zero answers), a direction skipped where the surplus provably only rises (every
        position gains with a continuous table, or the surplus is concave and still rising
        at the far end)."""
        group = self.by_under[u]
        f0 = self.equity0 - self.maintenance0
        if f0 <= 0.0:
            return 1.0
        coin = self.assets.get(u)
        bal = self._coin_slope(coin) if coin is not None and coin.under == u else 0.0
        if len(group) == 1:
            pos = group[0]
            k = f0 - (pos.p0 + pos.p1) + pos.mm0 - bal + pos.p0
            slope = pos.p1 + bal
            if pos.n_pieces == 1:
                c0, c1 = pos.coef(0)
                return self._scan_line(u, group, k - c0, slope - c1, pos.convex)
            return self._scan_one(u, pos, k, slope)
        pnl0 = mm0 = p0 = p1 = 0.0
        c0 = c1 = 0.0
        single = convex = True
        for pos in group:
            pnl0 += pos.p0 + pos.p1
            mm0 += pos.mm0
            p0 += pos.p0
            p1 += pos.p1
            convex = convex and pos.convex
            if pos.n_pieces == 1:
                c = pos.coef(0)
                c0 += c[0]
                c1 += c[1]
            else:
                single = False
        k = f0 - pnl0 + mm0 - bal + p0
        slope = p1 + bal
        if single:
            return self._scan_line(u, group, k - c0, slope - c1, convex)
        lows = [pos.lows for pos in group]
        highs = [pos.highs for pos in group]
        here = [bisect.bisect_right(lw, 1.0) - 1 for lw in lows]
        convex = all(pos.convex for pos in group)
        down = -_INF
        if not self._gains_only(u, group, -1) and not (
            convex and slope - sum(pos.coef(0)[1] for pos in group) <= 0.0
        ):
            js = here.copy()
            c0 = c1 = 0.0
            for pos, j in zip(group, js, strict=True):
                c = pos.coef(j)
                c0 += c[0]
                c1 += c[1]
            lo = max(lw[j] for lw, j in zip(lows, js, strict=True))
            hi = min(hw[j] for hw, j in zip(highs, js, strict=True))
            while True:
                a = k - c0
                b = slope - c1
                top = hi if hi < 1.0 else 1.0
                found = top if b * top + a <= 0.0 else -(a / b) if b > 0.0 else -_INF
                if found >= lo:
                    if found > 1e-9:
                        down = found
                    break
                if lo <= 0.0:
                    break
                for i, pos in enumerate(group):
                    j = js[i]
                    if lows[i][j] == lo:
                        old, new = pos.coef(j), pos.coef(j - 1)
                        c0 += new[0] - old[0]
                        c1 += new[1] - old[1]
                        js[i] = j - 1
                hi = lo
                lo = max(lw[j] for lw, j in zip(lows, js, strict=True))
        up = _INF
        if not self._gains_only(u, group, +1) and not (
            convex and slope - sum(pos.coef(pos.n_pieces - 1)[1] for pos in group) >= 0.0
        ):
            js = here
            c0 = c1 = 0.0
            for pos, j in zip(group, js, strict=True):
                c = pos.coef(j)
                c0 += c[0]
                c1 += c[1]
            lo = max(lw[j] for lw, j in zip(lows, js, strict=True))
            hi = min(hw[j] for hw, j in zip(highs, js, strict=True))
            while True:
                base = lo if lo > 1.0 else 1.0
                if base < hi:
                    a = k - c0
                    b = slope - c1
                    if b * base + a <= 0.0:
                        up = base
                        break
                    if b < 0.0:
                        root = -(a / b)
                        if root < hi:
                            up = root
                            break
                if hi == _INF:
                    break
                for i, pos in enumerate(group):
                    j = js[i]
                    if highs[i][j] == hi:
                        old, new = pos.coef(j), pos.coef(j + 1)
                        c0 += new[0] - old[0]
                        c1 += new[1] - old[1]
                        js[i] = j + 1
                lo = hi
                hi = min(hw[j] for hw, j in zip(highs, js, strict=True))
        if down == -_INF and up == _INF:
            return None
        return down if 1.0 - down <= up - 1.0 else up

    def _scan_one(self, u: str, pos: _Pos, k: float, slope: float) -> float | None:
        """``_scan_factor`` for a position alone on its underlying: its own pieces are the
        segments."""
        n = pos.n_pieces
        coef = pos.coef
        lows, highs = pos.lows, pos.highs
        here = bisect.bisect_right(lows, 1.0) - 1
        down = -_INF
        if not self._gains_only(u, (pos,), -1) and not (pos.convex and slope - coef(0)[1] <= 0.0):
            j = here
            while j >= 0:
                c0, c1 = coef(j)
                a = k - c0
                b = slope - c1
                hi = highs[j]
                top = hi if hi < 1.0 else 1.0
                found = top if b * top + a <= 0.0 else -(a / b) if b > 0.0 else -_INF
                if found >= lows[j]:
                    if found > 1e-9:
                        down = found
                    break
                j -= 1
        up = _INF
        if not self._gains_only(u, (pos,), +1) and not (
            pos.convex and slope - coef(n - 1)[1] >= 0.0
        ):
            j = here
            while j < n:
                lo = lows[j]
                hi = highs[j]
                base = lo if lo > 1.0 else 1.0
                if base < hi:
                    c0, c1 = coef(j)
                    a = k - c0
                    b = slope - c1
                    if b * base + a <= 0.0:
                        up = base
                        break
                    if b < 0.0:
                        root = -(a / b)
                        if root < hi:
                            up = root
                            break
                j += 1
        if down == -_INF and up == _INF:
            return None
        return down if 1.0 - down <= up - 1.0 else up

    def _scan_line(
        self, u: str, group: Sequence[_Pos], a: float, b: float, convex: bool
    ) -> float | None:
        """``_scan_factor`` where every position on u has one maintenance piece: the surplus
        is a + b·g on the single segment [0, ∞)."""
        f1 = b * 1.0 + a
        down = -_INF
        if not (convex and b <= 0.0) and not self._gains_only(u, group, -1):
            found = 1.0 if f1 <= 0.0 else -(a / b) if b > 0.0 else -_INF
            if found >= 0.0 and found > 1e-9:
                down = found
        up = _INF
        if not (convex and b >= 0.0) and not self._gains_only(u, group, +1):
            if f1 <= 0.0:
                up = 1.0
            elif b < 0.0:
                up = -(a / b)
        if down == -_INF and up == _INF:
            return None
        return down if 1.0 - down <= up - 1.0 else up

    def _gains_only(self, u: str, group: Sequence[_Pos], direction: int) -> bool:
        """``_only_gains`` for u moving alone (its coins at par)."""
        for pos in group:
            if pos.sign * direction <= 0 or not pos.monotone:
                return False
        if self.shared:
            a = self.assets.get(u)
            if a is not None and a.under == u and a.balance * direction < 0:
                return False
        return True

    def _feel(self) -> dict[str, list[_Asset]]:
        """The coins whose value moves with each underlying (its price, or its positions'
        PnL), in the pool's coin order."""
        if self._feels is None:
            feels: dict[str, list[_Asset]] = {}
            for a in self.assets.values():
                for u in a.p1_by_under:
                    feels.setdefault(u, []).append(a)
                if a.under and a.under not in a.p1_by_under:
                    feels.setdefault(a.under, []).append(a)
            self._feels = feels
        return self._feels

    def _stack(self) -> _Stack:
        """The pool's positions as arrays for the vectorised walk, built once per pool."""
        if self._vector is None:
            self._vector = _Stack(self.positions)
        return self._vector

    def _prework(self, moving: Mapping[str, float]) -> _Prework:
        """What the vectorised walk needs of a path in both directions, computed once."""
        key = tuple(moving.items())
        if self._pre is not None and self._pre.key == key:
            return self._pre
        beta = 0.0
        for a in self.assets.values():  # a coin at par: its PnL linear in t
            if a.slices is not None:
                continue
            if a.under:
                beta += a.balance * a.price * moving.get(a.under, 0.0)
            for u, p1 in a.p1_by_under.items():
                beta += p1 * moving.get(u, 0.0)
        st = self._stack()
        ku = np.array([moving.get(u, 0.0) for u in st.unders])[st.gid]
        pre = _Prework(key, beta, st, ku)
        self._pre = pre
        return pre

    def _vector_root(
        self, moving: Mapping[str, float], direction: int, end: float, alpha: float
    ) -> float | None:
        """``first_root`` for many movers: every kink of every moving position at once in
        NumPy (the same pieces, the same segment equations), sorted, swept with cumulative
        sums, a coin valued slice by slice walked beside them; the first segment whose
        equation reaches zero answers."""
        pre = self._prework(moving)
        if direction > 0:
            alpha += pre.alpha_up
            beta = pre.beta - pre.beta_up
            at, da, db = pre.events_up
        else:
            alpha += pre.alpha_down
            beta = pre.beta - pre.beta_down
            at, da, db = pre.events_down
        n = int(np.searchsorted(at, end)) if at.size else 0
        at, da, db = at[:n], da[:n], db[:n]
        if not self.plain:
            events: list[tuple[float, float, float]] = []
            for a in self.assets.values():
                if a.slices is None:
                    continue
                ka = moving.get(a.under, 0.0) if a.under else 0.0
                e1 = a.balance * a.price * ka
                for u, p1 in a.p1_by_under.items():
                    e1 += p1 * moving.get(u, 0.0)
                d_alpha, d_beta = self._sliced_value(a, e1, ka, direction, end, events)
                alpha += d_alpha
                beta += d_beta
            if events:
                events.sort(key=_first)
                extra = np.array(events).T
                where = np.searchsorted(at, extra[0], side="right")
                at = np.insert(at, where, extra[0])
                da = np.insert(da, where, extra[1])
                db = np.insert(db, where, extra[2])
        return _sweep(alpha, beta, at, da, db, end, direction, pre.concave and self.plain)

    def group_roots(self) -> dict[str, float | None]:
        """``own_factor`` of every underlying whose coins count at par, all at once: along u
        alone the surplus is K + S·g − Σ maintenance of the positions on u, piecewise linear
        between the union of their kinks; on each such segment [lo, hi) it is A + B·g,
        whose nearest zero on each side of g = 1 is a closed form. The nearest over segments
        and directions answers (the equations the walk solves one segment at a time). A
        segment's maintenance is the running sum of its positions' piece-to-piece changes.
        Cached per pool."""
        if self._solo is not None:
            return self._solo
        st = self._stack()
        unders, gid = st.unders, st.gid
        sliced = self._sliced()
        coin = {c.under: self._coin_slope(c) for c in self.assets.values() if c.under}
        p0, p1, mm0 = st.terms
        low, c0, c1, row = st.low, st.c0, st.c1, st.row
        first = st.first
        if sliced:
            # an underlying a coin valued slice by slice moves with is walked instead
            ok = np.array([u not in sliced for u in unders])
            if not ok.any():
                self._solo = {}
                return self._solo
            unders = [u for u, y in zip(unders, ok.tolist(), strict=True) if y]
            keep = ok[gid]
            gid = (np.cumsum(ok) - 1)[gid[keep]]
            p0, p1, mm0 = p0[keep], p1[keep], mm0[keep]
            on = keep[row]
            counts = np.bincount(row[on], minlength=keep.size)[keep]
            low, c0, c1 = low[on], c0[on], c1[on]
            row = np.repeat(np.arange(counts.size), counts)
            first = np.zeros(counts.size, dtype=np.intp)
            np.cumsum(counts[:-1], out=first[1:])
        ng = len(unders)
        balance = np.array([coin.get(u, 0.0) for u in unders]) if coin else np.zeros(ng)
        f0 = self.equity0 - self.maintenance0
        # the segments [lows, highs) of every underlying one after another (its own from
        # ``starts``), the surplus A + B·g on each
        if gid.size == ng:  # one position per underlying: its pieces are the segments
            k = f0 - (p0 + p1) + mm0 - balance + p0
            slope = p1 + balance
            lows = low
            highs = np.empty(low.size)
            highs[:-1] = low[1:]
            highs[first[1:] - 1] = _INF
            highs[-1] = _INF
            starts = first
            a = k[row]
            a -= c0
            b = slope[row]
            b -= c1
        else:
            sums = np.bincount
            k = f0 - sums(gid, p0 + p1, ng) + sums(gid, mm0, ng) - balance + sums(gid, p0, ng)
            slope = sums(gid, p1, ng) + balance
            # an underlying's kinks merged on one row of (underlyings × kinks); the
            # maintenance on a segment is the running sum of each piece's change from the
            # piece before it on its position
            gp = gid[row]
            sizes = np.bincount(gp, minlength=ng)
            width = int(sizes.max())
            d0 = c0 - np.concatenate(([0.0], c0[:-1]))
            d1 = c1 - np.concatenate(([0.0], c1[:-1]))
            d0[first] = c0[first]
            d1[first] = c1[first]
            key = np.empty(low.size, dtype=np.complex128)  # sorts by (underlying, g)
            key.real = gp
            key.imag = low
            order = np.argsort(key, kind="stable")
            gp = gp[order]
            begin = np.zeros(ng, dtype=np.intp)
            np.cumsum(sizes[:-1], out=begin[1:])
            col = np.arange(gp.size) - begin[gp]
            grid = np.full((ng, width + 1), _INF)
            grid[gp, col] = low[order]
            cs0 = np.zeros((ng, width))
            cs0[gp, col] = d0[order]
            cs1 = np.zeros((ng, width))
            cs1[gp, col] = d1[order]
            lows = grid[:, :-1]
            highs = grid[:, 1:]
            np.cumsum(cs0, axis=1, out=cs0)
            np.cumsum(cs1, axis=1, out=cs1)
            # kinks at one g take effect together: only the last of them starts a segment
            lows = np.where(lows < highs, lows, _INF).ravel()
            highs = highs.ravel()
            a = (k[:, None] - cs0).ravel()
            b = (slope[:, None] - cs1).ravel()
            starts = np.arange(0, ng * width, width)
        with np.errstate(over="ignore"):  # a tiny slope: the zero is far away
            root = np.divide(a, b, out=np.zeros_like(a), where=b != 0.0)
        np.negative(root, out=root)
        # down: the largest g in (0, 1] of a segment [lo, hi) where the surplus is <= 0 —
        # its top if the surplus is <= 0 there, else its zero if it rises through one
        top = np.minimum(highs, 1.0)
        f = b * top
        f += a
        down = np.where((b > 0.0) & (root >= lows), root, -_INF)
        down = np.where(f <= 0.0, top, down)
        down = np.where((lows <= top) & (down > 1e-9), down, -_INF)
        # up: the smallest g >= 1 of a segment — its bottom if the surplus is <= 0 there,
        # else its zero if it falls through one
        base = np.maximum(lows, 1.0)
        inside = base < highs
        base = np.where(inside, base, 1.0)
        f = b * base
        f += a
        up = np.where((b < 0.0) & (root < highs), root, _INF)
        up = np.where(f <= 0.0, base, up)
        up = np.where(inside, up, _INF)
        g_down = np.maximum.reduceat(down, starts)
        g_up = np.minimum.reduceat(up, starts)
        nearest = np.where(1.0 - g_down <= g_up - 1.0, g_down, g_up)
        nearest[np.isinf(g_down) & np.isinf(g_up)] = np.nan
        out: dict[str, float | None] = {
            u: None if g != g else g for u, g in zip(unders, nearest.tolist(), strict=True)
        }
        self._solo = out
        return out

    def _only_gains(self, moving: Mapping[str, float], direction: int) -> bool:
        """Every moving position gains along the path, with continuous maintenance growing
        slower than its value, and no moving coin balance loses: the surplus only rises, so
        the walk can stop before it starts (exact; a tier table with jumps is walked)."""
        if not self.plain:
            return False
        for u, ku in moving.items():
            for pos in self.by_under.get(u, ()):
                if pos.sign * ku * direction <= 0 or not pos.monotone:
                    return False
            if self.shared:
                a = self.assets.get(u)
                if a is not None and a.under == u and a.balance * ku * direction < 0:
                    return False
        return True

    def _sliced_value(
        self,
        a: _Asset,
        e1: float,
        ka: float,
        direction: int,
        end: float,
        events: list[tuple[float, float, float]],
    ) -> tuple[float, float]:
        """A coin valued slice by slice along a path: its value's change from the marks as
        (Δalpha, beta) on its current slice, its slice changes appended to events. ``e1`` is
        the slope of its equity in t, ``ka`` its price's."""
        e0 = a.balance * a.price + a.pnl0
        q1 = a.price * ka
        if e1 == 0.0 and q1 == 0.0:
            return 0.0, 0.0
        a0, b0 = self._value_walk(a, e0, e1, a.price, q1, direction, end, events)
        return a0 - self._asset_value0(a), b0

    @staticmethod
    def _value_walk(
        a: _Asset,
        e0: float,
        e1: float,
        q0: float,
        q1: float,
        direction: int,
        end: float,
        events: list[tuple[float, float, float]],
    ) -> tuple[float, float]:
        """A coin's collateral value r·E + c·price on its current slice as (alpha, beta), the
        slice changes appended to events. E = e0 + e1·t, price = q0 + q1·t; the coin amount
        E / price is monotone in t, so the slices come in order."""
        slices = a.slices
        assert slices is not None
        x0 = e0 / q0
        dx = (e1 * q0 - e0 * q1) * direction  # sign of d(amount)/d|t|
        rising = dx > 0
        i = _slice_at(slices, x0, rising)
        _, _, r, c = slices[i]
        a0, b0 = r * e0 + c * q0, r * e1 + c * q1
        if dx == 0:
            return a0, b0
        prev_a, prev_b = a0, b0
        j = i
        while True:
            bound = slices[j][1] if rising else slices[j][0]
            j += 1 if rising else -1
            if not 0 <= j < len(slices) or not math.isfinite(bound):
                break
            denom = e1 - bound * q1
            if denom == 0:
                break
            t = (bound * q0 - e0) / denom
            if t * direction <= 0:
                break
            at = abs(t)
            if at >= end:
                break
            _, _, r, c = slices[j]
            na, nb = r * e0 + c * q0, r * e1 + c * q1
            events.append((at, na - prev_a, nb - prev_b))
            prev_a, prev_b = na, nb
        return a0, b0


VECTOR_MOVERS = 16
"""From this many positions with kinks (more than one maintenance piece) a pool solves its
underlyings in one NumPy pass (``PoolModel.group_roots``), and a path with this many of them
moving is walked in NumPy (``PoolModel._vector_root``)."""


class _Prework:
    """One path's share of the vectorised walk, for both directions at once: each moving
    position's piece at the marks (g just above 1 where its g rises, just below where it
    falls), and every kink it crosses with the |t| it is reached at and its change to the
    surplus's line (Δalpha, Δbeta), sorted by |t| once and split by the direction that reaches
    it."""

    __slots__ = (
        "alpha_down",
        "alpha_up",
        "beta",
        "beta_down",
        "beta_up",
        "concave",
        "events_down",
        "events_up",
        "key",
    )

    def __init__(
        self, key: tuple[tuple[str, float], ...], beta: float, st: _Stack, ku: FloatArray
    ) -> None:
        self.key = key
        self.beta = beta
        row, low, c0, c1, first, mm0 = st.row, st.low, st.c0, st.c1, st.first, st.mm0
        later = st.later
        on = ku != 0.0
        self.concave = bool(st.convex[on].all())
        if not on.all():
            keep = on[row]
            counts = np.bincount(row[keep], minlength=on.size)[on]
            row = np.repeat(np.arange(counts.size), counts)
            low, c0, c1, later = low[keep], c0[keep], c1[keep], later[keep]
            first = np.zeros(counts.size, dtype=np.intp)
            np.cumsum(counts[:-1], out=first[1:])
            mm0, ku = mm0[on], ku[on]
        k = ku[row]
        a = c0 + c1  # each piece's line c0 + c1·g(t) in t: a + b·t
        b = c1 * k
        # a row's pieces above g = 1 + ε are reached as its g rises, its kinks at or below
        # 1 − ε as it falls; the piece holding 1 + ε (1 − ε) is where a rising (falling) g
        # starts
        above = low > 1.0 + _EDGE
        below = low <= 1.0 - _EDGE
        hi = first + np.add.reduceat(~above, first, dtype=np.intp) - 1
        lo = first + np.add.reduceat(below, first, dtype=np.intp) - 1
        rising = ku > 0
        all_rising = bool(rising.all())
        # t > 0: rows with k > 0 rise; t < 0: rows with k < 0 do
        if all_rising:
            up_at, down_at = hi, lo
        else:
            up_at = np.where(rising, hi, lo)
            down_at = np.where(rising, lo, hi)
        held = float(mm0.sum())
        self.alpha_up = held - float(a[up_at].sum())
        self.beta_up = float(b[up_at].sum())
        self.alpha_down = held - float(a[down_at].sum())
        self.beta_down = float(b[down_at].sum())
        below &= later
        kink = np.flatnonzero(above | below)
        if kink.size == 0:
            empty = np.empty(0)
            self.events_up = self.events_down = (empty, empty, empty)
            return
        kr = k[kink]
        at = np.abs((low[kink] - 1.0) / kr)
        upward = above[kink]
        sign = np.where(upward, 1.0, -1.0)
        before = kink - 1
        da = sign * (a[before] - a[kink])
        db = sign * (b[before] - b[kink])
        # reached at t > 0 when it lies the way the row moves as t grows
        by_up = upward if all_rising else upward == (kr > 0)
        order = np.argsort(at, kind="stable")
        at, da, db, by_up = at[order], da[order], db[order], by_up[order]
        by_down = ~by_up
        self.events_up = (at[by_up], da[by_up], db[by_up])
        self.events_down = (at[by_down], da[by_down], db[by_down])


class _Stack:
    """A pool's positions' maintenance pieces as flat arrays: every piece of every row, a
    row's pieces together in ascending g (``row``, ``low``, ``c0``, ``c1``; ``first`` is each
    row's first piece). Rows are the linear positions with several pieces, the inverse ones,
    then those with one."""

    def __init__(self, positions: list[_Pos]) -> None:
        linear: list[_Pos] = []
        inverse: list[_Pos] = []
        single: list[_Pos] = []
        for p in positions:
            if p.n_pieces == 1:
                single.append(p)
            elif p.inv:
                inverse.append(p)
            else:
                linear.append(p)
        rows = linear + inverse + single
        self.rows = rows
        n, nl, nm = len(rows), len(linear), len(linear) + len(inverse)
        # each row's facts (see _Pos.facts) as columns
        facts = (
            np.fromiter(itertools.chain.from_iterable([p.facts for p in rows]), np.float64, 10 * n)
            .reshape(n, 10)
            .T
        )
        counts = facts[8].astype(np.intp)
        self.terms = facts[5:8]
        """Each row's PnL P0 + P1·g and maintenance at the marks."""
        self.mm0 = facts[7]
        self.convex = facts[9] != 0.0
        parts: list[tuple[FloatArray, FloatArray, FloatArray]] = []
        for block, lo, hi, inv in ((linear, 0, nl, False), (inverse, nl, nm, True)):
            if not block:
                continue
            # (every position with several pieces has its table's rows)
            tables = [t for p in block if (t := p.table_rows) is not None]
            bounds, rates, amounts = np.concatenate(tables, axis=1)
            q, m, v, fk, fc = np.repeat(facts[:5, lo:hi], counts[lo:hi], axis=1)
            if inv:
                # ascending g is descending coin value: the tiers reversed
                parts.append((q / (m * bounds), v * (q * rates + fk) / m, v * (fc - amounts)))
            else:
                parts.append((bounds / (q * m), v * (fc - amounts), v * (fk + q * rates) * m))
        if single:
            c0, c1 = np.array([p.coef(0) for p in single]).T
            parts.append((np.zeros(n - nm), c0, c1))
        if len(parts) == 1:
            self.low, self.c0, self.c1 = parts[0]
        else:
            self.low, self.c0, self.c1 = (np.concatenate(x) for x in zip(*parts, strict=True))
        self.first = np.cumsum(counts) - counts
        row = self.row = np.repeat(np.arange(n), counts)
        later = np.empty(row.size, dtype=bool)
        later[0] = False
        np.equal(row[1:], row[:-1], out=later[1:])
        self.later = later
        """Every piece but a row's first: its low is a kink."""
        index: dict[str, int] = {}
        self.gid = np.array([index.setdefault(p.under, len(index)) for p in rows])
        self.unders = list(index)
        """The underlyings, in the order ``gid`` numbers them."""


def _first(event: tuple[float, float, float]) -> float:
    return event[0]


def _sweep(
    alpha: float,
    beta: float,
    at: FloatArray,
    da: FloatArray,
    db: FloatArray,
    end: float,
    direction: int,
    concave: bool,
) -> float | None:
    """The vectorised ``_lazy_walk``: f(t) = alpha + beta·t changing by (Δalpha, Δbeta) at
    each kink (sorted by |t| < end); kinks at one |t| take effect together; the first segment
    where f ≤ 0 answers. ``concave``: f is concave along the path, so if its last segment
    still rises there is no root (f > 0 now)."""
    # A root at the path's end is a zero price (up to rounding): no liquidation.
    limit = end * (1 - 1e-9) if end != _INF else end
    n = at.size
    if n == 0:
        if alpha <= 0.0:
            return direction * 0.0
        rate = beta * direction
        if rate < 0.0:
            first = 0.0 - alpha / rate
            if first < limit:
                return direction * first
        return None
    if concave and (beta + float(db.sum())) * direction >= 0.0:
        return None
    # segment i starts at the i-th kink (the first at 0) and stops at the next one
    a = np.cumsum(np.concatenate(((alpha,), da)))
    slope = np.cumsum(np.concatenate(((beta,), db)))
    slope *= direction
    start = np.concatenate(((0.0,), at))
    stop = np.concatenate((at, (limit,)))
    f = slope * start
    f += a
    falling = slope < 0.0
    with np.errstate(over="ignore"):  # a tiny slope: the zero is far away
        root = np.divide(f, slope, out=np.full(n + 1, -_INF), where=falling)
    np.subtract(start, root, out=root)
    hit = root < stop
    hit |= f <= 0.0
    # a kink sharing its |t| with the next one does not start a segment
    hit[1:-1] &= start[1:-1] != stop[1:-1]
    i = int(np.argmax(hit))
    if not hit[i]:
        return None
    return direction * float(start[i] if f[i] <= 0.0 else root[i])


class _Mover:
    """A position's maintenance walked lazily along a path: its current piece as
    (a, b) = c0 + c1·g(t) in t, and the next kink on request."""

    __slots__ = ("a", "b", "j", "ku", "pos", "up")

    def __init__(self, pos: _Pos, ku: float, direction: int) -> None:
        self.pos = pos
        self.ku = ku
        up = self.up = ku * direction > 0
        j = 0
        if pos.n_pieces > 1:
            probe = 1.0 + (_EDGE if up else -_EDGE)
            j = max(0, bisect.bisect_right(pos.lows, probe) - 1)
        self.j = j
        c0, c1 = pos.coef(j)
        self.a = c0 + c1
        self.b = c1 * ku

    def b_at(self, end: float) -> float:
        """The maintenance's slope in t on the piece holding the path's end."""
        pos = self.pos
        n = pos.n_pieces
        if n == 1:
            return self.b
        if end == _INF:
            j = n - 1 if self.up else 0
        else:
            g = max(0.0, 1.0 + self.ku * end * (1 if self.up == (self.ku > 0) else -1))
            j = max(0, bisect.bisect_right(pos.lows, g) - 1)
        return pos.coef(j)[1] * self.ku

    def next_event(self, end: float) -> tuple[float, float, float] | None:
        """(|t|, Δalpha, Δbeta) of the surplus at the next kink, moving onto that piece."""
        pos = self.pos
        j = self.j
        if self.up:
            if j + 1 >= pos.n_pieces:
                return None
            g_b = pos.highs[j]
            j += 1
        else:
            if j == 0:
                return None
            g_b = pos.lows[j]
            j -= 1
        at = abs((g_b - 1.0) / self.ku)
        if at >= end:
            return None
        c0, c1 = pos.coef(j)
        na, nb = c0 + c1, c1 * self.ku
        event = (at, self.a - na, self.b - nb)
        self.j, self.a, self.b = j, na, nb
        return event


def _lazy_walk(
    alpha: float,
    beta: float,
    heap: list[tuple[float, int, int, float, float]],
    movers: list[_Mover],
    end: float,
    direction: int,
) -> float | None:
    """f(t) = alpha + beta·t, changing by (Δalpha, Δbeta) at each kink's |t| (kinks come off
    a heap, each mover's next one pushed as its last is used): the smallest |t| ≤ end (signed)
    where f ≤ 0, or None."""
    start = 0.0
    seq = len(movers)
    while True:
        final = not heap or heap[0][0] >= end
        stop = end if final else heap[0][0]
        f_start = alpha + beta * direction * start
        if f_start <= 0.0:
            return direction * start
        slope = beta * direction
        if slope < 0.0:
            root = start - f_start / slope
            # A root at the path's end is a zero price (up to rounding): no liquidation.
            limit = stop * (1 - 1e-9) if final else stop
            if root < limit:
                return direction * root
        if final:
            return None
        # every kink at this |t| takes effect before f is looked at again
        while heap and heap[0][0] == stop:
            _, _, i, da, db = heapq.heappop(heap)
            alpha += da
            beta += db
            if i >= 0:
                ev = movers[i].next_event(end)
                if ev is not None:
                    seq += 1
                    heapq.heappush(heap, (ev[0], seq, i, ev[1], ev[2]))
        start = stop


# --- the public solves ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """A pool's figures at the current marks, in its unit."""

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
        """maintenance / equity, as Binance and Bybit show it: liquidation at 1.0; 0 with
        nothing to maintain."""
        if self.maintenance <= 0 and self.equity >= 0:
            return 0.0
        if self.equity <= 0:
            return math.inf
        return self.maintenance / self.equity


def _totals(model: PoolModel) -> AccountTotals:
    return AccountTotals(model.wallet0, model.equity0 - model.wallet0, model.maintenance0)


class AccountModel:
    """Every pool of an account compiled for solving (cross pools and isolated positions)."""

    def __init__(self, account: Account, rules: RuleSet) -> None:
        self.account = account
        self.rules = rules
        self.pools = [PoolModel(p, account, rules) for p in margin_pools(account, rules)]
        self.pool_by_id: dict[int, PoolModel] = {}
        """Each cross position's pool by id(position); ``pool_of`` compiles the rest."""
        for model in self.pools:
            for p in model.pool.positions:
                self.pool_by_id[id(p)] = model

    def pool_of(self, position: Position) -> PoolModel:
        model = self.pool_by_id.get(id(position))
        if model is None:
            if position.margin_mode is MarginMode.ISOLATED:
                pool = Pool(self.account.settle_of(position), PoolMode.SEPARATE, (position,), True)
                model = PoolModel(pool, self.account, self.rules)
            else:
                cur = pool_currency(self.account, self.rules, position)
                model = next(m for m in self.pools if m.pool.currency == cur)
            self.pool_by_id[id(position)] = model
        return model

    @property
    def primary(self) -> PoolModel:
        """The pool the account-level figures are from: the settle coin's (or the shared USD
        pool) when it holds positions, else the first pool that does, else the settle pool.
        Chosen by what the account holds, not by which pool is nearer liquidation, so the
        figures keep one unit from poll to poll; every pool has its own figures besides."""
        held = [m for m in self.pools if m.positions]
        for m in held:
            if m.pool.currency in ("USD", self.account.settle):
                return m
        return held[0] if held else self.pools[0]

    def liquidation_price(self, position: Position, model: PoolModel | None = None) -> float | None:
        model = model or self.pool_of(position)
        g = model.own_factor(position.base)
        return None if g is None else position.mark_price * g

    def joint_move(self, leader: str, betas: Mapping[str, float]) -> JointMove:
        k = underlying_betas(self.account, leader, betas)
        down: float | None = None
        up: float | None = None
        down_pool = up_pool = None
        for model in self.pools:
            if not model.positions:
                continue
            moving = model.moving(k)
            d = model._first_root(moving, -1)
            if d is not None and (down is None or d > down):
                down, down_pool = d, model.pool.currency
            if d == 0.0:
                continue
            u = model._first_root(moving, +1)
            if u is not None and (up is None or u < up):
                up, up_pool = u, model.pool.currency
        if down == 0.0:
            up, up_pool = None, None
        return JointMove(leader, down, up, down_pool, up_pool, tuple(sorted(k.items())))


def account_totals(account: Account, rules: RuleSet) -> AccountTotals:
    """The figures of the account's primary pool (see ``AccountModel.primary``)."""
    return _totals(AccountModel(account, rules).primary)


def pool_totals(model: PoolModel) -> AccountTotals:
    return _totals(model)


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
    model: AccountModel | None = None,
) -> float | None:
    """The mark of ``position``'s symbol at which it is liquidated, every instrument on the same
    underlying moving by the same factor and every other mark held.

    Cross: the position's pool reaches zero surplus (in hedge mode both legs move, as do a BTC
    USDT and a BTC USDC perpetual sharing one pool). Isolated: the position's own collateral
    plus PnL reaches its maintenance. None when no positive price liquidates it — never 0 or a
    negative price. If the pool is already at or past liquidation, the current mark.
    """
    return (model or AccountModel(account, rules)).liquidation_price(position)


@dataclass(frozen=True, slots=True)
class JointMove:
    """How far the leader can move, others following by beta, before a cross pool is
    liquidated: ``down`` ≤ 0 and ``up`` ≥ 0 as fractions of the leader's mark, None where no
    move in that direction liquidates it; ``down_pool``/``up_pool`` name the pool that dies
    first. ``nearest`` is the smaller of the two in size."""

    leader: str
    down: float | None
    up: float | None
    down_pool: str | None = None
    up_pool: str | None = None
    betas: tuple[tuple[str, float], ...] = ()
    """The beta each underlying followed the leader's by in this solve (the leader's is 1):
    what the scenario slider and the chart move the others by, so they show this move."""

    @property
    def nearest(self) -> float | None:
        candidates = [r for r in (self.down, self.up) if r is not None]
        return min(candidates, key=abs) if candidates else None

    @property
    def nearest_pool(self) -> str | None:
        n = self.nearest
        if n is None:
            return None
        return self.down_pool if n == self.down else self.up_pool

    def beta(self, symbol: str) -> float:
        """The beta ``symbol``'s underlying followed by (1 for the leader's and for one not
        in the solve)."""
        return dict(self.betas).get(base_asset(symbol), 1.0)


def beta_of(symbol: str, leader: str, betas: Mapping[str, float]) -> float:
    if symbol == leader:
        return 1.0
    return float(betas.get(symbol, 1.0))


def underlying_betas(account: Account, leader: str, betas: Mapping[str, float]) -> dict[str, float]:
    """The move factor slope of each underlying in the joint move: instruments on one underlying
    (a BTC USDT and a BTC USDC perpetual, BTCUSD inverse, BTC posted as collateral) move
    together, at the leader's 1 when it is the leader's, else at the beta of the first of its
    symbols that has one (1 by default)."""
    lead = base_asset(leader)
    out: dict[str, float] = {lead: 1.0}
    symbols = [p.symbol for p in account.positions]
    for symbol in symbols:
        u = base_asset(symbol)
        if u not in out and symbol in betas:
            out[u] = float(betas[symbol])
    for symbol in symbols:
        out.setdefault(base_asset(symbol), 1.0)
    for c in account.collateral:
        if c.coin not in STABLECOINS:
            out.setdefault(c.coin, 1.0)
    return out


def joint_move(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    model: AccountModel | None = None,
) -> JointMove:
    """Solve the joint move exactly: every underlying u at mark · (1 + beta_u·r), each cross
    pool on its own; the nearest move of any pool in each direction."""
    return (model or AccountModel(account, rules)).joint_move(leader, betas)
