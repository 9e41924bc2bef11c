"""``python main.py --version`` and ``python main.py events [--json]``: the coming events
with their sources, the user's own and a feed's from its cache included, and the calendar's
reach."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

from main import main
from monitor.agenda import agenda
from monitor.feeds import CACHE_FOLDER, SETTINGS_KEY, FeedCache
from storage.database import Database
from storage.records import EventRecord
from tests.paths import FIXTURES, REPO_ROOT

DEC_1 = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1000)
FEED = "https://example.invalid/releases.ics"


def test_version_prints_the_installed_version_and_licence(capsys):
    import tomllib

    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    try:
        main(["--version"])
    except SystemExit as exit_:
        assert exit_.code == 0
    assert capsys.readouterr().out == f"cascade-watch {version} (MIT licence)\n"


def test_version_starts_neither_qt_nor_ccxt():
    code = (
        "import sys, main\n"
        "try:\n    main.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "assert 'PySide6' not in sys.modules and 'ccxt' not in sys.modules, 'heavy import'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cascade-watch ")


def test_on_a_fresh_machine_the_shipped_events_are_listed_and_nothing_is_created(tmp_path):
    data = tmp_path / "data"
    a = agenda(data, DEC_1, 60)
    assert [(e.name, e.origin) for e in a.events] == [
        ("FOMC decision", "built-in"),
        ("FOMC decision", "built-in"),
    ]
    assert a.events[0].source == "https://www.federalreserve.gov/monetarypolicy/fomccalendars.htm"
    assert not a.short and a.coverage_days > 400
    assert not data.exists()


def test_events_json_lists_the_users_own_and_a_cached_feeds_events(tmp_path, capsys):
    db = Database.open(tmp_path / "cascade.db")
    db.settings.set(SETTINGS_KEY, [{"url": FEED, "name": "BLS", "match": ["Consumer"]}])
    user_ms = DEC_1 + 3 * 86_400_000
    db.events.add(EventRecord(user_ms, "Exchange maintenance", "user", source="user"))
    db.close()
    FeedCache(tmp_path / CACHE_FOLDER).save(
        FEED, (FIXTURES / "release-calendar.ics").read_bytes(), DEC_1 - 86_400_000
    )
    assert main(["events", "--json", "--days", "400", "--data-dir", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = [(e["when"], e["name"][:26], e["origin"]) for e in out["events"]]
    assert rows[:4] == [
        ("2026-12-04T00:00:00Z", "Exchange maintenance", "yours"),
        ("2026-12-09T19:00:00Z", "FOMC decision", "built-in"),
        ("2026-12-15T13:30:00Z", "Consumer Price Index for N", "feed"),
        ("2027-01-14T13:30:00Z", "Consumer Price Index for D", "feed"),
    ]
    feed_row = out["events"][2]
    assert feed_row["source"] == f"BLS ({FEED})"
    (feed,) = out["feeds"]
    assert feed["ok"] and feed["events"] == 3
    assert "1 at the same minute as a built-in event" in feed["status"]
    assert out["known_until"] == "2028-01-26T19:00:00Z"


def test_a_calendar_about_to_run_out_says_so(tmp_path, capsys):
    from cli.events import shortfall

    late = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp() * 1000)
    a = agenda(tmp_path, late, 60)
    assert a.short and 25 < a.coverage_days < 26  # the last shipped event: 2028-01-26 19:00
    assert shortfall(a) == (
        "only 26 days of scheduled events are known (until 2028-01-26T19:00:00Z); under 30 "
        "days the watch cannot warn before the next ones. Subscribe to a calendar feed in "
        "Settings."
    )
    assert shortfall(agenda(tmp_path, late - 30 * 86_400_000, 60)) is None


def test_events_table_and_bad_days(tmp_path, capsys):
    assert main(["events", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("scheduled events from ")
    assert main(["events", "--days", "0", "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "cascade-watch events: --days must be more than 0\n"
