"""Real ccxt.pro clients (through connectors.streams.StreamHub) against the local exchange's
WebSocket side, for every venue: marks arrive and follow the exchange within a push, the
market's liquidation prints arrive on the venues that publish them, an account's positions
are pushed when they change, and dropped, silent or garbled streams are marked stale, logged
once, and recovered."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.localexchange import LocalExchange
from connectors.streams import (
    AccountPush,
    Endpoint,
    FeedKind,
    LiquidationPrint,
    MarkTick,
    PushKind,
    StreamHub,
    StreamState,
    StreamStatus,
)
from risk.types import Side

VENUES = ("binanceusdm", "bybit", "okx", "hyperliquid")
QUOTE = {"binanceusdm": "USDT", "bybit": "USDT", "okx": "USDT", "hyperliquid": "USDC"}
CRASH_HOURS = 39.5
"""Into the 2025-11-04 scenario (the real candles): 4 Nov 15:30 UTC, BTC falling from 104,500
toward 100,700, longs being liquidated, and the demo account (3 BTC and 8 ETH long) under two
hours from its own liquidation."""


def btc(venue: str) -> str:
    q = QUOTE[venue]
    return f"BTC/{q}:{q}"


class Recorder:
    """The hub's callbacks, recorded; ``wait_for`` blocks until a predicate holds."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.marks: list[MarkTick] = []
        self.prints: list[LiquidationPrint] = []
        self.pushes: list[AccountPush] = []
        self.statuses: list[StreamStatus] = []

    def _add(self, items: list[Any], value: Any) -> None:
        with self.cond:
            items.append(value)
            self.cond.notify_all()

    def on_mark(self, tick: MarkTick) -> None:
        self._add(self.marks, tick)

    def on_liquidations(self, prints: tuple[LiquidationPrint, ...]) -> None:
        with self.cond:
            self.prints.extend(prints)
            self.cond.notify_all()

    def on_account_push(self, push: AccountPush) -> None:
        self._add(self.pushes, push)

    def on_stream_status(self, status: StreamStatus) -> None:
        self._add(self.statuses, status)

    def wait_for(self, what: Callable[[], bool], timeout: float = 15.0) -> bool:
        with self.cond:
            return self.cond.wait_for(what, timeout)


@pytest.fixture
def live_lx() -> Iterator[LocalExchange]:
    """A local exchange per test (not the module-scoped ``lx``): these tests liquidate its
    accounts and pin its marks."""
    server = LocalExchange(scenario="2025-11-04", speed=20.0).start()
    server.seek(CRASH_HOURS * 3600)
    yield server
    server.stop()


@pytest.fixture
def hub_and_rec() -> Iterator[tuple[StreamHub, Recorder]]:
    rec = Recorder()
    hub = StreamHub(rec, silence_s={"binanceusdm": 3.0}).start()
    yield hub, rec
    hub.stop()


def state_of(hub: StreamHub, venue: str, kind: FeedKind) -> set[StreamState]:
    return {s.state for s in hub.statuses() if s.exchange == venue and s.kind is kind}


@pytest.mark.parametrize("venue", VENUES)
def test_marks_prints_and_positions_stream_from_each_venue(
    live_lx: LocalExchange, hub_and_rec: tuple[StreamHub, Recorder], venue: str
) -> None:
    hub, rec = hub_and_rec
    endpoint = Endpoint(venue, live_lx.base_url, live_lx.ws_url)
    symbol = btc(venue)
    hub.watch_symbols(endpoint, [symbol])
    hub.watch_account("acct", endpoint, live_lx.credentials(venue))

    # marks arrive and are the exchange's marks
    assert rec.wait_for(lambda: any(t.symbol == symbol for t in rec.marks))
    first = next(t for t in rec.marks if t.symbol == symbol)
    assert first.exchange == venue
    assert abs(first.mark / live_lx.market.mark("BTC", live_lx.tick_ms()) - 1) < 0.002

    # the account's positions (ccxt's snapshot), then the private stream says it is live
    assert rec.wait_for(lambda: any(p.kind is PushKind.POSITIONS for p in rec.pushes))
    held = {p.symbol: p for push in rec.pushes for p in push.positions}
    assert held[symbol].side is Side.LONG and held[symbol].size == pytest.approx(3.0)
    assert rec.wait_for(lambda: any(p.kind is PushKind.RESYNC for p in rec.pushes))

    # a pinned mark is pushed at once and the stream follows it
    pinned = round(live_lx.market.mark("BTC", live_lx.tick_ms()) * 1.003)
    live_lx.set_mark("BTC", pinned)
    assert rec.wait_for(lambda: any(abs(t.mark - pinned) < 1.0 for t in rec.marks), 5.0)

    # the market's liquidations, where the venue publishes them
    if venue == "hyperliquid":
        assert state_of(hub, venue, FeedKind.LIQUIDATIONS) == {StreamState.NOT_OFFERED}
    else:
        assert rec.wait_for(lambda: len(rec.prints) >= 10, 30.0)
        p = rec.prints[0]
        assert p.exchange == venue and p.symbol == symbol
        assert p.amount > 0 and 80_000 < p.price < 120_000
        # each print is one the scenario's tape holds for that venue: same time, side, size
        first, last = min(q.time_ms for q in rec.prints), max(q.time_ms for q in rec.prints)
        tape = {
            (t.time_ms, t.side, round(t.amount, 6))
            for t in live_lx.tape.prints(venue, "BTC", first - 1, last)
        }
        got = {(q.time_ms, q.side.name.lower(), round(q.amount, 6)) for q in rec.prints}
        assert got <= tape
        assert state_of(hub, venue, FeedKind.LIQUIDATIONS) == {StreamState.LIVE}

    # the account is liquidated: the venue pushes the closed positions
    before = len(rec.pushes)
    live_lx.set_mark("BTC", 60_000.0)
    assert rec.wait_for(
        lambda: any(
            q.size == 0 and q.symbol == symbol
            for push in rec.pushes[before:]
            for q in push.positions
        ),
        10.0,
    )
    assert state_of(hub, venue, FeedKind.MARKS) == {StreamState.LIVE}


def test_dropped_streams_reconnect_and_the_account_is_resynced(
    live_lx: LocalExchange,
    hub_and_rec: tuple[StreamHub, Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, rec = hub_and_rec
    endpoint = Endpoint("bybit", live_lx.base_url, live_lx.ws_url)
    hub.watch_symbols(endpoint, [btc("bybit")])
    hub.watch_account("acct", endpoint, live_lx.credentials("bybit"))
    assert rec.wait_for(lambda: sum(p.kind is PushKind.RESYNC for p in rec.pushes) == 1)
    assert rec.wait_for(lambda: state_of(hub, "bybit", FeedKind.MARKS) == {StreamState.LIVE})
    caplog.set_level(logging.INFO, logger="connectors.streams")

    live_lx.ws.drop_all()
    assert rec.wait_for(lambda: any(s.state is StreamState.STALE for s in rec.statuses))
    # back: marks flow again and the account stream asks for a re-read of the account
    marks_before = len(rec.marks)
    assert rec.wait_for(lambda: sum(p.kind is PushKind.RESYNC for p in rec.pushes) == 2)
    assert rec.wait_for(lambda: len(rec.marks) > marks_before + 3)
    assert rec.wait_for(lambda: all(s.state is StreamState.LIVE for s in hub.statuses()))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one episode each: the venue's public links, the account's
    assert all(r.exc_info is None for r in caplog.records)


def test_a_silent_stream_goes_stale_and_comes_back(
    live_lx: LocalExchange, hub_and_rec: tuple[StreamHub, Recorder]
) -> None:
    hub, rec = hub_and_rec
    endpoint = Endpoint("binanceusdm", live_lx.base_url, live_lx.ws_url)
    hub.watch_symbols(endpoint, [btc("binanceusdm")])
    assert rec.wait_for(lambda: len(rec.marks) >= 1)
    # the server keeps answering pings but sends nothing: only the silence gives it away
    live_lx.faults.inject("ws_silent", exchange="binanceusdm")
    assert rec.wait_for(
        lambda: state_of(hub, "binanceusdm", FeedKind.MARKS) == {StreamState.STALE}, 10.0
    )
    stale = next(
        s
        for s in reversed(rec.statuses)
        if s.kind is FeedKind.MARKS and s.state is StreamState.STALE
    )
    assert stale.reason is not None and "no mark" in stale.reason
    live_lx.faults.clear()
    assert rec.wait_for(
        lambda: state_of(hub, "binanceusdm", FeedKind.MARKS) == {StreamState.LIVE}, 20.0
    )


def test_a_garbled_frame_drops_the_link_without_a_traceback(
    live_lx: LocalExchange,
    hub_and_rec: tuple[StreamHub, Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, rec = hub_and_rec
    caplog.set_level(logging.DEBUG)
    endpoint = Endpoint("okx", live_lx.base_url, live_lx.ws_url)
    hub.watch_symbols(endpoint, [btc("okx")])
    assert rec.wait_for(lambda: len(rec.marks) >= 1)
    live_lx.faults.inject("ws_malformed", exchange="okx", endpoint="mark-price", times=1)
    live_lx.set_mark("BTC", 99_000.0)  # pushed at once, and cut in the middle
    assert rec.wait_for(lambda: any(s.state is StreamState.STALE for s in rec.statuses), 10.0)
    assert rec.wait_for(lambda: any(abs(t.mark - 99_000.0) < 1 for t in rec.marks), 15.0)
    assert not [r for r in caplog.records if r.exc_info is not None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_reconnect_storm_is_one_episode(
    live_lx: LocalExchange,
    hub_and_rec: tuple[StreamHub, Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, rec = hub_and_rec
    endpoint = Endpoint("binanceusdm", live_lx.base_url, live_lx.ws_url)
    hub.watch_symbols(endpoint, [btc("binanceusdm")])
    assert rec.wait_for(lambda: len(rec.marks) >= 1)
    caplog.set_level(logging.INFO, logger="connectors.streams")
    # every connection is dropped, mid-frame, as soon as it is made, for four seconds
    live_lx.faults.inject("ws_drop", exchange="binanceusdm", mid_frame=1, seconds=4)
    live_lx.ws.drop_all()
    time.sleep(4.5)
    marks_before = len(rec.marks)
    assert rec.wait_for(lambda: len(rec.marks) > marks_before, 20.0)
    stale = [s for s in rec.statuses if s.state is StreamState.STALE]
    assert len(stale) >= 2  # it did try again, more than once
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert all(r.exc_info is None for r in caplog.records)


def test_a_refused_login_is_stale_and_names_no_secret(
    live_lx: LocalExchange,
    hub_and_rec: tuple[StreamHub, Recorder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from connectors.credentials import Credentials

    hub, rec = hub_and_rec
    caplog.set_level(logging.DEBUG)
    good = live_lx.credentials("okx")
    bad = Credentials(good.api_key, "0" * len(good.secret), good.password)
    hub.watch_account("acct", Endpoint("okx", live_lx.base_url, live_lx.ws_url), bad)
    assert rec.wait_for(
        lambda: any(
            s.kind is FeedKind.ACCOUNT and s.state is StreamState.STALE for s in rec.statuses
        )
    )
    status = next(s for s in hub.statuses() if s.kind is FeedKind.ACCOUNT)
    assert status.reason is not None and "login" in status.reason
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert good.api_key not in text and bad.secret not in text and good.password not in text


def test_a_ban_met_by_the_poller_keeps_the_streams_quiet(live_lx: LocalExchange) -> None:
    from connectors.ratelimit import RateLimits, Scope, address_of

    limits = RateLimits()
    rec = Recorder()
    hub = StreamHub(rec, rate_limits=limits).start()
    try:
        now = time.time()
        limits.hold(
            "binanceusdm",
            address_of(live_lx.base_url),
            "",
            Scope.ADDRESS,
            now + 3,
            banned=True,
            now=now,
        )
        hub.watch_symbols(
            Endpoint("binanceusdm", live_lx.base_url, live_lx.ws_url), [btc("binanceusdm")]
        )
        assert rec.wait_for(lambda: any(s.state is StreamState.STALE for s in rec.statuses))
        stale = next(s for s in rec.statuses if s.state is StreamState.STALE)
        assert stale.reason is not None and "banned this IP" in stale.reason
        assert not rec.marks and live_lx.ws.connections == 0  # nothing was dialled
        assert rec.wait_for(lambda: len(rec.marks) >= 1, 10.0)  # the ban ends, it connects
    finally:
        hub.stop()


def test_a_ban_met_by_a_stream_client_holds_everyone(live_lx: LocalExchange) -> None:
    """ccxt.pro's own REST requests (markets, Binance's listen key) meet the ban first: it is
    recorded for every connector of the venue and address, and the hub sends nothing more."""
    from connectors.ratelimit import RateLimits, address_of

    limits = RateLimits()
    rec = Recorder()
    hub = StreamHub(rec, rate_limits=limits).start()
    sent: list[str] = []
    take = live_lx.faults.take

    def counted(exchange, path, info_type, now=None):  # type: ignore[no-untyped-def]
        if exchange == "binanceusdm":
            sent.append(path)
        return take(exchange, path, info_type, now)

    live_lx.faults.take = counted  # type: ignore[method-assign]
    live_lx.faults.inject("418", exchange="binanceusdm", ban_s=60)
    try:
        hub.watch_symbols(
            Endpoint("binanceusdm", live_lx.base_url, live_lx.ws_url), [btc("binanceusdm")]
        )
        assert rec.wait_for(
            lambda: any(s.reason and "banned this IP" in s.reason for s in rec.statuses), 15.0
        )
        hold = limits.active("binanceusdm", address_of(live_lx.base_url), "", time.time())
        assert hold is not None and hold.banned and hold.until > time.time() + 50
        n = len(sent)
        time.sleep(3.0)
        assert len(sent) == n, sent[n:]
        assert not rec.marks
    finally:
        hub.stop()


@pytest.mark.parametrize("venue", ("binanceusdm", "bybit", "okx"))
def test_every_print_of_a_burst_arrives(
    venue: str, hub_and_rec: tuple[StreamHub, Recorder]
) -> None:
    """In the minutes of the 2025-08-24 drop the prints come many a second (Bybit several in
    one frame). ccxt.pro resolves a watch with one print; the others reach the hub through its
    cache (``LiquidationTap``): every print the venue published arrives, once."""
    hub, rec = hub_and_rec
    server = LocalExchange(scenario="2025-08-24", speed=20.0).start()
    try:
        server.seek(7.25 * 3600)
        hub.watch_symbols(Endpoint(venue, server.base_url, server.ws_url), [btc(venue)])
        assert rec.wait_for(lambda: len(rec.prints) >= 1, 20.0)
        time.sleep(5.0)
        with rec.cond:
            heard = [p for p in rec.prints if p.exchange == venue]
        lo, hi = min(p.time_ms for p in heard), max(p.time_ms for p in heard)
        published = server.tape.prints(venue, "BTC", lo - 1, hi)
    finally:
        server.stop()
    assert len(published) > 20
    assert sorted(p.time_ms for p in heard) == sorted(p.time_ms for p in published)
    usd = sum(p.notional for p in heard)
    assert usd == pytest.approx(sum(p.notional for p in published), rel=0.01)
