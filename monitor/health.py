"""The watch loop's own health: an account the exchange cannot be reached for, a rejected key,
a skewed clock, figures too old to read as current; and, on no account, push channels that keep
failing and a database that cannot be written.

These are facts about the watch, not about the market, so they live with the monitor rather
than in ``alerts``; they share its vocabulary (``WarningRule``, ``Severity``, ``Condition``).
"Stale" is defined here once: the monitor's account status, the stale-data warning and the
window's status bar all ask ``is_stale``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import formatting as fmt
from alerts.vocabulary import NO_ACCOUNT, Condition, Severity, WarningRule
from connectors.types import ErrorKind
from monitor.writes import Kind, StorageTrouble
from notify.channel import ChannelHealth
from settings.registry import STALE_POLLS as STALE_POLLS_SETTING

STALE_POLLS = float(STALE_POLLS_SETTING.default)
"""Figures older than this many poll intervals are stale (the setting's default)."""
KEY_KINDS = frozenset({ErrorKind.AUTH, ErrorKind.PERMISSION})
"""Errors that mean the key itself was refused: the user has to act."""


def stale_after_ms(poll_interval_ms: int, stale_polls: float = STALE_POLLS) -> int:
    """How old an account's figures may be before they are stale."""
    return int(stale_polls * poll_interval_ms)


def is_stale(age_ms: int | None, limit_ms: int) -> bool:
    """Whether figures of this age (None: never read) are stale under ``limit_ms``."""
    return age_ms is not None and age_ms > limit_ms


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """What the monitor knows about an account's connection at one moment."""

    error_kind: ErrorKind | None
    error_message: str | None
    age_ms: int | None
    """Age of the last good poll; None when there has never been one."""
    poll_interval_ms: int
    stale_polls: float = STALE_POLLS
    failures: int = 0
    clock_note: str | None = None
    """The connector's note when it had to compensate for this computer's clock."""

    @property
    def stale_after_ms(self) -> int:
        return stale_after_ms(self.poll_interval_ms, self.stale_polls)


def health_conditions(status: ConnectionStatus, account_id: int, label: str) -> list[Condition]:
    """Account unreachable, key rejected, clock skewed, or data older than ``stale_polls``
    polls (critical past four times that)."""
    out: list[Condition] = []
    kind = status.error_kind
    err = status.error_message or (kind.value if kind is not None else "")
    if kind in KEY_KINDS:
        out.append(
            Condition(
                WarningRule.KEY_REJECTED,
                Severity.CRITICAL,
                account_id,
                (),
                f"{label}: the exchange rejected the API key ({err}); "
                "risk figures are not updated.",
            )
        )
    elif kind is ErrorKind.CLOCK_SKEW or status.clock_note:
        out.append(
            Condition(
                WarningRule.CLOCK_SKEW,
                Severity.WARNING,
                account_id,
                (),
                f"{label}: this computer's clock is off from the exchange's "
                f"({err or status.clock_note or ''}); "
                "signed requests fail until it is synchronised.",
            )
        )
    elif kind is not None:
        severity = Severity.WARNING if status.failures >= 2 else Severity.INFO
        out.append(
            Condition(
                WarningRule.UNREACHABLE,
                severity,
                account_id,
                (),
                f"{label}: the exchange cannot be reached ({err}); "
                f"{status.failures} failed poll(s), retrying with backoff.",
                float(status.failures),
            )
        )
    limit = status.stale_after_ms
    if is_stale(status.age_ms, limit):
        age_ms = status.age_ms or 0
        severity = Severity.CRITICAL if age_ms > 4 * limit else Severity.WARNING
        out.append(
            Condition(
                WarningRule.STALE_DATA,
                severity,
                account_id,
                (),
                f"{label}: the figures are {age_ms / 1000:.0f} s old (more than "
                f"{status.stale_polls:.0f} polls); do not read them as current.",
                float(age_ms),
            )
        )
    return out


def channel_conditions(channels: Iterable[ChannelHealth]) -> list[Condition]:
    """One WARNING (on no account) while any push channel keeps failing, naming them: the
    warnings still show on screen and in ``watch``, but no longer reach the phone. It resolves
    once every channel delivers again (or is removed)."""
    failing = sorted((h for h in channels if not h.ok), key=lambda h: h.since_ms)
    if not failing:
        return []
    first = failing[0]
    names = ", ".join(h.label for h in failing)
    if len(failing) == 1:
        what = (
            f"Push channel {names} has been failing since {fmt.clock(first.since_ms)} "
            f"({first.reason or 'no answer'})"
        )
    else:
        what = f"Push channels {names} are failing (the first since {fmt.clock(first.since_ms)})"
    return [
        Condition(
            WarningRule.PUSH_CHANNEL,
            Severity.WARNING,
            NO_ACCOUNT,
            (),
            f"{what}: warnings do not reach {'it' if len(failing) == 1 else 'them'}; they still "
            "show here, and sending is retried with backoff.",
            float(sum(h.failures for h in failing)),
        )
    ]


def storage_conditions(trouble: StorageTrouble | None) -> list[Condition]:
    """One WARNING (on no account) while the database refuses writes, saying why in plain
    words; it resolves once writes succeed again. Its message stays the same while the
    backlog grows (it changes when writes start being dropped), so it is not re-sent."""
    if trouble is None:
        return []
    text = (
        f"History is not being saved: {trouble.problem.text} "
        f"(since {fmt.clock(trouble.since_ms)}). Warnings still show here and are still sent; "
        "what could not be saved is kept and written when the database takes writes again."
    )
    dropped = [k for k in Kind if trouble.dropped.get(k)]
    if dropped:
        text += (
            " Too much is waiting: the oldest "
            + " and ".join("snapshots" if k is Kind.SNAPSHOT else k.value for k in dropped)
            + " are being dropped."
        )
    return [
        Condition(
            WarningRule.STORAGE, Severity.WARNING, NO_ACCOUNT, (), text, float(trouble.pending)
        )
    ]
