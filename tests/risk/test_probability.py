"""The chance of liquidation (risk.probability), its remedy (risk.remedy) and the closed-form
liquidation price the evaluation uses (risk.closed_form)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from resources import default_tiers, move_model
from risk.closed_form import single_position_liquidation
from risk.liquidation import joint_move, liquidation_price
from risk.probability import (
    MoveModel,
    cross_odds,
    fit_move_model,
    hourly_sigma,
    position_odds,
    refresh,
    sigma_series,
    survival_from,
)
from risk.remedy import cross_remedy, isolated_remedy, surplus_along
from risk.rules import rules_for
from risk.types import Account, Candles, MarginMode, Position, Side

HOUR = 3_600_000
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def walk(n: int, seed: int, sigma: float = 0.006, start_ms: int = 0) -> Candles:
    """Hourly candles of a random walk with fat-tailed steps (Student t, 3 degrees)."""
    rng = np.random.default_rng(seed)
    steps = sigma * rng.standard_t(3, n) / math.sqrt(3.0)
    close = 50_000 * np.exp(np.cumsum(steps))
    open_ = np.r_[50_000, close[:-1]]
    wig = np.abs(rng.normal(0, sigma / 2, (2, n)))
    high = np.maximum(open_, close) * np.exp(wig[0])
    low = np.minimum(open_, close) * np.exp(-wig[1])
    ts = start_ms + np.arange(n, dtype=np.int64) * HOUR
    return Candles("BTC/USDT", "1h", ts, open_, high, low, close, np.ones(n))


# --- the closed form is the engine's answer ------------------------------------------------


@pytest.mark.parametrize("exchange", ["binanceusdm", "hyperliquid"])
@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize("asset", ["BTC", "ETH"])
def test_closed_form_equals_the_engine(exchange, side, asset):
    """On the rules it covers (not Bybit's maintenance at entry and fee at the bankruptcy
    price: it refuses those, below)."""
    rules = rules_for(exchange)
    tiers = default_tiers(exchange, asset)
    rng = np.random.default_rng(hash((exchange, side.name, asset)) % 2**32)
    entry = rng.uniform(50, 150_000, 200)
    # Notionals drawn between tier bounds (an entry exactly on a bound is its own edge case).
    notional = np.exp(rng.uniform(np.log(500), np.log(3e6), 200))
    lev = rng.choice([2, 3, 5, 10, 20, 25, 50], 200)
    size, margin = notional / entry, notional / lev
    got = single_position_liquidation(side, entry, size, margin, tiers, rules)
    for i in range(200):
        pos = Position(BTC, side, size[i], entry[i], entry[i], tiers)
        want = liquidation_price(Account(exchange, margin[i], (pos,)), rules, pos)
        if want is None:
            assert math.isnan(got[i])
        else:
            assert got[i] == pytest.approx(want, rel=1e-9)


def test_closed_form_refuses_rules_it_does_not_cover():
    with pytest.raises(ValueError, match="bybit"):
        single_position_liquidation(
            Side.LONG, np.array([100.0]), 1.0, 10.0, default_tiers("bybit", "BTC"),
            rules_for("bybit"),
        )  # fmt: skip


# --- the distribution ----------------------------------------------------------------------


def test_survival_is_a_survival_function_and_inverts():
    rng = np.random.default_rng(3)
    s = survival_from(np.abs(rng.standard_t(3, 50_000)))
    z = np.linspace(0, 20, 400)
    p = s(z)
    assert p[0] == 1.0 and np.all(np.diff(p) <= 0) and p[-1] > 0
    for target in (0.5, 0.1, 0.05, 0.01, 1e-3, 1e-5):
        assert float(s(s.z_at(target))) == pytest.approx(target, rel=1e-9)


def test_the_fit_counts_a_touch_not_only_where_the_window_ends():
    """A dip that recovers within the horizon still counts as reaching the dip's low."""
    c = walk(3_000, 1)
    sig = sigma_series(c)
    i = 2_000
    low = c.low.copy()
    low[i + 5] = c.close[i] * 0.90  # a wick 10 % below, back by the close
    dipped = replace(c, low=low)
    m_plain = fit_move_model([c], fitted="t", horizons_h=(24.0,))
    m_dip = fit_move_model([dipped], fitted="t", horizons_h=(24.0,))
    z = -math.log(0.90) / (sig[i] * math.sqrt(24))
    assert float(m_dip.down[0](z * 0.999)) > float(m_plain.down[0](z * 0.999))


def test_probability_rises_with_volatility_and_falls_with_distance():
    model = move_model()
    p = [position_odds(model, -0.05, s).p24 for s in (0.003, 0.006, 0.012)]
    assert p[0] < p[1] < p[2]
    q = [position_odds(model, d, 0.006).p24 for d in (-0.02, -0.05, -0.10, -0.20)]
    assert q[0] > q[1] > q[2] > q[3] > 0
    assert position_odds(model, -0.05, 0.006).p4 < position_odds(model, -0.05, 0.006).p24
    # At the liquidation price already: certain.
    assert position_odds(model, 0.0, 0.006).p24 == 1.0


def test_the_shipped_distribution_says_where_it_came_from():
    model = move_model()
    assert model.fitted and model.through_ms > 0
    names = " ".join(model.sources)
    for f in ("bitstamp-btcusd-1h-2018-2022", "binance-btcusdt-perp-1h", "binance-ethusdt-perp"):
        assert f in names
    assert model.horizons_h == (4.0, 24.0)
    # Fatter than the Gaussian where warnings live: five σ√H below within 24 h.
    gauss = math.erfc(5 / math.sqrt(2))
    assert float(model.down[1](5.0)) > 100 * gauss


def test_serialised_model_round_trips():
    model = fit_move_model([walk(4_000, 2)], fitted="2026-01-01", sources=("walk",))
    again = MoveModel.from_dict(model.to_dict())
    z = np.linspace(0, 15, 61)
    for a, b in zip((*model.down, *model.up), (*again.down, *again.up), strict=True):
        assert np.allclose(a(z), b(z), rtol=1e-5, atol=1e-12)
    assert again.sources == ("walk",) and again.through_ms == model.through_ms


def test_refresh_adds_only_new_windows():
    old = walk(4_000, 4)
    model = fit_move_model([old], fitted="a")
    assert refresh(model, [old], fitted="b") is model  # nothing new: unchanged
    later = walk(3_000, 5, start_ms=int(old.ts_ms[-1]) + HOUR)
    both = refresh(model, [later], fitted="b")
    fresh = fit_move_model([later], fitted="x")
    assert both.down[1].count == model.down[1].count + fresh.down[1].count
    assert both.through_ms > model.through_ms and both.fitted == "b"


def test_hourly_sigma_reads_the_range_of_each_bar():
    n = 600
    close = np.full(n, 100.0)
    c = Candles(
        "X", "1h", np.arange(n) * HOUR, close, close * 1.01, close / 1.01, close, np.ones(n)
    )
    expect = math.log(1.01**2) / math.sqrt(4 * math.log(2))
    assert hourly_sigma(c) == pytest.approx(expect, rel=1e-12)
    assert sigma_series(c)[-1] == pytest.approx(expect, rel=1e-12)
    # Four-hour bars carry four hours of variance.
    c4 = replace(c, timeframe="4h", ts_ms=np.arange(n) * 4 * HOUR)
    assert hourly_sigma(c4) == pytest.approx(expect / 2, rel=1e-12)


# --- the remedy ----------------------------------------------------------------------------


def demo_account(wallet: float = 27_000.0) -> Account:
    bt = default_tiers("binanceusdm", "BTC")
    et = default_tiers("binanceusdm", "ETH")
    return Account(
        "binanceusdm",
        wallet,
        (
            Position(BTC, Side.LONG, 3.0, 109_000.0, 104_000.0, bt),
            Position(ETH, Side.LONG, 8.0, 3_850.0, 3_450.0, et),
        ),
    )


@pytest.mark.parametrize("sigma", [0.004, 0.008])
def test_collateral_and_cut_bring_the_cross_account_exactly_to_the_target(sigma):
    model, rules = move_model(), rules_for("binanceusdm")
    account, betas = demo_account(), {ETH: 1.3}
    odds = cross_odds(model, joint_move(account, rules, BTC, betas), sigma)
    assert odds.p24 > 0.05
    fix = cross_remedy(account, rules, BTC, betas, model, odds, 0.05)
    assert fix.collateral and fix.collateral > 0
    topped = replace(account, wallet_balance=account.wallet_balance + fix.collateral)
    after = cross_odds(model, joint_move(topped, rules, BTC, betas), sigma)
    assert after.p24 == pytest.approx(0.05, abs=1e-9)
    assert fix.cut_symbol == BTC and fix.cut_side is Side.LONG
    x = fix.cut_fraction
    assert x is not None and 0 < x < 1
    btc = account.positions[0]
    cut = replace(btc, contracts=btc.contracts * (1 - x))
    realised = x * btc.unrealized_pnl()
    trimmed = replace(
        account,
        positions=(cut, account.positions[1]),
        wallet_balance=account.wallet_balance + realised,
    )
    after_cut = cross_odds(model, joint_move(trimmed, rules, BTC, betas), sigma)
    assert after_cut.p24 == pytest.approx(0.05, abs=1e-9)


def test_the_surplus_along_the_joint_move_is_the_engines():
    """At the engine's joint-move liquidation the surplus the remedy uses is zero."""
    rules = rules_for("binanceusdm")
    account, betas = demo_account(), {ETH: 1.3}
    jm = joint_move(account, rules, BTC, betas)
    assert jm.down is not None
    assert surplus_along(account, rules, BTC, betas, jm.down) == pytest.approx(0, abs=1e-6)
    assert surplus_along(account, rules, BTC, betas, jm.down * 0.5) > 0


def test_no_remedy_when_under_the_target_and_the_path_ends_at_a_zero_price():
    model, rules = move_model(), rules_for("binanceusdm")
    account, betas = demo_account(wallet=60_000.0), {ETH: 1.3}
    odds = cross_odds(model, joint_move(account, rules, BTC, betas), 0.004)
    assert odds.p24 < 0.05
    assert cross_remedy(account, rules, BTC, betas, model, odds, 0.05).collateral == 0.0
    risky = demo_account()
    odds = cross_odds(model, joint_move(risky, rules, BTC, betas), 0.03)
    fix = cross_remedy(risky, rules, BTC, betas, model, odds, 1e-12)
    # The target lies past ETH's zero price (a BTC fall of 1/1.3): enough collateral to survive
    # the whole path, and no more.
    end = -1 / 1.3
    assert surplus_along(risky, rules, BTC, betas, end) + fix.collateral == pytest.approx(
        0, abs=1e-3
    )
    topped = replace(risky, wallet_balance=risky.wallet_balance + fix.collateral * 1.001)
    assert joint_move(topped, rules, BTC, betas).down is None


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit"])
def test_isolated_margin_to_add_is_exact(exchange):
    model, rules = move_model(), rules_for(exchange)
    tiers = default_tiers(exchange, "ETH")
    pos = Position(
        ETH, Side.LONG, 10.0, 3_000.0, 2_900.0, tiers,
        margin_mode=MarginMode.ISOLATED, leverage=20.0,
    )  # fmt: skip
    account = Account(exchange, 0.0, (pos,))
    lp = liquidation_price(account, rules, pos)
    assert lp is not None
    odds = position_odds(model, lp / pos.mark_price - 1, 0.007)
    assert odds.p24 > 0.05
    fix = isolated_remedy(pos, rules, model, odds, 0.05)
    assert fix.collateral is not None and fix.collateral > 0 and fix.cut_fraction is None
    fed = replace(pos, isolated_margin=rules.isolated_collateral(pos) + fix.collateral)
    lp2 = liquidation_price(replace(account, positions=(fed,)), rules, fed)
    assert lp2 is not None
    assert position_odds(model, lp2 / pos.mark_price - 1, 0.007).p24 == pytest.approx(
        0.05, abs=1e-9
    )


# --- scheduled events ----------------------------------------------------------------------


def test_event_moves_ship_for_cpi_and_fomc_with_their_sources():
    from resources import event_moves, load_json

    moves = event_moves()
    assert set(moves) == {"cpi", "fomc"}
    assert moves["cpi"].down.shape[0] > 80 and moves["fomc"].down.shape[0] > 50
    doc = load_json("event-moves.json")
    assert any("bls.gov" in u for u in doc["sources"]["cpi"])
    assert any("federalreserve.gov" in u for u in doc["sources"]["fomc"])
    assert "2025-10-24T12:30Z" in doc["kinds"]["cpi"]["releases_utc"]  # the delayed Sep 2025 CPI


def test_an_event_probability_is_the_share_of_past_releases_that_reached_the_level():
    from risk.probability import EventMoves

    ev = EventMoves("cpi", 4.0, np.array([0.5, 1.0, 2.0, 3.0]), np.array([0.2, 0.4, 0.6, 0.8]))
    sigma = 0.01  # σ√4 = 2 %: a level 4 % below is z = 2
    assert ev.touch(sigma, log_down=0.04) == pytest.approx(2.5 / 5)
    assert ev.touch(sigma, log_down=0.10) == pytest.approx(0.5 / 5)  # never reached: ½ of one
    assert ev.touch(sigma, log_up=0.01) == pytest.approx(2.5 / 5)  # z = 0.5: 0.6 and 0.8
    assert ev.touch(sigma, log_down=0.04, log_up=0.01) == 1.0
