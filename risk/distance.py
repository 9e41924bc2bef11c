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


def _log_distance(
    liquidation_price: float | None, mark: float, sigma_daily: float | None
) -> float | None:
    """|ln(L / mark)|, None where there is no price or no volatility to measure it in."""
    if liquidation_price is None or not sigma_daily or liquidation_price <= 0:
        return None
    return abs(math.log(liquidation_price / mark))


def distance_sigma(
    liquidation_price: float | None, mark: float, sigma_daily: float | None, horizon_days: float = 1
) -> float | None:
    """|ln(L / mark)| in standard deviations of the log return over the horizon."""
    x = _log_distance(liquidation_price, mark, sigma_daily)
    if x is None or sigma_daily is None:
        return None
    return x / (sigma_daily * math.sqrt(horizon_days))


def touch_probability(
    liquidation_price: float | None, mark: float, sigma_daily: float | None, horizon_days: float = 1
) -> float | None:
    """Probability that the price touches L within the horizon, for a driftless log-price
    Brownian motion: P = 2·Φ(−|ln(L/mark)| / (σ·√T)) = erfc(|ln(L/mark)| / (σ·√(2T)))
    (reflection principle)."""
    x = _log_distance(liquidation_price, mark, sigma_daily)
    if x is None or sigma_daily is None:
        return None
    return math.erfc(x / (sigma_daily * math.sqrt(2.0 * horizon_days)))


def sigma_distance_and_touch(
    liquidation_price: float | None, mark: float, sigma_daily: float | None, horizon_days: float = 1
) -> tuple[float | None, float | None]:
    """``distance_sigma`` and ``touch_probability`` together, the logarithm taken once."""
    x = _log_distance(liquidation_price, mark, sigma_daily)
    if x is None or sigma_daily is None:
        return None, None
    return (
        x / (sigma_daily * math.sqrt(horizon_days)),
        math.erfc(x / (sigma_daily * math.sqrt(2.0 * horizon_days))),
    )
