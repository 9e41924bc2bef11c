"""The local exchange: an HTTP server on 127.0.0.1 speaking the REST APIs of Binance USDⓈ-M,
Bybit v5, OKX v5 and Hyperliquid, replaying a scenario, for the demo and for tests.

    lx = LocalExchange(scenario="2025-11-04", speed=60.0).start()
    creds = lx.credentials("binanceusdm")            # the demo account of that exchange
    ... point ccxt at lx.base_url (recipe: make_client in tests/connectors/test_localexchange.py)
    lx.faults.inject("429", exchange="bybit", retry_after=2)
    lx.faults.inject("timeout", exchange="okx", endpoint="/api/v5/account/positions", times=1)
    lx.faults.clear()
    lx.set_mark("BTC", 101_000.0)                    # pin a mark from now on
    lx.stop()

Modules: ``service`` (LocalExchange), ``server`` (HTTP and routing), ``binance``, ``bybit``,
``okx``, ``hyperliquid`` (one exchange's endpoints each), ``signing`` (HMAC checks),
``accounts`` (accounts and liquidation, through the risk engine), ``scenario`` (price paths),
``market`` (candles, books, funding, open interest), ``clock`` (scenario time), ``faults``,
``timeframes``, ``protocol`` (request/response types). ``python main.py localexchange``
runs it alone (cli/localexchange.py).

Scenario time comes from the injectable ``clock``; the exchanges' own clocks, which signed
requests are checked against, are the real wall clock (plus any injected skew). Timestamps in
market data and accounts are scenario time, so they lie in the past of the scenario's dates.
"""

from connectors.localexchange.scenario import scenario_names
from connectors.localexchange.service import LocalExchange

SCENARIOS: tuple[str, ...] = scenario_names()

__all__ = ["SCENARIOS", "LocalExchange"]
