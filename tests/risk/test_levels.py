"""Support levels: pivots, zones, scores — and no look-ahead."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk.indicators import resample, swing_pivots
from risk.levels import LevelKind, LevelParams, _Candidates, _merge, find_levels, round_steps
from risk.types import Candles, OrderBook

H = 3_600_000


def random_walk(n: int, seed: int, start: float = 100_000.0) -> Candles:
    rng = np.random.default_rng(seed)
    close = start * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    open_ = np.r_[start, close[:-1]]
    wick = np.abs(rng.normal(0, 0.003, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    vol = rng.lognormal(6, 0.5, n)
    ts = (1_750_000_000_000 // H) * H + np.arange(n, dtype=np.int64) * H
    return Candles("BTC/USDT:USDT", "1h", ts, open_, high, low, close, vol)


WALK = random_walk(24 * 260, seed=11)
WALK_4H = resample(WALK, "4h")
WALK_1D = resample(WALK, "1d")


def test_round_steps_scale_with_price() -> None:
    assert round_steps(105_000) == (5_000, 1_000)
    assert round_steps(95_000) == (5_000, 1_000)
    assert round_steps(3_900) == (500, 100)


def test_resample_keeps_only_complete_groups() -> None:
    c = WALK.slice(1, 24 * 3 + 5)  # starts one hour into a day, ends 5 h into another
    d = resample(c, "1d")
    assert len(d) == 2
    first = int(np.searchsorted(c.ts_ms, d.ts_ms[0]))
    assert d.high[0] == c.high[first : first + 24].max()
    assert d.close[0] == c.close[first + 23]
    assert d.volume[0] == pytest.approx(c.volume[first : first + 24].sum())


def test_swing_pivot_is_confirmed_n_bars_later() -> None:
    low = np.array([5, 4, 3, 2, 1, 2, 3, 4, 5, 6], dtype=float)
    assert swing_pivots(low, 3, lows=True).tolist() == [4]
    # With only two bars after the low, the 3-bar pivot is not known yet.
    assert swing_pivots(low[:7], 3, lows=True).tolist() == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=30, max_value=len(WALK) - 2))
def test_pivots_of_a_prefix_are_the_confirmed_pivots_of_the_whole(k: int) -> None:
    full = swing_pivots(WALK.low, 5, lows=True)
    assert swing_pivots(WALK.low[:k], 5, lows=True).tolist() == full[full + 5 < k].tolist()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=24 * 20, max_value=len(WALK) - 1), st.integers(0, 2**31))
def test_levels_at_t_do_not_depend_on_later_candles(k: int, seed: int) -> None:
    """Levels at t are identical whether the bars after t are absent, present, or different —
    also when full-length 4h and 1d series are passed in."""
    t = int(WALK.ts_ms[k - 1])
    prefix = find_levels(WALK.slice(0, k))
    other_future = _with_other_future(WALK, k, seed)
    assert find_levels(WALK, at_ms=t) == prefix
    assert find_levels(other_future, at_ms=t) == prefix
    assert find_levels(WALK.slice(0, k), candles_4h=WALK_4H, candles_1d=WALK_1D) == prefix


def _with_other_future(c: Candles, k: int, seed: int) -> Candles:
    other = random_walk(len(c), seed, start=float(c.close[k - 1]))

    def join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.r_[a[:k], b[k:]]

    return Candles(
        c.symbol, c.timeframe, c.ts_ms, join(c.open, other.open), join(c.high, other.high),
        join(c.low, other.low), join(c.close, other.close), join(c.volume, other.volume),
    )  # fmt: skip


def test_supports_below_resistances_above_and_sorted() -> None:
    lv = find_levels(WALK)
    assert lv.supports and lv.resistances
    assert all(z.mid <= lv.price for z in lv.supports)
    assert all(z.mid > lv.price for z in lv.resistances)
    mids = [z.mid for z in lv.supports]
    assert mids == sorted(mids, reverse=True)
    for z in (*lv.supports, *lv.resistances):
        assert z.low <= z.mid <= z.high
        assert z.reasons and z.score > 0


def test_two_close_lows_merge_into_one_zone_with_two_touches() -> None:
    # Two V-shaped dips to 100.0 and 100.2 (within 0.4 %), 30 bars apart.
    leg = np.r_[np.linspace(110, 100, 15), np.linspace(100, 110, 15)[1:]]
    leg2 = leg - (leg == 100) * 0 + np.where(leg == 100, 0.2, 0)
    close = np.r_[np.full(10, 110.0), leg, leg2, np.full(15, 110.0)]
    n = close.shape[0]
    ts = np.arange(n, dtype=np.int64) * H
    c = Candles("X", "1h", ts, close, close + 0.05, close - 0.05, close, np.ones(n))
    lv = find_levels(c, params=LevelParams(pivot_bars=(("1h", 5),)))
    zone = next(z for z in lv.supports if z.low <= 100 <= z.high)
    assert zone.touches == 2
    assert zone.contains(99.95) and zone.contains(100.15)
    assert "2 touches" in zone.reasons
    assert zone.kinds & LevelKind.SWING


def test_score_and_reasons_of_a_confluence_zone() -> None:
    now = 10 * 24 * H
    cand = _Candidates()
    cand.add(np.array([105_050.0, 104_900.0, 105_100.0]), 0, np.full(3, now), 0)
    cand.add(np.array([105_000.0]), 2, np.array([now]), 2)  # 200-day average
    cand.add(np.array([105_000.0]), 4, np.array([now]), 0)  # round number
    p = LevelParams()
    (zone,) = _merge(cand, 106_000.0, 420.0, now, 1_000.0, p)
    assert zone.reason == "200-day average; 3 touches; round number"
    assert zone.kinds == LevelKind.SWING | LevelKind.SMA200 | LevelKind.ROUND
    # 0.6 (average) + log(1 + 3 fresh touches) + 0.4 (round number)
    assert zone.score == pytest.approx(0.6 + np.log(4.0) + 0.4, abs=1e-6)


def test_touches_decay_with_age() -> None:
    now = 400 * 24 * H
    p = LevelParams()
    fresh, old = _Candidates(), _Candidates()
    fresh.add(np.array([50_100.0, 50_150.0]), 0, np.full(2, now), 0)
    old.add(np.array([50_100.0, 50_150.0]), 0, np.full(2, now - 15 * 24 * H), 0)
    (zf,) = _merge(fresh, 52_000.0, 200.0, now, 1_000.0, p)
    (zo,) = _merge(old, 52_000.0, 200.0, now, 1_000.0, p)
    assert zf.score == pytest.approx(np.log(3.0), abs=1e-6)
    assert zo.score == pytest.approx(np.log(2.0), abs=1e-6)  # one 1h half-life: 2 → 1 touch


def test_persistent_book_wall_becomes_a_level() -> None:
    price = float(WALK.close[-1])
    step = 100.0

    def book(wall: bool) -> OrderBook:
        bids = np.array([[price - step * (i + 1), 1.0] for i in range(15)])
        if wall:
            bids[7, 1] = 40.0
        asks = np.array([[price + step * (i + 1), 1.0] for i in range(15)])
        return OrderBook("BTC/USDT:USDT", bids, asks)

    wall_px = price - 8 * step
    wide = LevelParams(max_levels=100)
    with_wall = find_levels(WALK, books=[book(True), book(True), book(False)], params=wide)
    zones = [z for z in with_wall.supports if z.kinds & LevelKind.BOOK_WALL]
    assert any(z.low - 100 <= wall_px <= z.high + 100 for z in zones)
    once = find_levels(WALK, books=[book(True), book(False), book(False)], params=wide)
    assert not any(z.kinds & LevelKind.BOOK_WALL for z in once.supports)


def test_daily_averages_appear_with_enough_history() -> None:
    lv = find_levels(WALK, params=LevelParams(max_levels=100))  # 260 days: both averages
    sma_zones = [
        z for z in (*lv.supports, *lv.resistances) if z.kinds & (LevelKind.SMA50 | LevelKind.SMA200)
    ]
    daily = resample(WALK, "1d")
    for n in (50, 200):
        sma = float(daily.close[-n:].mean())
        assert abs(sma / lv.price - 1) < 0.35  # inside the price window, so it must appear
        assert any(z.low <= sma <= z.high for z in sma_zones)


def test_lows_a_percent_apart_are_one_zone_and_two_percent_apart_are_two() -> None:
    """The merge tolerance is 1.5 % of the price (research notes §1.1: 1.5–2 %)."""

    def dips(second: float) -> Candles:
        leg = np.r_[np.linspace(110, 100, 15), np.linspace(100, 110, 15)[1:]]
        leg2 = leg - 100 + second
        close = np.r_[np.full(10, 110.0), leg, leg2, np.full(15, 110.0)]
        n = close.shape[0]
        ts = np.arange(n, dtype=np.int64) * H
        return Candles("X", "1h", ts, close, close + 0.05, close - 0.05, close, np.ones(n))

    one = find_levels(dips(101.0), params=LevelParams(pivot_bars=(("1h", 5),)))
    assert [z.touches for z in one.supports if z.low <= 101 and z.high >= 100] == [2]
    two = find_levels(dips(102.0), params=LevelParams(pivot_bars=(("1h", 5),), max_levels=10))
    assert len([z for z in two.supports if z.touches == 1]) == 2


def test_there_are_at_most_four_zones_a_side() -> None:
    lv = find_levels(WALK, candles_4h=WALK_4H, candles_1d=WALK_1D)
    assert 0 < len(lv.supports) <= 4 and 0 < len(lv.resistances) <= 4
