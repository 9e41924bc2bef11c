"""CSV export of warnings and snapshot history (the user's own records, for a spreadsheet).

``export_warnings(db.warnings, path)`` and ``export_snapshots(db.accounts, db.snapshots, path,
account_id=None)`` read through the repositories and return the number of rows written.

Files are written to a temporary name and renamed into place, so a crash never leaves half
a file under the chosen name. Times are given both as ms since the epoch and as UTC ISO 8601.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from storage.accounts import AccountRepository
from storage.records import SnapshotSeries, WarningRecord
from storage.snapshots import SnapshotRepository
from storage.warnings import WarningRepository

WARNING_COLUMNS = (
    "key",
    "rule",
    "severity",
    "state",
    "account_id",
    "symbols",
    "message",
    "first_seen_ms",
    "first_seen_utc",
    "last_seen_ms",
    "last_seen_utc",
    "acknowledged_ms",
    "snoozed_until_ms",
    "resolved_ms",
    "severity_history",
)
SNAPSHOT_COLUMNS = (
    "account_id",
    "ts_ms",
    "ts_utc",
    "equity",
    "maintenance",
    "margin_ratio",
    "joint_leader",
    "joint_down",
    "joint_up",
    "symbol",
    "side",
    "size",
    "mark",
    "liquidation_price",
    "exchange_liquidation_price",
    "distance",
)


def iso(ts_ms: int | None) -> str:
    if ts_ms is None:
        return ""
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _num(x: float) -> str:
    return "" if math.isnan(x) else repr(float(x))


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_warnings_csv(path: Path, warnings: Iterable[WarningRecord]) -> int:
    n = 0
    with atomic_text(path) as f:
        w = csv.writer(f)
        w.writerow(WARNING_COLUMNS)
        for r in warnings:
            w.writerow(
                (
                    r.key,
                    r.rule.value,
                    r.severity.label,
                    r.state.value,
                    r.account_id,
                    " ".join(r.symbols),
                    r.message,
                    r.first_seen_ms,
                    iso(r.first_seen_ms),
                    r.last_seen_ms,
                    iso(r.last_seen_ms),
                    "" if r.acknowledged_ms is None else r.acknowledged_ms,
                    "" if r.snoozed_until_ms is None else r.snoozed_until_ms,
                    "" if r.resolved_ms is None else r.resolved_ms,
                    "; ".join(f"{iso(t)} {s.label}" for t, s in r.severity_history),
                )
            )
            n += 1
    return n


def write_snapshots_csv(
    path: Path,
    series: Iterable[tuple[int, SnapshotSeries]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """One line per position per snapshot (a snapshot with no position gets one line with
    empty position columns)."""
    n = 0
    with atomic_text(path) as f:
        w = csv.writer(f)
        w.writerow(SNAPSHOT_COLUMNS)
        for account_id, s in series:
            positions = list(s.positions.values())
            for i in range(len(s)):
                ts = int(s.ts_ms[i])
                head = (
                    account_id,
                    ts,
                    iso(ts),
                    _num(s.equity[i]),
                    _num(s.maintenance[i]),
                    _num(s.margin_ratio[i]),
                    s.joint_leader[i],
                    _num(s.joint_down[i]),
                    _num(s.joint_up[i]),
                )
                held = [p for p in positions if not math.isnan(p.mark[i])]
                if not held:
                    w.writerow((*head, "", "", "", "", "", "", ""))
                    n += 1
                for p in held:
                    w.writerow(
                        (
                            *head,
                            p.symbol,
                            p.side,
                            _num(p.size[i]),
                            _num(p.mark[i]),
                            _num(p.liquidation[i]),
                            _num(p.exchange_liquidation[i]),
                            _num(p.distance[i]),
                        )
                    )
                    n += 1
            if progress is not None:
                progress(n)
    return n


def export_warnings(warnings: WarningRepository, path: Path | str) -> int:
    """Write every warning, resolved ones included, to CSV; returns the number of rows."""
    return write_warnings_csv(Path(path), warnings.all(active_only=False))


def export_snapshots(
    accounts: AccountRepository,
    snapshots: SnapshotRepository,
    path: Path | str,
    account_id: int | None = None,
) -> int:
    """Write the snapshots of one account (or of all) to CSV, one line per position per
    snapshot; returns the number of lines."""
    ids = [account_id] if account_id is not None else [a.id for a in accounts.all()]
    return write_snapshots_csv(Path(path), ((i, snapshots.query(i)) for i in ids if i is not None))
