"""Every table has retention (issue 13, item 11): what prune keeps and drops beyond the
snapshots (whose tiers are tests/storage/test_database.py's)."""

from __future__ import annotations

import json

import numpy as np

from alerts import Severity, WarningRule, WarningState, warning_key
from risk.types import Candles
from storage.database import Database
from storage.records import AccountRecord, EventRecord, WarningRecord
from storage.retention import DAY_MS, HOUR_MS, MINUTE_MS
from storage.sample import ReportWalk
from storage.warnings import MAX_SEVERITY_CHANGES

NOW = 1_798_761_600_000  # 2027-01-01 00:00 UTC


def warning(account_id: int, symbol: str, state: WarningState, resolved_ms: int | None,
            last_seen_ms: int) -> WarningRecord:  # fmt: skip
    rule = WarningRule.LIQUIDATION_DISTANCE
    return WarningRecord(warning_key(rule, account_id, (symbol,)), rule, Severity.WARNING,
                         f"{symbol} is near", account_id, (symbol,), last_seen_ms - HOUR_MS,
                         last_seen_ms, state, resolved_ms=resolved_ms)  # fmt: skip


def test_prune_drops_what_each_table_keeps_no_longer(db: Database) -> None:
    acct = db.accounts.add(AccountRecord("bybit", "main")).id or 0
    old, recent = NOW - 100 * DAY_MS, NOW - 10 * DAY_MS
    db.warnings.upsert(warning(acct, "OLD", WarningState.RESOLVED, old, old))
    db.warnings.upsert(warning(acct, "RECENT", WarningState.RESOLVED, recent, recent))
    db.warnings.upsert(warning(acct, "OPEN", WarningState.ACTIVE, None, old))
    ts = np.arange(NOW - 120 * DAY_MS, NOW, HOUR_MS, dtype=np.int64)
    close = np.full(ts.shape, 100.0)
    db.candles.save(Candles("BTC/USDT:USDT", "1h", ts, close, close, close, close, close))
    db.events.add_many(
        EventRecord(NOW + d * DAY_MS, f"event {d}", "macro") for d in (-60, -31, -29, 1)
    )
    walk = ReportWalk(3)
    db.snapshots.save_many(
        (acct, walk.next(), t) for t in range(NOW - 400 * DAY_MS, NOW, 6 * HOUR_MS)
    )
    while not db.prune(NOW, budget_ms=10_000).done:
        pass

    assert {w.symbols[0] for w in db.warnings.all()} == {"RECENT", "OPEN"}
    kept = db.candles.load("BTC/USDT:USDT", "1h")
    assert kept.ts_ms[0] >= NOW - 90 * DAY_MS and kept.ts_ms[-1] == ts[-1]
    assert [e.name for e in db.events.between(0, 2**62)] == ["event -29", "event 1"]
    history = db.snapshots.query(acct)
    assert history.ts_ms[0] >= NOW - 365 * DAY_MS and len(history) > 0


def test_a_flickering_warning_keeps_a_bounded_severity_history(db: Database) -> None:
    acct = db.accounts.add(AccountRecord("bybit", "main")).id or 0
    base = warning(acct, "BTC", WarningState.ACTIVE, None, NOW - 200 * DAY_MS)
    for i in range(3 * MAX_SEVERITY_CHANGES):
        severity = Severity.CRITICAL if i % 2 else Severity.WARNING
        at = NOW - 200 * DAY_MS + i * DAY_MS // 4
        stored = db.warnings.upsert(
            WarningRecord(
                base.key,
                base.rule,
                severity,
                base.message,
                acct,
                base.symbols,
                base.first_seen_ms,
                at,
            )
        )
    assert len(stored.severity_history) == MAX_SEVERITY_CHANGES
    assert stored.severity_history[-1] == (at, Severity.CRITICAL)
    db.prune(NOW)
    (row,) = db.warnings.all()
    assert all(t >= NOW - 90 * DAY_MS for t, _ in row.severity_history)
    assert row.severity_history[-1] == (at, Severity.CRITICAL)
    assert json.loads(db.sqlite.execute("SELECT severity_history FROM warnings").fetchone()[0])


def test_nothing_writes_support_levels(db: Database) -> None:
    """The table is gone (schema v5); the monitor's recompute writes nothing."""
    assert "levels" not in db.sqlite.table_names()
    assert not hasattr(db, "levels")
    assert MINUTE_MS == 60_000
