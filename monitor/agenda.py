"""The coming events as the watch sees them, each with where it comes from: the shipped
calendars, the subscribed feeds (from their cache, or fetched now) and the user's own. For the
``events`` command; the watch itself reads the same ``Calendar``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alerts import Thresholds
from monitor.calendar import Calendar, builtin_events
from monitor.feeds import CACHE_FOLDER, SETTINGS_KEY, CalendarFeeds, FeedStatus, load_specs

DAY_MS = 86_400_000
COVERAGE_MIN_DAYS = Thresholds().event_coverage_days
"""Fewer days of known events than this and the watch says so (alerts' INFO warning)."""


class Origin:
    BUILTIN = "built-in"
    FEED = "feed"
    USER = "yours"


@dataclass(frozen=True, slots=True)
class ListedEvent:
    at_ms: int
    name: str
    origin: str
    source: str
    """The official schedule's address (built-in), the feed's name and address, or where the
    user entered it."""
    typical_move: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Agenda:
    from_ms: int
    to_ms: int
    events: tuple[ListedEvent, ...]
    known_until_ms: int | None
    feeds: tuple[FeedStatus, ...] = ()

    @property
    def coverage_days(self) -> float:
        """Days from ``from_ms`` to the last known event (0 when none is known)."""
        if self.known_until_ms is None:
            return 0.0
        return max(0.0, (self.known_until_ms - self.from_ms) / DAY_MS)

    @property
    def short(self) -> bool:
        """Fewer days of events are known than the watch needs to warn before them."""
        return self.coverage_days < COVERAGE_MIN_DAYS


def agenda(data_dir: Path, now_ms: int, days: float, *, refresh: bool = False) -> Agenda:
    """The events from ``now_ms`` for ``days``. The database (the user's events, the
    subscribed feeds) is read only when it exists; nothing is created. With ``refresh`` the
    feeds that are due are fetched first (network I/O)."""
    from storage.paths import database_path

    builtin = builtin_events()
    feeds = CalendarFeeds(data_dir / CACHE_FOLDER, builtin)
    db = None
    if database_path(data_dir).is_file():
        from storage.database import Database

        db = Database.open(database_path(data_dir))
    try:
        if db is not None:
            feeds.configure(load_specs(db.settings.get(SETTINGS_KEY)))
        if refresh:
            feeds.refresh()
        calendar = Calendar(db.events.between if db is not None else None, builtin, feeds.events)
        to_ms = now_ms + int(days * DAY_MS)
        labels = {s.spec.url: s.spec.label for s in feeds.statuses()}
        builtin_keys = {(e.at_ms, e.name) for e in builtin}
        listed = []
        for e in calendar.between(now_ms, to_ms):
            if (e.at_ms, e.name) in builtin_keys:
                origin, source = Origin.BUILTIN, e.source
            elif e.source in labels:
                origin, source = Origin.FEED, f"{labels[e.source]} ({e.source})"
            else:
                origin, source = Origin.USER, "your own (Settings)"
            listed.append(ListedEvent(e.at_ms, e.name, origin, source, dict(e.typical_move)))
        known = calendar.known_until_ms(now_ms)
        return Agenda(now_ms, to_ms, tuple(listed), known, feeds.statuses())
    finally:
        if db is not None:
            db.close()
