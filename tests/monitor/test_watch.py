"""What the window watches is fetched whether or not a position is open: the chart's symbol
at the chart's bar length and the leader, from the account whose exchange serves them."""

from __future__ import annotations

import threading
import time

import pytest

from connectors.types import ConnectorError, ErrorKind
from monitor.events import CHART_TIMEFRAMES, MarketUpdate, NullCallbacks, Watch
from monitor.service import WatchService
from risk.types import Account, Candles
from storage.database import Database
from tests.monitor.monitor_fakes import BTC, ETH, FakeConnector, serving

pytestmark = pytest.mark.usefixtures("main_account")


class FlatConnector(FakeConnector):
    """An account with no open position; ``unserved`` bar lengths are not offered."""

    def __init__(self, unserved: tuple[str, ...] = ()) -> None:
        super().__init__(wallet=12_000.0)
        self.unserved = unserved
        self.asked: list[tuple[str, str]] = []

    def fetch_account(self) -> Account:
        self.calls += 1
        return Account("binanceusdm", self.wallet, ())

    def fetch_candles(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 500
    ) -> Candles:
        self.asked.append((symbol, timeframe))
        if timeframe in self.unserved:
            raise ConnectorError(ErrorKind.NOT_SUPPORTED, f"no {timeframe} bars")
        return super().fetch_candles(symbol, timeframe, since_ms, limit)


class Markets(NullCallbacks):
    def __init__(self) -> None:
        self.updates: list[MarketUpdate] = []
        self.lock = threading.Lock()

    def on_market(self, u: MarketUpdate) -> None:
        with self.lock:
            self.updates.append(u)

    def of(self, symbol: str) -> list[MarketUpdate]:
        with self.lock:
            return [u for u in self.updates if u.symbol == symbol]


def test_the_chart_symbol_is_fetched_and_reported_with_no_position_open(db: Database) -> None:
    fake = FlatConnector()
    markets = Markets()
    svc = WatchService(db, None, markets, connector_factory=serving(fake), poll_interval_s=5)
    svc.tick()
    svc.jobs.refresh_markets()
    assert markets.updates == [], "nothing held, nothing watched: nothing fetched"

    svc.set_watch(Watch(frozenset({BTC}), BTC, "15m"))
    svc.jobs.refresh_markets()
    btc = markets.of(BTC)
    assert btc, "the watched symbol is reported although no position holds it"
    last = btc[-1]
    assert last.candles is not None and last.candles.timeframe == "1h"
    assert last.series["15m"].timeframe == "15m" and len(last.series["15m"]) > 100
    assert last.timeframes == CHART_TIMEFRAMES
    assert (BTC, "15m") in fake.asked
    assert not markets.of(ETH)

    # the chart moves on: the next refresh reports the symbol again, with its newest bars
    before = len(markets.of(BTC))
    svc.jobs.refresh_markets()
    assert len(markets.of(BTC)) > before


def test_a_bar_length_the_exchange_does_not_serve_is_no_longer_offered(db: Database) -> None:
    fake = FlatConnector(unserved=("5m",))
    markets = Markets()
    svc = WatchService(db, None, markets, connector_factory=serving(fake), poll_interval_s=5)
    svc.tick()
    svc.set_watch(Watch(frozenset({BTC}), BTC, "5m"))
    svc.jobs.refresh_markets()
    last = markets.of(BTC)[-1]
    assert "5m" not in last.timeframes and "5m" not in last.series
    assert "15m" in last.timeframes


def test_a_new_chart_bar_length_is_fetched_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The market refresh runs every minute; a new chart symbol or bar length does not wait
    for it (the minute's refresh is switched off here: only the one-off chart job runs)."""
    fake = FlatConnector()
    markets = Markets()
    svc = WatchService(
        db,
        None,
        markets,
        connector_factory=serving(fake),
        poll_interval_s=5,
        market_interval_s=600,
    )
    monkeypatch.setattr(svc.jobs, "refresh_markets", lambda: None)
    svc.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and fake.calls == 0:
            time.sleep(0.05)
        svc.set_watch(Watch(frozenset({BTC}), BTC, "5m"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("5m" in u.series for u in markets.of(BTC)):
            time.sleep(0.05)
        assert any(u.series.get("5m") is not None for u in markets.of(BTC))
        assert (BTC, "5m") in fake.asked and (BTC, "1h") in fake.asked
    finally:
        svc.stop()
