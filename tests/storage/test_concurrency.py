"""Worker threads write while other threads read and prune: no collisions, nothing lost."""

from __future__ import annotations

import threading
from pathlib import Path

from alerts import Severity, WarningRule, warning_key
from storage.database import Database
from storage.records import AccountRecord, WarningRecord
from storage.retention import MINUTE_MS
from storage.sample import ReportWalk

T0 = 1_767_225_600_000
WRITES = 150


def test_writers_readers_and_pruner(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "c.db")
    accounts = [db.accounts.add(AccountRecord("bybit", f"a{i}")).id or 0 for i in range(3)]
    errors: list[BaseException] = []
    done = threading.Event()
    reads = [0]

    def writer(account_id: int) -> None:
        walk = ReportWalk(10, seed=account_id)
        try:
            for i in range(WRITES):
                db.snapshots.save(account_id, walk.next(), T0 + i * 4000)
                rule = WarningRule.UNREACHABLE
                key = warning_key(rule, account_id, ("BTC",))
                db.warnings.upsert(
                    WarningRecord(
                        key, rule, Severity.WARNING, "m", account_id, ("BTC",), T0, T0 + i
                    )
                )
                db.settings.set(f"last-{account_id}", i)
        except BaseException as e:
            errors.append(e)

    def reader() -> None:
        try:
            while not done.is_set():
                for account_id in accounts:
                    s = db.snapshots.query(account_id)
                    assert list(s.ts_ms) == sorted(s.ts_ms)
                    assert len(set(s.ts_ms.tolist())) == len(s)
                db.warnings.all(active_only=True)
                db.settings.all()
                reads[0] += 1
        except BaseException as e:
            errors.append(e)

    def pruner() -> None:
        try:
            while not done.is_set():
                db.prune(T0 + WRITES * 4000 + MINUTE_MS, budget_ms=20)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(a,)) for a in accounts]
    others = [threading.Thread(target=reader) for _ in range(2)] + [threading.Thread(target=pruner)]
    for t in threads + others:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done.set()
    for t in others:
        t.join(timeout=60)
    assert errors == []
    assert reads[0] > 0
    for account_id in accounts:
        assert len(db.snapshots.query(account_id)) == WRITES
        assert db.settings.get(f"last-{account_id}") == WRITES - 1
    assert len(db.warnings.all(active_only=True)) == 3
    assert db.check_integrity() == ["ok"]
    db.close()


def test_second_process_style_connection_waits_instead_of_failing(tmp_path: Path) -> None:
    """Two Database objects on one file (as two processes would be): busy_timeout serialises
    their writers instead of raising 'database is locked'."""
    one = Database.open(tmp_path / "c.db")
    two = Database.open(tmp_path / "c.db")
    a = one.accounts.add(AccountRecord("bybit", "x")).id or 0
    errors: list[BaseException] = []

    def write(db: Database, offset: int) -> None:
        walk = ReportWalk(5, seed=offset)
        try:
            for i in range(100):
                db.snapshots.save(a, walk.next(), T0 + offset + i * 10)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=write, args=(d, k)) for k, d in ((0, one), (1, two))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(two.snapshots.query(a)) == 200
    one.close()
    two.close()
