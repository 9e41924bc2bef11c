"""How far a liquidation price is from the mark: in percent, in sigmas, as a probability.

Volatility is the standard deviation of log returns per day (σ_daily); a horizon is in days.
"""

from __future__ import annotations

import math


def distance_pct(liquidation_price: float | None, mark: float) -> float | None:
    """liquidation_price / mark − 1: negative below the mark (a long), positive above."""
    if liquidation_price is None:
        return None
    return liquidation_price / mark - 1.0


def distance_sigma(
    liquidation_price: float | None, mark: float, sigma_daily: float | None, horizon_days: float = 1
) -> float | None:
    """|ln(L / mark)| in standard deviations of the log return over the horizon."""
    if liquidation_price is None or not sigma_daily or liquidation_price <= 0:
        return None
    return abs(math.log(liquidation_price / mark)) / (sigma_daily * math.sqrt(horizon_days))


def touch_probability(
    liquidation_price: float | None, mark: float, sigma_daily: float | None, horizon_days: float = 1
) -> float | None:
    """Probability that the price touches L within the horizon, for a driftless log-price
    Brownian motion: P = 2·Φ(−|ln(L/mark)| / (σ·√T)) = erfc(|ln(L/mark)| / (σ·√(2T)))
    (reflection principle)."""
    if liquidation_price is None or not sigma_daily or liquidation_price <= 0:
        return None
    z = abs(math.log(liquidation_price / mark)) / (sigma_daily * math.sqrt(2.0 * horizon_days))
    return math.erfc(z)
