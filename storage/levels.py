"""Support and resistance zones per symbol (``db.levels``): the latest computed set is what
the chart and the warnings read."""

from __future__ import annotations

from collections.abc import Iterable

from storage.connection import Connections
from storage.records import LevelRecord


class LevelRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def save(self, symbol: str, ts_ms: int, levels: Iterable[LevelRecord]) -> int:
        """Replace the symbol's set computed at ts_ms; returns how many zones were stored."""
        rows = [(symbol, int(ts_ms), lv.low, lv.high, lv.score, lv.reasons) for lv in levels]
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM levels WHERE symbol = ? AND ts_ms = ?", (symbol, ts_ms))
            conn.executemany(
                "INSERT INTO levels (symbol, ts_ms, low, high, score, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def latest(self, symbol: str) -> tuple[LevelRecord, ...]:
        """The symbol's most recent set, highest score first; () when none is stored."""
        rows = self._db.query(
            """SELECT * FROM levels WHERE symbol = ? AND ts_ms =
               (SELECT max(ts_ms) FROM levels WHERE symbol = ?) ORDER BY score DESC, id""",
            (symbol, symbol),
        )
        return tuple(
            LevelRecord(r["symbol"], r["ts_ms"], r["low"], r["high"], r["score"], r["reasons"])
            for r in rows
        )
