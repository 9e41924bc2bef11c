"""A real database with data in it, and the two ways its pages get damaged.

``filled_database`` writes what the watch loop writes (accounts, snapshots compacted into
blocks and fresh ones as rows, candles, warnings, events) through the storage API, so the file
has hundreds of pages of every kind. Then:

- ``damage_pages`` overwrites whole pages in the middle of the file with random bytes: the
  file's structure is broken, which PRAGMA quick_check finds;
- ``damage_inside_a_block`` overwrites bytes inside a stored snapshot block, leaving every
  page header intact: SQLite keeps no checksum, so only decoding the block finds it.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np

from alerts.vocabulary import Severity, WarningRule, WarningState
from risk.types import Candles
from storage.database import Database
from storage.records import AccountRecord, EventRecord, WarningRecord
from storage.sample import ReportWalk

T0 = 1_767_225_600_000
HOUR_MS = 3_600_000


def filled_database(path: Path) -> int:
    """Fill the database at ``path``; returns its size in bytes."""
    with Database.open(path) as db:
        account = db.accounts.add(AccountRecord("bybit", "main", secret_name="bybit-main"))
        walk = ReportWalk(20, seed=3)
        db.snapshots.save_many((account.id or 0, walk.next(), T0 + 2000 * i) for i in range(2700))
        db.prune(T0 + 2000 * 2700 + HOUR_MS, budget_ms=60_000)
        db.snapshots.save_many(
            (account.id or 0, walk.next(), T0 + 2000 * (2700 + i)) for i in range(300)
        )
        n = 1500
        ts = (T0 - np.arange(n)[::-1] * HOUR_MS).astype(np.int64)
        close = np.linspace(90_000.0, 100_000.0, n)
        db.candles.save(Candles("BTC/USDT:USDT", "1h", ts, close, close, close, close, close))
        for i in range(40):
            state = WarningState.RESOLVED if i % 2 else WarningState.ACTIVE
            db.warnings.upsert(
                WarningRecord(f"distance|{i}", WarningRule.LIQUIDATION_DISTANCE, Severity.WARNING,
                              "BTC is near " * 10, account.id or 0, ("BTC/USDT:USDT",), T0,
                              T0 + i, state)
            )  # fmt: skip
        db.events.add_many(EventRecord(T0 + i * HOUR_MS, f"event {i}", "macro") for i in range(20))
        db.checkpoint()
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")  # no free pages: every page overwritten below holds data
    conn.close()
    return path.stat().st_size


def page_size(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:18], "big")


def damage_pages(path: Path, where: float = 0.5, pages: int = 3, seed: int = 1) -> None:
    """Overwrite ``pages`` whole pages at ``where`` (a fraction of the file) with random bytes."""
    data = bytearray(path.read_bytes())
    size = page_size(path)
    start = max(1, int(len(data) * where) // size) * size
    rng = random.Random(seed)
    data[start : start + pages * size] = rng.randbytes(pages * size)
    path.write_bytes(bytes(data))


def damage_inside_a_block(path: Path, seed: int = 1) -> None:
    """Overwrite 64 bytes in the middle of the largest stored snapshot block, where they are
    block content (not a page header, not an overflow-page pointer)."""
    conn = sqlite3.connect(path)
    try:
        data = conn.execute(
            "SELECT data FROM snapshot_blocks ORDER BY length(data) DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        conn.close()
    probe = bytes(data[len(data) // 2 : len(data) // 2 + 32])
    raw = bytearray(path.read_bytes())
    at = raw.find(probe)
    assert at > 0 and raw.find(probe, at + 1) < 0, "the block's bytes are not found once"
    raw[at : at + 64] = random.Random(seed).randbytes(64)
    path.write_bytes(bytes(raw))
