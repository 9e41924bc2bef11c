"""The watch loop with streams (monitor/live.py): real ccxt.pro clients in the monitor's
StreamHub against the local exchange's WebSocket side, one account per venue.

For each venue: the marks arrive and the account's report follows a pinned mark within one
push, without a REST read; the streams are dropped, polling covers the gap (the marks' source
turns to the poll, the figures never go stale), and the streams come back. Bad input (a frame
that does not parse, a stream that stops mid-message, a reconnect storm) is logged once per
episode, the stream is marked stale, polling covers, with no traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from alerts import WarningRule
from connectors.credentials import Credentials
from connectors.localexchange import LocalExchange
from monitor.events import (
    AccountStatus,
    AccountUpdate,
    LiquidationUpdate,
    LiveState,
    MarkSource,
    NullCallbacks,
    WarningEvent,
)
from monitor.service import WatchService
from storage.database import Database
from storage.records import AccountRecord

pytestmark = pytest.mark.slow

VENUES = ("binanceusdm", "bybit", "okx", "hyperliquid")
QUOTE = {"binanceusdm": "USDT", "bybit": "USDT", "okx": "USDT", "hyperliquid": "USDC"}
ACCOUNT_READ = {
    "binanceusdm": "/fapi/v3/account",
    "bybit": "/v5/account/wallet-balance",
    "okx": "/api/v5/account/balance",
    "hyperliquid": None,  # every read is POST /info: the marks' source says it instead
}
"""The REST path of each venue's account read (connectors/venues.py)."""


def btc(venue: str) -> str:
    q = QUOTE[venue]
    return f"BTC/{q}:{q}"


class Recorder(NullCallbacks):
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.accounts: list[AccountUpdate] = []
        self.warnings: list[WarningEvent] = []
        self.liquidations: list[LiquidationUpdate] = []

    def on_account(self, u: AccountUpdate) -> None:
        with self.cond:
            self.accounts.append(u)
            self.cond.notify_all()

    def on_warning(self, e: WarningEvent) -> None:
        with self.cond:
            self.warnings.append(e)
            self.cond.notify_all()

    def on_liquidations(self, u: LiquidationUpdate) -> None:
        with self.cond:
            self.liquidations.append(u)
            self.cond.notify_all()

    def wait_for(self, what: Callable[[], bool], timeout: float = 20.0) -> bool:
        with self.cond:
            return self.cond.wait_for(what, timeout)

    def last(self) -> AccountUpdate:
        with self.cond:
            return self.accounts[-1]


class Keys:
    """The secret store, as the monitor reads it."""

    def __init__(self, keys: dict[str, Credentials]) -> None:
        self.keys = keys

    def get(self, name: str) -> Credentials | None:
        return self.keys.get(name)


def mark_of(u: AccountUpdate, symbol: str) -> Any:
    return next((m for m in u.marks if m.symbol == symbol), None)


def reads(lx: LocalExchange, venue: str) -> int:
    path = ACCOUNT_READ[venue]
    return sum(1 for _, p in list(lx.request_log) if path is not None and p.startswith(path))


@pytest.fixture
def crash_lx() -> Iterator[LocalExchange]:
    """2025-11-04, 35 h in: BTC near 104,000 and falling; paused, so marks move only when a
    test pins them."""
    server = LocalExchange(scenario="2025-11-04", speed=1.0).start()
    server.seek(35 * 3600)
    server.pause()
    yield server
    server.stop()


def watch(db: Database, lx: LocalExchange, venue: str, rec: Recorder) -> WatchService:
    db.accounts.add(
        AccountRecord(
            venue, f"{venue} local", base_url=lx.base_url, ws_url=lx.ws_url, secret_name="k"
        )
    )
    svc = WatchService(db, Keys({"k": lx.credentials(venue)}), rec, market_interval_s=3600)
    svc.start()
    return svc


def live(rec: Recorder, symbol: str) -> Callable[[], bool]:
    def check() -> bool:
        if not rec.accounts:
            return False
        u = rec.accounts[-1]
        m = mark_of(u, symbol)
        return (
            u.live is not None
            and u.live.state is LiveState.LIVE
            and m is not None
            and m.source is MarkSource.STREAM
        )

    return check


@pytest.mark.parametrize("venue", VENUES)
def test_marks_drive_the_report_and_polling_covers_a_dropped_stream(
    db: Database, crash_lx: LocalExchange, venue: str, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    symbol = btc(venue)
    svc = watch(db, crash_lx, venue, rec)
    try:
        # the marks arrive over the stream and the account is live
        assert rec.wait_for(live(rec, symbol), 30.0), rec.last()
        assert rec.last().status is AccountStatus.OK
        time.sleep(1.5)  # the private stream's first push and resync ask for one REST read

        # a pinned mark: the report follows within one push, with no REST read between
        n_reads = reads(crash_lx, venue)
        pinned = round(crash_lx.market.mark("BTC", crash_lx.tick_ms()) * 0.997, 1)
        crash_lx.set_mark("BTC", pinned)
        t0 = time.monotonic()

        def follows() -> bool:
            u = rec.accounts[-1]
            r = u.report
            p = next((p for p in r.positions if p.symbol == symbol), None) if r else None
            return p is not None and abs(p.mark_price - pinned) < 0.5

        assert rec.wait_for(follows, 5.0)
        took = time.monotonic() - t0
        u = rec.last()
        assert mark_of(u, symbol).source is MarkSource.STREAM
        assert took < 2.0, f"{took:.2f} s from the pin to the report"
        if ACCOUNT_READ[venue] is not None:
            assert reads(crash_lx, venue) == n_reads, "a REST read: not the stream's doing"

        # the streams drop and keep dropping for 3 s: polling covers
        caplog.set_level(logging.INFO)
        caplog.clear()
        crash_lx.faults.inject("ws_drop", exchange=venue, seconds=3)
        crash_lx.ws.drop_all()
        assert rec.wait_for(
            lambda: (
                rec.accounts[-1].live is not None
                and rec.accounts[-1].live.state is LiveState.POLLING
            ),
            10.0,
        )
        polled = rec.wait_for(
            lambda: (
                (m := mark_of(rec.accounts[-1], symbol)) is not None and m.source is MarkSource.POLL
            ),
            10.0,
        )
        assert polled, "no poll read the account while the stream was down"
        # back: the streams carry the account again
        assert rec.wait_for(live(rec, symbol), 60.0), rec.last().live
        assert not [u for u in rec.accounts if u.stale]
        assert all(r.exc_info is None for r in caplog.records)
    finally:
        svc.stop()


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("ws_malformed", {"times": 3}),  # frames that do not parse
        ("ws_drop", {"mid_frame": 1, "seconds": 3}),  # stops mid-message, again and again
    ],
)
def test_bad_frames_are_one_episode_and_polling_covers(
    db: Database,
    crash_lx: LocalExchange,
    fault: str,
    params: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    venue = "binanceusdm"
    rec = Recorder()
    symbol = btc(venue)
    svc = watch(db, crash_lx, venue, rec)
    try:
        assert rec.wait_for(live(rec, symbol), 30.0)
        caplog.set_level(logging.DEBUG)
        caplog.clear()
        n_reads = reads(crash_lx, venue)
        shown = len(rec.accounts)
        crash_lx.faults.inject(fault, exchange=venue, **params)
        if fault == "ws_drop":
            crash_lx.ws.drop_all()
        assert rec.wait_for(
            lambda: (
                rec.accounts[-1].live is not None
                and rec.accounts[-1].live.state is LiveState.POLLING
            ),
            15.0,
        )
        assert rec.wait_for(lambda: reads(crash_lx, venue) > n_reads, 10.0), "no poll covered"
        assert rec.wait_for(live(rec, symbol), 45.0)
        during = rec.accounts[shown:]
    finally:
        svc.stop()
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name in ("connectors.streams", "monitor.live")
    ]
    # one episode per group of feeds that share links: the venue's public ones, the account's
    assert 1 <= len(warnings) <= 2, [r.getMessage() for r in warnings]
    assert not [r for r in caplog.records if r.exc_info is not None]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [u for u in during if u.stale], "polling did not cover the gap"


def test_rest_down_with_the_streams_up_stays_current(db: Database, crash_lx: LocalExchange) -> None:
    """REST answers 502 while the streams are live: the streams carry the figures (their age
    stays small), the REST failure is still reported, and nothing goes stale."""
    venue = "binanceusdm"
    rec = Recorder()
    svc = watch(db, crash_lx, venue, rec)
    try:
        assert rec.wait_for(live(rec, btc(venue)), 30.0)
        crash_lx.faults.inject("5xx", exchange=venue, status=502)
        svc.poll_now(1)
        assert rec.wait_for(lambda: rec.accounts[-1].error is not None, 10.0)
        time.sleep(4.0)
        u = rec.last()
        assert not u.stale and u.age_ms is not None and u.age_ms < 3_000
        assert u.live is not None and u.live.state is LiveState.LIVE
        assert any(w.warning.rule is WarningRule.UNREACHABLE for w in rec.warnings)
        assert not any(w.warning.rule is WarningRule.STALE_DATA for w in rec.warnings)
    finally:
        svc.stop()


def test_a_tick_storm_is_throttled_to_the_window(db: Database, crash_lx: LocalExchange) -> None:
    """Marks pinned 200 times a second: the window hears at most about 5 updates a second
    (UI_INTERVAL_S), and the last report is the last mark."""
    venue = "binanceusdm"
    rec = Recorder()
    svc = watch(db, crash_lx, venue, rec)
    try:
        assert rec.wait_for(live(rec, btc(venue)), 30.0)
        base = crash_lx.market.mark("BTC", crash_lx.tick_ms())
        shown = len(rec.accounts)
        t0 = time.monotonic()
        price = base
        while time.monotonic() - t0 < 3.0:
            price = round(base * (1 + 0.0001 * (len(rec.accounts) % 7)), 1)
            crash_lx.set_mark("BTC", price)
            time.sleep(0.005)
        final = round(base * 0.995, 1)
        crash_lx.set_mark("BTC", final)
        assert rec.wait_for(
            lambda: (
                (m := mark_of(rec.accounts[-1], btc(venue))) is not None
                and abs(m.price - final) < 0.5
            ),
            5.0,
        )
        sent = len(rec.accounts) - shown
        elapsed = time.monotonic() - t0
        assert svc.live is not None
    finally:
        svc.stop()
    assert sent <= elapsed / 0.2 + 3, f"{sent} updates in {elapsed:.1f} s"


def test_two_accounts_on_one_venue_both_follow_its_marks(
    db: Database, crash_lx: LocalExchange
) -> None:
    """One public stream per venue serves every account on it: a pinned mark reaches both
    accounts' reports."""
    venue = "binanceusdm"
    rec = Recorder()
    db.accounts.add(
        AccountRecord(
            venue, "second", base_url=crash_lx.base_url, ws_url=crash_lx.ws_url, secret_name="k"
        )
    )
    svc = watch(db, crash_lx, venue, rec)
    try:
        assert rec.wait_for(lambda: len({u.account_id for u in rec.accounts}) == 2, 30.0)
        assert rec.wait_for(live(rec, btc(venue)), 30.0)
        time.sleep(2.0)
        pinned = round(crash_lx.market.mark("BTC", crash_lx.tick_ms()) * 1.004, 1)
        crash_lx.set_mark("BTC", pinned)

        def both() -> bool:
            seen: dict[int, AccountUpdate] = {}
            for u in rec.accounts:
                seen[u.account_id] = u
            return len(seen) == 2 and all(
                (m := mark_of(u, btc(venue))) is not None
                and abs(m.price - pinned) < 0.5
                and m.source is MarkSource.STREAM
                for u in seen.values()
            )

        assert rec.wait_for(both, 5.0)
    finally:
        svc.stop()
