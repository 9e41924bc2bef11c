"""Liquidation prices of single-position accounts in closed form, vectorised over many entries.

With one position the margin surplus is linear in the price inside a maintenance tier:

    long   W + q·(p − E) − (q·p·(m_k + fee) − a_k) = 0  →  p = (q·E − W − a_k) / (q·(1 − m_k − fee))
    short  W − q·(p − E) − (q·p·(m_k + fee) − a_k) = 0  →  p = (q·E + W + a_k) / (q·(1 + m_k + fee))

(W the margin, q the size, E the entry, m_k and a_k tier k's rate and deduction), and the answer
is the one whose notional q·p lies in its own tier: the surplus is monotone along a one-way
path, so exactly one tier is consistent. This is risk.liquidation's answer for a one-position
account (an isolated position with maintenance on the current notional, or a cross account
holding one position), computed for a whole array of entries at once — the evaluations open
thousands of synthetic positions an hour. tests/test_probability.py checks it against the
engine.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from risk.rules import FeeTerm, RuleSet
from risk.types import MarginTier, Side, TierBasis

FloatArray = npt.NDArray[np.float64]


def single_position_liquidation(
    side: Side,
    entry: npt.ArrayLike,
    size: npt.ArrayLike,
    margin: npt.ArrayLike,
    tiers: tuple[MarginTier, ...],
    rules: RuleSet,
) -> FloatArray:
    """Liquidation price of each (entry, size, margin) position marked at its entry, held in a
    cross account of its own (or isolated where the exchange takes isolated maintenance on the
    current notional); the entry itself where the margin is already below maintenance there;
    NaN where no positive price liquidates it. Linear contracts on rules whose maintenance is
    the current notional's, with no fee term or a fee on the mark (Binance, OKX, Hyperliquid):
    Bybit's maintenance at entry and fee at the bankruptcy price are another formula."""
    if rules.mm_at_entry or rules.fee_term is FeeTerm.BANKRUPTCY:
        raise ValueError(f"{rules.exchange}: maintenance at entry or a bankruptcy-price fee")
    fee = rules.closing_fee_rate if rules.fee_term is FeeTerm.MARK else 0.0
    if tiers[0].basis is not TierBasis.NOTIONAL:
        raise ValueError("tiers picked by size are not this formula")
    e = np.asarray(entry, dtype=float)
    q = np.asarray(size, dtype=float) * np.ones_like(e)
    w = np.asarray(margin, dtype=float) * np.ones_like(e)
    out = np.full(e.shape, np.nan)
    done = np.zeros(e.shape, dtype=bool)
    s = side.sign
    at_entry = np.zeros(e.shape)
    for tier in tiers:
        inside = (q * e >= tier.min_bound) & ((q * e < tier.max_bound) | (tier is tiers[-1]))
        rate = tier.maintenance_margin_rate + fee
        at_entry = np.where(inside, q * e * rate - tier.maintenance_amount, at_entry)
    under = w <= at_entry
    out = np.where(under, e, out)
    done |= under
    for tier in tiers:
        rate = tier.maintenance_margin_rate + fee
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (s * q * e - w - tier.maintenance_amount) / (q * (s - rate))
        notional = q * p
        last = tier is tiers[-1]
        fits = (notional >= tier.min_bound) & ((notional < tier.max_bound) | last)
        take = fits & ~done & (p > 0) & np.isfinite(p)
        out = np.where(take, p, out)
        done |= take
    return out
