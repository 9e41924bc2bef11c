"""The log: the platform's log folder (or $CASCADE_LOG_DIR), rotated, private; per-poll lines
at DEBUG; a native crash leaves every thread's stack in the crash file. Each case runs in a
fresh interpreter, as the app and ``watch`` do, so the suite's own logging is untouched."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import REPO_ROOT


def run_python(code: str, log_dir, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=dict(os.environ, CASCADE_LOG_DIR=str(log_dir), **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_log_holds_what_changed_not_every_poll(tmp_path):
    code = """
import logging
from cli.logs import setup
path = setup()
print(path)
logging.getLogger("apscheduler.executors.default").info('Running job "poll:1" (scheduled)')
logging.getLogger("apscheduler.scheduler").info('Added job "poll:1" to job store')
logging.getLogger("monitor.jobs").debug("poll 1 took 12 ms")
logging.getLogger("monitor.alerts").info("warning fired: joint_move|1|BTC critical")
logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
"""
    folder = tmp_path / "logs"
    done = run_python(code, folder)
    assert done.returncode == 0, done.stderr
    log = folder / "cascade-watch.log"
    assert done.stdout.strip() == str(log)
    text = log.read_text()
    assert "warning fired: joint_move|1|BTC critical" in text
    assert "Run time of job was missed" in text
    assert "Running job" not in text and "Added job" not in text and "took 12 ms" not in text
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_the_log_rotates(tmp_path):
    code = """
import logging
from cli.logs import setup, MAX_BYTES
setup()
for i in range(3 * MAX_BYTES // 100):
    logging.getLogger("x").info("%06d %s", i, "y" * 80)
"""
    assert run_python(code, tmp_path).returncode == 0
    files = sorted(p.name for p in tmp_path.glob("cascade-watch.log*"))
    assert files[:3] == ["cascade-watch.log", "cascade-watch.log.1", "cascade-watch.log.2"]
    assert all(p.stat().st_size <= 2_000_000 for p in tmp_path.glob("cascade-watch.log*"))


def test_a_native_crash_leaves_every_threads_stack(tmp_path):
    code = """
import ctypes, threading, time
from cli.logs import setup
setup()
threading.Thread(target=time.sleep, args=(30,), name="poller", daemon=True).start()
time.sleep(0.2)
ctypes.string_at(0)
"""
    done = run_python(code, tmp_path)
    assert done.returncode != 0
    crash = (tmp_path / "native-crashes.log").read_text()
    assert "started" in crash.splitlines()[0]
    assert "Fatal Python error: Segmentation fault" in crash
    assert "Current thread" in crash and crash.count("Thread 0x") >= 1
    assert 'File "<string>", line 7' in crash
