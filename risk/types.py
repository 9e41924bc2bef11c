"""Immutable value types shared by every layer.

A linear (USDT- or USDC-settled) position's money is in its settle coin, its size in base units
(contracts × contract size). An inverse (coin-margined) position's size is in quote units (USD:
contracts × contract size) and its money in the base coin it settles in. Prices are per unit of
the base asset. Nothing here reads a clock: a figure that can go stale carries the timestamp its
producer gave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

import numpy as np


class Side(Enum):
    """A position's direction; the value is its sign in the PnL formula."""

    LONG = 1
    SHORT = -1

    @property
    def sign(self) -> int:
        return self.value

    @classmethod
    def parse(cls, text: str) -> Side:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"side must be 'long' or 'short', not {text!r}") from None


class MarginMode(Enum):
    CROSS = "cross"
    ISOLATED = "isolated"

    @classmethod
    def parse(cls, text: str) -> MarginMode:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"margin mode must be 'cross' or 'isolated', not {text!r}") from None


class Source(Enum):
    """Where a figure comes from: the exchange said it, or we computed it."""

    EXCHANGE = "exchange"
    COMPUTED = "computed"


class ContractType(Enum):
    """Linear contracts settle in a stablecoin; inverse (coin-margined) ones in their base coin,
    with PnL = size × (1/entry − 1/mark) per side (size in USD)."""

    LINEAR = "linear"
    INVERSE = "inverse"

    @classmethod
    def parse(cls, text: str) -> ContractType:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"contract type must be 'linear' or 'inverse', not {text!r}") from None


class PoolMode(Enum):
    """How an exchange pools cross margin across settle coins.

    SEPARATE: every settle coin is its own cross account (OKX single-currency margin, Binance
    single-asset mode, every Binance COIN-M margin coin). SHARED: the settle coins form one
    USD-valued pool, each coin counted at the exchange's collateral value (Bybit's Unified
    Trading Account, Binance multi-assets mode, OKX multi-currency margin)."""

    SEPARATE = "separate"
    SHARED = "shared"

    @classmethod
    def parse(cls, text: str) -> PoolMode:
        try:
            return cls(text.strip().lower())
        except ValueError:
            raise ValueError(f"pool mode must be 'separate' or 'shared', not {text!r}") from None


class TierBasis(Enum):
    """What picks a maintenance tier: the position's notional (most exchanges) or its size
    in base units (OKX picks tiers by the number of contracts, which does not move with price)."""

    NOTIONAL = "notional"
    SIZE = "size"


@lru_cache(maxsize=4096)
def base_asset(symbol: str) -> str:
    """The traded asset of a symbol: 'BTC/USDT:USDT', 'BTCUSDT', 'BTC-USDT-SWAP', 'BTCUSD_PERP'
    -> 'BTC'."""
    head = symbol.split("/")[0].split(":")[0].split("-")[0].split("_")[0].upper()
    for quote in ("USDT", "USDC", "USD"):
        if head.endswith(quote) and len(head) > len(quote):
            return head[: -len(quote)]
    return head


@dataclass(frozen=True, slots=True)
class Figure:
    """A number that can go stale: its value, who produced it, and when (ms since the epoch).
    ``label`` says what an exchange's figure is where that matters ("Bybit totalMarginBalance:
    includes open orders' margin and borrowings")."""

    value: float
    source: Source
    as_of_ms: int | None = None
    label: str = ""

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.as_of_ms is None else max(0, now_ms - self.as_of_ms)


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One maintenance-margin bracket: [min_bound, max_bound) of the basis picks it.

    maintenance = notional × maintenance_margin_rate − maintenance_amount
    (Binance calls the amount ``cum``, Bybit ``mmDeduction``, Hyperliquid the deduction.)
    """

    min_bound: float
    max_bound: float
    maintenance_margin_rate: float
    maintenance_amount: float = 0.0
    max_leverage: float | None = None
    basis: TierBasis = TierBasis.NOTIONAL

    def __post_init__(self) -> None:
        if not (0 <= self.maintenance_margin_rate < 1):
            raise ValueError(
                f"maintenance_margin_rate must be in [0, 1), got {self.maintenance_margin_rate}"
            )
        if not (0 <= self.min_bound < self.max_bound):
            raise ValueError(f"tier bounds must satisfy 0 <= min < max, got {self}")


def tier_index(tiers: tuple[MarginTier, ...], value: float) -> int:
    """Index of the tier whose [min, max) holds value; the last tier catches anything above."""
    for i, tier in enumerate(tiers):
        if value < tier.max_bound:
            return i
    return len(tiers) - 1


def cumulative_amounts(
    bounds_and_rates: list[tuple[float, float, float]],
) -> tuple[MarginTier, ...]:
    """Build tiers from (min, max, rate) rows, deriving each maintenance amount the way the
    exchanges document it: amount_n = min_n × (rate_n − rate_{n−1}) + amount_{n−1}
    (Binance "Maintenance Margin" FAQ; Bybit margin parameters; Hyperliquid margin tiers)."""
    tiers: list[MarginTier] = []
    prev_rate, prev_amount = 0.0, 0.0
    for lo, hi, rate in bounds_and_rates:
        amount = lo * (rate - prev_rate) + prev_amount if tiers else 0.0
        tiers.append(MarginTier(lo, hi, rate, amount))
        prev_rate, prev_amount = rate, amount
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class Position:
    """One open perpetual position, as the risk engine needs it.

    ``size`` is |contracts| × contract_size: base units for a linear contract, USD for an inverse
    one (a BTCUSD contract is worth a fixed number of dollars). In hedge mode a symbol may hold
    one LONG and one SHORT position; both move with the same mark. ``settle`` is the coin the
    position's PnL and margin are in ("" = the account's settle coin; an inverse position always
    settles in its base coin).
    """

    symbol: str
    side: Side
    contracts: float
    entry_price: float
    mark_price: float
    tiers: tuple[MarginTier, ...]
    contract_size: float = 1.0
    margin_mode: MarginMode = MarginMode.CROSS
    leverage: float | None = None
    isolated_margin: float | None = None
    max_leverage: float | None = None
    exchange_liquidation_price: Figure | None = None
    mark_as_of_ms: int | None = None
    contract_type: ContractType = ContractType.LINEAR
    settle: str = ""

    def __post_init__(self) -> None:
        for name in ("contracts", "entry_price", "mark_price", "contract_size"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a positive number, got {v}")
        if not self.tiers:
            raise ValueError(f"{self.symbol}: a position needs at least one maintenance tier")

    @property
    def size(self) -> float:
        return self.contracts * self.contract_size

    @property
    def sign(self) -> int:
        return self.side.sign

    @property
    def inverse(self) -> bool:
        return self.contract_type is ContractType.INVERSE

    @property
    def base(self) -> str:
        return base_asset(self.symbol)

    def notional(self, price: float | None = None) -> float:
        """Position value at a price, in the settle coin: size × price (linear), size / price
        (inverse, in the base coin)."""
        p = self.mark_price if price is None else price
        return self.size / p if self.inverse else self.size * p

    def unrealized_pnl(self, price: float | None = None) -> float:
        """PnL in the settle coin: side × size × (price − entry) for a linear contract,
        side × size × (1/entry − 1/price) for an inverse one."""
        p = self.mark_price if price is None else price
        if self.inverse:
            return self.sign * self.size * (1.0 / self.entry_price - 1.0 / p)
        return self.sign * self.size * (p - self.entry_price)

    @property
    def entry_value(self) -> float:
        """Position value at the entry price, in the settle coin."""
        return self.size / self.entry_price if self.inverse else self.size * self.entry_price


@dataclass(frozen=True, slots=True)
class CollateralTier:
    """One slice of a coin's collateral value: the part of a positive balance up to
    ``max_amount`` coins (above the previous slice) counts at ``ratio`` of its price."""

    max_amount: float
    ratio: float

    def __post_init__(self) -> None:
        if not (0 <= self.ratio <= 1.5) or not (self.max_amount > 0):
            raise ValueError(f"a collateral tier needs max_amount > 0 and a ratio, got {self}")


@dataclass(frozen=True, slots=True)
class Collateral:
    """A coin in the account besides the main settle coin: its wallet balance (unrealised PnL
    excluded), its USD index price, and in a shared pool how the exchange values it — the
    positive equity slice by slice at ``tiers`` (none: at full price), a negative equity (a
    liability) at ``liability_ratio`` × its price."""

    coin: str
    balance: float
    price: float = 1.0
    tiers: tuple[CollateralTier, ...] = ()
    liability_ratio: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.balance) and math.isfinite(self.price) and self.price > 0):
            raise ValueError(f"{self.coin}: collateral needs a finite balance and price > 0")


@dataclass(frozen=True, slots=True)
class UnsupportedPosition:
    """A position the engine cannot compute yet, listed so it never silently vanishes."""

    symbol: str
    side: Side
    contracts: float
    reason: str


@dataclass(frozen=True, slots=True)
class Account:
    """A derivatives account at one moment.

    ``wallet_balance`` is the cross wallet of the account's ``settle`` coin: deposits + realised
    PnL − fees ± funding, without the unrealised PnL. Other coins (a USDC wallet beside USDT, the
    BTC wallet of coin-margined contracts, coins posted as collateral) are ``collateral``.
    ``pool_mode`` says whether the settle coins share one cross pool (see PoolMode). Isolated
    positions carry their own collateral and are left out of the cross sums, as every exchange
    documents. ``taker_fee_rate`` is the account's own taker rate where the exchange reports it
    (OKX's liquidation fee is charged at it). ``exchange_equity`` is the exchange's own margin
    balance, shown beside ours where it counts things we cannot (open orders, borrowings).
    """

    exchange: str
    wallet_balance: float
    positions: tuple[Position, ...]
    margin_mode: MarginMode = MarginMode.CROSS
    as_of_ms: int | None = None
    label: str = ""
    exchange_maintenance_margin: Figure | None = None
    exchange_margin_ratio: Figure | None = None
    notes: tuple[str, ...] = field(default=())
    settle: str = "USDT"
    pool_mode: PoolMode = PoolMode.SEPARATE
    collateral: tuple[Collateral, ...] = ()
    taker_fee_rate: float | None = None
    exchange_equity: Figure | None = None
    unsupported: tuple[UnsupportedPosition, ...] = ()

    def __post_init__(self) -> None:
        if not math.isfinite(self.wallet_balance):
            raise ValueError(f"wallet_balance must be a finite number, got {self.wallet_balance}")

    def settle_of(self, position: Position) -> str:
        """The coin a position settles in."""
        if position.inverse:
            return position.base
        return position.settle or self.settle

    def balance_of(self, coin: str) -> float:
        """The wallet balance of a coin (0 when the account holds none)."""
        if coin == self.settle:
            return self.wallet_balance
        for c in self.collateral:
            if c.coin == coin:
                return c.balance
        return 0.0

    @property
    def cross_positions(self) -> tuple[Position, ...]:
        return tuple(p for p in self.positions if p.margin_mode is MarginMode.CROSS)

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.symbol for p in self.positions))


@dataclass(frozen=True, slots=True, eq=False)
class Candles:
    """OHLCV bars of one symbol and timeframe, oldest first, as parallel NumPy arrays.

    ``open_interest`` (base units, at the bar's close) and ``taker_buy_volume`` are None when the
    source does not give them. Arrays are never mutated after construction.
    """

    symbol: str
    timeframe: str
    ts_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    open_interest: np.ndarray | None = None
    taker_buy_volume: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    def upto(self, ts_ms: int) -> Candles:
        """The bars that opened at or before ts_ms: what was known at that time."""
        n = int(np.searchsorted(self.ts_ms, ts_ms, side="right"))
        return self.slice(0, n)

    def slice(self, start: int, stop: int) -> Candles:
        def cut(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[start:stop]

        return Candles(
            self.symbol,
            self.timeframe,
            self.ts_ms[start:stop],
            self.open[start:stop],
            self.high[start:stop],
            self.low[start:stop],
            self.close[start:stop],
            self.volume[start:stop],
            cut(self.open_interest),
            cut(self.taker_buy_volume),
        )


@dataclass(frozen=True, slots=True, eq=False)
class OrderBook:
    """An order-book snapshot: bids descending and asks ascending, each an (n, 2) array of
    (price, size in base units)."""

    symbol: str
    bids: np.ndarray
    asks: np.ndarray
    as_of_ms: int | None = None


@dataclass(frozen=True, slots=True)
class MarketStats:
    """Per-symbol market figures beside the candles, each stamped by its producer."""

    symbol: str
    funding_rate: Figure | None = None
    open_interest: Figure | None = None
    mark_price: Figure | None = None


@dataclass(frozen=True, slots=True)
class ForcedClose:
    """A position (or part of one) the exchange's liquidation engine closed, as the exchange
    itself records it: Binance force orders, Bybit BustTrade executions, OKX position history
    of a liquidation type, Hyperliquid fills marked as liquidations."""

    symbol: str
    side: Side
    """The side of the position that was closed (a long is closed by a sell)."""
    time_ms: int
    """On the exchange's clock."""
    size: float
    """Closed, in the position's units: base units (USD for an inverse contract)."""
    price: float | None
    """The average price of the forced fills, where the record gives one."""
    source: str
    """Who says so, as a trader reads it: "Binance's force orders"."""
