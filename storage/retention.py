"""Retention, for every table. Risk snapshots: full resolution for 48 hours, one per minute up
to 30 days, one per hour up to a year, none after. In each minute (hour) bucket the LAST
snapshot is kept — the latest state the app saw in that minute (hour).

The other tables (``drop_expired``, run at the start of each ``prune``):

- liquidation_minutes, liquidation_coverage: 30 days (the norm reads the last 7);
- warnings: open ones always; resolved ones 90 days after they resolved; each one's severity
  history 90 days, and its last 200 changes (storage/warnings.py);
- warning_changes: the newest 10,000 (trimmed as they are logged: storage/warnings.py);
- candles: 90 days of bars (the monitor fetches 1,000 hourly bars, about 42 days, each hour);
- events: 30 days after they happened (the calendar looks 2 days around now);
- accounts, settings: as the user keeps them (a row per account, one per declared setting).

Support levels are not stored (schema v5 dropped their table): the chart and the warnings use
the ones the monitor has just computed, and nothing read the stored ones back.

Compaction already sorts each minute's last snapshot into the hour's minute block, so a chart
of days can read minute blocks alone, and thinning an hour to minutes drops its rest blocks.

Tiers apply to whole aligned UTC spans: an hour is thinned to minutes once all of it is older
than 48 h, a day to hours once all of it is older than 30 days. Recent snapshots are packed
into compressed blocks of 10 minutes once their 10-minute span has closed (storage/blocks.py);
once a whole day is past 48 h its minute blocks are merged into one day block (fewer, larger
blocks: faster chart reads, better compression).

``prune`` works in small steps — one account and one span per transaction, a few
milliseconds each — and stops when its time budget is spent, so it never holds the write
lock for long and can be called on a schedule from a worker thread; call it again while
``PruneResult.done`` is False. The monitor runs it 90 s after start, then every 10 minutes
(monitor/service.py), calling again until done (up to 20 calls): the un-compacted rows then
never exceed ~20 minutes, which keeps chart reads fast and the file's free pages few.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from storage.blocks import Frame, concat, encode_block, last_per_bucket
from storage.records import PruneResult
from storage.snapshots import block_frames, raw_frame

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
FULL_RESOLUTION_FOR_MS = 48 * HOUR_MS
MINUTE_RESOLUTION_FOR_MS = 30 * DAY_MS
LIQUIDATION_RETENTION_MS = 30 * DAY_MS
"""The market's liquidations per minute are kept 30 days (the norm reads the last 7)."""
SNAPSHOT_RETENTION_MS = 365 * DAY_MS
WARNING_HISTORY_MS = 90 * DAY_MS
CANDLE_RETENTION_MS = 90 * DAY_MS
EVENT_RETENTION_MS = 30 * DAY_MS
COMPACT_SPAN_MS = 10 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class Span:
    """One unit of retention work: an account's aligned span and the resolution it gets."""

    account_id: int
    start_ms: int
    length_ms: int
    resolution_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.length_ms


def target_span(account_id: int, ts_ms: int, now_ms: int) -> Span | None:
    """The block a snapshot at ts_ms belongs in at now_ms; None while its span is open."""
    day = ts_ms - ts_ms % DAY_MS
    if day + DAY_MS <= now_ms - MINUTE_RESOLUTION_FOR_MS:
        return Span(account_id, day, DAY_MS, HOUR_MS)
    if day + DAY_MS <= now_ms - FULL_RESOLUTION_FOR_MS:
        return Span(account_id, day, DAY_MS, MINUTE_MS)
    hour = ts_ms - ts_ms % HOUR_MS
    if hour + HOUR_MS <= now_ms - FULL_RESOLUTION_FOR_MS:
        return Span(account_id, hour, HOUR_MS, MINUTE_MS)
    ten = ts_ms - ts_ms % COMPACT_SPAN_MS
    if ten + COMPACT_SPAN_MS <= now_ms:
        return Span(account_id, ten, COMPACT_SPAN_MS, 0)
    return None


def next_span(conn: sqlite3.Connection, now_ms: int) -> Span | None:
    """The oldest piece of work: raw rows in a closed span first, then blocks due thinning."""
    cutoff = now_ms - now_ms % COMPACT_SPAN_MS
    row = conn.execute(
        """SELECT account_id, min(ts_ms) AS t FROM snapshots WHERE ts_ms < ?
           GROUP BY account_id ORDER BY t LIMIT 1""",
        (cutoff,),
    ).fetchone()
    if row is not None:
        return target_span(int(row[0]), int(row[1]), now_ms)
    h48 = now_ms - FULL_RESOLUTION_FOR_MS
    d48 = h48 - h48 % DAY_MS
    h48 -= h48 % HOUR_MS
    d30 = now_ms - MINUTE_RESOLUTION_FOR_MS
    d30 -= d30 % DAY_MS
    row = conn.execute(
        """SELECT account_id, start_ms FROM snapshot_blocks
           WHERE (resolution_ms < ? AND start_ms < ?)
              OR (end_ms - start_ms < ? AND start_ms < ?)
              OR (resolution_ms < ? AND start_ms < ?)
           ORDER BY start_ms LIMIT 1""",
        (MINUTE_MS, h48, DAY_MS, d48, HOUR_MS, d30),
    ).fetchone()
    if row is not None:
        return target_span(int(row[0]), int(row[1]), now_ms)
    return None


def _delete_blocks(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.executemany("DELETE FROM snapshot_blocks WHERE id = ?", [(i,) for i in ids])


def _delete_raw(conn: sqlite3.Connection, span: Span) -> None:
    args = (span.account_id, span.start_ms, span.end_ms)
    conn.execute(
        """DELETE FROM snapshot_positions WHERE snapshot_id IN (SELECT id FROM snapshots
           WHERE account_id = ? AND ts_ms >= ? AND ts_ms < ?)""",
        args,
    )
    conn.execute("DELETE FROM snapshots WHERE account_id = ? AND ts_ms >= ? AND ts_ms < ?", args)


def _insert_block(
    conn: sqlite3.Connection, account_id: int, start: int, length: int, res: int, frame: Frame
) -> None:
    if len(frame):
        conn.execute(
            """INSERT INTO snapshot_blocks
               (account_id, start_ms, end_ms, resolution_ms, n_rows, data)
               VALUES (?, ?, ?, ?, ?, ?)""",
            (account_id, start, start + length, res, len(frame), encode_block(frame)),
        )


def compact_full(conn: sqlite3.Connection, span: Span) -> int:
    """Move a closed 10-minute span's raw rows into blocks without losing any: the last of
    each minute into the hour's minute block, the others into the span's rest block.
    Returns the number of raw snapshots moved."""
    raw = raw_frame(conn, span.account_id, span.start_ms, span.end_ms)
    rests = block_frames(
        conn,
        span.account_id,
        "start_ms >= ? AND start_ms < ? AND resolution_ms = 0",
        (span.start_ms, span.end_ms),
    )
    hour = span.start_ms - span.start_ms % HOUR_MS
    digests = block_frames(
        conn,
        span.account_id,
        "start_ms = ? AND end_ms = ? AND resolution_ms = ?",
        (hour, hour + HOUR_MS, MINUTE_MS),
    )
    digest = concat([f for _, _, f in digests])
    inside = (digest.ts >= span.start_ms) & (digest.ts < span.end_ms)
    combined = concat([raw, *(f for _, _, f in rests), digest.take(inside)])
    last = np.zeros(len(combined), dtype=bool)
    last[last_per_bucket(combined.ts, MINUTE_MS)] = True
    _delete_blocks(conn, [i for i, _, _ in rests] + [i for i, _, _ in digests])
    _delete_raw(conn, span)
    new_digest = concat([digest.take(~inside), combined.take(last)])
    _insert_block(conn, span.account_id, hour, HOUR_MS, MINUTE_MS, new_digest)
    _insert_block(conn, span.account_id, span.start_ms, span.length_ms, 0, combined.take(~last))
    return len(raw)


def repack(conn: sqlite3.Connection, span: Span) -> tuple[int, int]:
    """Merge the raw rows and blocks of ``span`` into one block at its resolution.
    Returns (snapshots moved out of the raw tables, snapshots dropped by thinning)."""
    if span.resolution_ms == 0:
        return compact_full(conn, span), 0
    blocks = block_frames(
        conn, span.account_id, "start_ms >= ? AND start_ms < ?", (span.start_ms, span.end_ms)
    )
    raw = raw_frame(conn, span.account_id, span.start_ms, span.end_ms)
    merged = concat([f for _, _, f in blocks] + [raw])
    kept = merged.thin(span.resolution_ms)
    _delete_blocks(conn, [i for i, _, _ in blocks])
    if len(raw):
        _delete_raw(conn, span)
    _insert_block(conn, span.account_id, span.start_ms, span.length_ms, span.resolution_ms, kept)
    return len(raw), len(merged) - len(kept)


def drop_old_liquidations(conn: sqlite3.Connection, now_ms: int) -> int:
    """Delete liquidation minutes and coverage spans older than LIQUIDATION_RETENTION_MS."""
    cutoff = now_ms - LIQUIDATION_RETENTION_MS
    n = conn.execute("DELETE FROM liquidation_minutes WHERE minute_ms < ?", (cutoff,)).rowcount
    conn.execute("DELETE FROM liquidation_coverage WHERE to_ms < ?", (cutoff,))
    return int(n)


def drop_expired(conn: sqlite3.Connection, now_ms: int) -> int:
    """Delete what every table keeps no longer (the module docstring's table); returns the
    rows deleted. Indexed deletes on small tables: a few milliseconds."""
    n = drop_old_liquidations(conn, now_ms)
    for sql, keep_ms in (
        ("DELETE FROM snapshot_blocks WHERE end_ms <= ?", SNAPSHOT_RETENTION_MS),
        ("DELETE FROM snapshots WHERE ts_ms < ?", SNAPSHOT_RETENTION_MS),
        (
            "DELETE FROM warnings WHERE state = 'resolved' AND coalesce(resolved_ms, "
            "last_seen_ms) < ?",
            WARNING_HISTORY_MS,
        ),
        ("DELETE FROM candles WHERE ts_ms < ?", CANDLE_RETENTION_MS),
        ("DELETE FROM events WHERE ts_ms < ?", EVENT_RETENTION_MS),
    ):
        n += conn.execute(sql, (now_ms - keep_ms,)).rowcount
    _trim_severity_histories(conn, now_ms - WARNING_HISTORY_MS)
    return n


def _trim_severity_histories(conn: sqlite3.Connection, cutoff_ms: int) -> None:
    """Drop severity changes older than ``cutoff_ms`` from open warnings' histories (the last
    change is always kept: it is the warning's current severity)."""
    rows = conn.execute(
        """SELECT key, severity_history FROM warnings WHERE json_array_length(severity_history)
           > 1 AND json_extract(severity_history, '$[0][0]') < ?""",
        (cutoff_ms,),
    ).fetchall()
    for key, text in rows:
        history = json.loads(text)
        kept = [h for h in history[:-1] if h[0] >= cutoff_ms] + history[-1:]
        conn.execute(
            "UPDATE warnings SET severity_history = ? WHERE key = ?", (json.dumps(kept), key)
        )


def prune(
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
    now_ms: int,
    budget_ms: float = 200.0,
    max_steps: int | None = None,
) -> PruneResult:
    """Apply the retention tiers at now_ms, one span per write transaction, until nothing is
    left to do, ``budget_ms`` of wall time is spent or ``max_steps`` steps are done."""
    started = time.perf_counter()
    steps = compacted = removed = 0
    with transaction() as conn:
        removed += drop_expired(conn, now_ms)
    while True:
        if max_steps is not None and steps >= max_steps:
            return PruneResult(steps, compacted, removed, done=False)
        if (time.perf_counter() - started) * 1000 > budget_ms:
            return PruneResult(steps, compacted, removed, done=False)
        with transaction() as conn:
            span = next_span(conn, now_ms)
            if span is None:
                log.debug("prune done: %d steps, %d moved, %d dropped", steps, compacted, removed)
                return PruneResult(steps, compacted, removed, done=True)
            moved, dropped = repack(conn, span)
        steps += 1
        compacted += moved
        removed += dropped
