"""Published worked examples, each reproduced to the exchange's rounding."""

import math

import pytest

from risk.liquidation import joint_move, liquidation_price
from risk.report import build_report
from risk.rules import BybitRules, HyperliquidRules, rules_for
from risk.types import Account, MarginMode, MarginTier, Position, Side, cumulative_amounts

INF = math.inf


def binance_faq_account() -> Account:
    """Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts", the cross
    example as transcribed in freqtrade tests/exchange/test_binance.py L178-272: a BTC long and
    an ETH long in one cross account, ETH well under water."""
    btc = Position("BTCUSDT", Side.LONG, 109.488, 32481.98, 31967.27,
                   (MarginTier(0, INF, 0.025, 16300),))  # fmt: skip
    eth = Position("ETHUSDT", Side.LONG, 3683.979, 1456.84, 1335.18,
                   (MarginTier(0, INF, 0.10, 135365),))  # fmt: skip
    return Account("binanceusdm", 1535443.01, (btc, eth))


def test_binance_cross_example_reproduces_the_faq():
    account = binance_faq_account()
    rules = rules_for("binanceusdm")
    btc, eth = account.positions
    assert round(liquidation_price(account, rules, btc), 2) == 26316.89
    assert round(liquidation_price(account, rules, eth), 2) == 1153.26


def test_binance_isolated_variant_is_far_below_the_cross_price():
    """The same positions with TMM1 = UPNL1 = 0 (the FAQ's isolated reading, WB unchanged):
    18,778.73 and 1,114.78. The BTC long's cross price is far above: ETH's loss eats its margin."""
    account = binance_faq_account()
    rules = rules_for("binanceusdm")
    alone = [Account("binanceusdm", account.wallet_balance, (p,)) for p in account.positions]
    btc_alone = liquidation_price(alone[0], rules, alone[0].positions[0])
    eth_alone = liquidation_price(alone[1], rules, alone[1].positions[0])
    assert round(btc_alone, 2) == 18778.73
    assert round(eth_alone, 2) == 1114.78
    assert liquidation_price(account, rules, account.positions[0]) > btc_alone + 7000


def test_binance_maintenance_amount_example():
    """Binance FAQ: cum of a bracket = floor × (MMR − previous MMR) + previous cum:
    250,000 × (1 % − 0.5 %) + 50 = 1,300."""
    tiers = cumulative_amounts([(0, 50_000, 0.004), (50_000, 250_000, 0.005),
                                (250_000, 1_000_000, 0.01)])  # fmt: skip
    assert [t.maintenance_amount for t in tiers] == pytest.approx([0, 50, 1300])
    # maintenance is continuous across the bracket edge
    rules = rules_for("binanceusdm")
    pos = Position("BTCUSDT", Side.LONG, 1, 250_000, 250_000, tiers)
    below = rules.maintenance(pos, 250_000 - 1e-6)
    above = rules.maintenance(pos, 250_000)
    assert above == pytest.approx(250_000 * 0.01 - 1300)
    assert below == pytest.approx(above, abs=1e-4)


def test_bybit_isolated_example():
    """Bybit "Liquidation Price (USDT Contract)": 1 BTC long @ 20,000 at 50×, MMR 0.5 %:
    LP = 20,000 − (400 − 100) = 19,700; the short mirrors it at 20,300."""
    rules = BybitRules(closing_fee_rate=0.0)
    tiers = (MarginTier(0, INF, 0.005),)
    for side, expected in ((Side.LONG, 19_700), (Side.SHORT, 20_300)):
        pos = Position("BTCUSDT", side, 1, 20_000, 20_000, tiers,
                       margin_mode=MarginMode.ISOLATED, leverage=50)  # fmt: skip
        assert liquidation_price(Account("bybit", 0, (pos,)), rules, pos) == pytest.approx(expected)


def test_bybit_isolated_extra_margin_moves_the_price():
    """Bybit: LP(long) = Entry − (IM − MM)/size − extraMargin/size; 100 USDT extra on 1 BTC."""
    rules = BybitRules(closing_fee_rate=0.0)
    pos = Position("BTCUSDT", Side.LONG, 1, 20_000, 20_000, (MarginTier(0, INF, 0.005),),
                   margin_mode=MarginMode.ISOLATED, isolated_margin=500)  # fmt: skip
    assert liquidation_price(Account("bybit", 0, (pos,)), rules, pos) == pytest.approx(19_600)


@pytest.mark.parametrize("max_leverage,mmr", [(50, 0.01), (40, 0.0125), (3, 1 / 6)])
def test_hyperliquid_maintenance_is_half_the_initial_margin_at_max_leverage(max_leverage, mmr):
    (tier,) = HyperliquidRules().tiers_from_max_leverage(max_leverage)
    assert tier.maintenance_margin_rate == pytest.approx(mmr)


def test_hyperliquid_formula():
    """hyperliquid-docs trading/liquidations: liq_price = price − side · margin_available /
    position_size / (1 − l · side), l = maintenance rate, margin_available = account value −
    maintenance margin required (cross)."""
    rules = HyperliquidRules()
    tiers = rules.tiers_from_max_leverage(40)
    l = tiers[0].maintenance_margin_rate  # noqa: E741 - the docs' name
    btc = Position("BTC/USDC:USDC", Side.LONG, 0.5, 100_000, 98_000, tiers)
    eth = Position("ETH/USDC:USDC", Side.SHORT, 10, 3_500, 3_600, rules.tiers_from_max_leverage(25))
    account = Account("hyperliquid", 8_000, (btc, eth))
    report = build_report(account)
    margin_available = report.equity - report.maintenance_margin
    for pos in (btc, eth):
        s = pos.sign
        pos_l = pos.tiers[0].maintenance_margin_rate
        expected = pos.mark_price - s * margin_available / pos.size / (1 - pos_l * s)
        assert liquidation_price(account, rules, pos) == pytest.approx(expected, rel=1e-12)
    assert l == 0.0125


def test_tier_change_between_mark_and_liquidation_is_solved_exactly():
    """The notional at the liquidation price falls in a lower bracket than at the mark: the
    answer must satisfy equity = maintenance with that bracket, not the mark's."""
    tiers = cumulative_amounts([(0, 50_000, 0.004), (50_000, 250_000, 0.005),
                                (250_000, 1_000_000, 0.01)])  # fmt: skip
    rules = rules_for("binanceusdm")
    pos = Position("BTCUSDT", Side.LONG, 3, 100_000, 100_000, tiers)  # 300k notional: 1 %
    account = Account("binanceusdm", 60_000, (pos,))
    lp = liquidation_price(account, rules, pos)
    assert lp is not None and lp * 3 < 250_000  # in the 0.5 % bracket
    equity = 60_000 + 3 * (lp - 100_000)
    assert equity == pytest.approx(rules.maintenance(pos, lp), abs=1e-6)
    assert equity == pytest.approx(3 * lp * 0.005 - 50, abs=1e-6)


def test_an_account_that_cannot_be_liquidated_reports_none():
    pos = Position("BTCUSDT", Side.LONG, 1, 50_000, 50_000, (MarginTier(0, INF, 0.004),))
    account = Account("binanceusdm", 60_000, (pos,))  # fully collateralised 1× long
    report = build_report(account)
    assert report.positions[0].liquidation_price is None
    assert report.positions[0].distance is None
    assert report.joint_move is not None and report.joint_move.nearest is None


def test_the_btc_drop_is_what_kills_the_eth_long():
    """Cross margin: BTC falling moves the ETH long's liquidation price up."""
    tier = (MarginTier(0, INF, 0.005),)
    rules = rules_for("binanceusdm")

    def eth_lp(btc_mark: float) -> float:
        btc = Position("BTCUSDT", Side.LONG, 2, 110_000, btc_mark, tier)
        eth = Position("ETHUSDT", Side.LONG, 40, 3_900, 3_800, tier)
        acc = Account("binanceusdm", 30_000, (btc, eth))
        lp = liquidation_price(acc, rules, eth)
        assert lp is not None
        return lp

    assert eth_lp(104_000) > eth_lp(110_000) + 250


def test_joint_move_names_the_leader_and_follows_betas():
    tier = (MarginTier(0, INF, 0.005),)
    btc = Position("BTCUSDT", Side.LONG, 1, 100_000, 100_000, tier)
    eth = Position("ETHUSDT", Side.LONG, 30, 3_000, 3_000, tier)
    account = Account("binanceusdm", 25_000, (btc, eth))
    rules = rules_for("binanceusdm")
    slow = joint_move(account, rules, "BTCUSDT", {"ETHUSDT": 1.0})
    fast = joint_move(account, rules, "BTCUSDT", {"ETHUSDT": 1.3})
    assert slow.down is not None and fast.down is not None
    assert -0.5 < slow.down < fast.down < 0  # ETH falling harder liquidates sooner
    # at the solved move the account is exactly at maintenance
    r = fast.down
    btc_p, eth_p = 100_000 * (1 + r), 3_000 * (1 + 1.3 * r)
    equity = 25_000 + (btc_p - 100_000) + 30 * (eth_p - 3_000)
    maintenance = 0.005 * (btc_p + 30 * eth_p)
    assert equity == pytest.approx(maintenance, abs=1e-6)


def test_okx_and_bybit_add_their_fee_term_to_maintenance():
    """OKX: the liquidation fee on the value at the mark (0.05 %); Bybit: the fee to close at
    the bankruptcy price (0.055 % of 1 × 100,000 × (1 − 1/10)), on the value at entry."""
    tier = (MarginTier(0, INF, 0.004),)
    pos = Position("BTC", Side.LONG, 1, 100_000, 100_000, tier, leverage=10)
    assert rules_for("binanceusdm").maintenance(pos, 100_000) == pytest.approx(400)
    assert rules_for("okx").maintenance(pos, 100_000) == pytest.approx(450)
    assert rules_for("bybit").maintenance(pos, 100_000) == pytest.approx(400 + 49.5)
    # Bybit's does not move with the mark; the others' do
    assert rules_for("bybit").maintenance(pos, 80_000) == pytest.approx(449.5)
    assert rules_for("okx").maintenance(pos, 80_000) == pytest.approx(360)
