"""The account's own liquidations, read from each exchange's record through the real ccxt client
against the local exchange: Binance force orders, Bybit BustTrade executions, OKX position
history (type 3), Hyperliquid fills marked as liquidations. One request each; nothing before the
liquidation, nothing after the window asked for."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from connectors.types import Capability
from risk.types import ContractType, Side

EXCHANGES = ("binanceusdm", "bybit", "okx", "hyperliquid")
RECORDS = {
    "binanceusdm": "Binance's force orders",
    "bybit": "Bybit's BustTrade executions",
    "okx": "OKX's position history",
    "hyperliquid": "Hyperliquid's liquidation fills",
}
HOLDINGS = [
    {"symbol": "BTC", "side": "long", "size": 1.0, "entry": 100_000.0},
    {"symbol": "ETH", "side": "short", "size": 4.0, "entry": 3_500.0},
]


@pytest.fixture(scope="module")
def lx() -> Iterator[LocalExchange]:
    server = LocalExchange(scenario="2025-11-04", speed=1.0, port=0).start()
    yield server
    server.stop()


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_liquidation_is_read_from_the_exchanges_own_record(
    lx: LocalExchange, exchange: str
) -> None:
    lx.set_mark("BTC", 100_000.0)
    lx.set_mark("ETH", 3_500.0)
    creds = lx.add_account(exchange, wallet_balance=12_000.0, positions=HOLDINGS)
    conn = ExchangeConnector(exchange, creds, api_url=lx.base_url)
    assert Capability.LIQUIDATIONS in conn.capabilities
    before = conn.fetch_account()
    assert len(before.positions) == 2
    since_ms = int(time.time() * 1000) - 1_000
    assert conn.fetch_liquidations(since_ms) == ()

    lx.set_mark("BTC", 85_000.0)
    after = conn.fetch_account()
    assert after.positions == () and after.wallet_balance < before.wallet_balance
    sent = conn.requests_made
    closes = conn.fetch_liquidations(since_ms)
    assert conn.requests_made == sent + 1

    by_side = {(c.symbol.split("/")[0], c.side): c for c in closes}
    assert set(by_side) == {("BTC", Side.LONG), ("ETH", Side.SHORT)}
    btc = by_side[("BTC", Side.LONG)]
    assert btc.size == pytest.approx(1.0)
    assert btc.price == pytest.approx(85_000.0, rel=1e-4)
    assert by_side[("ETH", Side.SHORT)].size == pytest.approx(4.0)
    assert since_ms <= btc.time_ms <= time.time() * 1000 + 1_000
    assert btc.source == RECORDS[exchange]
    # asked from after the liquidation: nothing
    assert conn.fetch_liquidations(int(time.time() * 1000) + 1_000) == ()
    conn.close()


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_a_coin_margined_liquidation_is_read_from_its_own_record(
    lx: LocalExchange, exchange: str
) -> None:
    """COIN-M on Binance (/dapi/v1/forceOrders), Bybit's inverse category, OKX's
    coin-margined swaps (the same position history): sizes in USD, as the position's."""
    lx.set_mark("BTC", 100_000.0)
    creds = lx.add_account(
        exchange,
        wallet_balance=500.0,
        balances={"BTC": 0.03},
        positions=[
            {"symbol": "BTC", "side": "long", "inverse": True, "size": 30_000.0, "entry": 1e5}
        ],
    )
    conn = ExchangeConnector(exchange, creds, api_url=lx.base_url)
    [held] = conn.fetch_account().positions
    assert held.contract_type is ContractType.INVERSE
    since_ms = int(time.time() * 1000) - 1_000
    lx.set_mark("BTC", 85_000.0)
    assert conn.fetch_account().positions == ()
    sent = conn.requests_made
    [close] = conn.fetch_liquidations(since_ms, {ContractType.INVERSE})
    assert conn.requests_made == sent + 1
    assert (close.symbol, close.side) == (held.symbol, Side.LONG)
    assert close.size == pytest.approx(30_000.0)
    assert close.price == pytest.approx(85_000.0, rel=1e-4)
    assert close.source == RECORDS[exchange]
    conn.close()
