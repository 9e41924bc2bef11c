"""The monitor's side of the push channels: each warning change handed to the sender as a
``notify.message.Notice`` (with the account's name), and the channels' own health checked as
the push-channel warning (``monitor.health.channel_conditions``) by the service's ``channels``
job. The sender (``monitor.ports.PushPort``) delivers on threads of its own: nothing here waits
on a network."""

from __future__ import annotations

from alerts.vocabulary import NO_ACCOUNT, WarningState
from monitor.events import WarningEvent
from notify.message import Notice

WATCH_NAME = "Cascade Watch"
"""Who a warning on no account (``NO_ACCOUNT``) is from."""
SILENT_STATES = frozenset({WarningState.ACKNOWLEDGED, WarningState.SNOOZED})


def notice_of(event: WarningEvent, account_label: str, now_ms: int) -> Notice:
    """A warning change as the push channels need it: what changed, the severity, the account,
    the warning's sentence (which carries its figures), and why it resolved."""
    w = event.warning
    who = account_label or (WATCH_NAME if w.account_id == NO_ACCOUNT else f"account {w.account_id}")
    return Notice(
        key=w.key,
        change=event.change,
        severity=w.severity,
        rule=w.rule,
        account=who,
        symbols=w.symbols,
        text=w.message,
        first_seen_ms=w.first_seen_ms,
        at_ms=now_ms,
        silenced=w.state in SILENT_STATES,
        reason=event.why_resolved,
    )
