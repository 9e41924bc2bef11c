"""Each exchange's liquidation rules, as parameters of one model.

Every exchange below liquidates a linear cross account when

    equity ≤ Σ maintenance_i + closing-fee term
    equity        = wallet_balance + Σ s_i·q_i·(p_i − e_i)
    maintenance_i = q_i·p_i·mmr_i − amount_i        (the tier picked by q_i·p_i, or by q_i on OKX)

and an isolated position when its own collateral plus its PnL falls to its own maintenance.
What differs is captured by a rule set: whether a closing fee is added to the maintenance,
whether isolated maintenance is taken on the entry or the current notional, and how tiers are
derived when the exchange gives only a maximum leverage.
"""

from __future__ import annotations

from dataclasses import dataclass

from risk.types import MarginTier, Position, TierBasis, tier_index


@dataclass(frozen=True)
class RuleSet:
    """Parameters of the shared liquidation model for one exchange."""

    exchange: str
    closing_fee_rate: float = 0.0
    isolated_mm_at_entry: bool = False
    source: str = ""

    def maintenance(self, position: Position, price: float) -> float:
        """Maintenance requirement of one position at a price, closing-fee term included."""
        tier = position.tiers[tier_index(position.tiers, self._tier_value(position, price))]
        notional = position.size * price
        return (
            notional * (tier.maintenance_margin_rate + self.closing_fee_rate)
            - tier.maintenance_amount
        )

    @staticmethod
    def _tier_value(position: Position, price: float) -> float:
        if position.tiers[0].basis is TierBasis.SIZE:
            return position.contracts
        return position.size * price

    def tiers_from_max_leverage(self, max_leverage: float) -> tuple[MarginTier, ...]:
        raise ValueError(f"{self.exchange} needs maintenance tiers, not only a max leverage")


class BinanceUsdmRules(RuleSet):
    """Binance USDⓈ-M futures, cross and isolated, one-way and hedge mode.

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
    """

    def __init__(self) -> None:
        super().__init__(
            exchange="binanceusdm",
            source="Binance FAQ b3c689c1f50a44cabb3a84e663b81d93 (USDⓈ-M liquidation price)",
        )


class BybitRules(RuleSet):
    """Bybit Unified Trading Account (linear USDT and USDC perpetuals).

    Cross margin: there is no per-position trigger; the account is liquidated when
    Account MM Rate = Total Maintenance Margin / Margin Balance reaches 100 %
    (Bybit help "UTA Trading Rules", https://www.bybit.com/en/help-center/article/UTA-Trading-Rules).
    A position's maintenance is PV × MMR − mmDeduction (risk-limit tiers,
    https://bybitglobal.com/en/announcement-info/margin-parameters) plus the estimated fee to
    close, which this model takes as PV × closing_fee_rate (taker 0.055 % by default).

    Isolated: LP = Entry ∓ (IM − MM)/size ∓ extraMargin/size, with IM and MM both taken on the
    position value at entry (Bybit "Liquidation Price (USDT Contract)": 1 BTC @ 20,000, 50×,
    MMR 0.5 % → 19,700). That example predates the fee-to-close term, so it is reproduced with
    closing_fee_rate = 0.
    """

    def __init__(self, closing_fee_rate: float = 0.00055) -> None:
        super().__init__(
            exchange="bybit",
            closing_fee_rate=closing_fee_rate,
            isolated_mm_at_entry=True,
            source="Bybit help UTA-Trading-Rules; Liquidation Price (USDT Contract)",
        )


class OkxRules(RuleSet):
    """OKX perpetual swaps, cross and isolated.

    Margin ratio = adjusted equity / (maintenance margin + liquidation fees); liquidation starts
    at ≤ 100 % (OKX help "Tiered maintenance margin ratio rules",
    https://www.okx.com/help/v-tiered-maintenance-margin-ratio-rules). The liquidation fee is
    taken as notional × closing_fee_rate (taker 0.05 % by default). Tiers are picked by the
    position size in contracts, so the tier does not change with price.
    """

    def __init__(self, closing_fee_rate: float = 0.0005) -> None:
        super().__init__(
            exchange="okx",
            closing_fee_rate=closing_fee_rate,
            source="OKX help v-tiered-maintenance-margin-ratio-rules",
        )


class HyperliquidRules(RuleSet):
    """Hyperliquid perpetuals, cross and isolated.

    Maintenance margin is half the initial margin at max leverage, so mmr = 1 / (2 · maxLeverage)
    (3.3 % at 15×, 1 % at 50×); liquidation when account equity < maintenance, at mark prices
    (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations). Margin tables add
    deductions exactly like Binance's cum
    (https://hyperliquid.gitbook.io/hyperliquid-docs/trading/margin-tiers). The documented
    liq_price = price − side · margin_available / size / (1 − mmr · side) is this model with one
    tier: margin_available = account value − maintenance (cross) or isolated margin −
    maintenance (isolated). No fee term.
    """

    def __init__(self) -> None:
        super().__init__(
            exchange="hyperliquid",
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
