"""The loop's pending writes (monitor/writes.py): kept in order while the database refuses
them, retried with backoff, bounded (what is dropped first), one log line per episode."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from monitor.writes import Kind, Writes
from storage.failures import WriteFailure, diagnose


class Flaky:
    """A store that refuses every write while ``refuse`` names an SQLite error code."""

    def __init__(self) -> None:
        self.refuse: int | None = None
        self.written: list[str] = []
        self.tries = 0

    def write(self, what: str) -> None:
        self.tries += 1
        if self.refuse is not None:
            exc = sqlite3.OperationalError("refused")
            exc.sqlite_errorcode = self.refuse
            raise exc
        self.written.append(what)


READONLY, FULL = 8, 13


def queue(**kw) -> Writes:
    return Writes(diagnose, **kw)


def test_writes_wait_in_order_and_follow_when_the_database_takes_them_again(caplog):
    caplog.set_level(logging.INFO)
    store = Flaky()
    w = queue()
    store.refuse = READONLY
    for i in range(5):
        w.submit(Kind.SNAPSHOT, lambda i=i: store.write(f"s{i}"))
        assert w.flush(i * 500) is False
    trouble = w.trouble()
    assert trouble is not None and trouble.problem.kind is WriteFailure.READ_ONLY
    assert trouble.since_ms == 0 and trouble.pending == 5
    # backoff: tried at 0 ms, then not before 1 s, then 2 s later
    assert store.tries == 2
    store.refuse = None
    assert w.flush(3_000) is True
    assert store.written == [f"s{i}" for i in range(5)]
    assert w.trouble() is None
    lines = [r for r in caplog.records if r.name == "monitor.writes"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.INFO]
    assert "the database file is read-only" in lines[0].getMessage()
    assert "written again after 3 s" in lines[1].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def test_a_newer_write_replaces_its_pending_copy_in_place():
    store = Flaky()
    w = queue()
    store.refuse = FULL
    w.submit(Kind.WARNING, lambda: store.write("a1"), replaces="a")
    w.submit(Kind.HISTORY, lambda: store.write("log"))
    w.submit(Kind.WARNING, lambda: store.write("a2"), replaces="a")
    w.flush(0)
    assert w.pending() == 2 and w.trouble().problem.text == "the disk is full"
    store.refuse = None
    w.flush(10_000)
    assert store.written == ["a2", "log"]


def test_when_full_the_oldest_snapshots_go_first_and_warnings_last(caplog):
    caplog.set_level(logging.INFO)
    store = Flaky()
    w = queue(capacity=4)
    store.refuse = FULL
    w.submit(Kind.WARNING, lambda: store.write("w"))
    w.submit(Kind.SNAPSHOT, lambda: store.write("s1"))
    w.submit(Kind.MARKET, lambda: store.write("candles"))
    w.submit(Kind.SNAPSHOT, lambda: store.write("s2"))
    w.flush(0)
    w.submit(Kind.HISTORY, lambda: store.write("h"))  # drops s1
    w.submit(Kind.SNAPSHOT, lambda: store.write("s3"))  # drops s2
    w.submit(Kind.SNAPSHOT, lambda: store.write("s4"))  # drops s3: snapshots before candles
    assert w.trouble().dropped == {Kind.SNAPSHOT: 3}
    w.submit(Kind.HISTORY, lambda: store.write("h2"))  # drops s4
    w.submit(Kind.HISTORY, lambda: store.write("h3"))  # no snapshot left: drops the candles
    assert w.trouble().dropped == {Kind.SNAPSHOT: 4, Kind.MARKET: 1}
    store.refuse = None
    w.flush(60_000)
    assert store.written == ["w", "h", "h2", "h3"]
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 2  # when dropping starts, and in the recovery line


def test_a_write_the_database_will_never_take_is_dropped_and_holds_nothing_back(caplog):
    store = Flaky()
    w = queue()

    def bad() -> None:
        raise sqlite3.IntegrityError("FOREIGN KEY constraint failed")

    w.submit(Kind.WARNING, bad)
    w.submit(Kind.SNAPSHOT, lambda: store.write("s"))
    assert w.flush(0) is True
    assert store.written == ["s"] and w.trouble() is None
    assert [r.levelno for r in caplog.records] == [logging.ERROR]


@pytest.mark.parametrize(
    ("code", "kind"),
    [(8, WriteFailure.READ_ONLY), (13, WriteFailure.DISK_FULL), (5, WriteFailure.OTHER)],
)
def test_the_cause_is_read_from_the_sqlite_error(code, kind):
    exc = sqlite3.OperationalError("x")
    exc.sqlite_errorcode = code
    assert diagnose(exc).kind is kind
