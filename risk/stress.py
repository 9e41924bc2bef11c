"""The stress grid: the account under many joint moves at once, vectorised.

For each leader move r on a grid, every position's price is mark·(1 + beta·r); the grid gives
the cross account's equity, maintenance and margin ratio, and which positions are gone — cross
positions when the account is liquidated at or before that move, isolated ones when their own
margin is exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from risk.liquidation import beta_of
from risk.rules import RuleSet
from risk.types import Account, MarginMode, TierBasis

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class StressGrid:
    """Rows are leader moves, columns the account's positions (in account order)."""

    moves: FloatArray
    equity: FloatArray
    maintenance: FloatArray
    margin_ratio: FloatArray
    gone: BoolArray
    symbols: tuple[str, ...]

    @property
    def scenarios(self) -> int:
        return int(self.gone.size)


def default_moves(step: float = 0.001) -> FloatArray:
    """Leader moves from −50 % to +50 %."""
    n = round(1.0 / step)
    return np.linspace(-0.5, 0.5, n + 1)


@dataclass(frozen=True, slots=True, eq=False)
class _TierTable:
    """Every position's tiers padded into (positions × tiers) arrays."""

    upper: FloatArray
    rate: FloatArray
    amount: FloatArray
    count: npt.NDArray[np.int64]
    by_size: BoolArray


def _tier_table(account: Account, fee: float) -> _TierTable:
    n = len(account.positions)
    width = max(len(p.tiers) for p in account.positions)
    upper = np.full((n, width), np.inf)
    rate = np.zeros((n, width))
    amount = np.zeros((n, width))
    for i, p in enumerate(account.positions):
        k = len(p.tiers)
        upper[i, : k - 1] = [t.max_bound for t in p.tiers[:-1]]
        rate[i, :k] = [t.maintenance_margin_rate + fee for t in p.tiers]
        amount[i, :k] = [t.maintenance_amount for t in p.tiers]
    count = np.array([len(p.tiers) for p in account.positions], dtype=np.int64)
    by_size = np.array([p.tiers[0].basis is TierBasis.SIZE for p in account.positions])
    return _TierTable(upper, rate, amount, count, by_size)


def _maintenance(
    table: _TierTable, size: FloatArray, contracts: FloatArray, prices: FloatArray
) -> FloatArray:
    """(moves × positions) maintenance at the given prices, each at its own tier."""
    notional = prices * size
    basis = np.where(table.by_size, contracts, notional)
    idx = (basis[:, :, None] >= table.upper[None, :, :]).sum(axis=2)
    idx = np.minimum(idx, table.count - 1)
    cols = np.arange(prices.shape[1])
    result: FloatArray = notional * table.rate[cols, idx] - table.amount[cols, idx]
    return result


def stress_grid(
    account: Account,
    rules: RuleSet,
    leader: str,
    betas: Mapping[str, float],
    moves: FloatArray | None = None,
) -> StressGrid:
    moves = default_moves() if moves is None else np.sort(np.asarray(moves, dtype=np.float64))
    positions = account.positions
    symbols = tuple(p.symbol for p in positions)
    if not positions:
        zeros = np.zeros_like(moves)
        equity = zeros + account.wallet_balance
        return StressGrid(moves, equity, zeros, zeros, np.zeros((moves.size, 0), bool), symbols)

    mark = np.array([p.mark_price for p in positions])
    entry = np.array([p.entry_price for p in positions])
    size = np.array([p.size for p in positions])
    contracts = np.array([p.contracts for p in positions])
    sign = np.array([p.sign for p in positions], dtype=np.float64)
    beta = np.array([beta_of(p.symbol, leader, betas) for p in positions])
    cross = np.array([p.margin_mode is MarginMode.CROSS for p in positions])

    prices = mark[None, :] * (1.0 + beta[None, :] * moves[:, None])
    prices = np.maximum(prices, 0.0)
    pnl = sign * size * (prices - entry)
    table = _tier_table(account, rules.closing_fee_rate)
    mm = _maintenance(table, size, contracts, prices)

    equity = account.wallet_balance + pnl[:, cross].sum(axis=1)
    maintenance = mm[:, cross].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(equity > 0, maintenance / equity, np.inf)

    account_gone = _gone_from_origin(equity <= maintenance, moves)
    gone = np.zeros((moves.size, len(positions)), dtype=bool)
    gone[:, cross] = account_gone[:, None]
    isolated = ~cross
    if isolated.any():
        collateral = np.array(
            [p.isolated_collateral if not c else 0.0 for p, c in zip(positions, cross, strict=True)]
        )
        if rules.isolated_mm_at_entry:
            entry_prices = np.broadcast_to(entry, prices.shape)
            mm_iso = _maintenance(table, size, contracts, entry_prices)
        else:
            mm_iso = mm
        iso_dead = (collateral + pnl) <= mm_iso
        for j in np.flatnonzero(isolated):
            gone[:, j] = _gone_from_origin(iso_dead[:, j], moves)
    return StressGrid(moves, equity, maintenance, ratio, gone, symbols)


def _gone_from_origin(dead: BoolArray, moves: FloatArray) -> BoolArray:
    """A position liquidated at a move stays gone for every larger move in that direction."""
    out = np.zeros_like(dead)
    down = moves <= 0
    up = moves >= 0
    d_idx = np.flatnonzero(down)[::-1]
    out[d_idx] = np.logical_or.accumulate(dead[d_idx])
    u_idx = np.flatnonzero(up)
    out[u_idx] = np.logical_or.accumulate(dead[u_idx]) | out[u_idx]
    return out
