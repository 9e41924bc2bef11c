"""The market liquidation map: hand-checkable block arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from risk.liqmap import (
    LeverageMix,
    LiqMapParams,
    build_liqmap,
    long_liquidation_price,
    short_liquidation_price,
)
from risk.types import Candles

H = 3_600_000


def _candles(
    close: list[float],
    *,
    high: list[float] | None = None,
    low: list[float] | None = None,
    volume: list[float] | None = None,
    oi: list[float] | None = None,
    taker: list[float] | None = None,
) -> Candles:
    c = np.asarray(close, dtype=float)
    n = c.shape[0]
    return Candles(
        "BTC/USDT:USDT",
        "1h",
        np.arange(n, dtype=np.int64) * H,
        c.copy(),
        np.asarray(high, dtype=float) if high is not None else c.copy(),
        np.asarray(low, dtype=float) if low is not None else c.copy(),
        c,
        np.asarray(volume, dtype=float) if volume is not None else np.ones(n),
        None if oi is None else np.asarray(oi, dtype=float),
        None if taker is None else np.asarray(taker, dtype=float),
    )


def test_isolated_liquidation_prices() -> None:
    # 100,000 at 10x, mmr 0.4 %: long 100,000·0.9/0.996, short 100,000·1.1/1.004.
    assert float(long_liquidation_price(100_000, 10, 0.004)) == pytest.approx(90_361.4458, abs=1e-3)
    assert float(short_liquidation_price(100_000, 10, 0.004)) == pytest.approx(
        109_561.7530, abs=1e-3
    )
    # The research notes' distances at mmr 0.4 %: 5x −19.7 %, 10x −9.6 %, 25x −3.6 %,
    # 50x −1.6 %, 100x −0.60 %.
    lev = np.array([5, 10, 25, 50, 100], dtype=float)
    dist = long_liquidation_price(1.0, lev, 0.004) - 1.0
    assert np.round(dist * 100, 1).tolist() == [-19.7, -9.6, -3.6, -1.6, -0.6]


def test_buckets_hold_opened_notional_after_decay() -> None:
    # OI 10 → 20 at bar 1 (entry 100): 10 × 100 = 1,000 opened; taker share 0.7 → 700 long.
    # One bar old at a one-hour half-life → half survives.
    c = _candles([100, 100, 100], oi=[10, 20, 20], volume=[1, 10, 1], taker=[0.5, 7, 0.5])
    m = build_liqmap(c, LiqMapParams(half_life_hours=1.0))
    assert m.opened_long == pytest.approx(700.0)
    assert m.opened_short == pytest.approx(300.0)
    assert m.long_notional.sum() == pytest.approx(350.0)
    assert m.short_notional.sum() == pytest.approx(150.0)
    assert m.consumed_long == 0.0 and m.consumed_short == 0.0
    assert not m.is_proxy and m.estimate and m.label == "estimate"
    # 10x block: 15 % … 30 % of 350 at 100·0.9/0.996.
    p10 = float(long_liquidation_price(100, 10, 0.004))
    assert m.long_between(p10 - 1e-9, p10 + 1e-9) == pytest.approx(0.30 * 350)
    assert m.cumulative_long(0.0) == pytest.approx(350.0)


def test_a_bar_through_a_level_consumes_its_block() -> None:
    # Bar 2's low (99.0) trades through the 100x long level (99.398) but not the 50x (98.39).
    c = _candles(
        [100, 100, 100], low=[100, 100, 99.0], oi=[10, 20, 20], volume=[1, 10, 1],
        taker=[0.5, 10, 0.5],
    )  # fmt: skip
    m = build_liqmap(c, LiqMapParams(half_life_hours=1e12))
    assert m.opened_long == pytest.approx(1000.0)
    assert m.consumed_long == pytest.approx(100.0)
    assert m.long_notional.sum() == pytest.approx(900.0, rel=1e-9)
    assert m.long_notional.sum() + m.consumed_long == pytest.approx(m.opened_long)


def test_a_fall_in_open_interest_closes_blocks_proportionally() -> None:
    c = _candles([100, 100, 100, 100], oi=[10, 20, 15, 15], volume=[1, 2, 1, 1])
    m = build_liqmap(c, LiqMapParams(half_life_hours=1e12))
    total = m.long_notional.sum() + m.short_notional.sum()
    assert total == pytest.approx(1000.0 * 0.75, rel=1e-9)


def test_proxy_without_open_interest() -> None:
    c = _candles([100, 100], volume=[3, 3])
    m = build_liqmap(c, LiqMapParams(half_life_hours=1e12, proxy_volume_fraction=0.1))
    assert m.is_proxy and "proxy" in m.method
    # Each bar opens 0.1 × 3 × 100 = 30; no bar trades through any level.
    assert m.opened_long + m.opened_short == pytest.approx(60.0)
    assert m.long_notional.sum() + m.short_notional.sum() == pytest.approx(60.0)


def test_leverage_mix_is_configurable_and_validated() -> None:
    with pytest.raises(ValueError):
        LeverageMix((10.0, 20.0), (0.5, 0.6))
    mix = LeverageMix((20.0,), (1.0,))
    c = _candles([100, 100, 100], oi=[0, 10, 10])
    m = build_liqmap(c, LiqMapParams(mix=mix, half_life_hours=1e12))
    assert m.long_prices.tolist() == pytest.approx([float(long_liquidation_price(100, 20, 0.004))])


def test_cumulative_curve_matches_range_sums() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, 600)))
    high = close * 1.002
    low = close * 0.998
    c = _candles(close.tolist(), high=high.tolist(), low=low.tolist(), volume=[5.0] * 600)
    m = build_liqmap(c)
    edges, cum = m.cumulative_long_curve()
    assert np.all(np.diff(cum) >= 0)
    assert cum[-1] == pytest.approx(m.cumulative_long(float(edges[-1])), rel=1e-9)
    assert m.long_notional.sum() == pytest.approx(m.long_cum[-1], rel=1e-9)
    # Surviving long levels lie below the price (a bar since has not traded through them).
    assert m.long_prices.max() < close[-1]


def test_as_of_ignores_later_bars() -> None:
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, 300)))
    c = _candles(close.tolist(), high=(close * 1.003).tolist(), low=(close * 0.997).tolist())
    a = build_liqmap(c, at_ms=200 * H)
    b = build_liqmap(c.slice(0, 201))
    assert np.array_equal(a.long_notional, b.long_notional)
    assert np.array_equal(a.short_prices, b.short_prices)


def test_missing_open_interest_values_open_nothing() -> None:
    nan = float("nan")
    c = _candles([100, 100, 100, 100, 100], oi=[nan, 10, nan, nan, 12])
    m = build_liqmap(c, LiqMapParams(half_life_hours=1e12))
    assert not m.is_proxy
    assert m.opened_long + m.opened_short == pytest.approx(200.0)  # only 10 → 12
    all_nan = _candles([100, 100], oi=[nan, nan])
    assert build_liqmap(all_nan).is_proxy
