"""Which push goes to which channel, and when: pure, no threads, no clock of its own.

Per channel and warning (a warning is its key and the time it first fired, so one that
resolves and fires again is a new one):

- *fired* and *escalated* are sent once each, when the severity reaches the channel's
  minimum; a severity already sent is never sent again (an "updated" only refreshes the text
  kept for reminders);
- during the channel's quiet hours a WARNING is held, and sent when they end if it is still
  open and not acknowledged; a CRITICAL always goes through;
- a CRITICAL still open and not acknowledged or snoozed is sent again every
  ``reminder_ms`` (0: never);
- *resolved* is sent only to channels that asked for it and only for a warning they were
  sent; otherwise anything still waiting for that warning is withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import time

from alerts.vocabulary import Change, Severity
from notify.channel import ChannelPrefs
from notify.message import Kind, Notice, PushMessage, compose
from settings.registry import REMINDER_MIN

DEFAULT_REMINDER_MS = REMINDER_MIN.default * 60_000
"""The setting's default (settings.registry.REMINDER_MIN)."""


@dataclass(frozen=True, slots=True)
class Send:
    channel_id: str
    message: PushMessage


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Drop whatever is still waiting to be sent for this warning on this channel."""

    channel_id: str
    key: str


Action = Send | Withdraw


@dataclass(frozen=True, slots=True)
class _Track:
    notice: Notice
    sent: Severity | None = None
    last_sent_ms: int | None = None
    held: Kind | None = None
    held_since_ms: int | None = None


class PushPolicy:
    """Feed it every warning change (``on_notice``) and call ``tick`` about once a second;
    both return what to send. Not thread-safe: one owner calls it."""

    def __init__(
        self, channels: Iterable[ChannelPrefs] = (), reminder_ms: int = DEFAULT_REMINDER_MS
    ) -> None:
        self.reminder_ms = reminder_ms
        self._channels: dict[str, ChannelPrefs] = {}
        self._tracks: dict[tuple[str, str], _Track] = {}
        self.set_channels(channels)

    @property
    def channels(self) -> tuple[ChannelPrefs, ...]:
        return tuple(self._channels.values())

    def set_channels(self, channels: Iterable[ChannelPrefs]) -> None:
        self._channels = {c.id: c for c in channels}
        for cid, key in list(self._tracks):
            if cid not in self._channels or not self._channels[cid].enabled:
                del self._tracks[(cid, key)]

    def on_notice(self, notice: Notice, now_ms: int, local: time) -> list[Action]:
        actions: list[Action] = []
        for c in self._channels.values():
            if c.enabled:
                actions.extend(self._apply(c, notice, now_ms, local))
        return actions

    def tick(self, now_ms: int, local: time) -> list[Action]:
        actions: list[Action] = []
        for (cid, key), track in list(self._tracks.items()):
            c = self._channels.get(cid)
            if c is None:
                continue
            n = track.notice
            if track.held is not None and not n.silenced and not _quiet(c, n.severity, local):
                msg = compose(n, Kind.RELEASED, now_ms, track.held_since_ms)
                actions.append(Send(cid, msg))
                self._tracks[(cid, key)] = replace(
                    track, sent=n.severity, last_sent_ms=now_ms, held=None, held_since_ms=None
                )
                continue
            if (
                self.reminder_ms > 0
                and track.sent is Severity.CRITICAL
                and n.severity is Severity.CRITICAL
                and not n.silenced
                and track.last_sent_ms is not None
                and now_ms - track.last_sent_ms >= self.reminder_ms
            ):
                actions.append(Send(cid, compose(n, Kind.REMINDER, now_ms)))
                self._tracks[(cid, key)] = replace(track, last_sent_ms=now_ms)
        return actions

    def _apply(self, c: ChannelPrefs, n: Notice, now_ms: int, local: time) -> list[Action]:
        ident = (c.id, n.key)
        track = self._tracks.get(ident)
        if track is not None and track.notice.first_seen_ms != n.first_seen_ms:
            track = None
        if n.change is Change.RESOLVED:
            self._tracks.pop(ident, None)
            if track is None:
                return []
            if c.send_resolved and track.sent is not None and not _quiet(c, track.sent, local):
                return [Send(c.id, compose(n, Kind.RESOLVED, now_ms))]
            return [Withdraw(c.id, n.key)]
        track = replace(track, notice=n) if track is not None else _Track(notice=n)
        if n.silenced:
            self._tracks[ident] = replace(track, held=None, held_since_ms=None)
            return [Withdraw(c.id, n.key)]
        wanted = n.change in (Change.FIRED, Change.ESCALATED) and n.severity >= c.min_severity
        if not wanted or (track.sent is not None and track.sent >= n.severity):
            self._tracks[ident] = track
            return []
        kind = Kind.ESCALATED if n.change is Change.ESCALATED else Kind.FIRED
        if _quiet(c, n.severity, local):
            since = track.held_since_ms if track.held is not None else now_ms
            self._tracks[ident] = replace(track, held=kind, held_since_ms=since)
            return []
        self._tracks[ident] = replace(
            track, sent=n.severity, last_sent_ms=now_ms, held=None, held_since_ms=None
        )
        return [Send(c.id, compose(n, kind, now_ms))]


def _quiet(c: ChannelPrefs, severity: Severity, local: time) -> bool:
    return c.quiet is not None and severity < Severity.CRITICAL and c.quiet.holds(local)
