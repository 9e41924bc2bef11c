"""What the monitor needs of the layers below it, as Protocols: a connector (one account's
reads), the store (the database's repositories it uses) and the push channels' sender.

``connectors.exchange.ExchangeConnector`` satisfies ``Connector``, and so does the tests'
in-memory fake (tests/monitor/monitor_fakes.py); ``storage.database.Database`` satisfies
``MonitorStore``; ``notify.sender.PushSender`` satisfies ``PushPort``. mypy checks them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from alerts.state import LiquidationFlows
from connectors.credentials import Credentials
from connectors.types import Capability, KeyPermissions
from notify.channel import ChannelHealth
from notify.message import Notice
from risk.report import AccountReport
from risk.types import Account, Candles, ContractType, ForcedClose, MarketStats, OrderBook
from settings.store import KeyValues
from storage.records import (
    AccountRecord,
    EventRecord,
    LiquidationMinute,
    LiquidationSeries,
    PruneResult,
    WarningChange,
    WarningRecord,
)

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

    def fetch_liquidations(
        self, since_ms: int, kinds: Collection[ContractType] = ...
    ) -> tuple[ForcedClose, ...]: ...

    def close(self) -> None: ...


class PushPort(Protocol):
    """The push channels' sender (``notify.sender.PushSender``): takes each warning change
    without waiting (it delivers on threads of its own) and says which channels fail."""

    def submit(self, notice: Notice) -> None: ...

    def health(self) -> Mapping[str, ChannelHealth]: ...


class SecretSource(Protocol):
    """The secret store, as the monitor reads an account's key (``storage.secrets``)."""

    def get(self, name: str) -> Credentials | None: ...


class AccountStore(Protocol):
    def all(self) -> list[AccountRecord]: ...

    def add(self, record: AccountRecord) -> AccountRecord: ...


class SnapshotStore(Protocol):
    def save(self, account_id: int, report: AccountReport, ts_ms: int) -> int: ...


class CandleStore(Protocol):
    def save(self, candles: Candles) -> int: ...


class WarningStore(Protocol):
    """Where the warning lifecycle keeps its records, so a restart neither repeats nor
    forgets one."""

    def upsert(self, record: WarningRecord) -> WarningRecord: ...

    def all(self, active_only: bool = ...) -> Sequence[WarningRecord]: ...

    def log(self, change: WarningChange) -> None: ...

    def changes(self, limit: int = ...) -> Sequence[WarningChange]: ...


class LiquidationStore(Protocol):
    """The market's liquidations per minute and the spans they were recorded over."""

    def add(self, minutes: Iterable[LiquidationMinute]) -> int: ...

    def cover(self, exchange: str, symbol: str, from_ms: int, to_ms: int) -> None: ...

    def covered_since(self, exchange: str, symbol: str, now_ms: int) -> int | None: ...

    def query(
        self,
        exchange: str,
        symbol: str,
        since_ms: int | None = ...,
        until_ms: int | None = ...,
    ) -> LiquidationSeries: ...


class LiveSource(Protocol):
    """What the jobs need of the streams (``monitor.live.LiveFeed``)."""

    def liquidation_flows(
        self, account_id: int, account: Account
    ) -> Mapping[str, LiquidationFlows]: ...

    def after_read(self, account_id: int) -> None: ...


class EventSource(Protocol):
    def between(self, from_ms: int, to_ms: int) -> list[EventRecord]: ...


class MonitorStore(Protocol):
    """The database as the watch loop uses it."""

    @property
    def accounts(self) -> AccountStore: ...

    @property
    def snapshots(self) -> SnapshotStore: ...

    @property
    def candles(self) -> CandleStore: ...

    @property
    def warnings(self) -> WarningStore: ...

    @property
    def events(self) -> EventSource: ...

    @property
    def liquidations(self) -> LiquidationStore: ...

    @property
    def settings(self) -> KeyValues: ...

    @property
    def path(self) -> Path:
        """The database file: the calendar feeds' cache is kept in its folder, and a failed
        write's cause is asked of its filesystem (``storage.failures``)."""

    def prune(self, now_ms: int) -> PruneResult: ...
