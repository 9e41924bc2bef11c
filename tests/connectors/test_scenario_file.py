"""A scenario read from a file (the benchmarks' own, not shipped): its liquidation tape beside
it, and synthetic assets served with the tiers of the asset they name (``tiers_like``)."""

from __future__ import annotations

from pathlib import Path

from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from connectors.localexchange.scenario import Scenario, scenario_names
from resources import default_tiers

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "scenarios" / "bench-10.json"


def test_a_scenario_file_with_ten_assets_is_served() -> None:
    scenario = Scenario.load(str(BENCH))
    assert scenario.path == BENCH and len(scenario.symbols) == 10
    assert "bench-10" not in scenario_names()  # not offered as a demo
    lx = LocalExchange(scenario=str(BENCH)).start()
    try:
        lx.seek(3600)
        t = lx.tick_ms()
        assert lx.tape.spec is not None
        assert lx.tape.notional("binanceusdm", "SYN1", "long", t - 600_000, t) > 0
        conn = ExchangeConnector("binanceusdm", lx.credentials("binanceusdm"), api_url=lx.base_url)
        account = conn.fetch_account()
        conn.close()
    finally:
        lx.stop()
    assert len(account.positions) == 10
    syn = next(p for p in account.positions if p.symbol == "SYN1/USDT:USDT")
    eth = default_tiers("binanceusdm", "ETH")
    assert [t.maintenance_margin_rate for t in syn.tiers] == [
        t.maintenance_margin_rate for t in eth
    ]
