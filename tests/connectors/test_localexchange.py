"""The local exchange, exercised by real ccxt 4.5.90 clients over loopback (no internet)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import ccxt
import numpy as np
import pytest

from connectors.credentials import Credentials
from connectors.localexchange import SCENARIOS, LocalExchange
from connectors.localexchange.accounts import EXCHANGES
from risk.report import build_report

HOUR = 3600.0
USDT = {"binanceusdm": "USDT", "bybit": "USDT", "okx": "USDT", "hyperliquid": "USDC"}


class FakeClock:
    """Wall seconds that move only when a test moves them."""

    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_client(
    lx: LocalExchange, exchange: str, creds: Credentials | None = None, **config: Any
) -> Any:
    """A ccxt client pointed at the local exchange (ccxt-notes.md §2)."""
    c = creds or lx.credentials(exchange)
    base = lx.base_url
    common = {"enableRateLimit": False, "timeout": 5000, **config}
    if exchange == "binanceusdm":
        ex = ccxt.binanceusdm(
            {
                "apiKey": c.api_key,
                "secret": c.secret,
                "options": {"fetchCurrencies": False},
                **common,
            }
        )
        ex.urls["api"] = {
            k: v.replace("https://fapi.binance.com", base)
            .replace("https://dapi.binance.com", base)
            .replace("https://api.binance.com", base)
            for k, v in ex.urls["api"].items()
        }
    elif exchange == "bybit":
        ex = ccxt.bybit(
            {
                "apiKey": c.api_key,
                "secret": c.secret,
                "has": {"fetchCurrencies": False},
                "options": {"fetchMarkets": {"types": ["linear"]}},
                **common,
            }
        )
        ex.urls["api"] = {k: base for k in ex.urls["api"]}
    elif exchange == "okx":
        ex = ccxt.okx(
            {
                "apiKey": c.api_key,
                "secret": c.secret,
                "password": c.password,
                "options": {"fetchMarkets": {"types": ["swap"]}},
                **common,
            }
        )
        ex.urls["api"] = {"rest": base}
    else:
        ex = ccxt.hyperliquid(
            {"walletAddress": c.wallet, "options": {"fetchMarkets": {"types": ["swap"]}}, **common}
        )
        ex.urls["api"] = {"public": base, "private": base}
    return ex


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def lx(clock: FakeClock) -> Iterator[LocalExchange]:
    server = LocalExchange(scenario="2025-11-04", speed=1.0, clock=clock).start()
    server.seek(30 * HOUR)  # BTC near 106,500: positions open, warnings due, no liquidation yet
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(lx: LocalExchange) -> dict[str, Any]:
    out = {}
    for exchange in EXCHANGES:
        out[exchange] = make_client(lx, exchange)
        out[exchange].load_markets()
    return out


def symbol(exchange: str, base: str = "BTC") -> str:
    coin = USDT[exchange]
    return f"{base}/{coin}:{coin}"


# -- every exchange answers every call the app makes ----------------------------------------


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_markets_positions_and_balance_parse(
    lx: LocalExchange, clients: dict[str, Any], exchange: str
) -> None:
    ex = clients[exchange]
    assert {symbol(exchange), symbol(exchange, "ETH")} <= set(ex.markets)
    positions = {p["symbol"]: p for p in ex.fetch_positions()}
    btc = positions[symbol(exchange)]
    eth = positions[symbol(exchange, "ETH")]
    assert btc["side"] == "long" and eth["side"] == "long"
    assert btc["contracts"] * btc["contractSize"] == pytest.approx(3.0)
    assert eth["contracts"] * eth["contractSize"] == pytest.approx(8.0)
    assert btc["entryPrice"] == pytest.approx(109_000.0)
    assert 100_000 < btc["markPrice"] < 110_000
    assert btc["unrealizedPnl"] < 0
    if exchange == "bybit":
        assert btc["liquidationPrice"] is None  # UTA cross: liqPrice ""
    else:
        assert 95_000 < btc["liquidationPrice"] < btc["markPrice"]
    balance = ex.fetch_balance()
    assert balance["total"][USDT[exchange]] > 0


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_market_data_parses(lx: LocalExchange, clients: dict[str, Any], exchange: str) -> None:
    ex = clients[exchange]
    sym = symbol(exchange)
    now = lx.scenario_time_ms()
    since = now - 100 * 3_600_000
    candles = ex.fetch_ohlcv(sym, "1h", since=since, limit=50)
    assert len(candles) == 50 and candles[0][0] >= since
    assert all(b[0] - a[0] == 3_600_000 for a, b in itertools.pairwise(candles))
    assert all(c[3] <= min(c[1], c[4]) <= max(c[1], c[4]) <= c[2] for c in candles)
    latest = ex.fetch_ohlcv(sym, "1m", since=now - 30 * 60_000, limit=100)
    assert latest[-1][0] == now // 60_000 * 60_000
    book = ex.fetch_order_book(sym)
    assert book["bids"][0][0] < book["asks"][0][0]
    mark = lx.market.mark("BTC", lx.tick_ms())
    assert book["bids"][0][0] == pytest.approx(mark, rel=1e-3)
    tickers = ex.fetch_tickers([sym])
    assert tickers[sym]["last"] == pytest.approx(mark, rel=1e-3)
    funding = ex.fetch_funding_rate(sym)
    assert -0.01 < funding["fundingRate"] < 0.01
    oi = ex.fetch_open_interest(sym)
    assert oi["openInterestAmount"] > 0


@pytest.mark.parametrize("exchange", ["binanceusdm", "bybit", "okx"])
def test_leverage_tiers_carry_the_maintenance_amount(
    clients: dict[str, Any], exchange: str
) -> None:
    ex = clients[exchange]
    if exchange == "okx":
        tiers = ex.fetch_market_leverage_tiers(symbol(exchange))
    else:
        tiers = ex.fetch_leverage_tiers()[symbol(exchange)]
    assert tiers[0]["minNotional"] == 0 and tiers[0]["maintenanceMarginRate"] < 0.01
    second = tiers[1]["info"]
    if exchange == "binanceusdm":
        assert float(second["cum"]) == pytest.approx(50.0)
    elif exchange == "bybit":
        assert float(second["mmDeduction"]) == pytest.approx(1200.0)
        assert tiers[0]["maintenanceMarginRate"] == pytest.approx(0.005)


def test_reported_numbers_are_the_risk_engines(lx: LocalExchange, clients: dict[str, Any]) -> None:
    lx.pause()
    try:
        account = lx.account("binanceusdm")
        view = lx.account_view(account)
        assert view.report is not None
        raw = clients["binanceusdm"].fapiPrivateV3GetAccount()
        assert float(raw["totalMaintMargin"]) == pytest.approx(view.maintenance, abs=1e-6)
        assert float(raw["totalMarginBalance"]) == pytest.approx(view.report.equity, abs=1e-6)
        rows = clients["binanceusdm"].fapiPrivateV3GetPositionRisk()
        liq = {r["symbol"]: float(r["liquidationPrice"]) for r in rows}
        rep = {
            p.symbol: p.liquidation_price.value
            for p in view.report.positions
            if p.liquidation_price
        }
        assert liq["BTCUSDT"] == pytest.approx(rep["BTC"], abs=1e-6)
        wallet = clients["bybit"].privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
        info = wallet["result"]["list"][0]
        bybit_view = lx.account_view(lx.account("bybit"))
        assert float(info["accountMMRate"]) == pytest.approx(bybit_view.margin_ratio, abs=1e-4)
        assert float(info["totalMaintenanceMargin"]) == pytest.approx(
            bybit_view.maintenance, abs=1e-6
        )
        # the same account rebuilt and handed to the engine gives the same report
        again = build_report(account._risk_account({p.base: p.mark for p in view.positions}, 0))
        assert again.margin_ratio == pytest.approx(view.margin_ratio)
    finally:
        lx.resume()


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchange", "code"), [("binanceusdm", "-1022"), ("bybit", "10004"), ("okx", "50113")]
)
def test_bad_signature_is_refused(lx: LocalExchange, exchange: str, code: str) -> None:
    good = lx.credentials(exchange)
    bad = Credentials(api_key=good.api_key, secret="0" * 64, password=good.password)
    ex = make_client(lx, exchange, bad)
    with pytest.raises(ccxt.AuthenticationError, match=code):
        ex.fetch_positions()


@pytest.mark.parametrize(
    ("exchange", "code"), [("binanceusdm", "-2015"), ("bybit", "10003"), ("okx", "50111")]
)
def test_unknown_key_is_refused(lx: LocalExchange, exchange: str, code: str) -> None:
    ex = make_client(lx, exchange, Credentials(api_key="a" * 64, secret="b" * 64, password="x"))
    with pytest.raises(ccxt.AuthenticationError, match=code):
        ex.fetch_positions()


@pytest.mark.parametrize(
    ("exchange", "code"), [("binanceusdm", "-1021"), ("bybit", "10002"), ("okx", "50102")]
)
def test_stale_timestamp_is_refused(lx: LocalExchange, exchange: str, code: str) -> None:
    ex = make_client(lx, exchange)
    ex.options["timeDifference"] = 120_000  # the client's clock runs two minutes slow
    with pytest.raises(ccxt.InvalidNonce, match=code):
        ex.fetch_positions()


def test_clock_skew_fault_shifts_the_server_clock(
    lx: LocalExchange, clients: dict[str, Any]
) -> None:
    lx.faults.inject("clock_skew", exchange="binanceusdm", skew_ms=90_000)
    assert clients["binanceusdm"].fetch_time() - time.time() * 1000 > 80_000
    with pytest.raises(ccxt.InvalidNonce):
        clients["binanceusdm"].fetch_balance()
    clients["bybit"].fetch_balance()  # other exchanges keep their clocks


def test_okx_wrong_passphrase(lx: LocalExchange) -> None:
    good = lx.credentials("okx")
    ex = make_client(
        lx, "okx", Credentials(api_key=good.api_key, secret=good.secret, password="no")
    )
    with pytest.raises(ccxt.AuthenticationError, match="50105"):
        ex.fetch_balance()


def test_extra_accounts_and_permissions(lx: LocalExchange) -> None:
    creds = lx.add_account("binanceusdm", can_withdraw=True, wallet_balance=1234.5, positions=[])
    ex = make_client(lx, "binanceusdm", creds)
    restrictions = ex.sapiGetAccountApiRestrictions()
    assert restrictions["enableWithdrawals"] is True
    assert ex.fetch_balance()["total"]["USDT"] == pytest.approx(1234.5)
    assert ex.fetch_positions() == []
    demo = make_client(lx, "binanceusdm").sapiGetAccountApiRestrictions()
    assert demo["enableWithdrawals"] is False and demo["enableReading"] is True

    bybit = make_client(lx, "bybit", lx.add_account("bybit", can_withdraw=True))
    api = bybit.privateGetV5UserQueryApi()["result"]
    assert "Withdraw" in api["permissions"]["Wallet"] and api["readOnly"] == 0
    assert make_client(lx, "bybit").privateGetV5UserQueryApi()["result"]["readOnly"] == 1

    okx = make_client(lx, "okx", lx.add_account("okx", can_trade=True, can_withdraw=True))
    assert okx.privateGetAccountConfig()["data"][0]["perm"] == "read_only,trade,withdraw"

    wallet = lx.add_account(
        "hyperliquid",
        wallet_balance=500.0,
        positions=[{"symbol": "ETH", "side": "short", "size": 1.0, "entry": 3500.0}],
    )
    hl = make_client(lx, "hyperliquid", wallet)
    (position,) = hl.fetch_positions()
    assert position["side"] == "short" and position["symbol"] == "ETH/USDC:USDC"


# -- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", EXCHANGES)
@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("429", {"retry_after": 2}, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)),
        ("418", {}, (ccxt.DDoSProtection, ccxt.RateLimitExceeded)),
        ("5xx", {"status": 502}, (ccxt.ExchangeNotAvailable,)),
        ("maintenance", {}, (ccxt.ExchangeNotAvailable,)),
    ],
)
def test_faults_become_ccxt_errors(
    lx: LocalExchange,
    clients: dict[str, Any],
    exchange: str,
    kind: str,
    params: dict[str, Any],
    expected: tuple[type[Exception], ...],
) -> None:
    lx.faults.inject(kind, exchange=exchange, **params)
    with pytest.raises(expected):
        clients[exchange].fetch_order_book(symbol(exchange))


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_malformed_json_passes_silently_through_ccxt(
    lx: LocalExchange, clients: dict[str, Any], exchange: str
) -> None:
    """ccxt 4.5.90 does not raise on a 200 answer whose JSON is cut off: it hands back empty
    structures with the raw text as ``info``. A connector must check ``info`` itself."""
    lx.faults.inject("malformed", exchange=exchange)
    assert clients[exchange].fetch_positions() == []
    balance = clients[exchange].fetch_balance()
    assert isinstance(balance["info"], str)
    lx.faults.clear()
    lx.faults.inject("malformed", exchange=exchange, status=500)
    with pytest.raises(ccxt.ExchangeNotAvailable):
        clients[exchange].fetch_balance()


def test_maintenance_is_on_maintenance_where_the_exchange_says_so(
    lx: LocalExchange, clients: dict[str, Any]
) -> None:
    for exchange in ("binanceusdm", "okx"):
        lx.faults.inject("maintenance", exchange=exchange)
        with pytest.raises(ccxt.OnMaintenance):
            clients[exchange].fetch_balance()


def test_429_sends_retry_after(lx: LocalExchange) -> None:
    lx.faults.inject("429", exchange="binanceusdm", endpoint="/fapi/v1/time", retry_after=7)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(lx.base_url + "/fapi/v1/time", timeout=5)
    assert info.value.code == 429 and info.value.headers["Retry-After"] == "7"
    assert json.loads(info.value.read())["code"] == -1003


def test_timeout_and_latency(lx: LocalExchange) -> None:
    ex = make_client(lx, "bybit", timeout=400)
    ex.load_markets()
    lx.faults.inject(
        "timeout", exchange="bybit", endpoint="/v5/market/orderbook", times=1, seconds=3
    )
    with pytest.raises(ccxt.RequestTimeout):
        ex.fetch_order_book("BTC/USDT:USDT")
    assert ex.fetch_order_book("BTC/USDT:USDT")["bids"]  # only once
    lx.faults.inject("latency", exchange="bybit", seconds=0.2)
    started = time.perf_counter()
    ex.fetch_order_book("BTC/USDT:USDT")
    assert time.perf_counter() - started >= 0.2


def test_faults_are_scoped(lx: LocalExchange, clients: dict[str, Any]) -> None:
    lx.faults.inject("5xx", exchange="okx", endpoint="/api/v5/market/books")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        clients["okx"].fetch_order_book("BTC/USDT:USDT")
    clients["okx"].fetch_funding_rate("BTC/USDT:USDT")
    clients["binanceusdm"].fetch_order_book("BTC/USDT:USDT")
    lx.faults.inject("5xx", exchange="hyperliquid", endpoint="l2Book")
    with pytest.raises(ccxt.ExchangeNotAvailable):
        clients["hyperliquid"].fetch_order_book("BTC/USDC:USDC")
    clients["hyperliquid"].fetch_positions()
    lx.faults.clear()
    clients["okx"].fetch_order_book("BTC/USDT:USDT")


def test_unknown_fault_kind() -> None:
    from connectors.localexchange.faults import Faults

    with pytest.raises(ValueError, match="unknown fault"):
        Faults().inject("gremlins")


# -- scenario replay ---------------------------------------------------------------------------


def test_scenarios_ship() -> None:
    assert {"2025-11-04", "2025-08-24", "quiet"} <= set(SCENARIOS)


def test_the_demo_account_is_liquidated_at_margin_ratio_100() -> None:
    clock = FakeClock()
    with LocalExchange(scenario="2025-11-04", speed=1.0, clock=clock) as lx:
        ex = make_client(lx, "binanceusdm")
        lx.seek(36 * HOUR)  # 4 Nov 12:00: BTC has been under 105,000 since 05:00
        assert lx.market.mark("BTC", lx.tick_ms()) < 105_000
        before = ex.fetch_positions()
        assert len(before) == 2
        ratio = lx.account_view(lx.account("binanceusdm")).margin_ratio
        assert 0.1 < ratio < 1.0
        clock.advance(7 * HOUR)  # time passes; nobody polls in between
        assert ex.fetch_positions() == []
        event = next(e for e in lx.liquidations if e.exchange == "binanceusdm")
        hours = (event.time_ms - lx.scenario.start_ms) / 3_600_000
        assert 40.5 < hours < 42  # the real 16:00-17:00 bars of 4 November took BTC to 101,000
        assert event.equity == pytest.approx(event.maintenance, rel=1e-3)
        assert event.wallet_after < 50 and event.wallet_after >= 0
        balance = ex.fetch_balance()
        assert balance["total"]["USDT"] == pytest.approx(event.wallet_after, abs=1e-6)
        assert {e.exchange for e in lx.liquidations} == set(EXCHANGES)


def test_set_mark_moves_a_mark_across_a_threshold() -> None:
    with LocalExchange(scenario="quiet", clock=FakeClock()) as lx:
        creds = lx.add_account(
            "bybit",
            wallet_balance=10_000.0,
            positions=[
                {"symbol": "BTC/USDT:USDT", "side": "long", "size": 1.0, "entry": 107_000.0}
            ],
        )
        ex = make_client(lx, "bybit", creds)
        assert len(ex.fetch_positions()) == 1
        lx.set_mark("BTC", 100_000.0)
        assert ex.fetch_ticker("BTC/USDT:USDT")["markPrice"] == pytest.approx(100_000.0)
        lx.set_mark("BTC", 96_000.0)
        assert ex.fetch_positions() == []
        assert lx.liquidations[0].marks["BTC"] == pytest.approx(96_000.0)


def test_replay_is_deterministic() -> None:
    clock_a, clock_b = FakeClock(0.0), FakeClock(5_000.0)
    with (
        LocalExchange(scenario="2025-08-24", clock=clock_a) as a,
        LocalExchange(scenario="2025-08-24", clock=clock_b) as b,
    ):
        a.seek(10 * HOUR)
        b.seek(10 * HOUR)
        urls = [
            "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=300",
            "/fapi/v1/depth?symbol=ETHUSDT&limit=50",
            "/fapi/v1/premiumIndex",
        ]
        for url in urls:
            with (
                urllib.request.urlopen(a.base_url + url) as ra,
                urllib.request.urlopen(b.base_url + url) as rb,
            ):
                assert ra.read() == rb.read()


def test_the_scenarios_replay_the_real_candles() -> None:
    """Inside the replay every hourly candle is the real Binance perpetual's (its stored rows):
    high, low, close and volume exact, the open the previous close (within 2 bp)."""
    HOUR_MS = 3_600_000
    for name in ("2025-11-04", "2025-08-24"):
        with LocalExchange(scenario=name, clock=FakeClock()) as lx:
            m = lx.market
            for base in ("BTC", "ETH"):
                real = lx.scenario.symbols[base].bars
                assert real is not None and "../shared/data/binance-" in real.source
                got = m.bars(base, HOUR_MS, real.end_ms, since_ms=real.start_ms, limit=10_000)
                rows = real.rows
                assert len(got) >= rows.shape[0]
                n = rows.shape[0]
                for col, series in ((1, got.high), (2, got.low)):
                    assert np.allclose(series[:n], rows[:, col], rtol=2e-4)
                assert np.allclose(got.close[:n], rows[:, 3], rtol=1e-12)
                assert np.allclose(got.volume[:n], rows[:, 4], rtol=1e-9)
                assert np.allclose(got.open[:n], rows[:, 0], rtol=2e-4)
            daily = m.bars("BTC", 86_400_000, lx.scenario.start_ms, limit=201)
            assert len(daily) == 201  # history before the start, for the 200-day average
    with LocalExchange(scenario="2025-11-04", clock=FakeClock()) as lx:
        m, start = lx.market, lx.scenario.start_ms
        assert m.mark("BTC", start) == pytest.approx(110_494.9, rel=1e-9)
        day2 = m.bars("BTC", HOUR_MS, start + 48 * HOUR_MS, since_ms=start + 24 * HOUR_MS, limit=24)
        assert float(day2.low.min()) == pytest.approx(98_888.8, rel=1e-9)
        assert int(day2.ts[int(np.argmin(day2.low))]) == start + 45 * HOUR_MS  # 21:00 UTC
    with LocalExchange(scenario="2025-08-24", clock=FakeClock()) as lx:
        m, start = lx.market, lx.scenario.start_ms
        dump = m.bars("BTC", HOUR_MS, start + 8 * HOUR_MS, since_ms=start + 7 * HOUR_MS, limit=1)
        assert float(dump.low[0]) == pytest.approx(110_484.0, rel=1e-6)  # the 19:00 bar
        assert m.mark("BTC", start + 6 * HOUR_MS) > 114_000


def test_clock_speed_pause_resume_seek() -> None:
    clock = FakeClock()
    with LocalExchange(scenario="quiet", speed=60.0, clock=clock) as lx:
        t0 = lx.scenario_time_ms()
        assert t0 == lx.scenario.start_ms
        clock.advance(10)
        assert lx.scenario_time_ms() - t0 == 600_000
        lx.pause()
        clock.advance(10)
        assert lx.scenario_time_ms() - t0 == 600_000
        lx.resume()
        lx.set_speed(1.0)
        clock.advance(5)
        assert lx.scenario_time_ms() - t0 == 605_000
        lx.seek(-3600)
        assert lx.scenario_time_ms() == lx.scenario.start_ms - 3_600_000


def test_a_poll_is_fast_and_logged(lx: LocalExchange, clients: dict[str, Any]) -> None:
    ex = make_client(lx, "binanceusdm")
    ex.load_markets()
    ex.fetch_positions()
    n0 = len(lx.request_log)
    started = time.perf_counter()
    rounds = 20
    for _ in range(rounds):
        ex.fetch_positions()
        ex.fetch_balance()
    per_poll = (time.perf_counter() - started) / rounds
    assert per_poll < 0.030
    assert list(lx.request_log)[n0 : n0 + 2] == [
        ("GET", "/fapi/v3/positionRisk"),
        ("GET", "/fapi/v3/account"),
    ]


def test_the_whale_dump_takes_the_hyperliquid_copy_and_the_others_go_the_next_day() -> None:
    """Hyperliquid's maintenance (half the initial margin at max leverage) is the highest of
    the four: its copy of the demo account goes in the 19:00 dump; the OKX copy survives it and
    goes on the evening of 25 August, when BTC broke 111,000 again."""
    clock = FakeClock()
    with LocalExchange(scenario="2025-08-24", clock=clock) as lx:
        lx.seek(6.5 * HOUR)
        okx = make_client(lx, "okx")
        assert len(okx.fetch_positions(["BTC/USDT:USDT", "ETH/USDT:USDT"])) == 2
        clock.advance(1.5 * HOUR)
        assert len(okx.fetch_positions(["BTC/USDT:USDT", "ETH/USDT:USDT"])) == 2
        hl = next(e for e in lx.liquidations if e.exchange == "hyperliquid")
        hours = (hl.time_ms - lx.scenario.start_ms) / 3_600_000
        assert 7.0 < hours < 8.0 and hl.marks["BTC"] < 111_000
        clock.advance(26 * HOUR)
        assert okx.fetch_positions(["BTC/USDT:USDT", "ETH/USDT:USDT"]) == []
        event = next(e for e in lx.liquidations if e.exchange == "okx")
        hours = (event.time_ms - lx.scenario.start_ms) / 3_600_000
        assert 31 < hours < 32.5 and event.marks["BTC"] < 111_500


def test_cli_prints_address_and_keys_and_stops_on_ctrl_c() -> None:
    import signal
    import subprocess
    import sys

    from tests.paths import REPO_ROOT

    with subprocess.Popen(
        [sys.executable, "main.py", "localexchange", "--scenario", "quiet", "--speed", "10"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        try:
            lines = []
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if "Ctrl-C" in line:
                    break
            text = "".join(lines)
            assert "http://127.0.0.1:" in text
            for exchange in EXCHANGES:
                assert exchange in text
            lx_creds = LocalExchange(scenario="quiet").credentials("bybit")
            assert lx_creds.api_key in text and lx_creds.secret in text
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_stopped_exchange_is_down_even_on_a_kept_alive_connection() -> None:
    lx = LocalExchange(scenario="quiet", clock=FakeClock()).start()
    ex = make_client(lx, "binanceusdm", timeout=2000)
    ex.load_markets()
    ex.fetch_balance()
    lx.stop()
    with pytest.raises(ccxt.NetworkError):
        ex.fetch_balance()


def test_a_jump_past_the_liquidation_finds_the_moment_it_happened() -> None:
    with LocalExchange(scenario="2025-11-04", clock=FakeClock()) as lx:
        lx.seek(44 * HOUR)
        (event,) = [e for e in lx.liquidations if e.exchange == "binanceusdm"]
        hours = (event.time_ms - lx.scenario.start_ms) / 3_600_000
        assert 40.5 < hours < 42  # the real 4 November 16:00-17:00 fall
        assert 101_000 < event.marks["BTC"] < 103_000
