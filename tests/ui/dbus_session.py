"""A private D-Bus session bus (``dbus-daemon --session``) with the fake notification
service on it, for tests; skips with a reason where dbus-daemon is not installed."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class FakeNotificationService:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.calls: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        # a reader thread: select() on a buffered text pipe misses lines already read ahead
        self.reader = threading.Thread(target=self._read, name="fake-notifications", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):
            for line in self.proc.stdout:
                self._lines.put(line)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Collect Notify calls until ``n`` have arrived (the service prints one JSON line
        per call), keeping Qt's events flowing meanwhile."""
        deadline = time.monotonic() + timeout
        while len(self.calls) < n and time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                _pump_qt()
                continue
            if line.startswith("{"):
                self.calls.append(json.loads(line))
        return list(self.calls)

    def click(self, notification_id: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"click {notification_id}\n")
        self.proc.stdin.flush()


def _pump_qt() -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.processEvents()


@contextmanager
def private_session_bus(
    with_service: bool = True,
) -> Iterator[tuple[str, FakeNotificationService | None]]:
    exe = shutil.which("dbus-daemon")
    if exe is None:
        pytest.skip("dbus-daemon is not installed (Debian: apt-get install dbus)")
    daemon = subprocess.Popen(
        [exe, "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    service: subprocess.Popen[str] | None = None
    fake: FakeNotificationService | None = None
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:"), address
        if with_service:
            service = subprocess.Popen(
                [sys.executable, "-m", "tests.ui.fake_notifications", address],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert service.stdout is not None
            assert service.stdout.readline().strip() == "ready"
            fake = FakeNotificationService(service)
        yield address, fake
    finally:
        for proc in (service, daemon):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
                if fake is not None and proc is service:
                    fake.reader.join(5)
                for stream in (proc.stdin, proc.stdout):
                    if stream is not None:
                        stream.close()
