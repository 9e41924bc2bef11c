"""What the push channels are told: a warning change in (``Notice``), a message out.

A push is read on a phone's lock screen, so it is short and complete: the severity and the
account in the title; the warning's sentence (which carries its figures) first in the body,
then the rule, the symbols and when it started, and a link back into the app when one is
given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from alerts.vocabulary import Change, Severity, WarningRule

MAX_BODY = 900
"""Characters; several services cut longer bodies (Pushover 1024, ntfy's preview)."""


class Kind(Enum):
    """Why a push is sent."""

    FIRED = "fired"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    """A CRITICAL still open and not acknowledged, sent again."""
    RELEASED = "released"
    """A warning held during quiet hours, sent when they ended (it is still open)."""
    RESOLVED = "resolved"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Notice:
    """A change in a warning's life, as the push channels need it."""

    key: str
    change: Change
    severity: Severity
    rule: WarningRule | None
    """None for the test message."""
    account: str
    symbols: tuple[str, ...]
    text: str
    first_seen_ms: int
    at_ms: int
    silenced: bool = False
    """Acknowledged or snoozed now: no reminders."""
    reason: str = ""
    """Why it resolved."""
    link: str = ""


@dataclass(frozen=True, slots=True)
class PushMessage:
    key: str
    kind: Kind
    severity: Severity
    title: str
    body: str
    notify_type: str
    """apprise's type: info, success, warning or failure."""
    created_ms: int


_TYPE = {Severity.INFO: "info", Severity.WARNING: "warning", Severity.CRITICAL: "failure"}


def _hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M UTC")


def _minutes(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def compose(
    notice: Notice, kind: Kind, now_ms: int, held_since_ms: int | None = None
) -> PushMessage:
    """The push for ``notice`` sent as ``kind`` at ``now_ms``."""
    sev = notice.severity.name
    who = notice.account or "Cascade Watch"
    if kind is Kind.ESCALATED:
        title = f"{sev} (escalated) · {who}"
    elif kind is Kind.REMINDER:
        title = f"{sev} still open ({_minutes(now_ms - notice.first_seen_ms)}) · {who}"
    elif kind is Kind.RESOLVED:
        title = f"Resolved · {who}"
    elif kind is Kind.TEST:
        title = f"Test · {who}"
    else:
        title = f"{sev} · {who}"
    lines: list[str] = []
    if kind is Kind.RELEASED and held_since_ms is not None:
        lines.append(f"(held during quiet hours since {_hhmm(held_since_ms)})")
    if kind is Kind.RESOLVED:
        lines.append(f"{(notice.reason or 'the condition no longer holds').capitalize()}.")
        lines.append(f"It said: {notice.text}")
    else:
        lines.append(notice.text)
    detail = notice.rule.value.replace("_", " ") if notice.rule is not None else "test"
    if notice.symbols:
        detail += " · " + "/".join(s.split("/")[0] for s in notice.symbols)
    if kind is not Kind.TEST:
        detail += f" · since {_hhmm(notice.first_seen_ms)}"
    lines.append(detail)
    if notice.link:
        lines.append(notice.link)
    body = "\n".join(lines)
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    notify_type = "success" if kind is Kind.RESOLVED else _TYPE.get(notice.severity, "info")
    return PushMessage(
        key=notice.key,
        kind=kind,
        severity=notice.severity,
        title=title,
        body=body,
        notify_type=notify_type,
        created_ms=now_ms,
    )


def test_notice(now_ms: int) -> Notice:
    """What "Send test" sends: says what it is, carries no account data."""
    return Notice(
        key="test",
        change=Change.FIRED,
        severity=Severity.INFO,
        rule=None,
        account="Cascade Watch",
        symbols=(),
        text="This channel works: Cascade Watch warnings will arrive here.",
        first_seen_ms=now_ms,
        at_ms=now_ms,
    )
