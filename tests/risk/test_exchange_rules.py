"""Each exchange's documented rule, through the rule sets the product ships (rules_for), to the
exchange's tick. Every test names its source."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from connectors import parsing
from connectors.parsing import MarketRef
from risk.liquidation import AccountModel, joint_move, liquidation_price
from risk.report import build_report
from risk.rules import rules_for
from risk.types import (
    Account,
    Collateral,
    CollateralTier,
    ContractType,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
)

INF = math.inf
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LTC_TIERS = (MarginTier(0, 200_000, 0.01, 0, 50),)
"""Bybit LTCUSDT risk limit tier 1: riskLimitValue 200,000 (the recorded position's
riskLimitValue), MMR 1 %, 50× (GET /v5/market/risk-limit?category=linear&symbol=LTCUSDT)."""


def recorded(name: str, case: int) -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / name).read_text())["cases"][case]["httpResponse"]


def bybit_ltc_account() -> Account:
    """The recorded Bybit UTA wallet and LTCUSDT position (tests/fixtures, ccxt static tests)
    through the connector's own parser and the shipped tiers."""
    wallet = recorded("bybit_fetchBalance_unified.json", 0)
    positions = recorded("bybit_fetchPositions.json", 0)

    def market(market_id: str) -> MarketRef:
        return MarketRef("LTC/USDT:USDT", 1.0, 50.0, market_id)

    raw = parsing.bybit_account(wallet, [positions], market)
    return parsing.build_account("bybit", raw, lambda s: LTC_TIERS, as_of_ms=1699976566190)


# --- Bybit ------------------------------------------------------------------------------------


def test_bybit_position_mm_reproduces_the_recorded_uta_position():
    """Bybit "Maintenance Margin (USDT Contract)": value at the average ENTRY price × MMR −
    deduction + fee to close at the bankruptcy price. Recorded GET /v5/position/list LTCUSDT:
    size 1.2, avgPrice 64.59947917, leverage 6, positionMM 0.81072399 (mark 71.1 plays no part).
    """
    account = bybit_ltc_account()
    (pos,) = account.positions
    assert pos.leverage == 6
    (p,) = build_report(account).positions
    assert p.maintenance_margin == pytest.approx(0.81072399, abs=1e-6)
    # the mark-based model this replaces was 11 % off
    assert abs(1.2 * 71.1 * (0.01 + 0.00055) - 0.81072399) > 0.08


def test_bybit_maintenance_does_not_move_with_the_mark_so_cross_solves_are_one_line():
    rules = rules_for("bybit")
    # the recorded account holds 90,042 USD: with only 10 USDT in it the LTC long is at risk
    account = dataclasses.replace(bybit_ltc_account(), wallet_balance=10.0, collateral=())
    (pos,) = account.positions
    assert rules.maintenance(pos, 10.0) == rules.maintenance(pos, 500.0)
    lp = liquidation_price(account, rules, pos)
    assert lp is not None
    report = build_report(account)
    # the pool's surplus at the solved price is zero: wallet + 1.2·(lp − entry) = Σ MM
    assert report.wallet_balance + 1.2 * (lp - pos.entry_price) == pytest.approx(
        report.positions[0].maintenance_margin, abs=1e-9
    )


def test_bybit_hedge_legs_are_each_their_own_position():
    """Bybit v5: each side of a hedge-mode symbol is its own position (positionIdx 1 Buy, 2
    Sell) with its own risk limit (POST /v5/position/set-risk-limit takes positionIdx) and its
    own positionMM: each leg's maintenance is on its own entry, leverage and tier; both legs
    move with the one mark."""
    rules = rules_for("bybit")
    tiers = (MarginTier(0, 2e6, 0.005, 0, 100),)
    buy = Position("BTCUSDT", Side.LONG, 2, 100_000, 95_000, tiers, leverage=10)
    sell = Position("BTCUSDT", Side.SHORT, 1, 90_000, 95_000, tiers, leverage=20)
    account = Account("bybit", 20_000, (buy, sell), pool_mode=PoolMode.SHARED)
    mm_buy = 200_000 * 0.005 + 2 * 100_000 * (1 - 1 / 10) * 0.00055
    mm_sell = 90_000 * 0.005 + 1 * 90_000 * (1 + 1 / 20) * 0.00055
    report = build_report(account)
    assert [p.maintenance_margin for p in report.positions] == pytest.approx([mm_buy, mm_sell])
    lp = liquidation_price(account, rules, buy)
    assert lp == liquidation_price(account, rules, sell)
    assert 20_000 + 2 * (lp - 100_000) - (lp - 90_000) == pytest.approx(mm_buy + mm_sell)


@pytest.mark.parametrize(
    "side,entry,leverage,expected,source",
    [
        (Side.LONG, 20_000, 50, 19_700, "Liquidation Price (USDT Contract): 1 BTC @ 20,000, 50×"),
        (Side.SHORT, 20_000, 50, 20_300, "the same, short"),
        (Side.LONG, 60_000, 20, 57_300, "issue 14: 1 BTC @ 60,000, 20×, Bybit's formula"),
        (Side.SHORT, 60_000, 20, 62_700, "the same, short"),
        (Side.LONG, 10_000, 50, 9_850, "help 900000181046: 10,000 at 50× → 9,850"),
        (Side.SHORT, 8_000, 40, 8_160, "help 900000181046: short 8,000 at 40× → 8,160"),
    ],
)
def test_bybit_isolated_examples_with_the_shipped_closing_fee(
    side, entry, leverage, expected, source
):
    """Bybit "Liquidation Price Calculation under Isolated Mode (UTA)": IM = value/leverage +
    fee to close, MM = value × MMR − deduction + fee to close, LP = entry ∓ (IM − MM)/size: the
    fee is in both and cancels, so every example holds with the shipped 0.055 % fee."""
    rules = rules_for("bybit")
    assert rules.closing_fee_rate == 0.00055
    pos = Position(
        "BTCUSDT",
        side,
        1,
        entry,
        entry,
        (MarginTier(0, INF, 0.005),),
        margin_mode=MarginMode.ISOLATED,
        leverage=leverage,
    )
    lp = liquidation_price(Account("bybit", 0, (pos,)), rules, pos)
    assert round(lp, 1) == expected, source


def test_bybit_isolated_extra_margin_and_funding():
    """Bybit "Liquidation Price (USDT Contract)": 100 USDT of extra margin on 1 BTC @ 20,000
    at 50× moves LP 100 lower (19,600); 200 USDT of funding paid from the position margin moves
    it 200 higher (example 3: 20,000 − (400 − 100 − 200) = 19,900)."""
    rules = rules_for("bybit")
    base = Position(
        "BTCUSDT",
        Side.LONG,
        1,
        20_000,
        20_000,
        (MarginTier(0, INF, 0.005),),
        margin_mode=MarginMode.ISOLATED,
        leverage=50,
    )
    im = rules.default_isolated_margin(base)
    assert im == pytest.approx(400 + 19_600 * 0.00055)  # the fee to close is in it
    for extra, expected in ((100, 19_600), (-200, 19_900)):
        pos = Position(
            "BTCUSDT",
            Side.LONG,
            1,
            20_000,
            20_000,
            base.tiers,
            margin_mode=MarginMode.ISOLATED,
            leverage=50,
            isolated_margin=im + extra,
        )
        assert round(liquidation_price(Account("bybit", 0, (pos,)), rules, pos), 1) == expected


def test_bybit_inverse_isolated_example():
    """Bybit "Liquidation Price Calculation under Isolated Mode (UTA)", inverse: 60,000 USD of
    BTCUSD at 50,000, 10×, MMR 0.5 %: LP(long) = S(1 + MMR) / (S/E + S/E/lev) = 45,681.8;
    LP(short) = S(1 − MMR) / (S/E − S/E/lev) = 55,277.8 (position value at the mark; the fee to
    close is in IM and MM and cancels)."""
    rules = rules_for("bybit")
    for side, expected in ((Side.LONG, 60_000 * 1.005 / 1.32), (Side.SHORT, 60_000 * 0.995 / 1.08)):
        pos = Position(
            "BTCUSD",
            side,
            60_000,
            50_000,
            50_000,
            (MarginTier(0, INF, 0.005),),
            margin_mode=MarginMode.ISOLATED,
            leverage=10,
            contract_type=ContractType.INVERSE,
        )
        lp = liquidation_price(Account("bybit", 0, (pos,)), rules, pos)
        assert lp == pytest.approx(expected, rel=1e-12)
    assert round(60_000 * 1.005 / 1.32, 1) == 45_681.8


# --- pools ------------------------------------------------------------------------------------


def okx_usdt_long_usdc_short(mode: PoolMode) -> Account:
    tiers = (MarginTier(0, INF, 0.004, 0, 100),)
    long_ = Position("BTC-USDT-SWAP", Side.LONG, 100, 100_000, 100_000, tiers, contract_size=0.01)
    short = Position(
        "BTC-USDC-SWAP", Side.SHORT, 100, 100_000, 100_000, tiers, contract_size=0.01, settle="USDC"
    )
    return Account(
        "okx",
        10_000,
        (long_, short),
        settle="USDT",
        pool_mode=mode,
        collateral=(Collateral("USDC", 10_000),),
    )


def test_okx_single_currency_margin_keeps_usdt_and_usdc_apart():
    """OKX single-currency margin (acctLv 2): each margin coin is its own cross account. A
    USDT BTC long and a USDC BTC short are not a hedge: the USDT side dies after a ~9.6 % fall
    (10,000 + 1·(p − 100,000) = p·(0.4 % + 0.05 %))."""
    report = build_report(okx_usdt_long_usdc_short(PoolMode.SEPARATE))
    jm = report.joint_move
    assert jm is not None and jm.down_pool == "USDT" and jm.up_pool == "USDC"
    p = 100_000 * (1 + jm.down)
    assert p == pytest.approx(90_000 / (1 - 0.0045))
    assert -0.097 < jm.down < -0.095
    assert {pool.currency for pool in report.pools} == {"USDT", "USDC"}


def test_a_shared_pool_does_hedge_them():
    """Bybit UTA / Binance multi-assets / OKX multi-currency: one pool; the same pair is
    hedged, no fall liquidates it."""
    report = build_report(okx_usdt_long_usdc_short(PoolMode.SHARED))
    assert report.joint_move is not None and report.joint_move.down is None
    assert [p.currency for p in report.pools] == ["USD"]


def test_binance_multi_assets_counts_btc_at_its_haircut_and_moves_it_with_btc():
    """Binance Multi-Assets Mode FAQ: BTC used as margin gets a 5 % value haircut; the BTC
    margin falls with BTC, so a BTC long margined in BTC dies sooner than the same in USDT."""
    rules = rules_for("binanceusdm")
    tiers = (MarginTier(0, INF, 0.005),)
    pos = Position("BTCUSDT", Side.LONG, 1, 100_000, 100_000, tiers)
    btc = Collateral("BTC", 0.2, 100_000, (CollateralTier(INF, 0.95),))
    acct = Account("binanceusdm", 0, (pos,), pool_mode=PoolMode.SHARED, collateral=(btc,))
    report = build_report(acct)
    assert report.equity == pytest.approx(0.2 * 100_000 * 0.95)
    lp = liquidation_price(acct, rules, pos)
    # 0.2·p·0.95 + (p − 100,000) = 0.005·p
    assert lp == pytest.approx(100_000 / (1 + 0.19 - 0.005))
    usdt = Account("binanceusdm", 19_000, (pos,))
    assert lp > liquidation_price(usdt, rules, usdt.positions[0])


def test_okx_multi_currency_discount_tiers_are_walked_slice_by_slice():
    """OKX multi-currency margin: a coin counts at its price × the discount rate of each slice
    of the amount (discount-rate tiers); the kink where the amount crosses a slice is exact."""
    rules = rules_for("okx")
    eth = Collateral("ETH", 10, 3_000, (CollateralTier(5, 0.9), CollateralTier(INF, 0.5)))
    pos = Position(
        "ETH-USDT-SWAP",
        Side.LONG,
        1_000,
        3_000,
        3_000,
        (MarginTier(0, INF, 0.01, basis=MarginTier(0, 1, 0).basis),),
        contract_size=0.1,
    )
    acct = Account("okx", 0, (pos,), pool_mode=PoolMode.SHARED, collateral=(eth,))
    report = build_report(acct)
    assert report.equity == pytest.approx(3_000 * (5 * 0.9 + 5 * 0.5))
    lp = liquidation_price(acct, rules, pos)
    model = AccountModel(acct, rules).pool_of(pos)
    eq, mm = model.value_at({"ETH": lp / 3_000})
    assert eq == pytest.approx(mm, abs=1e-8)


def test_okx_liquidation_fee_is_the_accounts_own_taker_rate():
    """OKX: margin ratio = adjusted equity / (MM + liquidation fee); the fee is charged at the
    account's taker rate (GET /api/v5/account/trade-fee), 0.05 % when unknown."""
    pos = Position(
        "BTC-USDT-SWAP",
        Side.LONG,
        100,
        100_000,
        100_000,
        (MarginTier(0, INF, 0.004),),
        contract_size=0.01,
    )
    default = build_report(Account("okx", 10_000, (pos,)))
    vip = build_report(Account("okx", 10_000, (pos,), taker_fee_rate=0.0002))
    assert default.maintenance_margin == pytest.approx(100_000 * 0.0045)
    assert vip.maintenance_margin == pytest.approx(100_000 * 0.0042)


# --- nothing at risk, and a long liquidated by a rise ---------------------------------------


def test_nothing_at_risk_is_not_liquidated():
    empty = build_report(Account("binanceusdm", 0, ()))
    assert not empty.liquidated and empty.margin_ratio == 0
    iso = Position(
        "ETHUSDT",
        Side.LONG,
        10,
        3_000,
        2_000,
        (MarginTier(0, INF, 0.005),),
        margin_mode=MarginMode.ISOLATED,
        isolated_margin=3_000,
    )
    only_isolated = build_report(Account("binanceusdm", 0, (iso,)))
    assert not only_isolated.liquidated
    # the isolated position itself is past its liquidation price
    assert only_isolated.positions[0].liquidation_price.value == 2_000


def test_a_long_is_liquidated_by_a_rise_where_a_user_tier_jumps():
    """A user-supplied table whose second tier has no maintenance amount: at 105,000 of
    notional the maintenance jumps from 525 to 21,000, above the 14,000 of equity a 1 BTC long
    has there. The first root on the way up is the bound itself, nearer than the fall to
    91,457."""
    tiers = (MarginTier(0, 105_000, 0.005), MarginTier(105_000, INF, 0.20))
    pos = Position("BTCUSDT", Side.LONG, 1, 100_000, 100_000, tiers)
    account = Account("binanceusdm", 9_000, (pos,))
    lp = liquidation_price(account, rules_for("binanceusdm"), pos)
    assert lp == pytest.approx(105_000)
    jm = joint_move(account, rules_for("binanceusdm"), "BTCUSDT", {})
    assert jm.up == pytest.approx(0.05)


def test_binance_coin_m_stays_its_own_pool_in_multi_assets_mode():
    """Binance's multi-assets mode pools USDⓈ-M margin only (FAQ "What Is Multi-Assets
    Mode"); COIN-M contracts are margined per coin. The BTC wallet margins the BTCUSD_PERP
    pool and does not count in the USD pool."""
    tiers = (MarginTier(0, INF, 0.005),)
    usdt_long = Position("BTCUSDT", Side.LONG, 1, 100_000, 100_000, tiers)
    coin_long = Position(
        "BTCUSD_PERP",
        Side.LONG,
        500,
        100_000,
        100_000,
        (MarginTier(0, INF, 0.004),),
        contract_size=100,
        contract_type=ContractType.INVERSE,
    )
    acct = Account(
        "binanceusdm",
        10_000,
        (usdt_long, coin_long),
        pool_mode=PoolMode.SHARED,
        collateral=(Collateral("BTC", 0.5, 100_000),),
    )
    report = build_report(acct)
    assert {p.currency: p.equity for p in report.pools} == pytest.approx(
        {"USD": 10_000, "BTC": 0.5}
    )
    assert [p.pool for p in report.positions] == ["USD", "BTC"]
