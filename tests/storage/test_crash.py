"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it reported as
committed, and leaves a file that passes integrity_check and opens."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from storage.database import Database
from tests.paths import REPO_ROOT

CHILD = "tests.storage.storage_crash_writer"
KILLS = 15
T0 = 1_767_225_600_000


def run_and_kill(db_path: Path, start: int, seed: int, delay: float) -> list[int]:
    with subprocess.Popen(
        [sys.executable, "-m", CHILD, str(db_path), str(start), str(seed)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        if first != "ready\n":
            proc.kill()
            raise AssertionError(f"child failed to start: {first!r} {proc.stderr.read()}")
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout))  # type: ignore[arg-type]
        reader.start()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return [int(x) for x in lines if x.strip().isdigit() and x.endswith("\n")]


@pytest.mark.slow
def test_sigkill_loses_no_committed_write(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    rng = random.Random(4)
    reported: list[int] = []
    start = T0
    for kill in range(KILLS):
        committed = run_and_kill(db_path, start, seed=kill, delay=rng.uniform(0.05, 0.9))
        reported += committed
        start = (committed[-1] if committed else start) + 100_000
        if kill % 5 == 4:
            conn = sqlite3.connect(db_path)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            conn.close()
    assert len(reported) > 500, "the child wrote too little to test anything"
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with Database.open(db_path) as db:
        stored = set(db.snapshots.query(1).ts_ms.tolist())
        missing = [t for t in reported if t not in stored]
        assert missing == []
        assert db.sqlite.table("snapshot_blocks").count > 0, "compaction never ran"
        assert db.check_integrity() == ["ok"]
        assert db.prune(start, budget_ms=30_000).done
        assert set(reported) <= set(db.snapshots.query(1).ts_ms.tolist())
