"""The scheduled macro events: the shipped calendars (resources/events-YYYY.json), the
subscribed calendar feeds (monitor.feeds) and the user's own events from the database, as
``alerts.ScheduledEvent`` values.

At the same minute a user's event replaces a shipped one, and a shipped one is kept over a
feed's (the feed reports the duplicate)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from alerts.state import ScheduledEvent
from resources import calendar_files, load_json
from storage.records import EventRecord

logger = logging.getLogger(__name__)

WINDOW_MS = 2 * 86_400_000
"""How far ahead (and behind) the calendar is read for each evaluation."""
USER_SOURCE = "user"


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def builtin_events(files: Sequence[str] | None = None) -> tuple[ScheduledEvent, ...]:
    """Every event of the shipped calendar files (all of them by default), oldest first."""
    out: list[ScheduledEvent] = []
    for name in calendar_files() if files is None else files:
        doc = load_json(name)
        for row in doc["events"]:
            moves = {str(k).upper(): float(v) for k, v in row.get("typical_move", {}).items()}
            out.append(
                ScheduledEvent(
                    row["event"],
                    _utc_ms(row["utc"]),
                    moves,
                    row.get("source_url", ""),
                    str(row.get("kind", "")),
                )
            )
    return tuple(sorted(out, key=lambda e: e.at_ms))


def from_record(record: EventRecord) -> ScheduledEvent:
    """A database event record as a scheduled event; its one typical move applies to every
    leader."""
    move = record.typical_move
    moves = {} if move is None else {"*": float(move)}
    return ScheduledEvent(record.name, record.ts_ms, moves, record.source)


class Calendar:
    """The events near a time: shipped ones, those of the subscribed feeds (``feeds()``, the
    ``CalendarFeeds.events`` snapshot) and those ``user_events(from_ms, to_ms)`` gives (the
    database's ``events.between``)."""

    def __init__(
        self,
        user_events: Callable[[int, int], Iterable[EventRecord]] | None = None,
        builtin: Sequence[ScheduledEvent] | None = None,
        feeds: Callable[[], Sequence[ScheduledEvent]] | None = None,
    ) -> None:
        self._builtin = tuple(builtin_events() if builtin is None else builtin)
        self._user_events = user_events
        self._feeds = feeds

    @property
    def builtin(self) -> tuple[ScheduledEvent, ...]:
        return self._builtin

    def between(self, lo: int, hi: int) -> tuple[ScheduledEvent, ...]:
        """Every known event with lo <= time <= hi, one per minute, oldest first."""
        chosen: dict[int, ScheduledEvent] = {}
        if self._feeds is not None:
            for e in self._feeds():
                if lo <= e.at_ms <= hi:
                    chosen[e.at_ms // 60_000] = e
        for e in self._builtin:
            if lo <= e.at_ms <= hi:
                chosen[e.at_ms // 60_000] = e
        if self._user_events is not None:
            try:
                for rec in self._user_events(lo, hi + 1):
                    ev = from_record(rec)
                    chosen[ev.at_ms // 60_000] = ev
            except Exception:
                logger.exception("could not read the user's events")
        return tuple(sorted(chosen.values(), key=lambda e: e.at_ms))

    def near(self, now_ms: int, window_ms: int = WINDOW_MS) -> tuple[ScheduledEvent, ...]:
        return self.between(now_ms - window_ms, now_ms + window_ms)

    def known_until_ms(self, now_ms: int) -> int | None:
        """The time of the last known event after ``now_ms`` (None when none is known)."""
        ahead = self.between(now_ms, 2**62)
        return ahead[-1].at_ms if ahead else None
