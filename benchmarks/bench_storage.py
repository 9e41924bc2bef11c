"""Storage benchmarks: write rate, size after 30 days of retention, reading a week for the chart.

Run: python benchmarks/bench_storage.py [--keep DIR]. Prints figures; asserts nothing.
Targets (issue 4): 20,000 position rows/s written in batches; under 200 MB for 30 days of
5 accounts × 20 positions polled every 2 s; under 50 ms to read a week of one account.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.blocks import Frame, encode_block, last_per_bucket
from storage.database import Database
from storage.records import AccountRecord
from storage.retention import COMPACT_SPAN_MS, DAY_MS, HOUR_MS, MINUTE_MS
from storage.sample import ReportWalk, walk_series

ACCOUNTS = 5
POSITIONS = 20
POLL_MS = 2000
STEP_2S = 2e-4
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, aligned on a day


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def bench_writes(folder: Path) -> None:
    db = Database.open(folder / "writes.db")
    ids = [db.accounts.add(AccountRecord("bybit", f"a{i}")).id or 0 for i in range(ACCOUNTS)]
    walks = [ReportWalk(POSITIONS, seed=i) for i in range(ACCOUNTS)]
    reports = [[w.next() for _ in range(1000)] for w in walks]
    batch = 50
    t = NOW_MS
    started = time.perf_counter()
    rows = 0
    for k in range(0, 1000, batch):
        items = []
        for j in range(k, k + batch):
            t += POLL_MS
            items += [(ids[a], reports[a][j], t) for a in range(ACCOUNTS)]
        db.snapshots.save_many(items)
        rows += len(items) * POSITIONS
    elapsed = time.perf_counter() - started
    print(f"writes, batches of {batch * ACCOUNTS} snapshots ({batch * ACCOUNTS * POSITIONS} rows):")
    print(f"  {rows / elapsed:,.0f} position rows/s ({rows:,} rows in {elapsed:.2f} s)")
    started = time.perf_counter()
    n = 500
    for j in range(n):
        t += POLL_MS
        db.snapshots.save(ids[j % ACCOUNTS], reports[j % ACCOUNTS][j], t)
    elapsed = time.perf_counter() - started
    print(
        f"  one poll per transaction: {n / elapsed:,.0f} snapshots/s = "
        f"{n * POSITIONS / elapsed:,.0f} position rows/s"
    )
    db.close()


def insert_block(
    db: Database, account_id: int, frame: Frame, start: int, length: int, res: int
) -> int:
    data = encode_block(frame)
    with db._core.transaction() as conn:
        conn.execute(
            "INSERT INTO snapshot_blocks (account_id, start_ms, end_ms, resolution_ms, n_rows, "
            "data) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, start, start + length, res, len(frame), data),
        )
    return len(data)


def spans(frame: Frame, start: int, end: int, length: int) -> Iterator[tuple[int, Frame]]:
    for s in range(start, end, length):
        part = frame.between(s, s + length)
        if len(part):
            yield s, part


def bench_size_and_reads(folder: Path) -> None:
    print(
        "\nsize after retention: 30 days of 5 accounts × 20 positions polled every 2 s.\n"
        "  Method: the rows that retention keeps are generated directly at their resolutions\n"
        "  (a random walk of marks, 2e-4 per 2 s, prices rounded to 5 significant digits):\n"
        "  the last 48 h at 2 s packed as compaction does (each hour's last-of-minute\n"
        "  snapshots in an hour block, the rest in 10-minute blocks), the 28 days before at one\n"
        "  snapshot per minute (the last of each minute) packed into day blocks, plus the\n"
        "  current 10 minutes as plain rows - exactly what prune() leaves; then the file is\n"
        "  checkpointed and measured. A check below runs the real path (save + prune) for one\n"
        "  hour and compares its bytes per snapshot."
    )
    db = Database.open(folder / "retained.db")
    ids = [db.accounts.add(AccountRecord("bybit", f"a{i}")).id or 0 for i in range(ACCOUNTS)]
    full_start = NOW_MS - 2 * DAY_MS
    minute_start = NOW_MS - 30 * DAY_MS
    open_start = NOW_MS - COMPACT_SPAN_MS
    started = time.perf_counter()
    blob_bytes = {"full": 0, "minute": 0}
    snapshots = {"full": 0, "minute": 0, "raw": 0}
    for a, account_id in enumerate(ids):
        ts_min = np.arange(minute_start, full_start, MINUTE_MS) + MINUTE_MS - POLL_MS
        s_min = Frame.from_series(
            walk_series(account_id, ts_min, POSITIONS, STEP_2S * np.sqrt(30), seed=10 + a)
        )
        for start, part in spans(s_min, minute_start, full_start, DAY_MS):
            blob_bytes["minute"] += insert_block(db, account_id, part, start, DAY_MS, MINUTE_MS)
            snapshots["minute"] += len(part)
        ts_full = np.arange(full_start, open_start, POLL_MS)
        s_full = Frame.from_series(
            walk_series(account_id, ts_full, POSITIONS, STEP_2S, seed=20 + a)
        )
        for hour, part in spans(s_full, full_start, open_start, HOUR_MS):
            last = np.zeros(len(part), dtype=bool)
            last[last_per_bucket(part.ts, MINUTE_MS)] = True
            blob_bytes["full"] += insert_block(
                db, account_id, part.take(last), hour, HOUR_MS, MINUTE_MS
            )
            rest = part.take(~last)
            for start, piece in spans(rest, hour, hour + HOUR_MS, COMPACT_SPAN_MS):
                blob_bytes["full"] += insert_block(db, account_id, piece, start, COMPACT_SPAN_MS, 0)
            snapshots["full"] += len(part)
        walk = ReportWalk(POSITIONS, seed=30 + a)
        db.snapshots.save_many(
            (account_id, walk.next(), t) for t in range(open_start, NOW_MS, POLL_MS)
        )
        snapshots["raw"] += COMPACT_SPAN_MS // POLL_MS
    db.checkpoint()
    size = db.file_size()
    total_snapshots = sum(snapshots.values())
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    per_full = blob_bytes["full"] / snapshots["full"]
    print(
        f"  kept: {snapshots['full']:,} snapshots at 2 s ({per_full:.0f} B each), "
        f"{snapshots['minute']:,} at 1 min "
        f"({blob_bytes['minute'] / snapshots['minute']:.0f} B each), {snapshots['raw']:,} as rows"
    )
    print(
        f"  = {total_snapshots * POSITIONS:,} position figures; database file {mb(size)} "
        f"({size / (total_snapshots * POSITIONS):.1f} B per position per snapshot)"
    )

    real = Database.open(folder / "realpath.db")
    acct = real.accounts.add(AccountRecord("bybit", "real")).id or 0
    walk = ReportWalk(POSITIONS, seed=99, step=STEP_2S)
    t0 = NOW_MS - HOUR_MS
    real.snapshots.save_many((acct, walk.next(), t) for t in range(t0, NOW_MS, POLL_MS))
    started = time.perf_counter()
    result = real.prune(NOW_MS, budget_ms=60_000)
    prune_s = time.perf_counter() - started
    row = real.sqlite.execute(
        "SELECT sum(length(data)), sum(n_rows) FROM snapshot_blocks"
    ).fetchone()
    print(
        f"  check, real path: one hour saved then pruned into {result.steps} blocks in "
        f"{prune_s * 1000:.0f} ms ({prune_s * 1000 / max(result.steps, 1):.1f} ms per step): "
        f"{row[0] / row[1]:.0f} B per snapshot"
    )
    real.close()

    print("\nreading a week of one account for the chart:")
    for res, what in ((MINUTE_MS, "at chart resolution (resolution_ms=60_000)"), (0, "in full")):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            series = db.snapshots.query(ids[0], NOW_MS - 7 * DAY_MS, NOW_MS, resolution_ms=res)
            times.append(time.perf_counter() - started)
        print(
            f"  {what}: {len(series):,} snapshots × {len(series.positions)} positions: median "
            f"{statistics.median(times) * 1000:.1f} ms, first {times[0] * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms"
        )
    result_box: list[float] = []

    def read_in_thread() -> None:
        started = time.perf_counter()
        db.snapshots.query(ids[1], NOW_MS - 7 * DAY_MS, NOW_MS, resolution_ms=MINUTE_MS)
        result_box.append(time.perf_counter() - started)

    thread = threading.Thread(target=read_in_thread)
    thread.start()
    thread.join()
    print(
        f"  at chart resolution from a fresh thread (new reader connection): "
        f"{result_box[0] * 1000:.1f} ms"
    )
    started = time.perf_counter()
    series = db.snapshots.query(ids[0], NOW_MS - 30 * DAY_MS, NOW_MS, resolution_ms=HOUR_MS)
    print(
        f"  30 days at one per hour ({len(series):,} snapshots): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", help="write the databases here and keep them")
    args = parser.parse_args()
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        bench_writes(folder)
        bench_size_and_reads(folder)
        return
    with tempfile.TemporaryDirectory() as tmp:
        bench_writes(Path(tmp))
        bench_size_and_reads(Path(tmp))


if __name__ == "__main__":
    main()
