"""Calendar feeds: iCalendar files the user subscribes to (the Bureau of Labor Statistics'
release calendar, say), so the scheduled-event warning keeps working past the shipped calendar.

Each feed is fetched at most daily, on the watch's worker thread (never the GUI thread), and
its last good body is cached in the data folder, so a feed that cannot be reached, or that
turns malformed, keeps the events it had. What went wrong is one line per feed
(``FeedStatus.line``): the settings dialog shows it and the ``watch`` command logs it.

Events are read with ``icalendar``. An event whose start has no time zone (a floating time or
an all-day date) cannot be placed on the UTC clock the warnings use and is skipped; an event
at the same minute as a shipped one is a duplicate and the shipped one (with its typical move
and official source) is kept; both are counted in the feed's line, never dropped silently.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alerts.state import ScheduledEvent

logger = logging.getLogger(__name__)

SETTINGS_KEY = "calendar.feeds"
"""The database setting holding the subscribed feeds (a list of ``FeedSpec.to_json()``)."""
CACHE_FOLDER = "calendar-feeds"
REFRESH_EVERY_S = 86_400.0
TIMEOUT_S = 20.0
MAX_BYTES = 5_000_000
BLS_FEED = "https://www.bls.gov/schedule/news_release/bls.ics"
"""The Bureau of Labor Statistics' release calendar (all its national releases; filter it
to "Consumer Price Index" for the CPI dates)."""


KINDS = (("cpi", ("consumer price index", "cpi")), ("fomc", ("fomc", "federal open market")))
"""A feed event whose title names a CPI release or an FOMC decision is sized, like a shipped
one, by the moves after past releases of its kind (``ScheduledEvent.kind``)."""


def kind_of(title: str) -> str:
    """ "cpi", "fomc" or "" (sized by the typical move) for a feed event's title."""
    words = title.lower()
    return next((kind for kind, names in KINDS if any(n in words for n in names)), "")


class FeedError(Exception):
    """A feed that could not be read: the message is one line a trader understands."""


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A subscribed feed. ``match``: keep only events whose title contains one of these
    (case-insensitive); empty keeps every event."""

    url: str
    name: str = ""
    match: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.url).hostname or self.url

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "name": self.name, "match": list(self.match)}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> FeedSpec:
        match = obj.get("match") or ()
        if isinstance(match, str):
            match = match.split(",")
        return cls(
            str(obj["url"]).strip(),
            str(obj.get("name") or "").strip(),
            tuple(m.strip() for m in match if str(m).strip()),
        )


def check_url(url: str) -> str:
    """The address, stripped; FeedError when it is not an http(s) address with a host."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedError(f"{url or 'an empty address'} is not a web address (http:// or https://)")
    return url


def load_specs(value: object) -> tuple[FeedSpec, ...]:
    """The feeds stored under ``SETTINGS_KEY`` (entries that cannot be read are logged and
    left out; the watch never stops over a setting)."""
    if not isinstance(value, list):
        return ()
    out: list[FeedSpec] = []
    for obj in value:
        try:
            spec = FeedSpec.from_json(obj)
            check_url(spec.url)
        except (KeyError, TypeError, AttributeError, FeedError) as exc:
            logger.warning("calendar feed setting ignored: %s", exc)
            continue
        out.append(spec)
    return tuple(out)


def fetch(url: str, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES) -> bytes:
    """The feed's body over HTTP(S); FeedError saying why not."""
    from resources.about import version

    request = urllib.request.Request(
        check_url(url), headers={"User-Agent": f"cascade-watch/{version()} (calendar feed)"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = bytes(response.read(max_bytes + 1))
    except urllib.error.HTTPError as exc:
        raise FeedError(f"the server answered HTTP {exc.code} {exc.reason}".rstrip()) from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise FeedError(f"no answer within {timeout_s:g} s") from None
        raise FeedError(f"unreachable ({_reason(reason)})") from None
    except TimeoutError:
        raise FeedError(f"no answer within {timeout_s:g} s") from None
    except OSError as exc:
        raise FeedError(f"unreachable ({_reason(exc)})") from None
    if len(body) > max_bytes:
        raise FeedError(f"larger than {max_bytes / 1e6:g} MB; not a calendar")
    return body


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return str(reason.strerror)
    return str(reason).splitlines()[0] if str(reason) else type(reason).__name__


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's usable events and what was left out of it, and why."""

    events: tuple[ScheduledEvent, ...]
    no_time_zone: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    repeating: int = 0
    filtered_out: int = 0
    unreadable: int = 0

    def problems(self) -> list[str]:
        """The left-out events, each kind in a few words (empty when none were)."""
        out = []
        if self.no_time_zone:
            out.append(
                f"{len(self.no_time_zone)} without a time zone skipped "
                f"(first: {self.no_time_zone[0]})"
            )
        if self.duplicates:
            out.append(
                f"{len(self.duplicates)} at the same minute as a built-in event "
                f"(the built-in kept; first: {self.duplicates[0]})"
            )
        if self.repeating:
            out.append(f"{self.repeating} repeating read at their first date only")
        if self.unreadable:
            out.append(f"{self.unreadable} with an unreadable start skipped")
        return out


def parse(body: bytes, spec: FeedSpec, builtin: Iterable[ScheduledEvent] = ()) -> ParsedFeed:
    """The events of an iCalendar body; FeedError when the body is not a calendar."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(body)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        # icalendar's message quotes the body after a colon: keep only its reason.
        reason = str(exc).split(":")[0].strip() or type(exc).__name__
        raise FeedError(f"not an iCalendar file ({reason[:100]})") from None
    if getattr(cal, "name", "") != "VCALENDAR":
        raise FeedError("not an iCalendar file (no VCALENDAR)")
    taken = {e.at_ms // 60_000 for e in builtin}
    seen: set[tuple[int, str]] = set()
    events: list[ScheduledEvent] = []
    no_tz: list[str] = []
    dupes: list[str] = []
    repeating = filtered = unreadable = 0
    wanted = tuple(m.lower() for m in spec.match)
    for ev in cal.walk("VEVENT"):
        title = " ".join(str(ev.get("SUMMARY", "")).split()) or "(untitled event)"
        if wanted and not any(w in title.lower() for w in wanted):
            filtered += 1
            continue
        try:
            start = ev.decoded("DTSTART")
        except (KeyError, ValueError, TypeError):
            unreadable += 1
            continue
        if not isinstance(start, date):
            unreadable += 1
            continue
        if not isinstance(start, datetime) or start.utcoffset() is None:
            no_tz.append(f"{title} on {start:%Y-%m-%d}")
            continue
        at_ms = int(start.timestamp() * 1000)
        when = start.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        if at_ms // 60_000 in taken:
            dupes.append(f"{title} at {when}")
            continue
        if (at_ms, title) in seen:
            continue
        seen.add((at_ms, title))
        if ev.get("RRULE") is not None:
            repeating += 1
        events.append(ScheduledEvent(title, at_ms, {}, spec.url, kind_of(title)))
    events.sort(key=lambda e: e.at_ms)
    return ParsedFeed(tuple(events), tuple(no_tz), tuple(dupes), repeating, filtered, unreadable)


class FeedCache:
    """The last good body of each feed, one file per address in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, url: str) -> Path:
        return self.folder / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.ics"

    def load(self, url: str) -> tuple[bytes, int] | None:
        """The cached body and when it was fetched (ms), or None."""
        path = self.path(url)
        try:
            return path.read_bytes(), int(path.stat().st_mtime * 1000)
        except OSError:
            return None

    def save(self, url: str, body: bytes, fetched_ms: int) -> None:
        """Write atomically: a crash mid-write leaves the previous body."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(url)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(body)
        os.utime(tmp, ns=(fetched_ms * 1_000_000, fetched_ms * 1_000_000))
        os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A feed now: the events in use from it, and one line saying how it stands."""

    spec: FeedSpec
    ok: bool
    events: int
    line: str
    checked_ms: int | None = None
    fetched_ms: int | None = None


def _stamp(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass
class _Feed:
    spec: FeedSpec
    events: tuple[ScheduledEvent, ...] = ()
    fetched_ms: int | None = None
    checked_ms: int | None = None
    status: FeedStatus | None = None
    parsed: ParsedFeed | None = field(default=None, repr=False)


class CalendarFeeds:
    """The subscribed feeds' events, refreshed from the network and kept in a cache.

    Thread-safe: ``refresh`` runs on a worker thread while ``events`` and ``statuses`` are read
    from any thread (they return snapshots and never touch the network or the disk).
    """

    def __init__(
        self,
        cache_folder: Path,
        builtin: Sequence[ScheduledEvent] = (),
        *,
        fetch: Callable[[str], bytes] = fetch,
        clock: Callable[[], float] = time.time,
        refresh_every_s: float = REFRESH_EVERY_S,
    ) -> None:
        self.cache = FeedCache(cache_folder)
        self._builtin = tuple(builtin)
        self._fetch = fetch
        self._clock = clock
        self._every_ms = int(refresh_every_s * 1000)
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._feeds: dict[str, _Feed] = {}

    def configure(self, specs: Iterable[FeedSpec]) -> None:
        """Subscribe to exactly ``specs``: a new feed starts from its cache (if any), a
        removed one is forgotten (its cache file stays, for a later subscription)."""
        wanted = {s.url: s for s in specs}
        with self._lock:
            kept = {u: f for u, f in self._feeds.items() if u in wanted and f.spec == wanted[u]}
        loaded = {u: self._from_cache(s) for u, s in wanted.items() if u not in kept}
        with self._lock:
            self._feeds = {u: kept.get(u) or loaded[u] for u in wanted}

    def specs(self) -> tuple[FeedSpec, ...]:
        with self._lock:
            return tuple(f.spec for f in self._feeds.values())

    def events(self) -> tuple[ScheduledEvent, ...]:
        """Every feed's events, oldest first; one per minute (the first feed's wins)."""
        with self._lock:
            feeds = list(self._feeds.values())
        chosen: dict[int, ScheduledEvent] = {}
        for feed in feeds:
            for e in feed.events:
                chosen.setdefault(e.at_ms // 60_000, e)
        return tuple(sorted(chosen.values(), key=lambda e: e.at_ms))

    def statuses(self) -> tuple[FeedStatus, ...]:
        with self._lock:
            return tuple(f.status or self._status(f, None) for f in self._feeds.values())

    def due(self) -> bool:
        """True when some feed was not checked within the refresh interval."""
        now = int(self._clock() * 1000)
        with self._lock:
            return any(
                f.checked_ms is None or now - f.checked_ms >= self._every_ms
                for f in self._feeds.values()
            )

    def refresh(self, force: bool = False) -> tuple[FeedStatus, ...]:
        """Fetch every feed that is due (every feed with ``force``); on success its events
        and cache are replaced, on failure both are kept. Network I/O: never call this on the
        GUI thread. Returns the statuses after the refresh."""
        with self._refreshing:
            now = int(self._clock() * 1000)
            with self._lock:
                todo = [
                    f.spec
                    for f in self._feeds.values()
                    if force or f.checked_ms is None or now - f.checked_ms >= self._every_ms
                ]
            for spec in todo:
                self._refresh_one(spec)
            return self.statuses()

    # --- one feed -----------------------------------------------------------------------------

    def _from_cache(self, spec: FeedSpec) -> _Feed:
        feed = _Feed(spec)
        cached = self.cache.load(spec.url)
        if cached is None:
            return feed
        body, fetched_ms = cached
        try:
            parsed = parse(body, spec, self._builtin)
        except FeedError as exc:
            logger.warning("calendar feed %s: its cached copy is unreadable (%s)", spec.label, exc)
            return feed
        feed.events, feed.fetched_ms, feed.parsed = parsed.events, fetched_ms, parsed
        return feed

    def _refresh_one(self, spec: FeedSpec) -> None:
        now = int(self._clock() * 1000)
        error: str | None = None
        parsed: ParsedFeed | None = None
        try:
            body = self._fetch(spec.url)
            parsed = parse(body, spec, self._builtin)
        except FeedError as exc:
            error = str(exc)
        except Exception as exc:
            logger.debug("calendar feed %s failed", spec.label, exc_info=True)
            error = f"could not be read ({type(exc).__name__})"
        else:
            try:
                self.cache.save(spec.url, body, now)
            except OSError as exc:
                logger.warning("calendar feed %s: cannot cache it (%s)", spec.label, exc)
        with self._lock:
            feed = self._feeds.get(spec.url)
            if feed is None or feed.spec != spec:
                return
            feed.checked_ms = now
            if parsed is not None:
                feed.events, feed.fetched_ms, feed.parsed = parsed.events, now, parsed
            feed.status = self._status(feed, error)
            status = feed.status
        if status.ok:
            logger.info("calendar feed %s", status.line)
        else:
            logger.warning("calendar feed %s", status.line)

    def _status(self, feed: _Feed, error: str | None) -> FeedStatus:
        spec = feed.spec
        n = len(feed.events)
        if error is not None:
            kept = (
                f"the {n} cached events from {_stamp(feed.fetched_ms)} are kept"
                if feed.fetched_ms is not None
                else "no events from it yet"
            )
            line = f"{spec.label}: {error}; {kept}"
            return FeedStatus(spec, False, n, line, feed.checked_ms, feed.fetched_ms)
        if feed.fetched_ms is None:
            line = f"{spec.label}: not fetched yet"
            return FeedStatus(spec, True, 0, line, feed.checked_ms, None)
        last = f" to {_stamp(feed.events[-1].at_ms)[:10]}" if feed.events else ""
        line = f"{spec.label}: {n} events{last} (fetched {_stamp(feed.fetched_ms)})"
        problems = feed.parsed.problems() if feed.parsed is not None else []
        if problems:
            line += "; " + "; ".join(problems)
        return FeedStatus(spec, True, n, line, feed.checked_ms, feed.fetched_ms)
