"""``python main.py watch --demo``: prints warnings, one line each, and exits 0 on Ctrl-C."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from alerts import Change, ResolveReason, Severity, WarningRule
from cli.watch import format_event
from monitor.events import WarningEvent
from storage.records import WarningRecord
from tests.damaged_db import damage_pages, filled_database
from tests.paths import REPO_ROOT


def test_format_event_is_one_line():
    rec = WarningRecord(
        "joint_move|1|BTC/USDT:USDT,ETH/USDT:USDT",
        WarningRule.JOINT_MOVE,
        Severity.CRITICAL,
        "BTC −4.1 % liquidates the whole cross account, your ETH long included.",
        1,
        ("BTC/USDT:USDT", "ETH/USDT:USDT"),
        0,
        0,
    )
    line = format_event(WarningEvent(Change.ESCALATED, rec), "Main", 1_762_214_400_000)
    assert "\n" not in line
    assert "CRITICAL" in line and "escalated" in line and "Main BTC/ETH" in line
    assert "[11-04 00:00]" in line
    closed = format_event(WarningEvent(Change.RESOLVED, rec, ResolveReason.ALL_CLOSED), "Main")
    assert "resolved" in closed and "the positions were closed; it said: BTC −4.1 %" in closed


@pytest.mark.slow
def test_watch_demo_prints_warnings_and_exits_cleanly_on_sigint(tmp_path):
    # On the real 3-4 Nov 2025 candles the chance of liquidation reaches 10 % 29 scenario hours
    # in: at 3,600× about 29 s after the start.
    proc = subprocess.Popen(
        [sys.executable, "main.py", "watch", "--demo", "--speed", "3600", "--data-dir", tmp_path],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    fired = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if " fired " in line:
                fired.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    fired.wait(90)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0, "".join(lines)
    reader.join(5)
    assert proc.stdout is not None
    proc.stdout.close()
    out = "".join(lines)
    assert " fired " in out and "liquidation_probability" in out
    assert out.rstrip().endswith("stopped")
    assert (tmp_path / "demo.db").exists() and not (tmp_path / "cascade.db").exists()


def read_lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """The process's output, line by line, read on a thread (None at its end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


@pytest.mark.slow
def test_watch_demo_calls_the_liquidation_a_liquidation(tmp_path):
    """The done-when of issue 12: at the demo's liquidation a "liquidated" warning fires and
    every warning it ends resolves as ended in a liquidation, none as "closed". Played at
    3,600× (the liquidation comes about 37 s in) rather than 1,800× to keep the suite short;
    the polls are as many per hour of replay as the speed allows, so a poll spans twice the
    replay time and the two requests of a Binance poll are as likely to straddle it."""
    proc = subprocess.Popen(
        [sys.executable, "main.py", "watch", "--demo", "--speed", "3600", "--data-dir", tmp_path],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines, reader = read_lines(proc)
    seen: list[str] = []
    liquidated_at: float | None = None
    deadline = time.monotonic() + 150
    try:
        while time.monotonic() < deadline:
            if liquidated_at is not None and time.monotonic() > liquidated_at + 8:
                break
            try:
                line = lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
            if " fired " in line and "liquidated ·" in line and liquidated_at is None:
                liquidated_at = time.monotonic()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(10)
        assert proc.stdout is not None
        proc.stdout.close()
    out = "\n".join(seen)
    assert liquidated_at is not None, out
    [fired] = [s for s in seen if " fired " in s and "liquidated ·" in s]
    assert "were liquidated (Binance's force orders)" in fired, fired
    # what resolves after the liquidation resolves as liquidated (a chance of liquidation that
    # dipped under its line hours before resolves then as cleared), and nothing as closed
    ended = [s for s in seen[seen.index(fired) :] if " resolved " in s]
    assert ended, out
    assert all("it ended in a liquidation" in s for s in ended), out
    assert not any("closed" in s for s in seen if " resolved " in s), out


def start_watch(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", "watch", *map(str, args)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60.0) -> list[str]:
    """Lines of stdout up to the first holding ``text``."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never printed; saw {seen}")


def test_a_damaged_database_is_one_line_and_start_fresh_watches(tmp_path):
    """Pages overwritten in the middle of a real database: `watch` says so in one line naming
    the file and the way out; `watch --start-fresh` sets the file aside and watches."""
    db_path = tmp_path / "cascade.db"
    filled_database(db_path)
    damage_pages(db_path, 0.3)
    damaged = db_path.read_bytes()
    proc = start_watch("--data-dir", tmp_path)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "cascade.db is damaged" in err and "--start-fresh" in err
    assert db_path.read_bytes() == damaged
    proc = start_watch("--data-dir", tmp_path, "--start-fresh")
    try:
        wait_for_line(proc, "watching 0 account(s)")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped") and "Traceback" not in err
    (kept,) = tmp_path.glob("cascade.db.corrupt-*")
    assert kept.read_bytes() == damaged
