"""Scheduled market events (``db.events``): the shipped calendar's and the user's own. An
event is identified by (ts_ms, name, source), so adding one twice keeps one row."""

from __future__ import annotations

from collections.abc import Iterable

from storage.connection import Connections
from storage.records import EventRecord


class EventRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def add(self, record: EventRecord) -> int:
        """Insert or update one event; returns its id."""
        return self.add_many([record])[0]

    def add_many(self, records: Iterable[EventRecord]) -> list[int]:
        """Insert or update events in one transaction; returns their ids."""
        ids = []
        with self._db.transaction() as conn:
            for e in records:
                row = conn.execute(
                    """INSERT INTO events (ts_ms, name, kind, typical_move, source, user_defined)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (ts_ms, name, source) DO UPDATE SET kind = excluded.kind,
                       typical_move = excluded.typical_move,
                       user_defined = excluded.user_defined
                       RETURNING id""",
                    (e.ts_ms, e.name, e.kind, e.typical_move, e.source, int(e.user_defined)),
                ).fetchone()
                ids.append(int(row[0]))
        return ids

    def remove(self, event_id: int) -> bool:
        """Delete the event; False when there was none with that id."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount > 0

    def between(self, from_ms: int, to_ms: int) -> list[EventRecord]:
        """Events with from_ms <= ts_ms < to_ms, in time order."""
        rows = self._db.query(
            "SELECT * FROM events WHERE ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, id",
            (from_ms, to_ms),
        )
        return [
            EventRecord(
                r["ts_ms"],
                r["name"],
                r["kind"],
                r["typical_move"],
                r["source"],
                bool(r["user_defined"]),
                r["id"],
            )
            for r in rows
        ]
