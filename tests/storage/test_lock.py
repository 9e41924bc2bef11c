"""The data folder's lock: one holder at a time across processes, released when the holder's
process ends however it ends, and the second one is told who holds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.lock import LOCK_NAME, FolderLock
from tests.paths import REPO_ROOT

HOLD = (
    "import sys, time; from pathlib import Path; from storage.lock import FolderLock; "
    "lock = FolderLock(Path(sys.argv[1]), 'watch'); print(lock.acquire(), flush=True); "
    "time.sleep(60)"
)


def test_one_holder_at_a_time_and_a_killed_one_lets_go(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "True"
        mine = FolderLock(tmp_path, "app")
        assert not mine.acquire()
        assert mine.holder() == (child.pid, "watch")
        assert mine.describe_holder() == f"a watch (pid {child.pid})"
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert mine.acquire(), "the killed holder's lock went with its process"
    assert mine.holder()[1] == "app"
    assert (tmp_path / LOCK_NAME).stat().st_mode & 0o077 == 0
    mine.release()
    assert (tmp_path / LOCK_NAME).read_text() == "", "left empty, in place"
    again = FolderLock(tmp_path, "watch")
    assert again.acquire()
    again.release()
