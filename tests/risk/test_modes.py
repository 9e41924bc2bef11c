"""Hedge mode and distances."""

import math

import numpy as np
import pytest

from risk.distance import distance_pct, distance_sigma, touch_probability
from risk.liquidation import liquidation_price
from risk.rules import rules_for
from risk.types import Account, MarginMode, MarginTier, Position, Side

INF = math.inf


def test_binance_hedge_mode_legs_share_one_price_and_match_the_faq_formula():
    """Binance FAQ, hedge mode: LP = (WB − TMM1 + UPNL1 + cumL + cumS − QL·EPL + QS·EPS)
    / (QL·MMRL + QS·MMRS − QL + QS), both legs of the symbol at one price."""
    tier = (MarginTier(0, INF, 0.005, 50),)
    long_leg = Position("BTCUSDT", Side.LONG, 3, 100_000, 98_000, tier)
    short_leg = Position("BTCUSDT", Side.SHORT, 1, 95_000, 98_000, tier)
    eth = Position("ETHUSDT", Side.LONG, 20, 3_600, 3_400, (MarginTier(0, INF, 0.01, 0),))
    account = Account("binanceusdm", 25_000, (long_leg, short_leg, eth))
    rules = rules_for("binanceusdm")
    lp_long = liquidation_price(account, rules, long_leg)
    lp_short = liquidation_price(account, rules, short_leg)
    assert lp_long == lp_short
    tmm1 = 20 * 3_400 * 0.01
    upnl1 = 20 * (3_400 - 3_600)
    expected = (25_000 - tmm1 + upnl1 + 50 + 50 - 3 * 100_000 + 1 * 95_000) / (
        3 * 0.005 + 1 * 0.005 - 3 + 1
    )
    assert lp_long == pytest.approx(expected, rel=1e-12)


def test_isolated_short_in_an_otherwise_cross_account():
    tier = (MarginTier(0, INF, 0.005),)
    short = Position("ETHUSDT", Side.SHORT, 10, 3_000, 3_000, tier,
                     margin_mode=MarginMode.ISOLATED, leverage=10)  # fmt: skip
    rules = rules_for("binanceusdm")
    lp = liquidation_price(Account("binanceusdm", 0, (short,)), rules, short)
    # 3,000 of margin: 3,000 − 10·(p − 3,000) = 10·p·0.005
    assert lp == pytest.approx(33_000 / 10.05)


def test_distances():
    assert distance_pct(90.0, 100.0) == pytest.approx(-0.10)
    assert distance_pct(None, 100.0) is None
    assert distance_sigma(90.0, 100.0, 0.05) == pytest.approx(-math.log(0.9) / 0.05)
    assert distance_sigma(90.0, 100.0, None) is None


def test_touch_probability_is_the_reflection_principle():
    # At the mark: certain. Far away: nearly impossible. Symmetric in log space.
    assert touch_probability(100.0, 100.0, 0.03) == pytest.approx(1.0)
    assert touch_probability(50.0, 100.0, 0.03) < 1e-10
    assert touch_probability(100 * math.exp(-0.05), 100.0, 0.03) == pytest.approx(
        touch_probability(100 * math.exp(0.05), 100.0, 0.03)
    )
    # 2·Φ(−z) with z = 1: 0.3173
    assert touch_probability(100 * math.exp(-0.03), 100.0, 0.03) == pytest.approx(0.3173, abs=1e-4)
    # a longer horizon makes a touch more likely
    near = touch_probability(95.0, 100.0, 0.03, horizon_days=1)
    far = touch_probability(95.0, 100.0, 0.03, horizon_days=7)
    assert far > near


def test_touch_probability_matches_a_simulation():
    rng = np.random.default_rng(1)
    sigma, steps, paths = 0.04, 2_000, 4_000
    increments = rng.normal(0, sigma / math.sqrt(steps), size=(paths, steps))
    lows = np.minimum.accumulate(np.cumsum(increments, axis=1), axis=1)[:, -1]
    barrier = math.log(0.95)
    simulated = float((lows <= barrier).mean())
    # discrete monitoring misses a few touches; the continuous formula is a slight upper bound
    assert simulated == pytest.approx(touch_probability(95.0, 100.0, sigma), abs=0.03)
