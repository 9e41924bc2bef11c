"""The local exchange: an HTTP server on 127.0.0.1 speaking the REST APIs of Binance USDⓈ-M,
Bybit v5, OKX v5 and Hyperliquid, and a WebSocket server beside it speaking their streaming
APIs, replaying a scenario (prices, the market's liquidation prints, the demo accounts), for
the demo and for tests.

    lx = LocalExchange(scenario="2025-11-04", speed=60.0).start()
    creds = lx.credentials("binanceusdm")            # the demo account of that exchange
    ... point ccxt at lx.base_url (recipe: make_client in tests/connectors/test_localexchange.py)
    lx.faults.inject("429", exchange="bybit", retry_after=2)
    lx.faults.inject("timeout", exchange="okx", endpoint="/api/v5/account/positions", times=1)
    lx.faults.clear()
    lx.set_mark("BTC", 101_000.0)                    # pin a mark from now on (pushed at once)
    ... point ccxt.pro at lx.ws_url too (connectors.streams.make_client)
    lx.faults.inject("ws_silent", exchange="okx", seconds=30)
    lx.ws.drop_all()                                 # every stream connection, without a close
    lx.stop()

Modules: ``service`` (LocalExchange), ``server`` (HTTP and routing), ``binance``, ``bybit``,
``okx``, ``hyperliquid`` (one exchange's endpoints each), ``signing`` (HMAC checks),
``accounts`` (accounts and liquidation, through the risk engine), ``scenario`` (price paths),
``market`` (candles, books, funding, open interest), ``clock`` (scenario time), ``faults``,
``timeframes``, ``protocol`` (request/response types); the streaming side: ``wsserver`` (the
aiohttp server and its faults), ``wssession`` (what a connection is made of), ``ws_binance``,
``ws_bybit``, ``ws_okx``, ``ws_hyperliquid`` (one venue's streaming protocol each),
``listenkeys`` (Binance's user-data keys), ``liquidations`` (the market's liquidation prints,
from ``resources/scenarios/<name>.liquidations.json``). ``python main.py localexchange`` runs
it alone (cli/localexchange.py).

Scenario time comes from the injectable ``clock``; the exchanges' own clocks, which signed
requests are checked against, are the real wall clock (plus any injected skew). Timestamps in
market data and accounts are scenario time, so they lie in the past of the scenario's dates.
"""

from connectors.localexchange.scenario import scenario_names
from connectors.localexchange.service import LocalExchange

SCENARIOS: tuple[str, ...] = scenario_names()

__all__ = ["SCENARIOS", "LocalExchange"]
