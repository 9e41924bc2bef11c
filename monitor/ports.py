"""What the monitor needs of the layers below it, as Protocols: a connector (one account's
reads). ``connectors.exchange.ExchangeConnector`` satisfies
``Connector``; so does the tests' in-memory fake (tests/monitor_fakes.py), checked by mypy.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from connectors.types import Capability, KeyPermissions
from risk.types import Account, Candles, MarketStats, OrderBook

OpenInterestHistory = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]
"""(snapshot times in ms, open interest in base units), oldest first."""


class Connector(Protocol):
    """One exchange account's reads (the contract in ``ExchangeConnector``'s docstring).
    Every method raises only ``connectors.types.ConnectorError``. The optional reads are
    called only when ``capabilities`` declares them."""

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def fetch_account(self) -> Account: ...

    def fetch_candles(
        self, symbol: str, timeframe: str = ..., since_ms: int | None = ..., limit: int = ...
    ) -> Candles: ...

    def fetch_market(self, symbol: str) -> MarketStats: ...

    def fetch_order_book(self, symbol: str, depth: int = ...) -> OrderBook: ...

    def key_permissions(self) -> KeyPermissions: ...

    def fetch_open_interest_history(
        self, symbol: str, timeframe: str = ..., limit: int = ...
    ) -> OpenInterestHistory: ...

    def fetch_funding_history(self, symbol: str, limit: int = ...) -> tuple[float, ...]: ...

    def close(self) -> None: ...
