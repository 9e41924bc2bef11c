"""Coin-margined contracts and margin pools end to end: the real ccxt client reads the scenario's
"coin_margined" account from the local exchange through each venue's own endpoints (Binance
COIN-M /dapi, Bybit category=inverse, OKX BTC-USD-SWAP), and `main.py report` prints what the
engine computes, to the local exchange's own figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from risk.report import build_report
from risk.types import ContractType, PoolMode
from tests.paths import REPO_ROOT

VENUES = ("binanceusdm", "bybit", "okx")
MARKS = {"BTC": 100_000.0, "ETH": 3_500.0}


@pytest.fixture(scope="module")
def lx() -> Iterator[LocalExchange]:
    server = LocalExchange(scenario="2025-11-04", speed=1.0, port=0).start()
    for base, price in MARKS.items():
        server.set_mark(base, price)
    yield server
    server.stop()


def local_report(lx: LocalExchange, exchange: str):  # type: ignore[no-untyped-def]
    creds = lx.credentials(exchange, "coin_margined")
    key = creds.wallet if exchange == "hyperliquid" else creds.api_key
    view = lx.account_view(lx.account(exchange, key))
    assert view.report is not None
    return view.report


@pytest.mark.parametrize("exchange", VENUES)
def test_inverse_positions_are_read_and_solved_like_the_exchange(
    lx: LocalExchange, exchange: str
) -> None:
    creds = lx.credentials(exchange, "coin_margined")
    conn = ExchangeConnector(exchange, creds, api_url=lx.base_url)
    account = conn.fetch_account()
    conn.close()
    kinds = sorted((p.base, p.contract_type.value, p.side.name) for p in account.positions)
    assert kinds == [("BTC", "inverse", "LONG"), ("BTC", "linear", "LONG"),
                     ("ETH", "inverse", "SHORT")]  # fmt: skip
    assert account.pool_mode is (PoolMode.SHARED if exchange == "bybit" else PoolMode.SEPARATE)
    assert {c.coin: c.balance for c in account.collateral}.items() >= {"BTC": 0.35}.items()
    ours = build_report(account)
    theirs = local_report(lx, exchange)
    want = {(p.symbol[:3], p.contract_type): p for p in theirs.positions}
    for p in ours.positions:
        w = want[(p.symbol[:3], p.contract_type)]
        assert p.size == pytest.approx(w.size)
        assert p.maintenance_margin == pytest.approx(w.maintenance_margin, rel=1e-6)
        assert p.liquidation_price is not None and w.liquidation_price is not None
        assert p.liquidation_price.value == pytest.approx(w.liquidation_price.value, rel=1e-6)
        if p.contract_type is ContractType.INVERSE:
            assert p.settle == p.symbol[:3]
    assert {pool.currency for pool in ours.pools} == {pool.currency for pool in theirs.pools}
    if exchange == "okx":
        assert account.taker_fee_rate == pytest.approx(0.0005)


def test_the_report_command_shows_pools_and_inverse_positions(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm", "coin_margined")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")}
    env = {**clean, "CASCADE_API_KEY": creds.api_key, "CASCADE_API_SECRET": creds.secret}
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "report", "--exchange", "binanceusdm",
         "--api-url", lx.base_url, "--json"],
        env=env, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {p["currency"] for p in data["pools"]} == {"USDT", "BTC", "ETH"}
    inverse = [p for p in data["positions"] if p["contract_type"] == "inverse"]
    assert {(p["settle"], p["pool"]) for p in inverse} == {("BTC", "BTC"), ("ETH", "ETH")}
    theirs = local_report(lx, "binanceusdm")
    by_key = {(p.symbol[:3], p.contract_type.value): p for p in theirs.positions}
    for p in data["positions"]:
        want = by_key[(p["symbol"][:3], p["contract_type"])].liquidation_price
        assert want is not None
        assert p["liquidation_price"] == pytest.approx(want.value, rel=1e-6)
    assert data["account"]["sources"]["equity"] == "computed"
    assert data["account"]["sources"]["exchange_equity"].startswith("exchange: Binance")
