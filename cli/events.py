"""`python main.py events [--json]`: the coming scheduled events the watch warns before, each
with its source, and how far ahead events are known."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import Any

from cli import arguments, render
from monitor.agenda import COVERAGE_MIN_DAYS, Agenda, agenda

COLUMNS = (
    render.Column("when (UTC)"),
    render.Column("event"),
    render.Column("from"),
    render.Column("source"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from storage.paths import add_data_dir_argument

    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--days",
        type=arguments.between(0, 3650, "days"),
        default=60.0,
        help="how far ahead to list (default 60 days)",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="fetch the subscribed calendar feeds that are due before listing",
    )
    add_data_dir_argument(parser)


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def to_json(a: Agenda) -> dict[str, Any]:
    return {
        "from": _iso(a.from_ms),
        "to": _iso(a.to_ms),
        "known_until": _iso(a.known_until_ms),
        "coverage_days": round(a.coverage_days, 1),
        "events": [
            {
                "when": _iso(e.at_ms),
                "name": e.name,
                "origin": e.origin,
                "source": e.source,
                "typical_move": dict(e.typical_move),
            }
            for e in a.events
        ],
        "feeds": [
            {
                "url": s.spec.url,
                "name": s.spec.label,
                "ok": s.ok,
                "events": s.events,
                "status": s.line,
            }
            for s in a.feeds
        ],
        "note": shortfall(a),
    }


def shortfall(a: Agenda) -> str | None:
    """The line that says the calendar is running out, or None."""
    if not a.short:
        return None
    known = f"until {_iso(a.known_until_ms)}" if a.known_until_ms else "none at all"
    return (
        f"only {a.coverage_days:.0f} days of scheduled events are known ({known}); under "
        f"{COVERAGE_MIN_DAYS:g} days the watch cannot warn before the next ones. Subscribe to "
        "a calendar feed in Settings."
    )


def text(a: Agenda, days: float) -> str:
    out = [
        f"scheduled events from {_when(a.from_ms)} UTC for {days:g} days "
        f"(events known until {_iso(a.known_until_ms) or 'nowhere'})",
        "",
    ]
    rows = [(_when(e.at_ms), e.name, e.origin, e.source) for e in a.events]
    out.append(render.table(COLUMNS, rows) if rows else f"{render.INDENT}(none)")
    if a.feeds:
        out.append("")
        out += [f"feed {s.line}" for s in a.feeds]
    note = shortfall(a)
    if note:
        out += ["", f"note: {note}"]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    from storage.errors import StorageError
    from storage.paths import resolve_data_dir

    if not args.days > 0:
        print("cascade-watch events: --days must be more than 0", file=sys.stderr)
        return 2
    now_ms = int(time.time() * 1000)
    try:
        a = agenda(resolve_data_dir(args.data_dir), now_ms, args.days, refresh=args.refresh)
    except (StorageError, OSError) as exc:
        print(f"cascade-watch events: {exc}", file=sys.stderr)
        return 1
    print(render.json_text(to_json(a)) if args.json else text(a, args.days))
    return 0
