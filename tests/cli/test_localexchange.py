"""``python main.py localexchange``: faults switched from the command, to rehearse an outage."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.paths import REPO_ROOT


def get(url: str, *, method: str = "GET", body: bytes | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode(), answer.headers.get("Retry-After", "")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode(), e.headers.get("Retry-After", "")


def start(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", "localexchange", *flags],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_ban_from_the_command_line_then_switched_off_while_running() -> None:
    proc = start("--fault", "418,exchange=binanceusdm,ban_s=120", "--fault", "latency,seconds=0")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "rehearse an outage" in line:
                break
        text = "".join(lines)
        base = re.search(r"address: (http://127\.0\.0\.1:\d+)", text)
        assert base is not None, text
        assert "faults: 418 (binanceusdm, ban_s=120" in text
        url = base.group(1)
        status, body, retry_after = get(url + "/fapi/v1/time")
        assert status == 418 and "banned until" in body and 118 <= int(retry_after) <= 120
        assert get(url + "/v5/market/time")[0] == 200
        status, body, _ = get(url + "/_control/faults")
        assert [f["kind"] for f in json.loads(body)["faults"]] == ["418", "latency"]
        assert get(url + "/_control/faults", method="DELETE")[0] == 200
        assert get(url + "/fapi/v1/time")[0] == 200
        status, body, _ = get(url + "/_control/faults", method="POST", body=b"5xx,exchange=okx")
        assert status == 201
        assert get(url + "/api/v5/public/time")[0] == 502
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert out.rstrip().endswith("local exchange stopped")


@pytest.mark.parametrize(
    ("flag", "problem"),
    [
        ("nope", "unknown fault 'nope'"),
        ("418,exchange=kraken", "unknown exchange 'kraken'"),
        ("latency,seconds=\x1b[31m", "seconds must be a number, not '\\x1b[31m'"),
    ],
)
def test_a_bad_fault_flag_is_one_line_and_exit_2(flag: str, problem: str) -> None:
    proc = start("--fault", flag)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert out.count("\n") == 1 and "Traceback" not in out and "\x1b" not in out
    assert problem in out
