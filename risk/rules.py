"""Each exchange's liquidation rules, as parameters of one model.

Every exchange below liquidates a cross pool when

    equity ≤ Σ maintenance_i
    equity        = Σ_coins value(wallet_coin + Σ PnL of the positions settled in that coin)
    maintenance_i = value_i × mmr_i − amount_i + closing-fee term_i

and an isolated position when its own collateral plus its PnL falls to its own maintenance.
What differs is captured by a rule set:

- the value the maintenance rate applies to: the position value at the mark (Binance,
  Hyperliquid, OKX) or at the entry price (Bybit linear contracts, whose maintenance therefore
  does not move with the mark), and what picks the tier (that value, or OKX's contract count);
- the closing-fee term: none (Binance, Hyperliquid), the value at the mark × fee rate (OKX's
  liquidation fee), or the fee to close at the bankruptcy price (Bybit);
- whether the default isolated margin includes that fee (Bybit's initial margin does);
- how the exchange pools settle coins (see ``PoolMode``) and which coins it settles in.

For a linear contract of size q (base units) maintenance is affine in the price p within a
tier: const + coeff × p. For an inverse one (size S in USD, money in the coin) it is
const + coeff / p. ``maintenance_parts`` gives those two numbers; the solver in
``risk.liquidation`` builds on them.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from enum import Enum

from risk.types import ContractType, MarginTier, PoolMode, Position, Side, TierBasis, tier_index


class FeeTerm(Enum):
    """What an exchange adds to a position's maintenance for closing it."""

    NONE = "none"
    MARK = "mark"
    """Position value at the current mark × the fee rate (OKX's liquidation fee)."""
    BANKRUPTCY = "bankruptcy"
    """Position value at the bankruptcy price × the taker rate (Bybit's fee to close)."""


@dataclass(frozen=True)
class RuleSet:
    """Parameters of the shared liquidation model for one exchange."""

    exchange: str
    closing_fee_rate: float = 0.0
    fee_term: FeeTerm = FeeTerm.NONE
    mm_at_entry: bool = False
    """Linear maintenance (and its tier) on the position value at the entry price."""
    inverse_mm_at_entry: bool = False
    isolated_margin_includes_fee: bool = False
    pool_modes: tuple[PoolMode, ...] = (PoolMode.SEPARATE,)
    linear_settles: tuple[str, ...] = ("USDT", "USDC")
    has_inverse: bool = True
    inverse_shares_pool: bool = False
    """In a shared pool, coin-margined positions join it (their coin counted as collateral)."""
    source: str = ""

    def with_taker_fee(self, rate: float | None) -> RuleSet:
        """The same rules with the account's own fee rate, where the exchange says it."""
        if rate is None or self.fee_term is FeeTerm.NONE or abs(rate) == self.closing_fee_rate:
            return self
        other = copy.copy(self)
        object.__setattr__(other, "closing_fee_rate", abs(rate))
        return other

    # --- one position -----------------------------------------------------------------------

    def at_entry(self, position: Position) -> bool:
        return self.inverse_mm_at_entry if position.inverse else self.mm_at_entry

    def tier_value(self, position: Position, price: float) -> float:
        """What picks the position's tier at a price."""
        if position.tiers[0].basis is TierBasis.SIZE:
            return position.contracts
        return position.notional(position.entry_price if self.at_entry(position) else price)

    def tier_at(self, position: Position, price: float) -> int:
        return tier_index(position.tiers, self.tier_value(position, price))

    def leverage(self, position: Position) -> float:
        """The position's leverage; without one the tier's maximum (the fee-to-close term)."""
        if position.leverage:
            return position.leverage
        tier = position.tiers[self.tier_at(position, position.entry_price)]
        return tier.max_leverage or position.max_leverage or 1.0

    def bankruptcy_price(self, position: Position) -> float:
        """Where the initial margin is gone: linear entry × (1 ∓ 1/leverage), inverse
        entry × leverage / (leverage ± 1) (Bybit "What is Bankruptcy Price?"); inf for an
        inverse short at 1× or less (it never goes bankrupt)."""
        lev = position.leverage or self.leverage(position)
        e, s = position.entry_price, 1 if position.side is Side.LONG else -1
        if position.contract_type is ContractType.INVERSE:
            denominator = lev + s
            return e * lev / denominator if denominator > 0 else math.inf
        return max(0.0, e * (1.0 - s / lev))

    def fee_to_close(self, position: Position) -> float:
        """Bybit's estimated fee to close: the value at the bankruptcy price × the taker rate
        (a constant: it does not move with the mark)."""
        bp = self.bankruptcy_price(position)
        size = position.contracts * position.contract_size
        if position.contract_type is ContractType.INVERSE:
            if bp == math.inf or bp <= 0:
                return 0.0
            return size / bp * self.closing_fee_rate
        return size * bp * self.closing_fee_rate

    def maintenance_parts(self, position: Position, tier: MarginTier) -> tuple[float, float]:
        """(const, coeff) of the position's maintenance in its settle coin within a tier:
        const + coeff × price (linear) or const + coeff / price (inverse)."""
        rate = tier.maintenance_margin_rate
        const = -tier.maintenance_amount
        coeff = 0.0
        if self.at_entry(position):
            const += position.entry_value * rate
        else:
            coeff = position.size * rate
        if self.fee_term is FeeTerm.MARK:
            coeff += position.size * self.closing_fee_rate
        elif self.fee_term is FeeTerm.BANKRUPTCY:
            const += self.fee_to_close(position)
        return const, coeff

    def maintenance(self, position: Position, price: float) -> float:
        """Maintenance requirement of one position at a price, closing-fee term included, in
        the coin it settles in."""
        tier = position.tiers[self.tier_at(position, price)]
        const, coeff = self.maintenance_parts(position, tier)
        return const + (coeff / price if position.inverse else coeff * price)

    def default_isolated_margin(self, position: Position) -> float:
        """The margin an isolated position holds when the exchange does not say: the entry
        value / leverage, plus the fee to close where the initial margin includes it (Bybit)."""
        if not position.leverage:
            raise ValueError(
                f"{position.symbol}: an isolated position needs isolated_margin or leverage"
            )
        margin = position.entry_value / position.leverage
        if self.isolated_margin_includes_fee:
            margin += self.fee_to_close(position)
        return margin

    def isolated_collateral(self, position: Position) -> float:
        if position.isolated_margin is not None:
            return position.isolated_margin
        return self.default_isolated_margin(position)

    def tiers_from_max_leverage(self, max_leverage: float) -> tuple[MarginTier, ...]:
        raise ValueError(f"{self.exchange} needs maintenance tiers, not only a max leverage")


class BinanceUsdmRules(RuleSet):
    """Binance USDⓈ-M and COIN-M futures, cross and isolated, one-way and hedge mode.

    Follows the FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts"
    (https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93):
    LP = (WB − TMM1 + UPNL1 + cum − side·Q·EP) / (Q·MMR − side·Q), where WB is the cross wallet
    balance (the isolated wallet balance in isolated mode, with TMM1 = UPNL1 = 0), TMM1 and UPNL1
    the maintenance and unrealised PnL of all other cross contracts at their marks; in hedge
    mode the LONG and SHORT legs of a symbol share one price, so both move in the solve.
    Maintenance = notional × MMR − cum (the cum of each bracket from /fapi/v1/leverageBracket).
    The formula has no fee term. When the notional at the liquidation price falls in another
    bracket than at the mark, the FAQ says to recompute with that bracket: the solver does that
    exactly.

    Pools: single-asset mode keeps USDT and USDC margin apart; multi-assets mode shares them
    (and BTC, ETH… posted as margin) in one USD pool, each asset valued at its index price ×
    (1 − haircut) when positive and × (1 + ask buffer) when negative (FAQ "What Is Multi-Assets
    Mode", https://www.binance.com/en/support/faq/29b45c485d664028b9ca1cdf90b24f6f; the rates
    are GET /fapi/v1/assetIndex bidRate / askRate). COIN-M contracts (GET /dapi/v1/positionRisk)
    are margined per coin, never in the USDⓈ-M pool: maintenance = coin notional at the mark ×
    MMR − cum, brackets in coin (GET /dapi/v2/leverageBracket).
    """

    def __init__(self) -> None:
        super().__init__(
            exchange="binanceusdm",
            pool_modes=(PoolMode.SEPARATE, PoolMode.SHARED),
            source="Binance FAQ b3c689c1f50a44cabb3a84e663b81d93 (USDⓈ-M liquidation price); "
            "FAQ 29b45c485d664028b9ca1cdf90b24f6f (Multi-Assets Mode)",
        )


class BybitRules(RuleSet):
    """Bybit Unified Trading Account: USDT and USDC perpetuals, inverse contracts.

    Cross margin: there is no per-position trigger; the account is liquidated when
    Account MM Rate = Total Maintenance Margin / Margin Balance reaches 100 %
    (Bybit help "UTA Trading Rules", https://www.bybit.com/en/help-center/article/UTA-Trading-Rules).
    Every settle coin and collateral coin is in that one pool, each at its USD index price ×
    collateral value ratio (Bybit FAQ "Unified Trading Account": the margin balance "is a
    converted value after considering the asset index price and collateral value ratio").

    Maintenance of a linear position (help "Maintenance Margin (USDT Contract)"): position value
    = quantity × average ENTRY price; MM = value × MMR − mmDeduction + the estimated fee to close,
    which is the quantity × the bankruptcy price × the taker rate (0.055 %), the bankruptcy price
    being entry × (1 − 1/leverage) for a long and entry × (1 + 1/leverage) for a short (help
    "What is Bankruptcy Price?"). The tier is picked by that value too. So a linear position's
    maintenance is a constant: it does not move with the mark. This reproduces the recorded
    LTCUSDT UTA position (positionMM 0.81072399: 77.519375 × 1 % + 1.2 × 53.8329 × 0.055 %).

    Hedge mode: each side is its own position with its own risk limit (POST
    /v5/position/set-risk-limit takes positionIdx 1 = Buy side, 2 = Sell side) and its own
    positionMM in GET /v5/position/list, so each leg's maintenance is computed on its own entry,
    leverage and tier; both legs move with the one mark.

    Isolated (help "Liquidation Price Calculation under Isolated Mode (Unified Trading
    Account)"): LP = Entry ∓ (IM − MM)/size ∓ extraMargin/size with IM = value / leverage + the
    fee to close and MM = value × MMR − deduction + the fee to close: the fee is in both and
    cancels, so the default isolated margin includes it. 1 BTC @ 20,000, 50×, MMR 0.5 % →
    19,700; 1 BTC @ 60,000, 20×, MMR 0.5 % → 57,300, with the taker rate as shipped.

    Inverse (same isolated article, "Inverse Perpetual and Expiry Contracts"): position value =
    contracts ÷ MARK price (in the coin), MM = value × MMR − deduction + fee to close.
    """

    def __init__(self, closing_fee_rate: float = 0.00055) -> None:
        super().__init__(
            exchange="bybit",
            closing_fee_rate=closing_fee_rate,
            fee_term=FeeTerm.BANKRUPTCY,
            mm_at_entry=True,
            inverse_mm_at_entry=False,
            isolated_margin_includes_fee=True,
            pool_modes=(PoolMode.SHARED,),
            inverse_shares_pool=True,
            source="Bybit help UTA-Trading-Rules; Maintenance Margin (USDT Contract); "
            "Liquidation Price Calculation under Isolated Mode (Unified Trading Account)",
        )


class OkxRules(RuleSet):
    """OKX perpetual swaps (USDT-, USDC- and coin-margined), cross and isolated.

    Margin ratio = adjusted equity / (maintenance margin + liquidation fees); liquidation starts
    at ≤ 100 % (OKX help "Tiered maintenance margin ratio rules",
    https://www.okx.com/help/v-tiered-maintenance-margin-ratio-rules). The liquidation fee is
    the position value at the mark × the account's taker rate (GET /api/v5/account/trade-fee:
    takerU for USDT-margined, takerUSDC, taker for coin-margined; 0.05 % when the account does
    not say). Tiers are picked by the position size in contracts, so the tier does not change
    with price.

    Pools (GET /api/v5/account/config ``acctLv``): single-currency margin (2) keeps each margin
    coin apart — a USDT swap and a USDC swap never share margin; multi-currency margin (3) pools
    every coin in USD at its price × the coin's discount rate, slice by slice of the coin amount
    (GET /api/v5/public/discount-rate-interest-free-quota; OKX "discount rate tiers"
    announcements). Coin-margined swaps count in their coin.
    """

    def __init__(self, closing_fee_rate: float = 0.0005) -> None:
        super().__init__(
            exchange="okx",
            closing_fee_rate=closing_fee_rate,
            fee_term=FeeTerm.MARK,
            pool_modes=(PoolMode.SEPARATE, PoolMode.SHARED),
            inverse_shares_pool=True,
            source="OKX help v-tiered-maintenance-margin-ratio-rules; account/config acctLv",
        )


class HyperliquidRules(RuleSet):
    """Hyperliquid perpetuals (USDC), cross and isolated.

    Maintenance margin is half the initial margin at max leverage, so mmr = 1 / (2 · maxLeverage)
    (3.3 % at 15×, 1 % at 50×); liquidation when account equity < maintenance, at mark prices
    (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations). Margin tables add
    deductions exactly like Binance's cum
    (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers). The documented
    liq_price = price − side · margin_available / size / (1 − mmr · side) is this model with one
    tier: margin_available = account value − maintenance (cross) or isolated margin −
    maintenance (isolated). No fee term; no coin-margined contracts.
    """

    def __init__(self) -> None:
        super().__init__(
            exchange="hyperliquid",
            linear_settles=("USDC",),
            has_inverse=False,
            source="hyperliquid-docs trading/liquidations and trading/margin-tiers",
        )

    def tiers_from_max_leverage(self, max_leverage: float) -> tuple[MarginTier, ...]:
        if not max_leverage or max_leverage < 1:
            raise ValueError(f"max_leverage must be at least 1, got {max_leverage}")
        return (MarginTier(0.0, float("inf"), 1.0 / (2.0 * max_leverage), 0.0, max_leverage),)


RULE_SETS: dict[str, RuleSet] = {
    r.exchange: r for r in (BinanceUsdmRules(), BybitRules(), OkxRules(), HyperliquidRules())
}
EXCHANGES: tuple[str, ...] = tuple(RULE_SETS)


def rules_for(exchange: str) -> RuleSet:
    try:
        return RULE_SETS[exchange]
    except KeyError:
        raise ValueError(
            f"unknown exchange {exchange!r}; expected one of {', '.join(EXCHANGES)}"
        ) from None
