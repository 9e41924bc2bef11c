"""``watch --notify URL``: the demo's warnings reach a push receiver on 127.0.0.1 (apprise's
json:// target), each once and as printed; a URL apprise cannot use is one line and exit 2;
the channel's secret appears nowhere in the data folder or the output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from datetime import time as dtime
from pathlib import Path

import pytest

from tests.notify.push_receiver import PushReceiver
from tests.paths import REPO_ROOT


def watch(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", "watch", "--demo", "--data-dir", str(tmp_path), *extra],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out, err


LINE = re.compile(
    r"^(\d\d:\d\d:\d\d) .*?(INFO|WARNING|CRITICAL) +(fired|escalated|resolved) +.*? — (.*)$"
)


def printed(out: str) -> list[tuple[str, str, str, str]]:
    """(line, severity, change, sentence) of each warning line ``watch`` printed."""
    found = (LINE.search(line) for line in out.splitlines())
    return [(m.group(0), m.group(2), m.group(3), m.group(4)) for m in found if m]


def line_time(line: str) -> dtime:
    """The wall-clock time (UTC) a line was printed at."""
    return dtime.fromisoformat(line[:8])


@pytest.mark.slow
def test_the_demo_s_warnings_reach_a_receiver_once_each_as_printed(
    tmp_path: Path, receiver: PushReceiver
) -> None:
    proc = watch(tmp_path, "--speed", "1800", "--notify", receiver.url)
    try:
        receiver.wait_for(2, timeout=120)
        time.sleep(1.0)  # anything sent twice would arrive now
    finally:
        out, _ = stop(proc)
    assert f"push: the warnings also go to 1 channel(s): json://127.0.0.1:{receiver.port}/" in out
    new = [(line, sev, text) for line, sev, change, text in printed(out) if change != "resolved"]
    got = list(receiver.received)
    assert new and got, out
    bodies = [(m.title.split(" ")[0], m.message.splitlines()[0]) for m in got]
    assert len(bodies) == len(set(bodies)), "nothing arrives twice"
    assert not [m for m in got if m.title.startswith("Resolved")], "resolutions only if asked"
    for line, severity, sentence in new:
        assert (severity, sentence) in bodies, f"{line} did not arrive"
        arrival = next(m.at for m in got if m.message.startswith(sentence))
        shown = datetime.combine(datetime.now(UTC).date(), line_time(line), UTC).timestamp()
        assert arrival - shown < 2.0, "the push follows the printed line within the poll"
    for m in got:
        assert m.title.endswith("· Demo Binance")
        assert m.type == ("failure" if m.title.startswith("CRITICAL") else "warning")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nope://hooks.example/Zq8secretToken77", "unknown notification scheme nope://"),
        ("hooks.example/Zq8secretToken77", "has no scheme"),
        ("tgram://Zq8secretToken77", "the tgram:// URL is malformed"),
        ("   ", "the channel URL is empty"),
    ],
)
def test_a_url_apprise_cannot_use_is_one_line_and_exit_2(
    tmp_path: Path, url: str, says: str
) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "main.py", "watch", "--demo", "--data-dir", str(tmp_path)),
            *("--notify", "json://127.0.0.1:9/", "--notify", url),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("cascade-watch watch: --notify #2: ") and says in lines[0]
    assert "Zq8secretToken77" not in done.stderr
    assert not (tmp_path / "demo.db").exists(), "nothing started"


@pytest.mark.slow
def test_the_channel_secret_is_nowhere_in_the_data_folder_or_the_output(
    tmp_path: Path, receiver: PushReceiver
) -> None:
    secret, password = "hook-Zq8secretToken77", "pw-Kx93hunter2"
    url = f"json://trader:{password}@127.0.0.1:{receiver.port}/{secret}/"
    receiver.set(status=503)  # fails first: the failure lines and the channel warning too
    proc = watch(tmp_path, "--speed", "3600", "--notify", url, "-v")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and receiver.attempts < 3:
            time.sleep(0.2)
        receiver.set(status=200)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.2)
    finally:
        out, err = stop(proc)
    assert receiver.received and receiver.received[0].path == f"/{secret}/"
    assert "push to json://" in err and "failed" in err, "the failures are logged"
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files
    for text in [out, err, *(p.read_bytes().decode("latin-1") for p in files)]:
        assert secret not in text
        assert password not in text


def test_a_second_watch_on_the_same_folder_says_who_holds_it(tmp_path: Path) -> None:
    first = watch(tmp_path, "--speed", "60")
    try:
        assert first.stdout is not None
        assert first.stdout.readline().startswith("watching 1 account(s)")
        second = subprocess.run(
            [sys.executable, "main.py", "watch", "--demo", "--data-dir", str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop(first)
    assert second.returncode == 1
    assert second.stderr.strip() == (
        f"cascade-watch watch: a watch (pid {first.pid}) is already watching {tmp_path}; "
        "stop it first, or use another --data-dir"
    )
