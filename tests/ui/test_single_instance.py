"""One app per data folder, with two real processes: the second launch brings the first
one's window forward and exits; a lock left by a killed process does not block a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.lock import LOCK_NAME
from ui.single_instance import SingleInstance

ROOT = Path(__file__).resolve().parents[2]


def _env(log_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    if log_dir is not None:
        env["CASCADE_LOG_DIR"] = str(log_dir)
    return {**env, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}


def _wait_for(path: Path, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear in {path.name}")


@pytest.mark.slow
def test_a_second_launch_brings_the_first_forward(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = tmp_path / "logs" / "cascade-watch.log"
    cmd = [sys.executable, str(ROOT / "main.py"), "app", "--data-dir", str(data)]
    first = subprocess.Popen(
        [*cmd, "--demo", "--speed", "60"],
        env=_env(tmp_path / "logs"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(log, "window shown after", 60)
        second = subprocess.run(
            cmd, env=_env(tmp_path / "logs"), capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout and "brought forward" in second.stdout
        _wait_for(log, "a second launch asked this window to raise", 10)
        assert first.poll() is None, "the first one keeps running"
        assert log.read_text(encoding="utf-8").count("window shown after") == 1
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # killed: its lock file stays, naming a process that is gone; a new launch takes over
    assert (data / LOCK_NAME).exists()
    again = SingleInstance(data)
    assert again.acquire()
    again.release()


def test_a_live_owner_keeps_the_folder_and_a_dead_one_does_not(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.single_instance_child", str(tmp_path)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        other = SingleInstance(tmp_path)
        assert not other.acquire()
        assert other.owner_pid() == child.pid
        assert not other.send("raise"), "nobody listens: the caller says so and exits 1"
    finally:
        child.kill()
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    after = SingleInstance(tmp_path)
    assert after.acquire()
    after.release()


def test_the_app_does_not_start_on_a_folder_a_headless_watch_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    watch = subprocess.Popen(
        [sys.executable, "main.py", "watch", "--demo", "--speed", "60", "--data-dir", str(data)],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert watch.stdout is not None and "watching" in watch.stdout.readline()
        app = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "app", "--data-dir", str(data)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        watch.send_signal(signal.SIGINT)
        watch.communicate(timeout=30)
    assert app.returncode == 1
    assert app.stderr.strip() == (
        f"cascade-watch: a watch (pid {watch.pid}) is watching {data} and does not answer; "
        "quit it, or start this one with another --data-dir"
    )
