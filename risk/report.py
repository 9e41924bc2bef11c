"""One account's risk report: what the table, the CLI and the warnings all read.

``build_report`` is the engine's front door: given an account (and optionally the leader, betas
and volatilities) it returns every figure with its source and the account's timestamp.

An account may hold several margin pools (``risk.liquidation.margin_pools``). The account-level
equity, maintenance and margin ratio are those of its primary pool — the settle coin's (or the
shared USD pool), else the first pool holding positions, so they keep one unit from poll to
poll — named by ``currency``; ``pools`` lists every pool's own figures, each in its own unit
(USD for a shared pool, the coin otherwise), and ``liquidated`` and the joint move cover them
all.

Given the move distribution (``risk.probability.MoveModel``) and each symbol's hourly σ, the
report also carries the chance of liquidation within 4 h and 24 h: the cross account's through
its joint move (``AccountReport.odds``) and each position's through its own price
(``PositionReport.odds``). That is the one place the table, the chart, the scenario panel and
the warnings read it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from risk.distance import sigma_distance_and_touch
from risk.liquidation import AccountModel, JointMove, pool_totals
from risk.probability import MoveModel, Odds, account_odds
from risk.rules import RuleSet, rules_for
from risk.types import (
    Account,
    ContractType,
    Figure,
    MarginMode,
    PoolMode,
    Position,
    Side,
    Source,
    UnsupportedPosition,
)

MISMATCH_TOLERANCE = 0.005
"""Computed and exchange liquidation prices further apart than this (0.5 %) are flagged:
our model or our inputs are wrong."""


class PositionReport(NamedTuple):
    """One position's figures. An immutable NamedTuple rather than a frozen dataclass: a report
    builds one per position, and a frozen dataclass costs four times as much to construct
    (benchmarks/bench_risk.py's 50-position target)."""

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
    contract_type: ContractType = ContractType.LINEAR
    settle: str = ""
    """The coin notional, PnL and maintenance are in."""
    pool: str = ""
    """The pool the position is margined in ("USD" shared, a coin, or "isolated")."""
    odds: Odds | None = None
    """The chance this position's own price reaches its liquidation within 4 h and 24 h; when
    given, ``touch_probability`` is its 24 h figure."""

    @property
    def shown_liquidation_price(self) -> Figure | None:
        """What the user sees first: our computed figure, else the exchange's."""
        return self.liquidation_price or self.exchange_liquidation_price


@dataclass(frozen=True, slots=True)
class PoolReport:
    """One cross pool's figures, in its unit (``currency``)."""

    currency: str
    mode: PoolMode
    wallet_balance: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    positions: int

    @property
    def liquidated(self) -> bool:
        return self.positions > 0 and self.equity <= self.maintenance_margin


@dataclass(frozen=True, slots=True)
class AccountReport:
    exchange: str
    label: str
    as_of_ms: int | None
    wallet_balance: float
    equity: float
    maintenance_margin: float
    margin_ratio: float
    """maintenance / equity of the primary pool; a pool is liquidated at 1.0 (inf when equity ≤
    0 with positions held, 0 with nothing to maintain)."""
    joint_move: JointMove | None
    positions: tuple[PositionReport, ...]
    currency: str = ""
    """The primary pool the account-level figures are from."""
    pools: tuple[PoolReport, ...] = ()
    exchange_equity: Figure | None = None
    exchange_maintenance_margin: Figure | None = None
    exchange_margin_ratio: Figure | None = None
    unsupported: tuple[UnsupportedPosition, ...] = ()
    odds: Odds | None = None
    """The chance the cross account is liquidated within 4 h and 24 h through its joint move
    (None without cross positions, the move distribution or the leader's σ)."""

    @property
    def liquidated(self) -> bool:
        """A pool holding cross positions is at or past its maintenance. An account with
        nothing at risk (no positions, or isolated ones only) is never liquidated as a whole."""
        if self.pools:
            return any(p.liquidated for p in self.pools)
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
    def leader_mark(self) -> float | None:
        """The mark of the joint move's leader, when the account holds it."""
        jm = self.joint_move
        if jm is None:
            return None
        return next((p.mark_price for p in self.positions if p.symbol == jm.leader), None)

    @property
    def joint_move_price(self) -> float | None:
        """The leader's price at the nearest joint move: its mark × (1 + r). The one figure
        the header, the chart and the joint-move warning show."""
        jm = self.joint_move
        mark = self.leader_mark
        if jm is None or jm.nearest is None or mark is None:
            return None
        return mark * (1 + jm.nearest)

    def joint_price(self, position: PositionReport) -> float | None:
        """Where ``position``'s symbol is when the nearest joint move liquidates the cross
        account (mark × (1 + β·r), β as the solve used it); None for an isolated position and
        for one in another pool than the one that move liquidates."""
        jm = self.joint_move
        if position.margin_mode is not MarginMode.CROSS or jm is None or jm.nearest is None:
            return None
        pool = jm.nearest_pool
        if pool is not None and position.pool and position.pool != pool:
            return None
        price = position.mark_price * (1 + jm.beta(position.symbol) * jm.nearest)
        return price if price > 0 else None

    @property
    def mismatches(self) -> tuple[PositionReport, ...]:
        return tuple(p for p in self.positions if p.mismatch is not None)


def _mismatch(computed: float | None, exchange: Figure | None, marks_as_of_ms: int) -> float | None:
    """How far our liquidation price is from the exchange's (a fraction), where it is beyond
    the tolerance. None where the exchange's figure was read before the newest mark (a stream's
    mark since the last account read): it was computed at other prices, so it cannot be held
    against ours."""
    if computed is None or exchange is None or exchange.value <= 0:
        return None
    if exchange.as_of_ms is not None and exchange.as_of_ms < marks_as_of_ms:
        return None
    gap = abs(computed / exchange.value - 1.0)
    return gap if gap > MISMATCH_TOLERANCE else None


def effective_rules(account: Account, rules: RuleSet | None = None) -> RuleSet:
    """The rule set a report uses: the exchange's shipped rules with the account's own taker
    rate where the exchange reported it."""
    return (rules or rules_for(account.exchange)).with_taker_fee(account.taker_fee_rate)


def build_report(
    account: Account,
    *,
    rules: RuleSet | None = None,
    leader: str | None = None,
    betas: Mapping[str, float] | None = None,
    sigma_daily: Mapping[str, float] | None = None,
    horizon_days: float = 1.0,
    moves: MoveModel | None = None,
    sigma_hourly: Mapping[str, float] | None = None,
) -> AccountReport:
    """Liquidation prices, distances and the joint move of every position in the account.

    ``leader`` defaults to the account's BTC position when it has one, else its largest
    position by notional; ``betas`` default to 1. ``sigma_daily`` maps symbols to the daily
    standard deviation of log returns, for the distances in sigmas and touch probabilities.
    With ``moves`` and ``sigma_hourly`` (``risk.probability.hourly_sigma`` of each symbol's
    candles) the report carries the chance of liquidation (module docstring).
    """
    rules = effective_rules(account, rules)
    betas = betas or {}
    sigma_daily = sigma_daily or {}
    model = AccountModel(account, rules)
    pool_of, pool_by_id = model.pool_of, model.pool_by_id
    reports = []
    as_of = account.as_of_ms
    marks_as_of = max((p.mark_as_of_ms or 0 for p in account.positions), default=0)
    computed = Source.COMPUTED
    # hedge legs (one symbol, one mark, one pool) share one liquidation price and its figures
    shared: dict[tuple[int, str, float], tuple[float, Figure, float, float | None, float | None]]
    shared = {}
    for pos in account.positions:
        pool = pool_by_id.get(id(pos)) or pool_of(pos)
        term = pool.terms[id(pos)]
        g = pool.own_factor(term.under)  # AccountModel.liquidation_price
        mark = pos.mark_price
        exchange_lp = pos.exchange_liquidation_price
        if g is None:
            lp = figure = distance = d_sigma = touch = mismatch = None
        else:
            key = (id(pool), pos.symbol, mark)
            known = shared.get(key)
            if known is None:
                lp = mark * g
                sigma = sigma_daily.get(pos.symbol)
                d_sigma, touch = (
                    (None, None)
                    if sigma is None
                    else sigma_distance_and_touch(lp, mark, sigma, horizon_days)
                )
                known = shared[key] = (
                    lp,
                    Figure(lp, computed, as_of),
                    lp / mark - 1.0,
                    d_sigma,
                    touch,
                )
            lp, figure, distance, d_sigma, touch = known
            mismatch = _mismatch(lp, exchange_lp, marks_as_of)
        reports.append(
            PositionReport(
                pos.symbol,
                pos.side,
                pos.margin_mode,
                term.size,
                pos.entry_price,
                mark,
                term.notional,
                term.pnl,
                term.mm_settle,
                figure,
                exchange_lp,
                distance,
                d_sigma,
                touch,
                mismatch,
                pos.contract_type,
                term.settle,
                pool.key,
            )
        )
    chosen_leader = leader or default_leader(account)
    jm = model.joint_move(chosen_leader, betas) if chosen_leader else None
    cross_odds: Odds | None = None
    if moves is not None and sigma_hourly:
        found = account_odds(
            moves,
            jm if account.cross_positions else None,
            [r.distance for r in reports],
            [r.symbol for r in reports],
            sigma_hourly,
        )
        cross_odds = found.cross
        reports = [
            r if o is None else r._replace(odds=o, touch_probability=o.p24)
            for r, o in zip(reports, found.positions, strict=True)
        ]
    pools = []
    for m in model.pools:
        t = pool_totals(m)
        pools.append(
            PoolReport(
                m.pool.currency,
                m.pool.mode,
                t.wallet_balance,
                t.equity,
                t.maintenance,
                t.margin_ratio,
                len(m.positions),
            )
        )
    primary = model.primary
    totals = pool_totals(primary)
    return AccountReport(
        exchange=account.exchange,
        label=account.label,
        as_of_ms=account.as_of_ms,
        wallet_balance=totals.wallet_balance,
        equity=totals.equity,
        maintenance_margin=totals.maintenance,
        margin_ratio=totals.margin_ratio,
        joint_move=jm,
        positions=tuple(reports),
        currency=primary.pool.currency,
        pools=tuple(pools),
        exchange_equity=account.exchange_equity,
        exchange_maintenance_margin=account.exchange_maintenance_margin,
        exchange_margin_ratio=account.exchange_margin_ratio,
        unsupported=account.unsupported,
        odds=cross_odds,
    )


def default_leader(account: Account) -> str | None:
    """BTC when the account holds it, else the largest position by notional."""
    if not account.positions:
        return None
    for pos in account.positions:
        if pos.symbol.upper().startswith("BTC"):
            return pos.symbol
    return max(account.positions, key=usd_notional).symbol


def usd_notional(p: Position) -> float:
    """A position's size in dollars: size × mark (linear), size (inverse: already USD)."""
    return p.size if p.inverse else p.size * p.mark_price
