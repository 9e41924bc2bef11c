"""A machine without a window or a keychain: ``accounts`` and ``channels`` keep the keys and
channel URLs in the encrypted file, opened with CASCADE_PASSPHRASE_FILE; ``watch`` then serves
them. Keys never come from the command line; bad input is one line with exit 2 (1 for a channel
that does not answer); no secret is echoed or left in the data folder."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.localexchange.service import LocalExchange
from tests.cli.test_watch import read_lines
from tests.monitor.test_demo_scenario import liquidation_offset_s
from tests.notify.push_receiver import PushReceiver
from tests.paths import REPO_ROOT

TOKEN = "tok-Zq8secretToken77"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """The environment of a headless service: the encrypted-file store, its passphrase in a
    private file."""
    phrase = tmp_path / "passphrase"
    phrase.write_text("correct horse battery staple\n")
    phrase.chmod(0o600)
    return {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "CASCADE_SECRET_BACKEND": "file",
        "CASCADE_PASSPHRASE_FILE": str(phrase),
        "CASCADE_DATA_DIR": str(tmp_path / "data"),
    }


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def data_files(env: dict[str, str]) -> list[bytes]:
    return [p.read_bytes() for p in Path(env["CASCADE_DATA_DIR"]).rglob("*") if p.is_file()]


def test_channels_add_list_test_remove(home: dict[str, str], receiver: PushReceiver) -> None:
    url = f"json://127.0.0.1:{receiver.port}/{TOKEN}/"
    added = cli(
        {**home, "CASCADE_CHANNEL_URL": url},
        *("channels", "add", "--min-severity", "critical", "--quiet", "23:00-07:00"),
    )
    assert added.returncode == 0, added.stderr
    masked = f"json://127.0.0.1:{receiver.port}/…"
    assert f": {masked} (critical and above, quiet 23:00-07:00 except CRITICAL)" in added.stdout
    channel_id = added.stdout.split("added channel ", 1)[1].split(":", 1)[0]
    listed = cli(home, "channels", "list")
    assert masked in listed.stdout and "critical" in listed.stdout and TOKEN not in listed.stdout
    tested = cli(home, "channels", "test", channel_id)
    assert tested.returncode == 0, tested.stderr
    assert f"test message sent to {masked}" in tested.stdout
    got = receiver.wait_for(1)
    assert got[0].title == "Test · Cascade Watch" and got[0].path == f"/{TOKEN}/"
    files = data_files(home)
    assert any(b'"cascade-watch-secrets"' in f for f in files), "the URL is in the secret file"
    assert not any(TOKEN.encode() in f for f in files)
    removed = cli(home, "channels", "remove", channel_id)
    assert removed.returncode == 0
    assert "no push channel is stored" in cli(home, "channels", "list").stdout
    again = cli(home, "channels", "remove", channel_id)
    assert again.returncode == 2 and "no stored channel has the id" in one_line(again)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("channels", "add", "nope://x/" + TOKEN), 2, "unknown notification scheme nope://"),
        (("channels", "add", "json://127.0.0.1:9/", "--quiet", "25:00-7"), 2, "--quiet:"),
        (("channels", "add"), 2, "the channel URL is empty (give it as CASCADE_CHANNEL_URL)"),
        (("channels", "test", "json://127.0.0.1:9/" + TOKEN), 1, "(connection refused)"),
        (("channels", "add", "--min-severity", "loud", "json://x"), 2, "invalid choice"),
    ],
)
def test_bad_channel_input_is_one_line(
    home: dict[str, str], args: tuple[str, ...], code: int, says: str
) -> None:
    done = cli(home, *args)
    assert done.returncode == code
    line = one_line(done) if code == 1 or "--min-severity" not in args else done.stderr
    assert says in line
    assert TOKEN not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("status", "delay", "says"),
    [(500, 0.0, "error=500"), (404, 0.0, "error=404"), (200, 4.0, "(no answer in time)")],
)
def test_a_channel_that_answers_badly_or_late_is_one_line(
    home: dict[str, str], receiver: PushReceiver, status: int, delay: float, says: str
) -> None:
    receiver.set(status=status, delay_s=delay)
    done = cli(home, "channels", "test", "--timeout", "1", f"{receiver.url}{TOKEN}/")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith(f"cascade-watch channels test: json://127.0.0.1:{receiver.port}/…: ")
    assert says in line and TOKEN not in line


def test_a_passphrase_file_others_can_read_is_refused(home: dict[str, str]) -> None:
    Path(home["CASCADE_PASSPHRASE_FILE"]).chmod(0o644)
    done = cli({**home, "CASCADE_CHANNEL_URL": "json://127.0.0.1:9/"}, "channels", "add")
    assert done.returncode == 1
    assert "may be read by other users; make it private: chmod 600" in one_line(done)
    assert "correct horse" not in done.stderr


def test_a_wrong_passphrase_file_is_said_once_and_nothing_is_asked(home: dict[str, str]) -> None:
    url = "json://127.0.0.1:9/" + TOKEN
    assert cli({**home, "CASCADE_CHANNEL_URL": url}, "channels", "add").returncode == 0
    Path(home["CASCADE_PASSPHRASE_FILE"]).write_text("another phrase")
    channel_id = cli(home, "channels", "list", "--json").stdout.split('"id": "')[1].split('"')[0]
    done = cli(home, "channels", "test", channel_id)
    assert done.returncode == 1
    assert "the passphrase in CASCADE_PASSPHRASE_FILE" in one_line(done)


def test_keys_never_come_from_the_command_line(home: dict[str, str]) -> None:
    done = cli(home, "accounts", "add", "--exchange", "bybit", "--label", "M", "--key", "abc")
    assert done.returncode == 2 and "unrecognized arguments: --key abc" in done.stderr
    no_keys = {k: v for k, v in home.items() if not k.startswith("CASCADE_API")}
    done = cli(no_keys, "accounts", "add", "--exchange", "bybit", "--label", "M")
    assert done.returncode == 2
    assert one_line(done) == (
        "cascade-watch accounts add: set CASCADE_API_KEY and CASCADE_API_SECRET in the "
        "environment, or run this in a terminal to be asked"
    )


def start_watch(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", "watch"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def exchange() -> Iterator[LocalExchange]:
    lx = LocalExchange(scenario="2025-11-04", speed=1800.0).start()
    lx.pause()  # the scenario's clock waits for the watch (the commands before it take seconds)
    yield lx
    lx.stop()


@pytest.mark.slow
def test_an_account_added_headless_is_watched_and_its_warnings_pushed(
    home: dict[str, str], exchange: LocalExchange, receiver: PushReceiver
) -> None:
    creds = exchange.credentials("binanceusdm")
    keyed = {**home, "CASCADE_API_KEY": creds.api_key, "CASCADE_API_SECRET": creds.secret}
    added = cli(
        keyed,
        *("accounts", "add", "--exchange", "binanceusdm", "--label", "Main", "--check"),
        *("--api-url", exchange.base_url),
    )
    assert added.returncode == 0, added.stderr
    assert "read the account: 2 open position(s)" in added.stdout
    assert "added account 1: Main on binanceusdm" in added.stdout
    listed = cli(home, "accounts", "list")
    assert "Main" in listed.stdout and "stored" in listed.stdout
    assert cli({**home, "CASCADE_CHANNEL_URL": receiver.url}, "channels", "add").returncode == 0
    proc = start_watch(home)
    exchange.resume()
    try:
        receiver.wait_for(1, timeout=90)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "API keys are read from the encrypted file" in out
    assert receiver.received, out + err
    assert receiver.received[0].title.endswith("· Main")
    for blob in [*data_files(home), out.encode(), err.encode()]:
        assert creds.secret.encode() not in blob and creds.api_key.encode() not in blob
    removed = cli(home, "accounts", "remove", "Main")
    assert removed.returncode == 0 and "with its key" in removed.stdout
    assert "no account is stored" in cli(home, "accounts", "list").stdout


@pytest.mark.slow
def test_a_running_watch_picks_up_a_channel_and_an_account_added_meanwhile(
    home: dict[str, str], exchange: LocalExchange, receiver: PushReceiver
) -> None:
    """A watch started on an empty data folder (as a service starts before anything is set
    up): a channel and then an account added from another terminal are watched within
    seconds, without a restart, and the account's warning is pushed to the channel."""
    proc = start_watch(home)
    lines, reader = read_lines(proc)
    try:
        wait_for_line(lines, "watching 0 account(s)", 60)
        added = cli({**home, "CASCADE_CHANNEL_URL": receiver.url}, "channels", "add")
        assert added.returncode == 0, added.stderr
        wait_for_line(lines, "the stored channels changed: the warnings go to json://", 30)
        creds = exchange.credentials("binanceusdm")
        keyed = {**home, "CASCADE_API_KEY": creds.api_key, "CASCADE_API_SECRET": creds.secret}
        added = cli(
            keyed,
            *("accounts", "add", "--exchange", "binanceusdm", "--label", "Later"),
            *("--api-url", exchange.base_url),
        )
        assert added.returncode == 0, added.stderr
        wait_for_line(lines, "the stored accounts changed: watching 1", 30)
        exchange.seek(liquidation_offset_s() - 8 * 3600)  # the chance of liquidation is high
        exchange.resume()
        got = receiver.wait_for(1, timeout=90)
        assert got and got[0].title.endswith("· Later"), got
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(10)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def wait_for_line(lines: queue.Queue[str | None], text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} was not printed; printed: {seen}")
