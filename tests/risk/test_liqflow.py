"""risk.liqflow with the shipped thresholds: the flow against its norm, the condition's three
parts (flow, move toward the liquidation, reach), and the priors it starts from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resources import liquidation_prior
from risk.liqflow import (
    DAY_MS,
    MINUTE_MS,
    Flow,
    FlowThresholds,
    NormSource,
    cascade_under_way,
    history_norm,
    sigma_over,
    window_sum,
)
from risk.types import Side

T = FlowThresholds()
NOW = 1_762_000_000_000
SIGMA = 0.025  # BTC's daily volatility, about


def flow(multiple: float, side: Side = Side.LONG) -> Flow:
    norm = 36_738.0
    return Flow(
        "binanceusdm",
        "BTC/USDT:USDT",
        side,
        T.window_ms,
        norm * multiple,
        norm,
        NormSource.PRIOR,
        NOW,
    )


def test_the_shipped_thresholds_are_the_evaluated_ones() -> None:
    # benchmarks/eval_liquidation_flow.py: k = 8 at 4 h, x6.0 to a 15-minute cascade; 2 sigma;
    # reach the p90 further fall (3.06 sigma of 4 h), critical within the median (0.92 sigma)
    assert T.multiple == pytest.approx(8 * (240 / 15) ** 0.64, rel=0.02)
    assert (T.window_ms, T.move_window_ms, T.norm_days) == (300_000, 600_000, 7.0)
    assert T.move_sigmas == 2.0 and T.reach_sigmas == 3.1 and T.critical_sigmas == 0.9


def test_window_sum_counts_the_last_five_minutes_only() -> None:
    times = [NOW - 400_000, NOW - 299_999, NOW - 10_000, NOW, NOW + 1]
    usd = [1.0, 2.0, 4.0, 8.0, 16.0]
    assert window_sum(times, usd, NOW, T.window_ms) == 14.0


def test_history_norm_needs_a_full_week() -> None:
    minutes = np.arange(NOW - 8 * DAY_MS, NOW, MINUTE_MS)
    usd = np.full(minutes.shape, 1_000.0)
    assert history_norm(minutes, usd, NOW, NOW - 6 * DAY_MS, T) is None
    norm = history_norm(minutes, usd, NOW, NOW - 8 * DAY_MS, T)
    assert norm == pytest.approx(5_000.0, rel=1e-3)  # 1,000 a minute, 5 minutes


def test_fires_on_heavy_flow_a_sharp_fall_and_a_near_liquidation() -> None:
    move = -2.5 * sigma_over(SIGMA, T.move_window_ms)
    mark = 100_000.0
    before = mark / math.exp(move)
    c = cascade_under_way(flow(60), Side.LONG, mark, before, SIGMA, 98_500.0, T)
    assert c is not None
    assert c.distance == pytest.approx(0.015)
    assert c.move_sigmas == pytest.approx(2.5, rel=1e-6)
    assert c.reach == pytest.approx(3.1 * sigma_over(SIGMA, 4 * 3_600_000))
    assert c.critical is False
    closer = cascade_under_way(flow(60), Side.LONG, mark, before, SIGMA, 99_500.0, T)
    assert closer is not None and closer.critical is True


@pytest.mark.parametrize(
    ("multiple", "sigmas", "liq", "why"),
    [
        (40, 2.5, 98_500.0, "flow below 48x"),
        (60, 1.5, 98_500.0, "the fall is too small"),
        (60, 2.5, 96_000.0, "the liquidation is out of reach"),
        (60, -2.5, 98_500.0, "the price rose"),
    ],
)
def test_each_part_is_needed(multiple: float, sigmas: float, liq: float, why: str) -> None:
    move = -sigmas * sigma_over(SIGMA, T.move_window_ms)
    mark = 100_000.0
    assert (
        cascade_under_way(flow(multiple), Side.LONG, mark, mark / math.exp(move), SIGMA, liq, T)
        is None
    ), why


def test_shorts_mirror_longs() -> None:
    move = 2.5 * sigma_over(SIGMA, T.move_window_ms)
    mark = 100_000.0
    before = mark / math.exp(move)
    assert cascade_under_way(flow(60, Side.SHORT), Side.SHORT, mark, before, SIGMA, 101_500.0, T)
    # long liquidations say nothing to a short
    assert (
        cascade_under_way(flow(60, Side.LONG), Side.SHORT, mark, before, SIGMA, 101_500.0, T)
        is None
    )


def test_priors_come_from_coinglass_binance_scaled_by_venue_share() -> None:
    assert liquidation_prior("binanceusdm", "BTC/USDT:USDT", "long") == 36_738.0
    bybit = liquidation_prior("bybit", "BTC/USDT:USDT", "long")
    assert bybit == pytest.approx(36_738.0 * 0.2333 / 0.1735)
    assert liquidation_prior("okx", "SOL/USDT:USDT", "long") is None
