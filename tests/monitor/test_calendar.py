"""The event calendar: the shipped calendars as published, calendar feeds read with icalendar
over real HTTP on 127.0.0.1, their cache, and every bad feed reported in one line with nothing
lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from alerts import WarningRule
from monitor.calendar import Calendar, builtin_events
from monitor.feeds import (
    SETTINGS_KEY,
    CalendarFeeds,
    FeedError,
    FeedSpec,
    check_url,
    load_specs,
    parse,
)
from monitor.service import WatchService
from resources import calendar_files, load_json
from storage.records import AccountRecord
from tests.feed_server import FIXTURE
from tests.monitor.monitor_fakes import FakeClock, FakeConnector, serving

ET = ZoneInfo("America/New_York")


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


# --- the shipped calendars ------------------------------------------------------------------


def test_every_shipped_event_is_at_its_published_eastern_time_with_a_source():
    assert calendar_files() == ("events-2026.json", "events-2027.json")
    for name in calendar_files():
        for row in load_json(name)["events"]:
            local = datetime.fromisoformat(f"{row['date']}T{row['time_et']}").replace(tzinfo=ET)
            assert local.astimezone(UTC) == datetime.fromisoformat(row["utc"]), row["id"]
            assert row["source_url"].startswith("https://www."), row["id"]


def test_the_2027_fomc_decisions_are_the_federal_reserves_schedule():
    decisions = [
        datetime.fromtimestamp(e.at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        for e in builtin_events(["events-2027.json"])
    ]
    # The FOMC's tentative 2027 schedule (press release of 2025-09-05): statement at 14:00 ET
    # on day 2; EST in January and December, EDT from 14 March to 7 November 2027.
    assert decisions == [
        "2027-01-27 19:00",
        "2027-03-17 18:00",
        "2027-04-28 18:00",
        "2027-06-09 18:00",
        "2027-07-28 18:00",
        "2027-09-15 18:00",
        "2027-10-27 18:00",
        "2027-12-08 19:00",
        "2028-01-26 19:00",
    ]


def test_on_the_first_of_december_2026_more_than_a_year_of_events_is_known():
    cal = Calendar(builtin=builtin_events())
    now = ms("2026-12-01T00:00:00+00:00")
    assert [e.name for e in cal.between(now, now + 14 * 86_400_000)] == ["FOMC decision"]
    assert cal.known_until_ms(now) == ms("2028-01-26T19:00:00+00:00")


# --- parsing ------------------------------------------------------------------------------


def test_a_feed_is_read_in_utc_and_every_event_left_out_is_counted():
    spec = FeedSpec("https://example.invalid/cal.ics", "Releases", ("consumer price index",))
    parsed = parse(FIXTURE, spec, builtin_events())
    assert {e.source for e in parsed.events} == {spec.url}
    assert {e.kind for e in parsed.events} == {"cpi"}  # sized by the moves after past CPIs
    assert [(e.name, e.at_ms) for e in parsed.events] == [
        # 08:30 EST through the feed's own VTIMEZONE:
        ("Consumer Price Index for November 2026 (test data)", ms("2026-12-15T13:30:00+00:00")),
        ("Consumer Price Index for December 2026 (test data)", ms("2027-01-14T13:30:00+00:00")),
        ("Consumer Price Index for March 2027 (test data)", ms("2027-04-13T12:30:00+00:00")),
    ]
    assert parsed.filtered_out == 1  # Real Earnings
    assert len(parsed.no_time_zone) == 2  # the floating time and the all-day date
    (duplicate,) = parsed.duplicates
    assert duplicate.endswith("(test data; a duplicate) at 2027-01-27 19:00 UTC")
    problems = parsed.problems()
    assert problems[0].startswith("2 without a time zone skipped (first: Consumer Price Index")
    assert problems[1].startswith("1 at the same minute as a built-in event (the built-in kept")


def test_without_a_filter_every_timed_event_is_kept():
    parsed = parse(FIXTURE, FeedSpec("https://example.invalid/cal.ics"), ())
    assert len(parsed.events) == 5 and parsed.filtered_out == 0 and not parsed.duplicates
    earnings = next(e for e in parsed.events if e.name.startswith("Real Earnings"))
    assert earnings.kind == ""  # no kind of its own: sized by the typical move


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>Access denied</body></html>",
        FIXTURE[: len(FIXTURE) // 2],  # cut short
        b"BEGIN:VEVENT\r\nSUMMARY:a lone event\r\nEND:VEVENT\r\n",
    ],
)
def test_a_body_that_is_not_a_calendar_is_one_clear_error(body):
    with pytest.raises(FeedError, match=r"^not an iCalendar file") as info:
        parse(body, FeedSpec("https://example.invalid/cal.ics"), ())
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", ["", "ftp://example.org/a.ics", "bls.gov/cal.ics", "https://"])
def test_a_feed_address_must_be_a_web_address(url):
    with pytest.raises(FeedError, match="is not a web address"):
        check_url(url)


def test_stored_feeds_that_cannot_be_read_are_left_out():
    specs = load_specs(
        [{"url": "https://a.example/x.ics", "match": "CPI, Employment"}, {"url": "nope"}, 3]
    )
    assert specs == (FeedSpec("https://a.example/x.ics", "", ("CPI", "Employment")),)
    assert load_specs(None) == ()


# --- fetching, caching, failing -------------------------------------------------------------


def feeds_for(tmp_path, feed_server, clock=None):
    feeds = CalendarFeeds(
        tmp_path / "calendar-feeds", builtin_events(), clock=clock or FakeClock(1.8e9)
    )
    feeds.configure([FeedSpec(feed_server.url, "BLS", ("Consumer Price Index",))])
    return feeds


def test_a_feed_is_fetched_cached_and_read_back_offline(tmp_path, feed_server):
    feeds = feeds_for(tmp_path, feed_server)
    assert feeds.events() == () and feeds.due()
    (status,) = feeds.refresh()
    assert status.ok and status.events == 3
    assert status.line.startswith("BLS: 3 events to 2027-04-13 (fetched ")
    assert "2 without a time zone skipped" in status.line
    assert "1 at the same minute as a built-in event" in status.line
    assert not feeds.due()
    feeds.refresh()
    assert feed_server.hits == 1  # not due again within the day
    feed_server.close()
    offline = feeds_for(tmp_path, feed_server)
    assert [e.at_ms for e in offline.events()] == [e.at_ms for e in feeds.events()]
    assert offline.statuses()[0].line.startswith("BLS: 3 events to 2027-04-13")


@pytest.mark.parametrize(
    ("status", "body", "line"),
    [
        (503, b"maintenance", "BLS: the server answered HTTP 503 Service Unavailable"),
        (200, b"<html>moved</html>", "BLS: not an iCalendar file"),
    ],
)
def test_a_failing_feed_keeps_its_cached_events(tmp_path, feed_server, status, body, line):
    clock = FakeClock(1.8e9)
    feeds = feeds_for(tmp_path, feed_server, clock)
    feeds.refresh()
    before = feeds.events()
    feed_server.status, feed_server.body = status, body
    clock.advance(86_400)
    (st,) = feeds.refresh()
    assert not st.ok
    assert st.line.startswith(line)
    assert st.line.endswith("; the 3 cached events from 2027-01-15 08:00 UTC are kept")
    assert "\n" not in st.line
    assert feeds.events() == before
    assert feeds.cache.load(feed_server.url)[0] == FIXTURE  # the good copy is not overwritten


def test_an_unreachable_feed_says_so_and_a_new_one_has_no_events_yet(tmp_path, feed_server):
    feed_server.close()
    feeds = feeds_for(tmp_path, feed_server)
    (st,) = feeds.refresh()
    assert not st.ok and st.events == 0
    assert st.line.startswith("BLS: unreachable (")
    assert st.line.endswith("; no events from it yet")


def test_the_watch_warns_before_a_feed_event_and_the_user_event_still_wins(
    db, tmp_path, feed_server
):
    """End to end: the feed set in the database, fetched by the service, warns through the
    scheduled-event rule like a shipped event does."""
    db.accounts.add(AccountRecord("binanceusdm", "Main"))
    db.settings.set(SETTINGS_KEY, [{"url": feed_server.url, "name": "BLS", "match": ["Consumer"]}])
    cpi = ms("2026-12-15T13:30:00+00:00")
    clock = FakeClock(cpi / 1000 - 30 * 60)
    warnings = []

    class Rec:
        def on_account(self, u):
            return None

        def on_market(self, u):
            return None

        def on_warning(self, e):
            warnings.append(e)

    svc = WatchService(
        db, None, Rec(), clock=clock, connector_factory=serving(FakeConnector(wallet=17_800))
    )
    svc.reload_feeds()
    svc.refresh_feeds()
    assert (tmp_path / "calendar-feeds").is_dir()  # beside the database
    svc.tick()
    (fired,) = [e for e in warnings if e.warning.rule is WarningRule.SCHEDULED_EVENT]
    assert fired.warning.message.startswith(
        "Consumer Price Index for November 2026 (test data) in 30 min"
    )
    assert json.dumps(db.settings.get(SETTINGS_KEY))  # the subscription itself is untouched


# --- the calendar running out -------------------------------------------------------------


def test_the_watch_says_when_the_calendar_runs_out_and_a_feed_clears_it(db, tmp_path, feed_server):
    """On 2027-12-20, with the shipped calendar cut to 2027 (its last decision, 2027-12-08, is
    behind), the watch raises the INFO warning on the account it watches; a feed whose events
    reach February 2028 resolves it."""
    db.accounts.add(AccountRecord("binanceusdm", "Main"))
    now = ms("2027-12-20T00:00:00+00:00")
    clock = FakeClock(now / 1000)
    shipped_2027 = [e for e in builtin_events() if e.at_ms < ms("2028-01-01T00:00:00+00:00")]
    feeds = CalendarFeeds(tmp_path / "cache", shipped_2027, clock=clock)
    warnings = []

    class Rec:
        def on_account(self, u):
            return None

        def on_market(self, u):
            return None

        def on_warning(self, e):
            warnings.append(e)

    svc = WatchService(
        db,
        None,
        Rec(),
        clock=clock,
        connector_factory=serving(FakeConnector(wallet=60_000)),  # far from liquidation
        feeds=feeds,
        calendar=Calendar(db.events.between, shipped_2027, feeds.events),
    )
    svc.tick()
    (fired,) = warnings
    assert (fired.change.value, fired.warning.rule) == ("fired", WarningRule.CALENDAR_COVERAGE)
    assert fired.warning.severity.label == "info" and fired.warning.account_id == 1
    assert "(none is known)" in fired.warning.message
    clock.advance(5)
    svc.tick()
    assert len(warnings) == 1  # still holding: not repeated

    feed_server.body = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\n"
        b"BEGIN:VEVENT\r\nUID:x@test\r\nDTSTAMP:20271201T000000Z\r\n"
        b"DTSTART:20280212T133000Z\r\nSUMMARY:Consumer Price Index (test data)\r\n"
        b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    db.settings.set(SETTINGS_KEY, [{"url": feed_server.url, "name": "BLS"}])
    svc.reload_feeds()
    svc.refresh_feeds()
    for _ in range(2):
        clock.advance(5)
        svc.tick()
    assert [e.change.value for e in warnings] == ["fired", "resolved"]
