"""The watch loop's warnings reach the push channels: the monitor (an in-memory connector) and a
real sender posting to a local HTTP receiver on 127.0.0.1 (apprise's json:// target). Quiet
hours hold a WARNING and let a CRITICAL through; a channel that keeps failing raises the
push-channel warning, which resolves once it delivers again, and nothing held is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import time as dtime

import pytest

from alerts import NO_ACCOUNT, WATCH_RULES, Change, Severity, WarningRule
from monitor.events import NullCallbacks, WarningEvent
from monitor.service import WatchService
from notify.channel import Channel, QuietHours
from notify.sender import PushSender
from settings.registry import FIXED_PERCENT
from settings.store import SettingsStore
from storage.database import Database
from storage.records import AccountRecord
from tests.monitor.monitor_fakes import FakeConnector, serving
from tests.notify.push_receiver import PushReceiver, Received

WARNING_WALLET = 22_000.0
"""The fake account's joint move is about −5.6 %: a WARNING at the fixed distances (10 % warns,
5 % is critical), which these tests switch on (``FIXED_PERCENT``): they are about where a
warning goes, and a fixed distance makes one at will."""
CRITICAL_WALLET = 17_800.0
"""About −3.3 %: CRITICAL."""


class Shown(NullCallbacks):
    """What the screen (or ``watch``'s terminal) is given: every warning change."""

    def __init__(self) -> None:
        self.events: list[WarningEvent] = []
        self.lock = threading.Lock()

    def on_warning(self, e: WarningEvent) -> None:
        with self.lock:
            self.events.append(e)

    def of(self, rule: WarningRule) -> list[tuple[Change, Severity]]:
        with self.lock:
            return [(e.change, e.warning.severity) for e in self.events if e.warning.rule is rule]

    def message(self, rule: WarningRule) -> str:
        with self.lock:
            return next(e.warning.message for e in reversed(self.events) if e.warning.rule is rule)


@pytest.fixture
def watched(db: Database) -> FakeConnector:
    db.accounts.add(AccountRecord("binanceusdm", "Main"))
    SettingsStore(db.settings).set(FIXED_PERCENT, True)
    return FakeConnector(wallet=WARNING_WALLET)


@pytest.fixture
def pushes() -> Iterator[list[PushSender]]:
    started: list[PushSender] = []
    yield started
    for p in started:
        p.stop(1.0)


def start(pushes: list[PushSender], channel: Channel, **kw: object) -> PushSender:
    sender = PushSender([channel], timeout_s=2, **kw)  # type: ignore[arg-type]
    sender.start()
    pushes.append(sender)
    return sender


def joint(messages: list[Received]) -> list[Received]:
    return [m for m in messages if "joint move" in m.message]


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return cond()


def test_a_fired_warning_and_its_escalation_arrive_once_each(
    db: Database, watched: FakeConnector, receiver: PushReceiver, pushes: list[PushSender]
) -> None:
    push = start(pushes, Channel.from_url("c", receiver.url))
    shown = Shown()
    svc = WatchService(db, None, shown, connector_factory=serving(watched), push=push)
    svc.tick()
    svc.tick()
    assert shown.of(WarningRule.JOINT_MOVE)[0] == (Change.FIRED, Severity.WARNING)
    assert wait_until(lambda: len(joint(receiver.received)) == 1)
    first = joint(receiver.received)[0]
    assert first.type == "warning" and first.title == "WARNING · Main"
    assert first.message.splitlines()[0] == shown.message(WarningRule.JOINT_MOVE)
    watched.wallet = CRITICAL_WALLET
    svc.tick()
    assert (Change.ESCALATED, Severity.CRITICAL) in shown.of(WarningRule.JOINT_MOVE)
    assert wait_until(lambda: len(joint(receiver.received)) == 2)
    second = joint(receiver.received)[1]
    assert second.type == "failure" and second.title == "CRITICAL (escalated) · Main"
    assert second.message.splitlines()[0] == shown.message(WarningRule.JOINT_MOVE)
    svc.tick()
    time.sleep(0.5)
    assert len(joint(receiver.received)) == 2, "an updated warning is not sent again"


def test_quiet_hours_hold_a_warning_and_pass_a_critical(
    db: Database, watched: FakeConnector, receiver: PushReceiver, pushes: list[PushSender]
) -> None:
    night = Channel.from_url("n", receiver.url, quiet=QuietHours.parse("22:00-07:00"))
    push = start(pushes, night, local_time=lambda: dtime(3, 0))
    shown = Shown()
    svc = WatchService(db, None, shown, connector_factory=serving(watched), push=push)
    svc.tick()
    assert shown.of(WarningRule.JOINT_MOVE) == [(Change.FIRED, Severity.WARNING)], "on screen"
    time.sleep(1.5)
    assert receiver.received == [], "a WARNING waits for the morning"
    watched.wallet = CRITICAL_WALLET
    svc.tick()
    assert wait_until(lambda: len(joint(receiver.received)) == 1)
    got = joint(receiver.received)
    assert got[0].type == "failure" and got[0].title.startswith("CRITICAL")
    assert all(m.type != "warning" for m in receiver.received)


def test_a_failing_channel_raises_the_push_channel_warning_and_recovers(
    db: Database,
    watched: FakeConnector,
    receiver: PushReceiver,
    pushes: list[PushSender],
    fast_backoff: None,
) -> None:
    receiver.set(status=500)
    push = start(pushes, Channel.from_url("f", receiver.url))
    shown = Shown()
    svc = WatchService(db, None, shown, connector_factory=serving(watched), push=push)
    svc.tick()
    assert shown.of(WarningRule.JOINT_MOVE) == [(Change.FIRED, Severity.WARNING)], "on screen"
    assert wait_until(lambda: any(not h.ok for h in push.health().values()))
    svc.check_channels()
    assert shown.of(WarningRule.PUSH_CHANNEL) == [(Change.FIRED, Severity.WARNING)]
    text = shown.message(WarningRule.PUSH_CHANNEL)
    assert f"Push channel json://127.0.0.1:{receiver.port}/ has been failing since" in text
    assert "error=500" in text and "\n" not in text
    stored = [w for w in db.warnings.all() if w.rule is WarningRule.PUSH_CHANNEL]
    assert [w.account_id for w in stored] == [NO_ACCOUNT], "kept, on no account"
    receiver.set(status=200)
    assert wait_until(lambda: all(h.ok for h in push.health().values()))
    svc.check_channels()
    svc.check_channels()
    assert shown.of(WarningRule.PUSH_CHANNEL)[-1][0] is Change.RESOLVED
    # nothing lost: what waited while the channel failed arrives once it works, once each
    assert wait_until(lambda: len(joint(receiver.received)) == 1 and push.pending() == 0)
    sent = [(m.title, m.message) for m in receiver.received]
    assert len(sent) == len(set(sent)), "each once"
    assert [m.title for m in receiver.received].count("WARNING · Cascade Watch") == 1


def test_a_channel_warning_left_open_resolves_when_no_channel_is_left(
    db: Database, watched: FakeConnector
) -> None:
    from monitor.health import channel_conditions
    from notify.channel import ChannelHealth

    shown = Shown()
    first = WatchService(db, None, shown, connector_factory=serving(watched))
    failing = ChannelHealth("c", "json://127.0.0.1:9/", False, 3, 0, "connection refused")
    first.alerts.update(NO_ACCOUNT, channel_conditions([failing]), WATCH_RULES, 1_000)
    assert shown.of(WarningRule.PUSH_CHANNEL) == [(Change.FIRED, Severity.WARNING)]
    again = WatchService(db, None, shown, connector_factory=serving(watched))  # a restart
    again.check_channels()
    again.check_channels()
    assert shown.of(WarningRule.PUSH_CHANNEL)[-1][0] is Change.RESOLVED
