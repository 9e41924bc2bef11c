"""Ctrl-C stops `watch` (and `localexchange`) cleanly; a second Ctrl-C forces the exit; a
signal arriving anywhere in the main thread's wait never deadlocks it.

The deadlock as found: the old handler called ``threading.Event.set`` on the event the main
thread sat in ``Event.wait`` on. Python runs a handler on the main thread between two
bytecodes, so when the signal lands while ``wait`` holds the event's lock, ``set`` waits for
that lock forever. ``deliver_at_every_line`` plays a signal at each line the waiting thread
runs (as Python would between bytecodes), which reproduces it deterministically.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from cli.shutdown import FORCED_MESSAGE, StopSignals
from connectors.credentials import Credentials
from storage.database import Database
from storage.records import AccountRecord
from storage.secrets import SecretStore
from tests.paths import REPO_ROOT


def signal_at_line(
    wait: Callable[[], Any], handler: Callable[[], None], k: int
) -> tuple[threading.Thread, list[int]]:
    """Run ``wait`` on a thread that calls ``handler`` (once) at the k-th line it executes, as
    a signal landing there would; returns the thread and the count of lines it ran."""
    lines = [0]

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        if event == "line":
            if lines[0] == k:
                handler()
            lines[0] += 1
        return tracer

    def run() -> None:
        sys.settrace(tracer)
        try:
            wait()
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, lines


def deliver_at_every_line(
    make: Callable[[], tuple[Callable[[], Any], Callable[[], None]]], limit: int = 200
) -> list[int]:
    """For k = 0, 1, ...: a fresh (wait, handler) pair, the signal played at the wait's k-th
    line. Returns the first k at which the waiting thread never came back, if any."""
    for k in range(limit):
        thread, lines = signal_at_line(*make(), k)
        thread.join(2.0)
        if thread.is_alive():
            return [k]
        if lines[0] <= k:  # the wait ran out of lines before the k-th: every point was tried
            break
    return []


def test_the_old_handler_deadlocks_the_wait() -> None:
    """The control: Event.set from a handler, Event.wait on the main thread (the fault)."""

    def make() -> tuple[Callable[[], Any], Callable[[], None]]:
        event = threading.Event()
        return (lambda: event.wait(0.2)), event.set

    assert deliver_at_every_line(make), "the harness did not reproduce the deadlock"


def test_the_stop_signal_never_deadlocks_the_wait() -> None:
    made: list[StopSignals] = []

    def make() -> tuple[Callable[[], Any], Callable[[], None]]:
        stop = StopSignals(on_second=lambda signum: None)
        made.append(stop)
        return (lambda: stop.wait(0.2)), (lambda: stop.handle(signal.SIGINT))

    try:
        assert deliver_at_every_line(make) == []
        assert len(made) > 3 and all(s.requested for s in made[:-1])
    finally:
        for stop in made:
            stop.close()


def test_a_second_signal_forces_and_the_first_only_asks() -> None:
    forced: list[int] = []
    stop = StopSignals(on_second=forced.append)
    try:
        assert stop.wait(0.01) is False
        stop.handle(signal.SIGINT)
        assert forced == [] and stop.wait(None) is True
        stop.handle(signal.SIGTERM)
        assert forced == [signal.SIGTERM]
    finally:
        stop.close()


def test_handlers_are_installed_and_given_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as stop:
        assert signal.getsignal(signal.SIGINT) == stop.handle
        assert signal.getsignal(signal.SIGTERM) == stop.handle
    assert signal.getsignal(signal.SIGINT) == before


def start(command: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", command, *map(str, args)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_printed(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        if not line:
            break
    raise AssertionError(f"{text!r} was never printed")


def test_sigterm_stops_watch_cleanly(tmp_path: Path) -> None:
    """As one Ctrl-C does (tests/cli/test_watch.py): stopped, status 0."""
    proc = start("watch", "--demo", "--speed", "600", "--data-dir", tmp_path)
    wait_until_printed(proc, "Ctrl-C to stop")
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped") and "Traceback" not in err


PASSPHRASE = "a test passphrase"


@contextlib.contextmanager
def hung_account(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """`watch` on one stored account whose exchange accepts connections and never answers,
    so a poll is always in flight (its key in the encrypted secret file, the passphrase given
    on stdin: no terminal in the child's session)."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)
    try:
        store = SecretStore.open(data_dir, lambda *a: PASSPHRASE, backend="file", scrypt_n=2**14)
        store.set("hung", Credentials(api_key="k" * 16, secret="s" * 32))
        with Database.open(data_dir / "cascade.db") as db:
            url = f"http://127.0.0.1:{hung.getsockname()[1]}"
            db.accounts.add(AccountRecord("binanceusdm", "hung", base_url=url, secret_name="hung"))
        proc = subprocess.Popen(
            [sys.executable, "main.py", "watch", "--data-dir", str(data_dir)],
            cwd=REPO_ROOT,
            env={**os.environ, "CASCADE_SECRET_BACKEND": "file"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.flush()
        wait_until_printed(proc, "Ctrl-C to stop")
        time.sleep(1.5)
        yield proc
    finally:
        hung.close()


def test_a_second_ctrl_c_forces_the_exit_while_the_stop_waits(tmp_path: Path) -> None:
    """The clean stop waits (up to 5 s) for the poll in flight; a second Ctrl-C during that
    wait ends the process at once: status 130 and one line."""
    with hung_account(tmp_path) as proc:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == FORCED_MESSAGE.decode().strip()
    assert "Traceback" not in err and "stopped" not in out and took < 2


def test_ctrl_c_stops_the_local_exchange() -> None:
    proc = start("localexchange", "--speed", "60")
    wait_until_printed(proc, "Press Ctrl-C to stop")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("local exchange stopped") and "Traceback" not in err
