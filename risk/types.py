"""Immutable value types shared by every layer.

All money is in the account's settle currency (USDT or USDC); prices are per unit of the base
asset; sizes are in base units (contracts × contract size). Nothing here reads a clock: a figure
that can go stale carries the timestamp its producer gave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum

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


class TierBasis(Enum):
    """What picks a maintenance tier: the position's notional (most exchanges) or its size
    in base units (OKX picks tiers by the number of contracts, which does not move with price)."""

    NOTIONAL = "notional"
    SIZE = "size"


def base_asset(symbol: str) -> str:
    """The traded asset of a symbol: 'BTC/USDT:USDT', 'BTCUSDT', 'BTC-USDT-SWAP' -> 'BTC'."""
    head = symbol.split("/")[0].split(":")[0].split("-")[0].upper()
    for quote in ("USDT", "USDC", "USD"):
        if head.endswith(quote) and len(head) > len(quote):
            return head[: -len(quote)]
    return head


@dataclass(frozen=True, slots=True)
class Figure:
    """A number that can go stale: its value, who produced it, and when (ms since the epoch)."""

    value: float
    source: Source
    as_of_ms: int | None = None

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

    ``size`` is |contracts| × contract_size in base units. In Binance hedge mode a symbol may hold
    one LONG and one SHORT position; both move with the same mark.
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

    def notional(self, price: float | None = None) -> float:
        return self.size * (self.mark_price if price is None else price)

    def unrealized_pnl(self, price: float | None = None) -> float:
        p = self.mark_price if price is None else price
        return self.sign * self.size * (p - self.entry_price)

    @property
    def isolated_collateral(self) -> float:
        """The margin an isolated position holds; by default entry notional / leverage."""
        if self.isolated_margin is not None:
            return self.isolated_margin
        if self.leverage:
            return self.size * self.entry_price / self.leverage
        raise ValueError(f"{self.symbol}: an isolated position needs isolated_margin or leverage")


@dataclass(frozen=True, slots=True)
class Account:
    """A linear (USDT- or USDC-settled) derivatives account at one moment.

    ``wallet_balance`` is the cross wallet: deposits + realised PnL − fees ± funding, without the
    unrealised PnL. Isolated positions carry their own collateral and are left out of the cross
    sums, as every exchange documents.
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

    def __post_init__(self) -> None:
        if not math.isfinite(self.wallet_balance):
            raise ValueError(f"wallet_balance must be a finite number, got {self.wallet_balance}")

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
