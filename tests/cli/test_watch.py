"""``python main.py watch --demo``: prints warnings, one line each, and exits 0 on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

import pytest

from alerts import Change, ResolveReason, Severity, WarningRule
from cli.watch import format_event
from monitor.events import WarningEvent
from storage.records import WarningRecord
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
