"""Issue 13, item 1: a database that cannot be written never delays or silences a warning.

As found: with the database read-only, BTC sat 3.4 % from liquidation for 25 s with no
escalation shown and 304 tracebacks in the log; with the disk full, critical warnings appeared
20 s late. Here the real watch service (its jobs, alert manager and SQLite database; the
account from the monitor's in-memory connector under a fake clock) watches a fall towards the
liquidation twice: once on a healthy database, and once on one that stops taking writes just
before the fall — a filesystem that turns read-only or fills up for real where this machine
lets a test mount one, and SQLite's own refusals everywhere (tests/monitor/storage_faults.py).
Every warning change must be shown at the same poll as on the healthy database; the log gets
one line when the trouble starts and one when it ends, no traceback; the storage warning says
why in plain words; and once writes succeed again the history holds every change and every
snapshot.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path

import pytest

from alerts import NO_ACCOUNT, WarningRule
from monitor.service import WatchService
from settings.registry import FIXED_PERCENT
from settings.store import SettingsStore
from storage.database import Database
from storage.records import AccountRecord
from tests.monitor.monitor_fakes import FakeClock, FakeConnector, serving
from tests.monitor.storage_faults import (
    ext4_read_only,
    fill,
    page_limit,
    small_tmpfs,
    writer_read_only,
)
from tests.monitor.test_service import Recorder

POLL_S = 5.0
CALM = 112_000.0
FALL = [108_000.0, 106_000.0, 104_000.0, 102_000.0, 101_000.0, 100_000.0]
"""BTC at each poll of the fall (ETH alike): the joint move of the 25,000 USDT account falls
through the 10 % warning and 5 % critical lines, and BTC's own distance through 10 % and 5 %."""
CALM_POLLS = 3
"""Polls at the calm price before the database stops taking writes."""


def open_watched(path: Path) -> Database:
    db = Database.open(path)
    db.accounts.add(AccountRecord("binanceusdm", "Main"))
    SettingsStore(db.settings).set(FIXED_PERCENT, True)  # the fake account has no candles
    return db


class Watch:
    def __init__(self, db: Database) -> None:
        self.clock = FakeClock(1_800_000_000)
        self.rec = Recorder(self.clock)
        self.fake = FakeConnector(wallet=25_000)
        self.svc = WatchService(
            db,
            None,
            self.rec,
            clock=self.clock,
            connector_factory=serving(self.fake),
            poll_interval_s=POLL_S,
        )
        self.polls = 0
        self.fall_ms = 0

    def fall(self) -> None:
        self.fall_ms = int(self.clock() * 1000)
        for btc in FALL:
            self.poll(btc)

    def poll(self, btc: float) -> None:
        self.fake.btc, self.fake.eth = btc, 3_600.0 * btc / 106_000.0
        self.svc.tick()
        self.polls += 1
        self.clock.advance(POLL_S)

    def shown(self) -> list[tuple[int, str, str, str]]:
        """Every warning change but the storage warning's: when (from the fall's start), what,
        which rule, how bad."""
        return [
            (t - self.fall_ms, e.change.value, e.warning.rule.value, e.warning.severity.label)
            for t, e in self.rec.warnings
            if e.warning.rule is not WarningRule.STORAGE
        ]

    def storage(self) -> list[tuple[str, str]]:
        return [
            (e.change.value, e.warning.message)
            for _, e in self.rec.warnings
            if e.warning.rule is WarningRule.STORAGE
        ]


@pytest.fixture
def healthy(tmp_path):
    """The same fall watched on a database that takes every write."""
    db = open_watched(tmp_path / "healthy.db")
    watch = Watch(db)
    for _ in range(CALM_POLLS):
        watch.poll(CALM)
    watch.fall()
    yield watch, db
    db.close()


def assert_shown_on_time(watch: Watch, healthy: Watch) -> None:
    expected = healthy.shown()
    assert [c for _, c, _, _ in expected].count("escalated") >= 2, expected
    assert watch.shown() == expected


def assert_one_line_per_episode(caplog, cause: str) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("storage:")]
    assert len(lines) == 2 or (len(lines) == 1 and "written again" not in lines[0]), lines
    assert cause in lines[0]


def history(db: Database, since_ms: int) -> list[tuple[int, str, str]]:
    """The stored changes: when (from ``since_ms``), which warning, what."""
    return sorted((c.ts_ms - since_ms, c.key, c.change.value) for c in db.warnings.changes())


def snapshots(db: Database) -> int:
    return int(db.sqlite.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])


RECOVERABLE = {
    "SQLite read-only": ("the database file is read-only", None),
    "SQLite full": ("the disk is full", None),
    "tmpfs full": ("the disk is full", "tmpfs"),
}


@pytest.mark.parametrize("fault", list(RECOVERABLE))
def test_a_database_that_stops_taking_writes_neither_delays_nor_silences_a_warning(
    fault, healthy, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    healthy_watch, healthy_db = healthy
    cause, fs = RECOVERABLE[fault]
    with ExitStack() as stack:
        folder = stack.enter_context(small_tmpfs(tmp_path)) if fs else tmp_path
        db = open_watched(folder / "cascade.db")
        stack.callback(db.close)
        watch = Watch(db)
        for _ in range(CALM_POLLS):
            watch.poll(CALM)
        with ExitStack() as fault_on:
            if fault == "SQLite read-only":
                fault_on.enter_context(writer_read_only(db))
            elif fault == "SQLite full":
                fault_on.enter_context(page_limit(db))
            else:
                db.checkpoint()  # as a disk that filled up finds the WAL: nothing to reuse
                filler = fill(folder)
                fault_on.callback(filler.unlink)
            # the first write that needs room fails (at once, but with the page limit only
            # once the file must grow: SQLite fills the pages it has first)
            while not watch.storage() and watch.polls < 100:
                watch.poll(CALM)
            written = snapshots(db)
            watch.fall()
            # every change shown at the poll it was shown on the healthy database
            assert_shown_on_time(watch, healthy_watch)
            [(change, message)] = watch.storage()
            assert change == "fired"
            assert message.startswith(f"History is not being saved: {cause} (since ")
            assert snapshots(db) == written, "nothing is written meanwhile"
        # writes succeed again: the backlog follows within the retry's backoff (30 s at most)
        for _ in range(8):
            watch.poll(FALL[-1])
            if watch.storage()[-1][0] == "resolved":
                break
        assert [c for c, _ in watch.storage()] == ["fired", "resolved"]
        assert_one_line_per_episode(caplog, cause)
        # the history has every change (the storage warning's too) and every snapshot
        market = [h for h in history(db, watch.fall_ms) if not h[1].startswith("storage|")]
        assert market == history(healthy_db, healthy_watch.fall_ms)
        stored = [h[2] for h in history(db, 0) if h[1].startswith("storage|")]
        assert stored == ["fired", "resolved"]
        assert snapshots(db) == watch.polls


def test_a_disk_that_turns_read_only_mid_run_still_shows_every_escalation(
    healthy, tmp_path, caplog
):
    """ext4 remounted read-only by the kernel after an error, under the running watch: every
    write fails from then on (SQLite: SQLITE_IOERR_WRITE; the filesystem: EROFS), and it
    does not come back until it is unmounted. The warnings are shown on time all the same,
    the storage warning says the disk is read-only, and stopping says what was not saved."""
    caplog.set_level(logging.INFO)
    healthy_watch, _ = healthy
    with ext4_read_only(tmp_path) as disk:
        db = open_watched(disk.point / "cascade.db")
        try:
            watch = Watch(db)
            for _ in range(CALM_POLLS):
                watch.poll(CALM)
            disk.trigger()
            watch.fall()
            assert_shown_on_time(watch, healthy_watch)
            [(change, message)] = watch.storage()
            assert change == "fired"
            assert "the disk holding the database is read-only" in message
            [storage] = [e for _, e in watch.rec.warnings if e.warning.rule is WarningRule.STORAGE]
            assert storage.warning.account_id == NO_ACCOUNT
            # what was committed before is all there
            assert snapshots(db) == CALM_POLLS
            watch.svc.stop()
        finally:
            db.close()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("storage:")]
    assert len(lines) == 2, lines
    assert "the disk holding the database is read-only" in lines[0]
    assert "could not be saved before stopping" in lines[1]
