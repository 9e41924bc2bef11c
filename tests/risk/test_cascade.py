"""The cascade model: impact, the domino ratio, the account and the warning sentence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk.cascade import (
    AccountExposure,
    Cascade,
    CascadeParams,
    Fuel,
    account_exposure,
    assess_account,
    book_impact,
    cascade_from,
    cascades,
    format_price,
    make_fuel,
    sqrt_impact,
    warning_sentence,
)
from risk.indicators import daily_sigma, daily_volume_notional
from risk.levels import Level, LevelKind, Levels, find_levels
from risk.liqmap import LiqMap, build_liqmap
from risk.liquidation import joint_move
from risk.rules import rules_for
from risk.types import Account, Candles, MarginTier, OrderBook, Position, Side


def zone(low: float, high: float, score: float = 2.0) -> Level:
    return Level(low, high, (low + high) / 2, score, LevelKind.SWING, 3, ("3 touches",))


def dense_fuel(low: float, high: float, total: float, n: int = 1000) -> Fuel:
    prices = np.linspace(low, high, n, endpoint=False)
    return make_fuel(None, [(float(p), total / n) for p in prices])


def test_square_root_impact() -> None:
    # The research notes' illustration: σ = 3 %, Q = 2 % of V, Y = 1 → 0.42 %.
    assert sqrt_impact(2e7, 0.03, 1e9, 1.0) == pytest.approx(0.03 * math.sqrt(0.02))
    assert sqrt_impact(2e7, 0.03, 1e9, 1.0) == pytest.approx(0.004243, abs=1e-6)
    assert sqrt_impact(0.0, 0.03, 1e9) == 0.0


def test_book_walk() -> None:
    bids = np.array([[100.0, 1.0], [99.0, 2.0], [98.0, 10.0]])
    book = OrderBook("X", bids, np.empty((0, 2)))
    # Notional by level 100, 198, 980 → 250 is filled inside the 99 level: a 1 % fall.
    assert book_impact(book, 250.0) == (pytest.approx(0.01), False)
    # 5,000 empties the book (1,278 over a 2 % span); beyond it the fall grows as √q.
    assert book_impact(book, 5_000.0) == (pytest.approx(0.02 * math.sqrt(5_000 / 1_278)), True)
    one = OrderBook("X", bids[:1], np.empty((0, 2)))
    assert book_impact(one, 5_000.0) == (0.0, True)


def test_fuel_heavy_gap_is_cascade_prone() -> None:
    s, nxt = zone(100.0, 101.0), zone(90.0, 91.0)
    fuel = dense_fuel(91.0, 101.0, 10e9)
    cas = cascade_from(s, [s, nxt], fuel, 0.05, 1e9, params=CascadeParams(y=1.0))
    assert cas.gap == pytest.approx(9.0)
    # The break trades to b = 99.75; converges where p* = b·(1 − 0.05·√(L(p*, 101)/1e9)),
    # and all 10e9 lie above p* here.
    b = 100 * (1 - CascadeParams().break_depth)
    assert cas.converged
    assert cas.stop_price == pytest.approx(b * (1 - 0.05 * math.sqrt(10.0)), rel=1e-6)
    assert cas.domino_ratio == pytest.approx(b * 0.05 * math.sqrt(10.0) / 9.0, rel=1e-6)
    assert cas.domino_ratio >= 1 and cas.cascade_prone
    assert cas.estimate and cas.label == "estimate"


def test_empty_gap_is_not_cascade_prone() -> None:
    s, nxt = zone(100.0, 101.0), zone(90.0, 91.0)
    cas = cascade_from(s, [s, nxt], make_fuel(None), 0.05, 1e9)
    assert cas.domino_ratio == 0.0 and not cas.cascade_prone
    assert cas.stop_price == pytest.approx(100 * (1 - CascadeParams().break_depth))


def test_fuel_must_be_reached_to_burn() -> None:
    # All fuel sits 5 % below the break: the break alone never reaches it.
    s, nxt = zone(100.0, 101.0), zone(80.0, 81.0)
    cas = cascade_from(s, [s, nxt], dense_fuel(94.0, 95.0, 1e12), 0.05, 1e9)
    assert cas.domino_ratio == 0.0
    assert cas.fuel == pytest.approx(1e12)


def test_floor_stops_a_runaway() -> None:
    s = zone(100.0, 101.0)
    cas = cascade_from(s, [s], dense_fuel(1.0, 101.0, 1e15), 0.5, 1e9)
    assert cas.hit_floor and cas.stop_price == pytest.approx(50.0)
    assert cas.next_support is None


def test_next_support_needs_the_minimum_score() -> None:
    s, weak, strong = zone(100.0, 101.0), zone(97.0, 98.0, 0.4), zone(90.0, 91.0)
    cas = cascade_from(s, [s, weak, strong], make_fuel(None), 0.05, 1e9)
    assert cas.next_support is strong


def test_book_impact_is_used_when_a_book_is_given() -> None:
    s, nxt = zone(100.0, 101.0), zone(90.0, 91.0)
    bids = np.array([[100.0 - i * 0.1, 1e6] for i in range(200)])
    book = OrderBook("X", bids, np.empty((0, 2)))
    cas = cascade_from(s, [s, nxt], dense_fuel(91.0, 101.0, 1e9), 0.05, 1e9, book=book)
    assert cas.impact_model == "order book"
    assert cas.stop_price < 100.0


def test_warning_sentence_in_the_house_style() -> None:
    s = Level(104_800.0, 105_200.0, 105_030.0, 2.5, LevelKind.ROUND, 3, ("round number",))
    cas = Cascade(
        symbol="BTC/USDT:USDT", support=s, next_support=None, start_price=104_800.0,
        gap=3_000.0, fuel=1e9, user_fuel=0.0, stop_price=101_523.0, forced_notional=1e9,
        domino_ratio=1.1, cascade_prone=True, converged=True, hit_floor=False, iterations=5,
        impact_model="square-root law",
    )  # fmt: skip
    exp = AccountExposure(
        "BTC/USDT:USDT", 106_000.0, 102_347.0, (("ETH/USDT:USDT", 1.3),), ((102_347.0, 5e5),)
    )
    assert warning_sentence(cas, exp) == (
        "If 105,000 breaks, forced selling could carry BTC to about 101,500; "
        "your account is liquidated at BTC 102,300 (ETH following at 1.3×)."
    )
    survives = AccountExposure("BTC/USDT:USDT", 106_000.0, 97_812.0, (), ())
    assert warning_sentence(cas, survives) == (
        "If 105,000 breaks, forced selling could carry BTC to about 101,500; "
        "your account survives that: it is liquidated at BTC 97,810."
    )
    assert warning_sentence(cas) == (
        "If 105,000 breaks, forced selling could carry BTC to about 101,500."
    )


def test_format_price() -> None:
    assert format_price(101_523.0) == "101,500"
    assert format_price(3_912.4) == "3,912"
    assert format_price(142.37) == "142.4"


def _account() -> Account:
    tiers = (MarginTier(0.0, 1e12, 0.004),)
    btc = Position("BTC/USDT:USDT", Side.LONG, 1.0, 100_000.0, 100_000.0, tiers)
    eth = Position("ETH/USDT:USDT", Side.LONG, 20.0, 4_000.0, 4_000.0, tiers)
    return Account("binanceusdm", 30_000.0, (btc, eth))


def test_account_exposure_uses_the_joint_move() -> None:
    acct = _account()
    rules = rules_for("binanceusdm")
    betas = {"ETH/USDT:USDT": 1.3}
    exp = account_exposure(acct, rules, "BTC/USDT:USDT", betas, 100_000.0)
    jm = joint_move(acct, rules, "BTC/USDT:USDT", betas)
    assert jm.down is not None
    assert exp.liquidation_price == pytest.approx(100_000.0 * (1 + jm.down))
    assert exp.followers == (("ETH/USDT:USDT", 1.3),)
    ((price, notional),) = exp.fuel
    r = jm.down
    assert price == exp.liquidation_price
    assert notional == pytest.approx(100_000 * (1 + r) + 80_000 * (1 + 1.3 * r) * 1.3)


def test_assess_account_puts_the_account_in_the_cascade() -> None:
    acct = _account()
    s, nxt = zone(90_000.0, 90_500.0), zone(70_000.0, 70_500.0)
    from risk.levels import Levels

    levels = Levels("BTC/USDT:USDT", 100_000.0, None, 400.0, (s, nxt), ())
    betas = {"ETH/USDT:USDT": 1.3}
    res = assess_account(
        levels, None, acct, rules_for("binanceusdm"), "BTC/USDT:USDT", betas, 0.03, 1e8
    )
    assert res is not None and res.estimate
    liq = res.exposure.liquidation_price
    assert liq is not None and liq < s.low
    # The account's own liquidation is fuel: the cascade gets at least that far when it reaches it.
    assert res.cascade.user_fuel > 0
    assert res.sentence.startswith("If 90,000 breaks, forced selling could carry BTC to about ")
    assert res.liquidated_on_way == (res.cascade.stop_price <= liq)


@pytest.mark.realdata
def test_smoke_on_the_real_csv(btc_usd_1h: Candles) -> None:
    c = btc_usd_1h
    assert len(c) == 3480
    lv = find_levels(c)
    lm = build_liqmap(c)
    assert lm.is_proxy and lm.estimate
    assert lv.supports and lv.resistances
    res = cascades(lv, lm, daily_sigma(c), daily_volume_notional(c))
    for cas in res:
        assert cas.stop_price < cas.start_price
        assert np.isfinite(cas.domino_ratio) and cas.domino_ratio >= 0
        assert warning_sentence(cas).startswith("If ")


def test_a_cascade_runs_past_the_visible_book() -> None:
    # A 10-level book holds about 1,000 over 0.9 %. Fuel of 100,000 spread from 91 to 101
    # burns through it and on (the fall keeps growing as √Q beyond the snapshot) instead of
    # stopping at the snapshot's last level; its fixed point is x = 0.009·√(L(x)/1,000).
    s, nxt = zone(100.0, 101.0), zone(90.0, 91.0)
    bids = np.array([[100.0 - i * 0.1, 1.0] for i in range(10)])
    book = OrderBook("X", bids, np.empty((0, 2)))
    total = float((bids[:, 0] * bids[:, 1]).sum())
    fuel = dense_fuel(91.0, 101.0, 1e5)
    cas = cascade_from(s, [s, nxt], fuel, 0.05, 1e12, book=book)
    b = 100 * (1 - CascadeParams().break_depth)
    x = 1.0 - cas.stop_price / b
    assert x > 0.009 * 2
    assert x == pytest.approx(
        0.009 * math.sqrt(fuel.between(cas.stop_price, 101.0) / total), rel=1e-3
    )
    # A book a thousand times deeper holds the same fuel within the break.
    deep = OrderBook("X", bids * [1.0, 1000.0], np.empty((0, 2)))
    held = cascade_from(s, [s, nxt], fuel, 0.05, 1e12, book=deep)
    assert held.stop_price > 99.5 and not held.cascade_prone


def test_support_context_is_a_scenario_with_calibrated_amounts() -> None:
    from risk.cascade import LIQUIDATION_SCALE, SCENARIO_LABEL, support_context

    s, nxt = zone(100.0, 101.0), zone(90.0, 91.0)
    levels = Levels("X", 105.0, None, 1.0, (s, nxt), ())
    prices = np.array([92.0, 95.0, 100.5, 102.0])
    amounts = np.array([10.0, 20.0, 30.0, 40.0])
    lm = LiqMap(
        "X", 105.0, None, 1.0, np.empty(0), np.empty(0), np.empty(0), prices,
        np.r_[0.0, np.cumsum(amounts)], np.empty(0), np.zeros(1), 0, 0, 0, 0, False, "oi",
    )  # fmt: skip
    first, second = support_context(levels, lm)
    assert first.label == SCENARIO_LABEL and first.calibrated
    # Between the next support's top (91) and this one's top (101): 92, 95, 100.5.
    assert first.long_usd_below == pytest.approx(60.0 * LIQUIDATION_SCALE)
    assert first.down_to == 91.0
    # The last support looks 5 % below its bottom: 85.5 .. 91 holds nothing.
    assert second.long_usd_below == 0.0
