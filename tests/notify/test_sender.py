"""The push sender against a real HTTP receiver on 127.0.0.1 (apprise's json:// target)."""

from __future__ import annotations

import logging
import re
import time
from datetime import time as dtime

import notify.sender as sender_mod
from alerts.vocabulary import Change, Severity, WarningRule
from notify.channel import Channel, ChannelHealth, QuietHours
from notify.message import Notice
from notify.sender import PushSender
from tests.notify.push_receiver import PushReceiver

T0 = 1_762_000_000_000


def notice(change: Change, severity: Severity, key: str = "joint_move|1|BTC") -> Notice:
    return Notice(
        key=key,
        change=change,
        severity=severity,
        rule=WarningRule.JOINT_MOVE,
        account="Main",
        symbols=("BTC/USDT:USDT",),
        text="BTC −8.3 % (at BTC 101,369) liquidates the whole cross account.",
        first_seen_ms=T0,
        at_ms=T0,
    )


def test_a_warning_arrives_once_then_its_escalation(receiver: PushReceiver) -> None:
    s = PushSender([Channel.from_url("c1", receiver.url)], timeout_s=3)
    s.start()
    try:
        t = time.time()
        s.submit(notice(Change.FIRED, Severity.WARNING))
        s.submit(notice(Change.UPDATED, Severity.WARNING))
        s.submit(notice(Change.FIRED, Severity.WARNING))
        got = receiver.wait_for(1)
        assert got[0].at - t < 1.0
        s.submit(notice(Change.ESCALATED, Severity.CRITICAL))
        got = receiver.wait_for(2)
        time.sleep(0.3)
    finally:
        s.stop()
    assert len(receiver.received) == 2
    first, second = receiver.received
    assert (first.title, first.type) == ("WARNING · Main", "warning")
    assert first.message.startswith("BTC −8.3 % (at BTC 101,369) liquidates")
    assert (second.title, second.type) == ("CRITICAL (escalated) · Main", "failure")


def test_quiet_hours_hold_a_warning_and_pass_a_critical(receiver: PushReceiver) -> None:
    quiet = Channel.from_url("c1", receiver.url, quiet=QuietHours.parse("22:00-07:00"))
    s = PushSender([quiet], timeout_s=3, local_time=lambda: dtime(23, 30))
    s.start()
    try:
        s.submit(notice(Change.FIRED, Severity.WARNING, key="a"))
        s.submit(notice(Change.FIRED, Severity.CRITICAL, key="b"))
        got = receiver.wait_for(1)
        time.sleep(1.5)
    finally:
        s.stop()
    assert [r.title for r in receiver.received] == ["CRITICAL · Main"]
    assert got[0].type == "failure"


def test_a_failing_receiver_raises_the_connectivity_condition_and_recovers(
    receiver: PushReceiver, fast_backoff: None
) -> None:
    health: list[ChannelHealth] = []
    receiver.set(status=500)
    s = PushSender([Channel.from_url("c1", receiver.url)], timeout_s=3, on_health=health.append)
    s.start()
    try:
        t = time.perf_counter()
        s.submit(notice(Change.FIRED, Severity.CRITICAL))
        assert time.perf_counter() - t < 0.05, "submit must never wait for the network"
        deadline = time.monotonic() + 10
        while not health and time.monotonic() < deadline:
            time.sleep(0.05)
        assert health and not health[0].ok
        assert health[0].failures == sender_mod.FAIL_AFTER
        assert "500" in health[0].reason and "\n" not in health[0].reason
        assert s.health()["c1"].ok is False
        receiver.set(status=200)
        got = receiver.wait_for(1)
        deadline = time.monotonic() + 5
        while len(health) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        s.stop()
    assert [h.ok for h in health] == [False, True]
    assert [r.title for r in got] == ["CRITICAL · Main"]


def test_a_slow_receiver_times_out_without_delaying_other_channels(
    fast_backoff: None,
) -> None:
    with PushReceiver() as slow, PushReceiver() as fast:
        slow.set(delay_s=3.0)
        s = PushSender(
            [Channel.from_url("slow", slow.url), Channel.from_url("fast", fast.url)],
            timeout_s=0.5,
        )
        s.start()
        try:
            t = time.time()
            s.submit(notice(Change.FIRED, Severity.CRITICAL))
            got = fast.wait_for(1)
            assert got and got[0].at - t < 1.0
            result = s.send_test(Channel.from_url("slow", slow.url)).result(timeout=5)
        finally:
            s.stop(timeout=0.5)
    assert not result.ok
    assert result.elapsed_s < 2.5
    assert result.reason and "\n" not in result.reason


def test_send_test_reports_success_and_failure(receiver: PushReceiver) -> None:
    s = PushSender(timeout_s=2)
    ok = s.send_test(Channel.from_url("new", receiver.url)).result(timeout=5)
    assert ok.ok and ok.reason == ""
    assert receiver.received[0].title == "Test · Cascade Watch"
    receiver.set(status=404)
    bad = s.send_test(Channel.from_url("new", receiver.url)).result(timeout=5)
    assert not bad.ok and "404" in bad.reason


class _Collect(logging.Handler):
    """Like the app's log file: a handler on the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


def test_the_secret_in_a_channel_url_never_reaches_the_log(
    receiver: PushReceiver, fast_backoff: None
) -> None:
    secret = "hook-Zq8secretToken77"
    url = f"json://trader:pw-{secret}@127.0.0.1:{receiver.port}/{secret}/"
    receiver.set(status=500)
    health: list[ChannelHealth] = []
    root = logging.getLogger()
    handler, level = _Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    s = PushSender([Channel.from_url("c1", url)], timeout_s=2, on_health=health.append)
    s.start()
    try:
        s.submit(notice(Change.FIRED, Severity.CRITICAL))
        deadline = time.monotonic() + 10
        while not health and time.monotonic() < deadline:
            time.sleep(0.05)
        receiver.set(status=200)
        receiver.wait_for(1)
        failed = s.send_test(Channel.from_url("x", url.replace("127.0.0.1", "127.0.0.1:1"))).result(
            5
        )
    finally:
        s.stop()
        root.removeHandler(handler)
        root.setLevel(level)
    assert receiver.received[0].path == f"/{secret}/"
    log = "\n".join(handler.lines)
    assert "POST /…/" in log, "urllib3's request line is logged, redacted"
    # the channel is named by its masked label (the log's own redaction may mask it further)
    assert re.search(r"push to json://(trader:…|\*\*\*)@127\.0\.0\.1", log)
    text = log + repr(health) + repr(failed) + repr(s.channels)
    assert secret not in text
    assert "pw-" not in text
