"""Properties the liquidation math must hold for any account, checked with hypothesis."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from risk.liquidation import account_totals, joint_move, liquidation_price
from risk.rules import RULE_SETS
from risk.types import Account, MarginMode, MarginTier, Position, Side, cumulative_amounts

RATES = [0.004, 0.005, 0.01, 0.025, 0.05, 0.1]
BOUNDS = [0, 50_000, 250_000, 1_000_000, 10_000_000, 50_000_000]


@st.composite
def tiers(draw):
    n = draw(st.integers(1, len(RATES)))
    rows = [(BOUNDS[i], BOUNDS[i + 1] if i + 1 < n else math.inf, RATES[i]) for i in range(n)]
    return cumulative_amounts(rows)


@st.composite
def positions(draw, symbol, mode=MarginMode.CROSS):
    mark = draw(st.floats(10, 200_000))
    entry = mark * draw(st.floats(0.7, 1.3))
    size = draw(st.floats(0.01, 500)) * 10_000 / mark
    side = draw(st.sampled_from(Side))
    lev = draw(st.floats(1.5, 50))
    return Position(symbol, side, size, entry, mark, draw(tiers()), margin_mode=mode, leverage=lev)


@st.composite
def accounts(draw, min_positions=1, max_positions=4):
    n = draw(st.integers(min_positions, max_positions))
    pos = tuple(draw(positions(f"S{i}")) for i in range(n))
    exchange = draw(st.sampled_from(["binanceusdm", "bybit", "okx", "hyperliquid"]))
    notional = sum(p.notional() for p in pos)
    wallet = notional * draw(st.floats(0.02, 1.5))
    return Account(exchange, wallet, pos)


def surplus(account, rules, moved_symbol, price):
    equity = account.wallet_balance
    mm = 0.0
    for p in account.cross_positions:
        px = price if p.symbol == moved_symbol else p.mark_price
        equity += p.unrealized_pnl(px)
        mm += rules.maintenance(p, px)
    return equity, mm


def alive(account):
    totals = account_totals(account, RULE_SETS[account.exchange])
    return totals.surplus > 0


@settings(max_examples=300, deadline=None)
@given(accounts())
def test_at_the_liquidation_price_equity_equals_maintenance(account):
    assume(alive(account))
    rules = RULE_SETS[account.exchange]
    for pos in account.positions:
        lp = liquidation_price(account, rules, pos)
        if lp is None:
            continue
        assert lp > 0
        equity, mm = surplus(account, rules, pos.symbol, lp)
        scale = max(1.0, sum(p.notional() for p in account.positions))
        assert equity == pytest.approx(mm, abs=1e-9 * scale)


@settings(max_examples=300, deadline=None)
@given(accounts())
def test_a_long_liquidates_below_its_mark_and_a_short_above(account):
    assume(alive(account))
    rules = RULE_SETS[account.exchange]
    for pos in account.positions:
        lp = liquidation_price(account, rules, pos)
        if lp is None:
            continue
        if pos.side is Side.LONG:
            assert lp < pos.mark_price
        else:
            assert lp > pos.mark_price


@settings(max_examples=200, deadline=None)
@given(accounts(), st.floats(1.0, 100_000))
def test_more_collateral_never_brings_liquidation_closer(account, extra):
    assume(alive(account))
    rules = RULE_SETS[account.exchange]
    richer = Account(account.exchange, account.wallet_balance + extra, account.positions)
    for pos in account.positions:
        before = liquidation_price(account, rules, pos)
        after = liquidation_price(richer, rules, pos)
        if before is None:
            assert after is None
            continue
        if after is None:
            continue
        if pos.side is Side.LONG:
            assert after <= before + 1e-9 * before
        else:
            assert after >= before - 1e-9 * before


@settings(max_examples=200, deadline=None)
@given(accounts(min_positions=1, max_positions=1))
def test_with_one_position_the_joint_move_agrees_with_the_liquidation_price(account):
    assume(alive(account))
    rules = RULE_SETS[account.exchange]
    (pos,) = account.positions
    lp = liquidation_price(account, rules, pos)
    jm = joint_move(account, rules, pos.symbol, {})
    if lp is None:
        assert jm.nearest is None
    else:
        assert jm.nearest is not None
        assert pos.mark_price * (1 + jm.nearest) == pytest.approx(lp, rel=1e-9)


def test_isolated_positions_are_left_out_of_the_cross_account():
    tier = (MarginTier(0, math.inf, 0.005),)
    cross = Position("BTC", Side.LONG, 1, 100_000, 100_000, tier)
    iso = Position("ETH", Side.LONG, 10, 3_000, 2_000, tier, margin_mode=MarginMode.ISOLATED,
                   isolated_margin=3_000)  # fmt: skip
    rules = RULE_SETS["binanceusdm"]
    with_iso = Account("binanceusdm", 20_000, (cross, iso))
    without = Account("binanceusdm", 20_000, (cross,))
    assert liquidation_price(with_iso, rules, cross) == liquidation_price(without, rules, cross)
    # the isolated ETH long has lost 10,000 on 3,000 of margin: it is already gone
    assert liquidation_price(with_iso, rules, iso) == iso.mark_price
