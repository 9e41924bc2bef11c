"""Rate limits and bans are per venue, address and key, and shared by every connector.

As found (issue 13, item 2): during a 120 s Binance IP ban (HTTP 418) an account's poller and
its market-data connector each backed off on their own, and the poller alone sent 144 requests;
Binance lengthens a ban while requests keep coming. Here the local exchange answers 418 with a
real ban (Retry-After and "banned until <ms>") and the test counts the requests it received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from connectors.ratelimit import (
    MAX_HOLD_S,
    RateLimits,
    Scope,
    ban_expiry_ms,
    hold_seconds,
    key_id,
    scope_of,
)
from connectors.types import ConnectorError, ErrorKind

BTC = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def lx() -> Iterator[LocalExchange]:
    with LocalExchange(scenario="2025-11-04", speed=1.0, port=0) as server:
        yield server


def binance_requests(lx: LocalExchange) -> int:
    return sum(1 for _, path in list(lx.request_log) if path.startswith(("/fapi/", "/sapi/")))


def keep_calling(calls: list, seconds: float, threads: int = 1) -> list[ConnectorError]:  # type: ignore[type-arg]
    """Call ``calls`` in turn every 20 ms for ``seconds`` (each in its own thread when
    ``threads`` > 1); the errors seen."""
    errors: list[ConnectorError] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(batch) -> None:  # type: ignore[no-untyped-def]
        while time.monotonic() < deadline:
            for call in batch:
                try:
                    call()
                except ConnectorError as e:
                    with lock:
                        errors.append(e)
            time.sleep(0.02)

    batches = [calls] if threads == 1 else [[c] for c in calls]
    workers = [threading.Thread(target=loop, args=(b,)) for b in batches]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return errors


class Arrivals:
    """When each Binance request reached the local exchange (its fault check runs first)."""

    def __init__(self, lx: LocalExchange, monkeypatch: pytest.MonkeyPatch) -> None:
        self.times: list[float] = []
        take = lx.faults.take

        def spy(exchange, path, info_type, now=None):  # type: ignore[no-untyped-def]
            if exchange == "binanceusdm":
                self.times.append(time.monotonic())
            return take(exchange, path, info_type, now)

        monkeypatch.setattr(lx.faults, "take", spy)


def test_a_120_s_ban_stops_the_poller_and_the_market_connector_after_one_request(
    lx: LocalExchange,
) -> None:
    creds = lx.credentials("binanceusdm")
    poller = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url, label="demo")
    market = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url, label="demo")
    poller.fetch_account()
    market.fetch_market(BTC)
    lx.faults.inject("418", exchange="binanceusdm", ban_s=120)
    before = binance_requests(lx)
    sent = poller.requests_made + market.requests_made
    errors = keep_calling(
        [
            poller.fetch_account,
            lambda: market.fetch_market(BTC),
            lambda: market.fetch_candles(BTC, "1m", limit=10),
            lambda: market.fetch_order_book(BTC),
        ],
        seconds=3.0,
    )
    assert binance_requests(lx) - before == 1, "nothing is sent after the first 418"
    assert poller.requests_made + market.requests_made == sent + 1
    assert len(errors) > 100
    assert all(e.kind is ErrorKind.RATE_LIMITED for e in errors)
    assert all(e.retry_after is not None and 110 <= e.retry_after <= 121 for e in errors)
    assert all("banned this IP address" in e.message for e in errors)
    # a new connector for the same venue and address (another account, a stream) waits too
    third = ExchangeConnector("binanceusdm", lx.add_account("binanceusdm"), api_url=lx.base_url)
    with pytest.raises(ConnectorError) as info:
        third.fetch_account()
    assert info.value.kind is ErrorKind.RATE_LIMITED and third.requests_made == 0
    assert binance_requests(lx) - before == 1
    # other venues on the same address are not held
    bybit = ExchangeConnector("bybit", lx.credentials("bybit"), api_url=lx.base_url)
    assert bybit.fetch_account().exchange == "bybit"


def test_concurrent_connectors_send_nothing_once_the_first_418_is_answered(
    lx: LocalExchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Polls on other threads may already be on the wire when the ban begins (one per
    connector at most: each connector sends one request at a time); nothing leaves after."""
    creds = lx.credentials("binanceusdm")
    poller = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url)
    market = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url)
    poller.fetch_account()
    market.fetch_market(BTC)
    arrivals = Arrivals(lx, monkeypatch)
    lx.faults.inject("418", exchange="binanceusdm", ban_s=120)
    keep_calling(
        [poller.fetch_account, lambda: market.fetch_market(BTC), poller.fetch_account],
        seconds=2.0,
        threads=3,
    )
    assert 1 <= len(arrivals.times) <= 2
    assert arrivals.times[-1] - arrivals.times[0] < 0.5, "only requests already sent"


def test_sending_resumes_when_the_ban_expires_and_not_before(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm")
    poller = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url)
    market = ExchangeConnector("binanceusdm", creds, api_url=lx.base_url)
    poller.fetch_account()
    market.fetch_market(BTC)
    lx.faults.inject("418", exchange="binanceusdm", ban_s=2)
    before = binance_requests(lx)
    started = time.monotonic()
    keep_calling([poller.fetch_account, lambda: market.fetch_market(BTC)], seconds=1.5)
    assert binance_requests(lx) - before == 1
    while True:
        try:
            account = poller.fetch_account()
            break
        except ConnectorError as e:
            assert e.kind is ErrorKind.RATE_LIMITED
            time.sleep(0.05)
    waited = time.monotonic() - started
    assert 1.9 <= waited < 3.5
    assert binance_requests(lx) - before == 1 + 2, "the first poll after the ban succeeds"
    assert account.positions
    assert market.fetch_market(BTC).mark_price is not None
    assert lx.faults.describe() == [], "the ban ran out at the exchange too: never extended"


def test_a_429_with_retry_after_holds_every_connector_of_the_address(lx: LocalExchange) -> None:
    clock_now = [time.time()]

    def clock() -> float:
        return clock_now[0]

    limits = RateLimits()
    creds = lx.credentials("binanceusdm")
    a = ExchangeConnector(
        "binanceusdm", creds, api_url=lx.base_url, clock=clock, rate_limits=limits
    )
    b = ExchangeConnector(
        "binanceusdm", creds, api_url=lx.base_url, clock=clock, rate_limits=limits
    )
    a.fetch_account()
    b.fetch_market(BTC)
    lx.faults.inject("429", exchange="binanceusdm", retry_after=30, times=1)
    with pytest.raises(ConnectorError) as first:
        b.fetch_market(BTC)
    assert first.value.retry_after == pytest.approx(30)
    sent = a.requests_made
    with pytest.raises(ConnectorError) as held:
        a.fetch_account()
    assert held.value.kind is ErrorKind.RATE_LIMITED and a.requests_made == sent
    assert "slow down" in held.value.message
    clock_now[0] += 31
    assert a.fetch_account().positions and b.fetch_market(BTC).mark_price is not None


def test_a_per_key_limit_holds_that_key_only(lx: LocalExchange) -> None:
    """Bybit's 10006 counts per account: another key on the same address keeps polling."""
    limits = RateLimits()
    creds = lx.credentials("bybit")
    other = lx.add_account("bybit")
    a = ExchangeConnector("bybit", creds, api_url=lx.base_url, rate_limits=limits)
    a_market = ExchangeConnector("bybit", creds, api_url=lx.base_url, rate_limits=limits)
    b = ExchangeConnector("bybit", other, api_url=lx.base_url, rate_limits=limits)
    a.fetch_account()
    b.fetch_account()
    lx.faults.inject("429", exchange="bybit", retry_after=20, times=1)
    with pytest.raises(ConnectorError):
        a.fetch_account()
    with pytest.raises(ConnectorError) as held:
        a_market.fetch_account()
    assert held.value.kind is ErrorKind.RATE_LIMITED and a_market.requests_made == 0
    assert b.fetch_account().positions


def test_ban_text_and_hold_arithmetic() -> None:
    text = (
        'binanceusdm 418 I\'m a teapot {"code":-1003,"msg":"Way too many requests; IP(1.2.3.4) '
        'banned until 1700000120000. Please use the websocket for live updates to avoid bans."}'
    )
    assert ban_expiry_ms(text) == 1_700_000_120_000
    assert ban_expiry_ms("binanceusdm 429 Too Many Requests") is None
    now_ms = 1_700_000_000_000
    assert hold_seconds(5.0, 1_700_000_120_000, now_ms) == pytest.approx(120.0)
    assert hold_seconds(300.0, 1_700_000_120_000, now_ms) == pytest.approx(300.0)
    assert hold_seconds(5.0, 1_600_000_000_000, now_ms) == pytest.approx(5.0), "a past ban"
    assert hold_seconds(None, 1_900_000_000_000, now_ms) == MAX_HOLD_S
    assert scope_of("binanceusdm", "-1003", 418) is Scope.ADDRESS
    assert scope_of("bybit", "10006", 200) is Scope.KEY
    assert scope_of("bybit", "10018", 403) is Scope.ADDRESS
    assert scope_of("okx", "50011", 429) is Scope.KEY
    assert key_id("my-api-key") != "my-api-key" and len(key_id("my-api-key")) == 16


def test_holds_keep_the_longest_and_expire() -> None:
    limits = RateLimits()
    k = key_id("k")
    limits.hold("binanceusdm", "", k, Scope.ADDRESS, 1_000.0, banned=True, now=900.0)
    limits.hold("binanceusdm", "", k, Scope.ADDRESS, 950.0, now=900.0)
    hold = limits.active("binanceusdm", "", k, 940.0)
    assert hold is not None and hold.until == 1_000.0 and hold.banned
    assert limits.active("binanceusdm", "", key_id("other"), 940.0) is not None
    assert limits.active("bybit", "", k, 940.0) is None
    assert limits.active("binanceusdm", "http://127.0.0.1:1", k, 940.0) is None
    assert limits.active("binanceusdm", "", k, 1_000.0) is None
