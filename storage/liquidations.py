"""The market's liquidations per minute (``db.liquidations``): what the streams heard, summed
per venue, symbol and minute, and the spans during which the venue's liquidation stream was
live (a minute without a row inside a covered span had no liquidation; outside one, it is
unknown). Kept for ``LIQUIDATION_RETENTION_MS`` (storage/retention.py)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from storage.connection import Connections
from storage.records import LiquidationMinute, LiquidationSeries

MINUTE_MS = 60_000
COVERAGE_GAP_MS = 2 * MINUTE_MS
"""Two covered spans closer than this are one (a record written a little late is no gap)."""


class LiquidationRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def add(self, minutes: Iterable[LiquidationMinute]) -> int:
        """Add prints to their minutes (a minute already stored is added to, not replaced);
        returns how many minute rows were touched."""
        rows = [
            (
                m.exchange,
                m.symbol,
                int(m.minute_ms) - int(m.minute_ms) % MINUTE_MS,
                float(m.long_usd),
                float(m.short_usd),
                int(m.long_count),
                int(m.short_count),
            )
            for m in minutes
        ]
        if not rows:
            return 0
        with self._db.transaction() as conn:
            conn.executemany(
                """INSERT INTO liquidation_minutes
                   (exchange, symbol, minute_ms, long_usd, short_usd, long_count, short_count)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (exchange, symbol, minute_ms) DO UPDATE SET
                   long_usd = long_usd + excluded.long_usd,
                   short_usd = short_usd + excluded.short_usd,
                   long_count = long_count + excluded.long_count,
                   short_count = short_count + excluded.short_count""",
                rows,
            )
        return len(rows)

    def cover(self, exchange: str, symbol: str, from_ms: int, to_ms: int) -> None:
        """Record that the venue's liquidation stream for ``symbol`` was live over
        [from_ms, to_ms] (extends the last span when they touch)."""
        if to_ms < from_ms:
            return
        with self._db.transaction() as conn:
            last = conn.execute(
                """SELECT id, from_ms, to_ms FROM liquidation_coverage
                   WHERE exchange = ? AND symbol = ? ORDER BY to_ms DESC LIMIT 1""",
                (exchange, symbol),
            ).fetchone()
            if last is not None and from_ms <= last[2] + COVERAGE_GAP_MS and to_ms >= last[1]:
                conn.execute(
                    "UPDATE liquidation_coverage SET from_ms = ?, to_ms = ? WHERE id = ?",
                    (min(from_ms, last[1]), max(to_ms, last[2]), last[0]),
                )
            else:
                conn.execute(
                    """INSERT INTO liquidation_coverage (exchange, symbol, from_ms, to_ms)
                       VALUES (?, ?, ?, ?)""",
                    (exchange, symbol, from_ms, to_ms),
                )

    def covered_since(self, exchange: str, symbol: str, now_ms: int) -> int | None:
        """The start of the span that was being recorded without a gap up to ``now_ms``
        (within COVERAGE_GAP_MS of it); None when the stream is not covered now."""
        rows = self._db.query(
            """SELECT from_ms, to_ms FROM liquidation_coverage
               WHERE exchange = ? AND symbol = ? ORDER BY to_ms DESC LIMIT 1""",
            (exchange, symbol),
        )
        if not rows or rows[0]["to_ms"] < now_ms - COVERAGE_GAP_MS:
            return None
        return int(rows[0]["from_ms"])

    def query(
        self,
        exchange: str,
        symbol: str,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> LiquidationSeries:
        """The minutes in [since_ms, until_ms), with the covered spans that overlap them."""
        lo = -(2**62) if since_ms is None else int(since_ms)
        hi = 2**62 if until_ms is None else int(until_ms)
        rows = self._db.query(
            """SELECT minute_ms, long_usd, short_usd FROM liquidation_minutes
               WHERE exchange = ? AND symbol = ? AND minute_ms >= ? AND minute_ms < ?
               ORDER BY minute_ms""",
            (exchange, symbol, lo, hi),
        )
        spans = self._db.query(
            """SELECT from_ms, to_ms FROM liquidation_coverage
               WHERE exchange = ? AND symbol = ? AND to_ms >= ? AND from_ms < ?
               ORDER BY from_ms""",
            (exchange, symbol, lo, hi),
        )
        return LiquidationSeries(
            exchange,
            symbol,
            np.array([r["minute_ms"] for r in rows], dtype=np.int64),
            np.array([r["long_usd"] for r in rows], dtype=float),
            np.array([r["short_usd"] for r in rows], dtype=float),
            tuple((int(r["from_ms"]), int(r["to_ms"])) for r in spans),
        )

    def symbols(self) -> tuple[tuple[str, str], ...]:
        """Every (exchange, symbol) with a stored minute."""
        rows = self._db.query(
            "SELECT DISTINCT exchange, symbol FROM liquidation_minutes ORDER BY exchange, symbol"
        )
        return tuple((r["exchange"], r["symbol"]) for r in rows)
