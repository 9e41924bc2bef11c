"""Test doubles for the monitor: a settable clock and an in-memory connector.

``FakeConnector`` satisfies ``monitor.ports.Connector`` (mypy checks it: tests/monitor_fakes.py
is in ``[tool.mypy] files``). It offers none of the optional reads, as a venue without them."""

from __future__ import annotations

import threading
from collections.abc import Collection

import numpy as np

from connectors.types import Capability, ConnectorError, ErrorKind, KeyPermissions
from monitor.ports import Connector, OpenInterestHistory
from monitor.service import ConnectorFactory
from resources import default_tiers
from risk.types import (
    Account,
    Candles,
    ContractType,
    Figure,
    ForcedClose,
    MarketStats,
    OrderBook,
    Position,
    Side,
    Source,
)

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, t: float) -> None:
        self.t = float(t)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds


def demo_like_account(wallet: float, btc: float = 106_000.0, eth: float = 3_600.0) -> Account:
    """A cross account long 1 BTC (entry 110,000) and 20 ETH (entry 3,900)."""
    return Account(
        "binanceusdm",
        wallet,
        (
            Position(BTC, Side.LONG, 1.0, 110_000.0, btc, default_tiers("binanceusdm", "BTC")),
            Position(ETH, Side.LONG, 20.0, 3_900.0, eth, default_tiers("binanceusdm", "ETH")),
        ),
    )


class FakeConnector:
    """Serves a settable account; ``fail`` makes every call raise a ConnectorError.
    ``holding`` False serves it without positions; ``record`` is what its exchange's record
    of liquidations says (offered when ``capabilities`` names ``Capability.LIQUIDATIONS``)."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, wallet: float = 17_800.0) -> None:
        self.wallet = wallet
        self.btc = 106_000.0
        self.eth = 3_600.0
        self.holding = True
        self.record: tuple[ForcedClose, ...] = ()
        self.record_reads = 0
        self.fail: ConnectorError | None = None
        self.calls = 0
        self.closed = False

    def fail_with(
        self, kind: ErrorKind = ErrorKind.NETWORK, retry_after: float | None = None
    ) -> None:
        self.fail = ConnectorError(kind, f"fake {kind.value}", retry_after)

    def fetch_account(self) -> Account:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if not self.holding:
            return Account("binanceusdm", self.wallet, ())
        return demo_like_account(self.wallet, self.btc, self.eth)

    def fetch_liquidations(
        self, since_ms: int, kinds: Collection[ContractType] = (ContractType.LINEAR,)
    ) -> tuple[ForcedClose, ...]:
        self.record_reads += 1
        if self.fail is not None:
            raise self.fail
        return tuple(c for c in self.record if c.time_ms >= since_ms)

    def fetch_candles(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 500
    ) -> Candles:
        if self.fail is not None:
            raise self.fail
        n = 200
        rng = np.random.default_rng(1 if symbol == BTC else 2)
        last = self.btc if symbol == BTC else self.eth
        close = last * np.exp(np.cumsum(rng.normal(0, 0.004, n))[::-1] * -1)
        close = close / close[-1] * last
        ts = (np.arange(n, dtype=np.int64) - n) * 3_600_000 + 1_762_000_000_000
        return Candles(
            symbol, timeframe, ts, close, close * 1.003, close * 0.997, close, np.full(n, 100.0)
        )

    def fetch_market(self, symbol: str) -> MarketStats:
        if self.fail is not None:
            raise self.fail
        return MarketStats(symbol, Figure(0.0001, Source.EXCHANGE), Figure(1e5, Source.EXCHANGE))

    def fetch_order_book(self, symbol: str, depth: int = 100) -> OrderBook:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "no book")

    def key_permissions(self) -> KeyPermissions:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def fetch_open_interest_history(
        self, symbol: str, timeframe: str = "1h", limit: int = 500
    ) -> OpenInterestHistory:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def fetch_funding_history(self, symbol: str, limit: int = 100) -> tuple[float, ...]:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def close(self) -> None:
        self.closed = True


def serving(fake: Connector) -> ConnectorFactory:
    """A connector factory that hands out ``fake`` for every account (typed: mypy checks
    that the fake is a ``monitor.ports.Connector``)."""
    return lambda config, credentials, clock: fake
