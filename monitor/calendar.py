"""The scheduled macro events: the shipped calendar (resources/events-2026.json) plus the
user's own events from the database, as ``alerts.ScheduledEvent`` values."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from alerts.state import ScheduledEvent
from resources import load_json
from storage.records import EventRecord

logger = logging.getLogger(__name__)

CALENDAR_FILES = ("events-2026.json",)
WINDOW_MS = 2 * 86_400_000
"""How far ahead (and behind) the calendar is read for each evaluation."""


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def builtin_events(files: Sequence[str] = CALENDAR_FILES) -> tuple[ScheduledEvent, ...]:
    """Every event of the shipped calendar files, oldest first."""
    out: list[ScheduledEvent] = []
    for name in files:
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
    """The events near a time: shipped ones plus those ``user_events(from_ms, to_ms)`` gives
    (the database's ``events.between``). A user event at the same minute as a shipped one
    replaces it."""

    def __init__(
        self,
        user_events: Callable[[int, int], Iterable[EventRecord]] | None = None,
        builtin: Sequence[ScheduledEvent] | None = None,
    ) -> None:
        self._builtin = tuple(builtin_events() if builtin is None else builtin)
        self._user_events = user_events

    def near(self, now_ms: int, window_ms: int = WINDOW_MS) -> tuple[ScheduledEvent, ...]:
        lo, hi = now_ms - window_ms, now_ms + window_ms
        chosen: dict[int, ScheduledEvent] = {
            e.at_ms // 60_000: e for e in self._builtin if lo <= e.at_ms <= hi
        }
        if self._user_events is not None:
            try:
                for rec in self._user_events(lo, hi):
                    ev = from_record(rec)
                    chosen[ev.at_ms // 60_000] = ev
            except Exception:
                logger.exception("could not read the user's events")
        return tuple(sorted(chosen.values(), key=lambda e: e.at_ms))
