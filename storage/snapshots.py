"""Risk snapshots (``db.snapshots``): recent rows (snapshots + snapshot_positions) and
compacted blocks, and the SQL that retention (storage/retention.py) shares.

A snapshot is first written as one ``snapshots`` row plus one ``snapshot_positions`` row per
position (float64, cheap to insert, crash-safe per poll). ``retention.prune`` later moves
closed spans of them into ``snapshot_blocks`` (storage/blocks.py): while a span is in the
full-resolution tier, the last snapshot of each minute goes to the hour's "minute block"
(resolution_ms = 60000, the same block thinning to minutes will leave) and the others to a
10-minute "rest" block (resolution_ms = 0). Readers see all of it through
one read transaction, so a compaction running at the same time never shows a row twice or
hides it.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np

from risk.report import AccountReport
from storage.blocks import POSITION_FIELDS, Frame, Key, concat, decode_block, last_per_bucket
from storage.connection import Connections
from storage.records import MAX_TS, SnapshotSeries

log = logging.getLogger(__name__)

INSERT_SNAPSHOT = """INSERT INTO snapshots
    (account_id, ts_ms, equity, maintenance, margin_ratio, joint_leader, joint_down, joint_up)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_POSITION = """INSERT OR REPLACE INTO snapshot_positions
    (snapshot_id, symbol, side, size, mark, liq_computed, liq_exchange, distance)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""

MINUTE_MS = 60_000


def _sql_float(x: float | None) -> float | None:
    """SQLite stores NaN as NULL anyway; infinities are kept (margin ratio is inf at equity ≤ 0)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return float(x)


def insert_snapshots(
    conn: sqlite3.Connection, batch: Iterable[tuple[int, AccountReport, int]]
) -> list[int]:
    """Insert each (account_id, report, ts_ms); returns the new snapshot ids. The caller holds
    the write transaction."""
    ids: list[int] = []
    position_rows: list[tuple[object, ...]] = []
    for account_id, report, ts_ms in batch:
        jm = report.joint_move
        cur = conn.execute(
            INSERT_SNAPSHOT,
            (
                account_id,
                int(ts_ms),
                _sql_float(report.equity),
                _sql_float(report.maintenance_margin),
                _sql_float(report.margin_ratio),
                jm.leader if jm else None,
                _sql_float(jm.down) if jm else None,
                _sql_float(jm.up) if jm else None,
            ),
        )
        sid = int(cur.lastrowid or 0)
        ids.append(sid)
        for p in report.positions:
            position_rows.append(
                (
                    sid,
                    p.symbol,
                    p.side.name.lower(),
                    _sql_float(p.size),
                    _sql_float(p.mark_price),
                    _sql_float(p.liquidation_price.value) if p.liquidation_price else None,
                    _sql_float(p.exchange_liquidation_price.value)
                    if p.exchange_liquidation_price
                    else None,
                    _sql_float(p.distance),
                )
            )
    conn.executemany(INSERT_POSITION, position_rows)
    return ids


def raw_frame(
    conn: sqlite3.Connection,
    account_id: int,
    since_ms: int,
    until_ms: int,
    resolution_ms: int = 0,
) -> Frame:
    """Un-compacted snapshots of one account with since_ms <= ts_ms < until_ms; with
    ``resolution_ms`` > 0 only the last of each bucket (their positions alone are fetched)."""
    rows = conn.execute(
        """SELECT id, ts_ms, equity, maintenance, margin_ratio, joint_down, joint_up,
                  coalesce(joint_leader, '')
           FROM snapshots WHERE account_id = ? AND ts_ms >= ? AND ts_ms < ?
           ORDER BY ts_ms, id""",
        (account_id, since_ms, until_ms),
    ).fetchall()
    if not rows:
        return Frame.empty()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    numbers = np.array([r[1:7] for r in rows], dtype=np.float64)
    leader = np.array([r[7] for r in rows], dtype=object)
    ts = numbers[:, 0].astype(np.int64)
    if resolution_ms > 0:
        keep = last_per_bucket(ts, resolution_ms)
        ids, numbers, leader, ts = ids[keep], numbers[keep], leader[keep], ts[keep]
        prows = conn.execute(
            """SELECT symbol, side, snapshot_id, size, mark, liq_computed, liq_exchange, distance
               FROM snapshot_positions
               WHERE snapshot_id IN (SELECT value FROM json_each(?))""",
            (json.dumps(ids.tolist()),),
        ).fetchall()
    else:
        prows = conn.execute(
            """SELECT p.symbol, p.side, p.snapshot_id, p.size, p.mark, p.liq_computed,
                      p.liq_exchange, p.distance
               FROM snapshots s JOIN snapshot_positions p ON p.snapshot_id = s.id
               WHERE s.account_id = ? AND s.ts_ms >= ? AND s.ts_ms < ?""",
            (account_id, since_ms, until_ms),
        ).fetchall()
    key_index: dict[Key, int] = {}
    key_at = np.fromiter(
        (key_index.setdefault((r[0], r[1]), len(key_index)) for r in prows), np.int64, len(prows)
    )
    fields = len(POSITION_FIELDS)
    values = np.array([r[2:] for r in prows], dtype=np.float64).reshape(len(prows), 1 + fields)
    order = np.argsort(ids)
    row_at = order[np.searchsorted(ids, values[:, 0].astype(np.int64), sorter=order)]
    positions = np.full((fields, len(key_index), ts.shape[0]), np.nan)
    for f in range(fields):
        positions[f, key_at, row_at] = values[:, 1 + f]
    return Frame(ts, np.ascontiguousarray(numbers[:, 1:].T), leader, tuple(key_index), positions)


def block_frames(
    conn: sqlite3.Connection, account_id: int, where: str, params: Sequence[object]
) -> list[tuple[int, int, Frame]]:
    """(block id, resolution_ms, frame) of the account's blocks matching ``where``."""
    rows = conn.execute(
        f"""SELECT id, resolution_ms, data FROM snapshot_blocks
            WHERE account_id = ? AND {where} ORDER BY start_ms""",
        (account_id, *params),
    ).fetchall()
    return [(int(i), int(r), decode_block(bytes(data))) for i, r, data in rows]


def read_frame(
    conn: sqlite3.Connection,
    account_id: int,
    since_ms: int,
    until_ms: int,
    resolution_ms: int = 0,
) -> Frame:
    """The account's history in [since_ms, until_ms), thinned to the last snapshot of each
    ``resolution_ms`` bucket when it is > 0. From a minute up, only the blocks holding the
    last snapshot of each minute are decoded — the fast path for charts of days and weeks."""
    where = "end_ms > ? AND start_ms < ?"
    if resolution_ms >= MINUTE_MS:
        where += f" AND resolution_ms >= {MINUTE_MS:d}"
    blocks = block_frames(conn, account_id, where, (since_ms, until_ms))
    raw = raw_frame(conn, account_id, since_ms, until_ms, resolution_ms)
    joined = concat([f for _, _, f in blocks] + [raw]).between(since_ms, until_ms)
    return joined.thin(resolution_ms) if resolution_ms > 0 else joined


class SnapshotRepository:
    """Each poll's account report, kept as retention allows (storage/retention.py)."""

    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def save(self, account_id: int, report: AccountReport, ts_ms: int) -> int:
        """Write one snapshot in one short transaction; returns its id."""
        return self.save_many([(account_id, report, ts_ms)])[0]

    def save_many(self, batch: Iterable[tuple[int, AccountReport, int]]) -> list[int]:
        """Write several (account_id, report, ts_ms) in one transaction; returns their ids."""
        batch = list(batch)
        with self._db.transaction() as conn:
            ids = insert_snapshots(conn, batch)
        log.debug("saved %d snapshots", len(ids))
        return ids

    def query(
        self,
        account_id: int,
        since_ms: int | None = None,
        until_ms: int | None = None,
        resolution_ms: int = 0,
    ) -> SnapshotSeries:
        """The account's history with since_ms <= ts_ms < until_ms, as columns. With
        ``resolution_ms`` > 0, only the last snapshot of each bucket (as retention keeps);
        60_000 or more reads only the minute blocks: use it for charts of days or weeks."""
        lo = -MAX_TS if since_ms is None else int(since_ms)
        hi = MAX_TS if until_ms is None else int(until_ms)
        with self._db.read() as conn:
            frame = read_frame(conn, account_id, lo, hi, int(resolution_ms))
        return frame.to_series(account_id)
