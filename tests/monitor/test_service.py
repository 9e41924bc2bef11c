"""The watch service with an in-memory connector: scheduled events under a fake clock, stale
data and backoff, a restart without repeats, and a clean start/stop of the real scheduler."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest

from alerts import Severity, WarningRule, WarningState, warning_key
from connectors.types import ErrorKind
from monitor.events import AccountStatus, NullCallbacks
from monitor.service import WatchService
from risk.types import Account, Figure, Source
from settings.registry import FIXED_PERCENT
from settings.store import SettingsStore
from storage.records import AccountRecord, WarningRecord
from tests.monitor.monitor_fakes import BTC, ETH, FakeClock, FakeConnector, serving

CPI_MS = int(datetime.fromisoformat("2026-01-13T13:30:00+00:00").timestamp() * 1000)
MIN_S = 60.0


class Recorder(NullCallbacks):
    def __init__(self, clock=time.time):
        self.clock = clock
        self.warnings = []
        self.accounts = []
        self.lock = threading.Lock()

    def on_warning(self, e):
        with self.lock:
            self.warnings.append((int(self.clock() * 1000), e))

    def on_account(self, u):
        with self.lock:
            self.accounts.append(u)

    def of(self, rule):
        return [
            (t, e.change.value, e.warning.severity.label)
            for t, e in self.warnings
            if e.warning.rule is rule
        ]


pytestmark = pytest.mark.usefixtures("main_account")


def service(db, clock, fake, rec, **kw):
    kw.setdefault("poll_interval_s", 5.0)
    return WatchService(db, None, rec, clock=clock, connector_factory=serving(fake), **kw)


def test_scheduled_event_warns_60_and_15_minutes_ahead_under_a_fake_clock(db):
    clock = FakeClock(CPI_MS / 1000 - 90 * MIN_S)
    rec = Recorder(clock)
    svc = service(db, clock, FakeConnector(wallet=17_800), rec)  # joint move -3.3 % < 4 %
    while clock() * 1000 < CPI_MS + 40 * 60_000:
        svc.tick()
        clock.advance(MIN_S)
    got = [g for g in rec.of(WarningRule.SCHEDULED_EVENT) if g[1] != "updated"]
    assert got[0] == (CPI_MS - 60 * 60_000, "fired", "warning")
    assert got[1] == (CPI_MS - 15 * 60_000, "escalated", "critical")
    assert [c for _, c, _ in got] == ["fired", "escalated", "resolved"]
    resolved_at = next(t for t, c, _ in got if c == "resolved")
    assert CPI_MS + 30 * 60_000 < resolved_at <= CPI_MS + 33 * 60_000


def test_no_event_warning_when_headroom_exceeds_the_typical_move(db):
    clock = FakeClock(CPI_MS / 1000 - 30 * MIN_S)
    rec = Recorder(clock)
    svc = service(db, clock, FakeConnector(wallet=22_000), rec)  # joint move ~-5.6 %
    svc.tick()
    assert rec.of(WarningRule.SCHEDULED_EVENT) == []


def test_failed_polls_keep_the_report_mark_it_stale_and_back_off(db):
    clock = FakeClock(1_800_000_000)
    rec = Recorder(clock)
    fake = FakeConnector(wallet=30_000)
    svc = service(db, clock, fake, rec)
    svc.tick()
    good = rec.accounts[-1]
    assert good.status is AccountStatus.OK and good.report is not None
    fake.fail_with(ErrorKind.NETWORK)
    calls = fake.calls
    for _ in range(8):
        clock.advance(5)
        svc.tick()
    last = rec.accounts[-1]
    assert last.report is good.report, "the last good report is kept"
    assert last.stale and last.status is AccountStatus.STALE and last.age_ms == 40_000
    # Backoff 5, 10, 20 s: attempts at 5, 10, 20 and 40 s, not at every 5 s tick.
    assert fake.calls - calls == 4
    # fired once; its message (the data's age) is updated as it grows
    assert [c for _, c, _ in rec.of(WarningRule.STALE_DATA) if c != "updated"] == ["fired"]
    assert rec.of(WarningRule.UNREACHABLE)[0][1] == "fired"
    fake.fail = None
    for _ in range(10):  # the next attempt is due at 80 s
        clock.advance(5)
        svc.tick()
    assert rec.accounts[-1].status is AccountStatus.OK
    assert rec.of(WarningRule.STALE_DATA)[-1][1] == "resolved"
    assert rec.of(WarningRule.UNREACHABLE)[-1][1] == "resolved"


def test_retry_after_is_honoured(db):
    clock = FakeClock(1_800_000_000)
    fake = FakeConnector(wallet=30_000)
    svc = service(db, clock, fake, Recorder(clock))
    fake.fail_with(ErrorKind.RATE_LIMITED, retry_after=30)
    svc.tick()
    calls = fake.calls
    for _ in range(5):
        clock.advance(5)
        svc.tick()
    assert fake.calls == calls
    clock.advance(6)
    svc.tick()
    assert fake.calls == calls + 1


def test_key_rejected_is_critical(db):
    clock = FakeClock(1_800_000_000)
    rec = Recorder(clock)
    fake = FakeConnector()
    fake.fail_with(ErrorKind.AUTH)
    service(db, clock, fake, rec).tick()
    assert rec.of(WarningRule.KEY_REJECTED) == [(1_800_000_000_000, "fired", "critical")]


def test_warnings_survive_a_restart_without_repeating(db):
    # The fake account has no candles (no volatility, so no chance of liquidation): the
    # fixed-% rules, switched on in the settings, give it warnings to persist.
    SettingsStore(db.settings).set(FIXED_PERCENT, True)
    clock = FakeClock(1_800_000_000)
    rec1 = Recorder(clock)
    service(db, clock, FakeConnector(wallet=17_800), rec1).tick()
    fired = {e.warning.key for _, e in rec1.warnings if e.change.value == "fired"}
    assert {"joint_move", "liquidation_distance"} <= {k.split("|")[0] for k in fired}
    clock.advance(60)
    rec2 = Recorder(clock)
    svc2 = service(db, clock, FakeConnector(wallet=17_800), rec2)
    assert {w.key for w in svc2.open_warnings()} == fired
    svc2.tick()
    svc2.tick()
    assert rec2.warnings == []
    # Conditions gone after the restart: resolved (after two clear evaluations), not forgotten.
    svc3 = service(db, clock, FakeConnector(wallet=60_000), rec2)
    svc3.tick()
    svc3.tick()
    assert {e.warning.key for _, e in rec2.warnings if e.change.value == "resolved"} == fired


class CountingConnector(FakeConnector):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.running = 0
        self.max_running = 0
        self.guard = threading.Lock()

    def fetch_account(self):
        with self.guard:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            time.sleep(0.3)  # slower than the poll interval: runs must not overlap
            return super().fetch_account()
        finally:
            with self.guard:
                self.running -= 1


def test_scheduler_start_stop_restart_is_clean(db):
    fake = CountingConnector(wallet=30_000)
    rec = Recorder()
    svc = WatchService(db, None, rec, connector_factory=serving(fake), poll_interval_s=0.2)
    svc.start()
    svc.start()  # idempotent
    time.sleep(1.5)
    assert svc.stop(timeout=2.0)
    assert fake.max_running == 1
    first = fake.calls
    assert first >= 3
    time.sleep(0.6)
    assert fake.calls == first, "nothing runs after stop"
    assert fake.closed
    svc.start()
    time.sleep(0.8)
    assert svc.stop(timeout=2.0)
    assert fake.calls > first and fake.max_running == 1


def test_poll_now_ignores_the_backoff(db):
    fake = FakeConnector(wallet=30_000)
    fake.fail_with(ErrorKind.RATE_LIMITED, retry_after=60)
    rec = Recorder()
    svc = WatchService(db, None, rec, connector_factory=serving(fake), poll_interval_s=0.2)
    svc.start()
    try:
        time.sleep(0.8)
        assert fake.calls == 1, "the 60 s Retry-After holds the polls back"
        fake.fail = None
        svc.poll_now(1)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and rec.accounts[-1].status is not AccountStatus.OK:
            time.sleep(0.05)
        assert fake.calls == 2 and rec.accounts[-1].status is AccountStatus.OK
    finally:
        svc.stop()


def test_open_interest_history_feeds_the_liquidation_map() -> None:
    """Snapshots land on the bar that ends at their time, the open bar takes the current
    reading, bars without one stay NaN; the map is then built from open-interest vintages."""
    import numpy as np

    from monitor.jobs import with_open_interest
    from risk.liqmap import build_liqmap
    from risk.types import Candles

    hour = 3_600_000
    n = 48
    ts = np.arange(n, dtype=np.int64) * hour
    close = 100.0 + np.arange(n, dtype=float)
    c = Candles("BTC/USDT:USDT", "1h", ts, close, close + 1, close - 1, close, np.full(n, 10.0))
    snap_ts = ts[10:-1] + hour  # no snapshot for the first 10 bars nor for the open bar
    snaps = 1_000.0 + np.arange(snap_ts.shape[0], dtype=float)
    out = with_open_interest(c, (snap_ts, snaps), current=2_000.0)
    assert out.open_interest is not None
    assert np.isnan(out.open_interest[:10]).all()
    assert out.open_interest[10] == 1_000.0 and out.open_interest[-2] == snaps[-1]
    assert out.open_interest[-1] == 2_000.0
    assert not build_liqmap(out).is_proxy
    assert build_liqmap(with_open_interest(c, None)).is_proxy


def test_a_wrong_passphrase_is_asked_again_then_reported(db, tmp_path):
    """The encrypted key file: a wrong passphrase is asked again (a few times), and if it
    stays wrong the account says so in plain words instead of polling with no key."""
    from connectors.credentials import Credentials
    from storage.secrets import SecretStore

    store = SecretStore.open(tmp_path, lambda new: "right", backend="file", scrypt_n=2**10)
    store.set("k", Credentials(api_key="key", secret="s3cret"))
    answers = iter(["wrong", "right"])
    asked = SecretStore.open(tmp_path, lambda new: next(answers), backend="file", scrypt_n=2**10)
    rec = db.accounts.add(
        AccountRecord("binanceusdm", "main", "http://127.0.0.1:9", secret_name="k")
    )
    clock = FakeClock(1_800_000_000)
    seen = []

    def factory(cfg, creds, clk):
        seen.append(creds)
        return FakeConnector()

    svc = WatchService(db, asked, Recorder(clock), clock=clock, connector_factory=factory)
    svc.reload_accounts()
    assert any(c.secret == "s3cret" for c in seen)

    # a wrong passphrase is asked a few times per run in all, not that many times per account
    others = [
        db.accounts.add(
            AccountRecord("binanceusdm", f"other {i}", "http://127.0.0.1:9", secret_name="k")
        )
        for i in range(3)
    ]
    asks = []

    def wrong(ask):
        asks.append(ask)
        return "wrong"

    never = SecretStore.open(tmp_path, wrong, backend="file", scrypt_n=2**10)
    rec2 = Recorder(clock)
    svc2 = WatchService(db, never, rec2, clock=clock, connector_factory=lambda *a: FakeConnector())
    svc2.reload_accounts()
    for account in (rec, *others):
        update = next(u for u in reversed(rec2.accounts) if u.account_id == account.id)
        assert update.status is AccountStatus.ERROR and "passphrase does not open" in update.error
    assert [a.value for a in asks] == ["open", "again", "again"]


class MismatchedConnector(FakeConnector):
    """The exchange says the BTC long dies at 50,000, far from what the engine computes."""

    def fetch_account(self) -> Account:
        account = super().fetch_account()
        btc = replace(
            account.positions[0], exchange_liquidation_price=Figure(50_000.0, Source.EXCHANGE)
        )
        return replace(account, positions=(btc, *account.positions[1:]))


def test_a_liquidation_price_mismatch_is_logged_when_it_appears_not_every_poll(db, caplog):
    clock = FakeClock(1_800_000_000)
    svc = service(db, clock, MismatchedConnector(wallet=30_000), Recorder(clock))
    with caplog.at_level("WARNING", logger="connectors.mismatches"):
        for _ in range(4):
            svc.tick()
            clock.advance(5)
    (record,) = caplog.records
    assert "BTC/USDT:USDT" in record.getMessage() and "differs" in record.getMessage()


def test_a_chance_of_liquidation_not_judged_yet_resolves_nothing(db):
    """After a start the volatility is not read yet: the report carries no chance of
    liquidation, and an open warning about it (a snoozed one here) is neither resolved nor
    woken."""
    key = warning_key(WarningRule.LIQUIDATION_PROBABILITY, 1, (BTC, ETH))
    db.warnings.upsert(
        WarningRecord(
            key,
            WarningRule.LIQUIDATION_PROBABILITY,
            Severity.WARNING,
            "BTC −3.6 % liquidates the whole cross account.",
            1,
            (BTC, ETH),
            1_000,
            1_000,
            WarningState.SNOOZED,
            snoozed_until_ms=1_800_000_000_000 + 3_600_000,
        )
    )
    clock = FakeClock(1_800_000_000)
    rec = Recorder(clock)
    svc = service(db, clock, FakeConnector(wallet=17_800), rec)  # no candles: no volatility
    for _ in range(3):
        svc.tick()
        clock.advance(5)
    assert rec.of(WarningRule.LIQUIDATION_PROBABILITY) == []
    assert db.warnings.get(key).state is WarningState.SNOOZED


def test_pruning_first_runs_soon_after_start_then_on_schedule(db, monkeypatch):
    """It first ran an hour after start, so a session shorter than that never compacted:
    now PRUNE_FIRST_S (90 s) after start, then every PRUNE_INTERVAL_S (10 min). The real
    scheduler, with the first run brought to 0.3 s."""
    import monitor.service as service_module

    assert service_module.PRUNE_FIRST_S <= 120 and service_module.PRUNE_INTERVAL_S <= 600
    monkeypatch.setattr(service_module, "PRUNE_FIRST_S", 0.3)
    svc = WatchService(
        db, None, Recorder(), connector_factory=serving(FakeConnector()), poll_interval_s=5.0
    )
    pruned = threading.Event()
    real_prune = svc.jobs.prune
    monkeypatch.setattr(svc.jobs, "prune", lambda: (real_prune(), pruned.set()))
    svc.start()
    try:
        assert pruned.wait(5.0), "prune did not run soon after start"
    finally:
        svc.stop(timeout=2.0)


def test_recomputing_the_market_writes_nothing(db):
    """Levels were stored on every recompute (every minute, ~20 rows per held symbol) and
    never read back; now a recompute writes no row anywhere."""
    clock = FakeClock(1_767_225_600.0)
    svc = service(db, clock, FakeConnector(), Recorder(clock))
    svc.tick()
    svc.jobs.refresh_markets()

    def rows() -> dict[str, int]:
        names = db.sqlite.table_names()
        return {n: db.sqlite.execute(f"SELECT count(*) FROM [{n}]").fetchone()[0] for n in names}

    before = rows()
    for _ in range(3):
        clock.advance(MIN_S)
        svc.jobs.recompute_all()
    assert svc.jobs.markets and all(m.levels is not None for m in svc.jobs.markets.values())
    assert rows() == before
