"""The real ccxt client against the local exchange, end to end, for all four exchanges.

Nothing here reaches the internet: every connector points at the local exchange's base URL and
ccxt's currency/extra-market calls are switched off in connectors/venues.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from connectors.credentials import Credentials
from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from connectors.localexchange.accounts import LEVERAGE
from connectors.types import ConnectorError, ErrorKind
from resources import default_tiers
from risk.report import build_report
from risk.types import Account, MarginMode, Position, Side
from tests.paths import REPO_ROOT

EXCHANGES = ("binanceusdm", "bybit", "okx", "hyperliquid")
MARKS = {"BTC": 100_000.0, "ETH": 3_500.0}
WALLET = 20_000.0
HOLDINGS = [
    {"symbol": "BTC", "side": "long", "size": 0.5, "entry": 95_000.0},
    {"symbol": "ETH", "side": "short", "size": 4.0, "entry": 3_600.0},
]
REQUESTS_PER_POLL = {"binanceusdm": 4, "bybit": 4, "okx": 2, "hyperliquid": 1}
TIER_ONLY = {"binanceusdm": 1, "bybit": 2, "okx": 2, "hyperliquid": 1}
SETTINGS_REQUESTS = {"binanceusdm": 1, "bybit": 1, "okx": 2, "hyperliquid": 0}
"""Hourly besides the tiers: the account's settings (Binance's asset mode; Bybit's collateral
ratios; OKX's account level and taker rate)."""
TIER_REQUESTS = {k: TIER_ONLY[k] + SETTINGS_REQUESTS[k] for k in TIER_ONLY}


class FakeClock:
    """The connector's clock: tier age and rate-limit back-off are read from it."""

    def __init__(self) -> None:
        self.now = 1_762_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def lx() -> Iterator[object]:
    server = LocalExchange(scenario="2025-11-04", speed=1.0, port=0).start()
    for base, price in MARKS.items():
        server.set_mark(base, price)
    yield server
    server.stop()


def settle(exchange: str) -> str:
    return "USDC" if exchange == "hyperliquid" else "USDT"


def symbol(exchange: str, base: str) -> str:
    coin = settle(exchange)
    return f"{base}/{coin}:{coin}"


def account(lx: object, exchange: str, **kwargs: object) -> Credentials:
    creds: Credentials = lx.add_account(  # type: ignore[attr-defined]
        exchange, wallet_balance=WALLET, positions=HOLDINGS, **kwargs
    )
    return creds


def connector(lx: object, exchange: str, creds: Credentials, **kwargs: object) -> ExchangeConnector:
    return ExchangeConnector(exchange, creds, api_url=lx.base_url, **kwargs)  # type: ignore[attr-defined, arg-type]


def expected_account(exchange: str) -> Account:
    """The same account built by hand from the inputs the local exchange was given."""
    positions = []
    for h in HOLDINGS:
        sym = symbol(exchange, str(h["symbol"]))
        positions.append(
            Position(
                symbol=sym,
                side=Side.parse(str(h["side"])),
                contracts=float(h["size"]),  # type: ignore[arg-type]
                entry_price=float(h["entry"]),  # type: ignore[arg-type]
                mark_price=MARKS[str(h["symbol"])],
                tiers=default_tiers(exchange, sym),
                leverage=LEVERAGE,
            )
        )
    return Account(exchange, WALLET, tuple(positions))


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_reading_an_account_gives_the_right_report(lx: object, exchange: str) -> None:
    conn = connector(lx, exchange, account(lx, exchange), label="main")
    acct = conn.fetch_account()
    assert acct.exchange == exchange and acct.label == "main"
    assert acct.wallet_balance == pytest.approx(WALLET, rel=1e-6)
    got = {p.symbol: p for p in acct.positions}
    assert set(got) == {symbol(exchange, "BTC"), symbol(exchange, "ETH")}
    for h in HOLDINGS:
        p = got[symbol(exchange, str(h["symbol"]))]
        assert p.side is Side.parse(str(h["side"]))
        assert p.size == pytest.approx(float(h["size"]))  # type: ignore[arg-type]
        assert p.entry_price == pytest.approx(float(h["entry"]))  # type: ignore[arg-type]
        assert p.mark_price == pytest.approx(MARKS[str(h["symbol"])], rel=1e-6)
        assert p.margin_mode is MarginMode.CROSS
        assert p.tiers[0].maintenance_margin_rate > 0

    ours = build_report(acct)
    want = build_report(expected_account(exchange))
    assert ours.equity == pytest.approx(want.equity, rel=1e-6)
    assert ours.maintenance_margin == pytest.approx(want.maintenance_margin, rel=1e-4)
    assert acct.exchange_maintenance_margin is not None
    assert acct.exchange_maintenance_margin.value == pytest.approx(
        want.maintenance_margin, rel=1e-3
    )
    assert acct.exchange_margin_ratio is not None
    # Bybit sends accountMMRate with 4 decimals
    assert acct.exchange_margin_ratio.value == pytest.approx(want.margin_ratio, rel=1e-3, abs=5e-5)
    want_lp = {p.symbol: p.liquidation_price for p in want.positions}
    for p in ours.positions:
        assert p.liquidation_price is not None and want_lp[p.symbol] is not None
        assert p.liquidation_price.value == pytest.approx(want_lp[p.symbol].value, rel=1e-4)
        assert p.mismatch is None
    conn.close()


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_requests_per_poll_and_hourly_tier_refresh(lx: object, exchange: str) -> None:
    clock = FakeClock()
    conn = connector(lx, exchange, account(lx, exchange), clock=clock)
    conn.fetch_account()
    first = conn.requests_made
    acct = conn.fetch_account()
    assert conn.requests_made - first == REQUESTS_PER_POLL[exchange]
    assert acct.as_of_ms == int(clock.now * 1000)
    assert acct.exchange_margin_ratio is not None
    assert acct.exchange_margin_ratio.as_of_ms == acct.as_of_ms
    clock.advance(3601)
    before = conn.requests_made
    conn.fetch_account()
    assert conn.requests_made - before == REQUESTS_PER_POLL[exchange] + TIER_REQUESTS[exchange]


FAULTS = [
    ("429", {"retry_after": 2}, ErrorKind.RATE_LIMITED),
    ("418", {"retry_after": 2}, ErrorKind.RATE_LIMITED),
    ("5xx", {"status": 502}, ErrorKind.EXCHANGE_DOWN),
    ("maintenance", {}, ErrorKind.EXCHANGE_DOWN),
    ("malformed", {}, ErrorKind.MALFORMED),
    ("timeout", {"seconds": 3}, ErrorKind.TIMEOUT),
    ("latency", {"seconds": 1.5}, ErrorKind.TIMEOUT),
]


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(("fault", "params", "kind"), FAULTS, ids=[f[0] for f in FAULTS])
def test_faults_become_connector_errors_and_the_connector_recovers(
    lx: object, exchange: str, fault: str, params: dict[str, object], kind: ErrorKind
) -> None:
    clock = FakeClock()
    creds = account(lx, exchange)
    conn = connector(lx, exchange, creds, clock=clock, timeout_ms=800)
    conn.fetch_account()
    lx.faults.inject(fault, exchange=exchange, **params)  # type: ignore[attr-defined]
    with pytest.raises(ConnectorError) as info:
        conn.fetch_account()
    err = info.value
    assert err.kind is kind, err.message
    assert "\n" not in err.message and "http" not in err.message
    assert creds.secret not in err.message or not creds.secret
    if kind is ErrorKind.RATE_LIMITED:
        assert err.retry_after == pytest.approx(2.0)
        sent = conn.requests_made
        with pytest.raises(ConnectorError) as again:
            conn.fetch_account()
        assert again.value.kind is ErrorKind.RATE_LIMITED
        assert conn.requests_made == sent, "must not send while backing off"
    lx.faults.clear()  # type: ignore[attr-defined]
    clock.advance(5)
    assert len(conn.fetch_account().positions) == 2


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_clock_skew_is_measured_compensated_and_reported(lx: object, exchange: str) -> None:
    conn = connector(lx, exchange, account(lx, exchange))
    conn.fetch_account()
    lx.faults.inject("clock_skew", exchange=exchange, skew_ms=-60_000)  # type: ignore[attr-defined]
    acct = conn.fetch_account()
    assert any("clock is off by 60" in n and "sync it" in n for n in acct.notes), acct.notes
    lx.faults.clear()  # type: ignore[attr-defined]
    assert len(conn.fetch_account().positions) == 2


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_a_wrong_secret_is_refused_as_auth(lx: object, exchange: str) -> None:
    good = account(lx, exchange)
    bad = Credentials(good.api_key, good.secret[::-1], good.password)
    conn = connector(lx, exchange, bad)
    with pytest.raises(ConnectorError) as info:
        conn.fetch_account()
    assert info.value.kind is ErrorKind.AUTH
    assert bad.secret not in info.value.message and bad.api_key not in info.value.message


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_key_that_can_withdraw_is_flagged(lx: object, exchange: str) -> None:
    read_only = connector(lx, exchange, account(lx, exchange)).key_permissions()
    assert read_only.can_read and read_only.known and not read_only.can_withdraw
    if exchange == "hyperliquid":
        return
    risky = connector(lx, exchange, account(lx, exchange, can_withdraw=True)).key_permissions()
    assert risky.known and risky.can_withdraw
    assert risky.warning is not None and "WITHDRAW" in risky.warning


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_market_data(lx: object, exchange: str) -> None:
    conn = connector(lx, exchange, account(lx, exchange))
    sym = symbol(exchange, "BTC")
    candles = conn.fetch_candles(sym, "1h", limit=24)
    assert 0 < len(candles) <= 24 and (candles.high >= candles.low).all()
    book = conn.fetch_order_book(sym, depth=20)
    assert book.bids.shape[1] == 2 and book.bids[0, 0] < book.asks[0, 0]
    stats = conn.fetch_market(sym)
    assert stats.funding_rate is not None
    assert stats.mark_price is not None and stats.open_interest is not None
    assert stats.mark_price.value == pytest.approx(MARKS["BTC"], rel=1e-6)
    with pytest.raises(ConnectorError) as info:
        conn.fetch_candles("NOPE/USDT:USDT")
    assert info.value.kind is ErrorKind.UNKNOWN_SYMBOL


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CASCADE_")}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "report", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
    )


def env_for(exchange: str, creds: Credentials) -> dict[str, str]:
    if exchange == "hyperliquid":
        return {"CASCADE_WALLET": creds.wallet}
    env = {"CASCADE_API_KEY": creds.api_key, "CASCADE_API_SECRET": creds.secret}
    if creds.password:
        env["CASCADE_API_PASSWORD"] = creds.password
    return env


@pytest.mark.parametrize("exchange", ["binanceusdm", "hyperliquid"])
def test_report_cli_end_to_end(lx: object, exchange: str) -> None:
    creds = account(lx, exchange, can_withdraw=exchange != "hyperliquid")
    args = ["--exchange", exchange, "--api-url", lx.base_url, "--json", "--label", "L"]  # type: ignore[attr-defined]
    done = cli(args, env_for(exchange, creds))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {p["symbol"] for p in data["positions"]} == {
        symbol(exchange, "BTC"),
        symbol(exchange, "ETH"),
    }
    for p in data["positions"]:
        assert "exchange_liquidation_price" in p and p["liquidation_price_mismatch"] is None
        assert p["liquidation_price"] > 0
    assert data["account"]["label"] == "L"
    assert data["key_permissions"]["can_withdraw"] is (exchange != "hyperliquid")
    table = cli(args[:-3], env_for(exchange, creds))
    assert table.returncode == 0 and "liq. price" in table.stdout


def test_report_cli_errors_are_one_line(lx: object) -> None:
    creds = account(lx, "bybit")
    base = ["--exchange", "bybit", "--api-url", lx.base_url]  # type: ignore[attr-defined]
    bad = cli(base, {"CASCADE_API_KEY": creds.api_key, "CASCADE_API_SECRET": "x" * 20})
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stdout == ""
    assert "x" * 20 not in bad.stderr
    missing = cli(base, {})
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1


TIER_ENDPOINTS = {
    "binanceusdm": "/fapi/v1/leverageBracket",
    "bybit": "/v5/market/risk-limit",
    "okx": "/api/v5/public/position-tiers",
}


@pytest.mark.parametrize("exchange", sorted(TIER_ENDPOINTS))
def test_a_failed_hourly_tier_refresh_keeps_the_last_tiers(lx: object, exchange: str) -> None:
    clock = FakeClock()
    conn = connector(lx, exchange, account(lx, exchange), clock=clock)
    tiers = {p.symbol: p.tiers for p in conn.fetch_account().positions}
    clock.advance(3601)
    lx.faults.inject("5xx", exchange=exchange, endpoint=TIER_ENDPOINTS[exchange])  # type: ignore[attr-defined]
    acct = conn.fetch_account()
    assert {p.symbol: p.tiers for p in acct.positions} == tiers
    assert any("tiers not refreshed" in n for n in acct.notes)
    lx.faults.clear()  # type: ignore[attr-defined]
    clock.advance(61)
    before = conn.requests_made
    assert not conn.fetch_account().notes
    assert conn.requests_made - before == REQUESTS_PER_POLL[exchange] + TIER_ONLY[exchange]


def test_binance_unknown_key_is_the_ambiguous_2015(lx: object) -> None:
    conn = connector(lx, "binanceusdm", Credentials("a1b2c3d4e5f6", "secret-secret"))
    with pytest.raises(ConnectorError) as info:
        conn.fetch_account()
    assert info.value.kind is ErrorKind.PERMISSION
    assert "-2015" in info.value.message and "whitelist" in info.value.message


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_markets_are_loaded_once_per_exchange_and_base_url(lx: object, exchange: str) -> None:
    connector(lx, exchange, account(lx, exchange)).fetch_account()
    second = connector(lx, exchange, account(lx, exchange))
    second.fetch_account()
    assert second.requests_made == REQUESTS_PER_POLL[exchange] + TIER_REQUESTS[exchange]


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_open_interest_history(lx: object, exchange: str) -> None:
    """Hourly open interest in base units, oldest first, for the liquidation map's vintages;
    empty where the venue (or the local exchange's copy of it) offers no history."""
    conn = connector(lx, exchange, account(lx, exchange))
    if exchange == "okx":  # the local exchange does not serve OKX's rubik statistics
        with pytest.raises(ConnectorError):
            conn.fetch_open_interest_history(symbol(exchange, "BTC"), "1h", limit=48)
        return
    ts, oi = conn.fetch_open_interest_history(symbol(exchange, "BTC"), "1h", limit=48)
    assert ts.shape == oi.shape
    if exchange == "binanceusdm":
        assert ts.shape[0] == 48
    if ts.shape[0]:
        assert (np.diff(ts) == 3_600_000).all() and (oi > 0).all()
        current = conn.fetch_market(symbol(exchange, "BTC")).open_interest
        assert current is not None
        assert oi[-1] == pytest.approx(current.value, rel=0.05)
