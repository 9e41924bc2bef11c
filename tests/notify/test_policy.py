"""The push policy: each severity once, quiet hours hold a WARNING but not a CRITICAL,
reminders for an unacknowledged CRITICAL, resolutions only where asked for."""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from alerts.vocabulary import Change, Severity, WarningRule
from notify.channel import ChannelPrefs, QuietHours
from notify.message import Kind, Notice
from notify.policy import PushPolicy, Send, Withdraw

DAY = time(12, 0)
NIGHT = time(23, 30)
T0 = 1_762_000_000_000


def notice(change: Change, severity: Severity, at: int = T0, **kw: object) -> Notice:
    base = Notice(
        key="joint_move|1|BTC/USDT:USDT",
        change=change,
        severity=severity,
        rule=WarningRule.JOINT_MOVE,
        account="Main",
        symbols=("BTC/USDT:USDT",),
        text="BTC −8.3 % (at BTC 101,369) liquidates the whole cross account.",
        first_seen_ms=T0,
        at_ms=at,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def sends(actions: list[Send | Withdraw]) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def test_fired_escalated_once_each_updates_never() -> None:
    p = PushPolicy([ChannelPrefs("a", "json://…")])
    first = sends(p.on_notice(notice(Change.FIRED, Severity.WARNING), T0, DAY))
    assert [s.message.kind for s in first] == [Kind.FIRED]
    assert first[0].message.title == "WARNING · Main"
    assert first[0].message.body.startswith("BTC −8.3 % (at BTC 101,369)")
    assert "joint move · BTC · since" in first[0].message.body
    assert sends(p.on_notice(notice(Change.UPDATED, Severity.WARNING), T0 + 1000, DAY)) == []
    assert sends(p.on_notice(notice(Change.FIRED, Severity.WARNING), T0 + 2000, DAY)) == []
    esc = sends(p.on_notice(notice(Change.ESCALATED, Severity.CRITICAL), T0 + 3000, DAY))
    assert [(s.message.kind, s.message.notify_type) for s in esc] == [(Kind.ESCALATED, "failure")]
    assert esc[0].message.title == "CRITICAL (escalated) · Main"
    assert sends(p.on_notice(notice(Change.UPDATED, Severity.WARNING), T0 + 4000, DAY)) == []
    assert sends(p.on_notice(notice(Change.ESCALATED, Severity.CRITICAL), T0 + 5000, DAY)) == []


def test_minimum_severity_per_channel() -> None:
    p = PushPolicy(
        [ChannelPrefs("all", "x"), ChannelPrefs("crit", "y", min_severity=Severity.CRITICAL)]
    )
    out = sends(p.on_notice(notice(Change.FIRED, Severity.WARNING), T0, DAY))
    assert [s.channel_id for s in out] == ["all"]
    out = sends(p.on_notice(notice(Change.ESCALATED, Severity.CRITICAL), T0 + 1, DAY))
    assert sorted(s.channel_id for s in out) == ["all", "crit"]


def test_quiet_hours_hold_a_warning_release_it_and_pass_a_critical() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    p = PushPolicy([ChannelPrefs("a", "x", quiet=quiet)])
    assert sends(p.on_notice(notice(Change.FIRED, Severity.WARNING), T0, NIGHT)) == []
    assert sends(p.tick(T0 + 60_000, NIGHT)) == []
    released = sends(p.tick(T0 + 8 * 3_600_000, time(7, 0)))
    assert [s.message.kind for s in released] == [Kind.RELEASED]
    assert released[0].message.body.startswith("(held during quiet hours since")
    assert sends(p.tick(T0 + 8 * 3_600_000 + 1000, time(7, 0))) == []

    other = replace(notice(Change.FIRED, Severity.CRITICAL), key="liquidation_distance|1|BTC")
    crit = sends(p.on_notice(other, T0, NIGHT))
    assert [(s.message.kind, s.message.severity) for s in crit] == [(Kind.FIRED, Severity.CRITICAL)]


def test_held_warning_acknowledged_or_resolved_is_never_sent() -> None:
    quiet = QuietHours.parse("22:00-07:00")
    p = PushPolicy([ChannelPrefs("a", "x", quiet=quiet, send_resolved=True)])
    p.on_notice(notice(Change.FIRED, Severity.WARNING), T0, NIGHT)
    p.on_notice(notice(Change.ACKNOWLEDGED, Severity.WARNING, silenced=True), T0 + 1, NIGHT)
    assert sends(p.tick(T0 + 9 * 3_600_000, DAY)) == []
    p2 = PushPolicy([ChannelPrefs("a", "x", quiet=quiet, send_resolved=True)])
    p2.on_notice(notice(Change.FIRED, Severity.WARNING), T0, NIGHT)
    out = p2.on_notice(notice(Change.RESOLVED, Severity.WARNING), T0 + 1, NIGHT)
    assert out == [Withdraw("a", notice(Change.FIRED, Severity.WARNING).key)]
    assert sends(p2.tick(T0 + 9 * 3_600_000, DAY)) == []


def test_reminders_for_an_open_unacknowledged_critical() -> None:
    p = PushPolicy([ChannelPrefs("a", "x")], reminder_ms=600_000)
    p.on_notice(notice(Change.FIRED, Severity.CRITICAL), T0, DAY)
    assert sends(p.tick(T0 + 599_000, DAY)) == []
    r = sends(p.tick(T0 + 600_000, DAY))
    assert [s.message.kind for s in r] == [Kind.REMINDER]
    assert r[0].message.title == "CRITICAL still open (10 min) · Main"
    assert sends(p.tick(T0 + 700_000, DAY)) == []
    p.on_notice(notice(Change.ACKNOWLEDGED, Severity.CRITICAL, silenced=True), T0 + 800_000, DAY)
    assert sends(p.tick(T0 + 2_000_000, DAY)) == []
    off = PushPolicy([ChannelPrefs("a", "x")], reminder_ms=0)
    off.on_notice(notice(Change.FIRED, Severity.CRITICAL), T0, DAY)
    assert sends(off.tick(T0 + 10**8, DAY)) == []


def test_resolved_only_where_asked_and_only_if_sent() -> None:
    p = PushPolicy(
        [
            ChannelPrefs("yes", "x", send_resolved=True),
            ChannelPrefs("no", "y"),
            ChannelPrefs("crit", "z", min_severity=Severity.CRITICAL, send_resolved=True),
        ]
    )
    p.on_notice(notice(Change.FIRED, Severity.WARNING), T0, DAY)
    out = p.on_notice(
        notice(Change.RESOLVED, Severity.WARNING, reason="the position was closed"), T0 + 1, DAY
    )
    resolved = sends(out)
    assert [s.channel_id for s in resolved] == ["yes"]
    assert resolved[0].message.title == "Resolved · Main"
    assert resolved[0].message.body.startswith("The position was closed.\nIt said: BTC −8.3 %")
    assert Withdraw("no", notice(Change.FIRED, Severity.WARNING).key) in out
    again = sends(
        p.on_notice(notice(Change.FIRED, Severity.WARNING, first_seen_ms=T0 + 5), T0 + 5, DAY)
    )
    assert sorted(s.channel_id for s in again) == ["no", "yes"]


def test_disabled_or_removed_channel_gets_nothing() -> None:
    p = PushPolicy([ChannelPrefs("a", "x", enabled=False)])
    assert p.on_notice(notice(Change.FIRED, Severity.CRITICAL), T0, DAY) == []
    p.set_channels([ChannelPrefs("b", "y")])
    assert [
        s.channel_id
        for s in sends(p.on_notice(notice(Change.ESCALATED, Severity.CRITICAL), T0, DAY))
    ] == ["b"]
