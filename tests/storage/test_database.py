"""The repository API: accounts, snapshots, retention, candles, levels, warnings, settings,
events, CSV export, data directory resolution."""

from __future__ import annotations

import csv
import math
import sqlite3
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alerts import Severity, WarningRule, WarningState, warning_key
from risk.types import Candles
from storage.database import Database
from storage.export import export_snapshots, export_warnings
from storage.paths import DATA_DIR_ENV, resolve_data_dir
from storage.records import (
    AccountRecord,
    EventRecord,
    WarningRecord,
)
from storage.retention import DAY_MS, HOUR_MS, MINUTE_MS
from storage.sample import ReportWalk
from storage.schema import SCHEMA_VERSION

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC


class FakeSecrets:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, name: str) -> None:
        self.deleted.append(name)


def test_resolve_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(str(tmp_path / "cli")) == (tmp_path / "cli").resolve()
    assert resolve_data_dir(None) == (tmp_path / "env").resolve()
    monkeypatch.delenv(DATA_DIR_ENV)
    default = resolve_data_dir(None)
    assert "CascadeWatch" in str(default)
    assert not (tmp_path / "cli").exists() and not (tmp_path / "env").exists()


def test_data_dir_argument(tmp_path: Path) -> None:
    import argparse

    from storage.paths import add_data_dir_argument

    parser = argparse.ArgumentParser()
    add_data_dir_argument(parser)
    args = parser.parse_args(["--data-dir", str(tmp_path / "d")])
    assert resolve_data_dir(args.data_dir) == (tmp_path / "d").resolve()
    assert parser.parse_args([]).data_dir is None


def test_pragmas_and_schema(db: Database) -> None:
    conn = db.sqlite.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert db.schema_version == SCHEMA_VERSION
    assert {"accounts", "snapshots", "snapshot_blocks", "warnings"} <= set(db.sqlite.table_names())


def test_accounts_crud_and_no_secret_column(tmp_path: Path) -> None:
    secrets = FakeSecrets()
    with Database.open(tmp_path / "c.db", secret_store=secrets) as db:
        a = db.accounts.add(AccountRecord("okx", "alt", "http://127.0.0.1:9", secret_name="okx-1"))
        b = db.accounts.add(AccountRecord("bybit", "demo", is_demo=True))
        assert a.id and b.id and a.id != b.id
        db.accounts.update(AccountRecord("okx", "renamed", None, False, False, "okx-1", a.id))
        got = db.accounts.get(a.id)
        assert got == AccountRecord("okx", "renamed", None, False, False, "okx-1", a.id)
        assert [x.label for x in db.accounts.all()] == ["renamed", "demo"]
        columns = set(db.sqlite.table("accounts").columns_dict)
        assert not columns & {"secret", "api_key", "password"}
        db.snapshots.save(a.id, ReportWalk(3).next(), T0)
        db.warnings.upsert(_warning(a.id, Severity.CRITICAL, T0))
        assert db.accounts.remove(a.id) == "okx-1"
        assert secrets.deleted == ["okx-1"]
        assert db.accounts.get(a.id) is None
        assert len(db.snapshots.query(a.id)) == 0
        assert db.warnings.all(active_only=False) == []
        assert db.accounts.remove(12345) is None
        with pytest.raises(KeyError):
            db.accounts.update(AccountRecord("okx", "x", id=999))


def test_an_account_keeps_its_stream_address(db: Database) -> None:
    rec = db.accounts.add(
        AccountRecord("bybit", "lx", "http://127.0.0.1:9", ws_url="ws://127.0.0.1:10")
    )
    assert rec.id is not None
    got = db.accounts.get(rec.id)
    assert got is not None and got.ws_url == "ws://127.0.0.1:10"
    db.accounts.update(replace(got, ws_url=None))
    again = db.accounts.get(rec.id)
    assert again is not None and again.ws_url is None


def test_snapshot_roundtrip_raw(db: Database, account: AccountRecord) -> None:
    walk = ReportWalk(4, seed=1)
    reports = [walk.next() for _ in range(5)]
    ids = db.snapshots.save_many((account.id, r, T0 + i * 2000) for i, r in enumerate(reports))
    assert len(set(ids)) == 5
    s = db.snapshots.query(account.id)
    assert list(s.ts_ms) == [T0 + i * 2000 for i in range(5)]
    assert np.allclose(s.equity, [r.equity for r in reports])
    assert np.allclose(s.margin_ratio, [r.margin_ratio for r in reports])
    assert list(s.joint_leader) == [r.joint_move.leader for r in reports]
    assert len(s.positions) == 4
    p0 = reports[2].positions[0]
    ps = s.positions[(p0.symbol, p0.side.name.lower())]
    assert ps.mark[2] == p0.mark_price
    assert ps.liquidation[2] == p0.liquidation_price.value
    assert ps.exchange_liquidation[2] == p0.exchange_liquidation_price.value
    assert ps.distance[2] == p0.distance
    assert ps.size[2] == p0.size
    part = db.snapshots.query(account.id, T0 + 2000, T0 + 6000)
    assert list(part.ts_ms) == [T0 + 2000, T0 + 4000]


def test_snapshot_without_positions_and_infinite_ratio(
    db: Database, account: AccountRecord
) -> None:
    from dataclasses import replace

    r = replace(ReportWalk(0).next(), margin_ratio=math.inf, joint_move=None)
    db.snapshots.save(account.id, r, T0)
    s = db.snapshots.query(account.id)
    assert len(s) == 1 and s.positions == {} and math.isinf(s.margin_ratio[0])
    assert math.isnan(s.joint_down[0])


def _fill(db: Database, account_id: int, start: int, end: int, step: int, n_pos: int = 3) -> int:
    walk = ReportWalk(n_pos, seed=account_id)
    ts = list(range(start, end, step))
    db.snapshots.save_many((account_id, walk.next(), t) for t in ts)
    return len(ts)


def test_compaction_keeps_every_snapshot_in_full_tier(db: Database, account: AccountRecord) -> None:
    _fill(db, account.id, T0, T0 + HOUR_MS, 2000)
    before = db.snapshots.query(account.id)
    minute_before = db.snapshots.query(account.id, resolution_ms=MINUTE_MS)
    result = db.prune(T0 + HOUR_MS + 1, budget_ms=60_000)
    assert result.done and result.rows_compacted == 1800 and result.rows_removed == 0
    assert db.sqlite.table("snapshots").count == 0
    after = db.snapshots.query(account.id)
    assert np.array_equal(before.ts_ms, after.ts_ms)
    assert np.array_equal(before.equity, after.equity)
    for key, ps in before.positions.items():
        assert np.allclose(ps.mark, after.positions[key].mark, rtol=1e-6)
        assert np.allclose(ps.liquidation, after.positions[key].liquidation, rtol=1e-6)
    minute = db.snapshots.query(account.id, resolution_ms=MINUTE_MS)
    assert len(minute) == 60
    assert list(minute.ts_ms) == [T0 + m * MINUTE_MS + 58_000 for m in range(60)]
    assert np.array_equal(minute.ts_ms, minute_before.ts_ms)
    assert np.allclose(minute.equity, minute_before.equity)
    five = db.snapshots.query(account.id, T0 + 5 * MINUTE_MS, T0 + 20 * MINUTE_MS, 5 * MINUTE_MS)
    assert list(five.ts_ms) == [T0 + m * MINUTE_MS - 2000 for m in (10, 15, 20)]
    assert db.prune(T0 + HOUR_MS + 1).steps == 0


def test_retention_tiers_keep_last_of_each_bucket(db: Database, account: AccountRecord) -> None:
    _fill(db, account.id, T0, T0 + 2 * HOUR_MS, 10_000)
    db.prune(T0 + 2 * HOUR_MS, budget_ms=60_000)
    now = T0 + 2 * DAY_MS + 2 * HOUR_MS
    result = db.prune(now, budget_ms=60_000)
    assert result.done and result.rows_removed == 720 - 120
    s = db.snapshots.query(account.id)
    assert list(s.ts_ms) == [T0 + m * MINUTE_MS + 50_000 for m in range(120)]
    assert db.sqlite.table("snapshot_blocks").count == 2
    assert db.prune(T0 + 3 * DAY_MS, budget_ms=60_000).done
    assert db.sqlite.table("snapshot_blocks").count == 1
    assert list(db.snapshots.query(account.id).ts_ms) == [
        T0 + m * MINUTE_MS + 50_000 for m in range(120)
    ]
    later = T0 + 32 * DAY_MS
    assert db.prune(later, budget_ms=60_000).done
    s = db.snapshots.query(account.id)
    assert list(s.ts_ms) == [T0 + HOUR_MS - 10_000, T0 + 2 * HOUR_MS - 10_000]
    assert db.check_integrity() == ["ok"]


def test_prune_is_incremental(db: Database, account: AccountRecord) -> None:
    _fill(db, account.id, T0, T0 + HOUR_MS, 10_000)
    first = db.prune(T0 + HOUR_MS, max_steps=2)
    assert first.steps == 2 and not first.done
    rest = db.prune(T0 + HOUR_MS, budget_ms=60_000)
    assert rest.done and first.rows_compacted + rest.rows_compacted == 360
    assert len(db.snapshots.query(account.id)) == 360


def test_late_write_into_compacted_span(db: Database, account: AccountRecord) -> None:
    _fill(db, account.id, T0, T0 + 10 * MINUTE_MS, 20_000)
    db.prune(T0 + 11 * MINUTE_MS, budget_ms=60_000)
    db.snapshots.save(account.id, ReportWalk(3).next(), T0 + 59_999)
    db.prune(T0 + 11 * MINUTE_MS, budget_ms=60_000)
    s = db.snapshots.query(account.id)
    assert len(s) == 31 and T0 + 59_999 in s.ts_ms
    minute = db.snapshots.query(account.id, resolution_ms=MINUTE_MS)
    assert T0 + 59_999 in minute.ts_ms and T0 + 40_000 not in minute.ts_ms


def test_candles_upsert_and_load(db: Database) -> None:
    ts = np.arange(5, dtype=np.int64) * 60_000 + T0
    ones = np.ones(5)
    c = Candles("BTC/USDT:USDT", "1m", ts, ones, ones * 2, ones * 0.5, ones, ones * 10)
    assert db.candles.save(c) == 5
    c2 = Candles(
        "BTC/USDT:USDT",
        "1m",
        ts[3:] + 60_000,
        ones[:2] * 3,
        ones[:2] * 4,
        ones[:2],
        ones[:2],
        ones[:2],
        open_interest=np.array([7.0, 8.0]),
    )
    db.candles.save(c2)
    got = db.candles.load("BTC/USDT:USDT", "1m")
    assert list(got.ts_ms) == [*ts.tolist(), int(ts[-1]) + 60_000]
    assert got.open[4] == 3.0 and got.open[0] == 1.0
    assert got.open_interest is not None and np.isnan(got.open_interest[0])
    assert got.taker_buy_volume is None
    assert (
        len(db.candles.load("BTC/USDT:USDT", "1m", since_ms=int(ts[2]), until_ms=int(ts[4]))) == 2
    )
    assert len(db.candles.load("ETH/USDT:USDT", "1m")) == 0


def _warning(account_id: int, severity: Severity, ts: int, **kw: object) -> WarningRecord:
    symbols = ("BTC/USDT:USDT", "ETH/USDT:USDT")
    return WarningRecord(
        key=warning_key(WarningRule.LIQUIDATION_DISTANCE, account_id, symbols),
        rule=WarningRule.LIQUIDATION_DISTANCE,
        severity=severity,
        message=f"{severity.label}: 4 % from liquidation",
        account_id=account_id,
        symbols=symbols,
        first_seen_ms=T0,
        last_seen_ms=ts,
        **kw,  # type: ignore[arg-type]
    )


def test_warning_lifecycle_and_history(db: Database, account: AccountRecord) -> None:
    assert account.id is not None
    w = db.warnings.upsert(_warning(account.id, Severity.WARNING, T0))
    assert w.severity_history == ((T0, Severity.WARNING),)
    db.warnings.upsert(_warning(account.id, Severity.WARNING, T0 + 1000))
    db.warnings.upsert(_warning(account.id, Severity.CRITICAL, T0 + 2000))
    got = db.warnings.get(w.key)
    assert got is not None and got.last_seen_ms == T0 + 2000
    assert got.severity_history == ((T0, Severity.WARNING), (T0 + 2000, Severity.CRITICAL))
    db.warnings.upsert(
        _warning(
            account.id,
            Severity.CRITICAL,
            T0 + 3000,
            state=WarningState.SNOOZED,
            snoozed_until_ms=T0 + HOUR_MS,
        )
    )
    assert [x.state for x in db.warnings.all(active_only=True)] == [WarningState.SNOOZED]
    db.warnings.upsert(
        _warning(
            account.id,
            Severity.CRITICAL,
            T0 + 4000,
            state=WarningState.RESOLVED,
            resolved_ms=T0 + 4000,
        )
    )
    assert db.warnings.all(active_only=True) == []
    assert len(db.warnings.all(active_only=False)) == 1
    assert db.warnings.get("nope") is None
    rule = WarningRule.JOINT_MOVE
    assert warning_key(rule, 1, ("B", "A")) == warning_key(rule, 1, ("A", "B"))


def test_stored_warnings_read_back_as_enums(db: Database, account: AccountRecord) -> None:
    """A database written before the enums (their values as text) reads as before; a row
    whose rule this version does not know is left out, not fatal."""
    with closing(sqlite3.connect(db.path)) as conn, conn:
        for key, rule in (("joint_move|1|BTC", "joint_move"), ("retired|1|BTC", "retired")):
            conn.execute(
                "INSERT INTO warnings (key, rule, severity, message, account_id, symbols,"
                " first_seen_ms, last_seen_ms, state, severity_history)"
                " VALUES (?, ?, 'critical', 'm', ?, '[\"BTC\"]', 1, 2, 'snoozed',"
                ' \'[[1, "warning"], [2, "critical"]]\')',
                (key, rule, account.id),
            )
    [w] = db.warnings.all()
    assert (w.rule, w.severity, w.state) == (
        WarningRule.JOINT_MOVE,
        Severity.CRITICAL,
        WarningState.SNOOZED,
    )
    assert w.severity_history == ((1, Severity.WARNING), (2, Severity.CRITICAL))


def test_settings(db: Database) -> None:
    assert db.settings.get("poll_s", 2) == 2
    db.settings.set("poll_s", 5)
    db.settings.set("thresholds", {"warn": 0.1, "critical": [0.05, 0.02]})
    assert db.settings.get("thresholds") == {"warn": 0.1, "critical": [0.05, 0.02]}
    assert db.settings.all() == {"poll_s": 5, "thresholds": {"warn": 0.1, "critical": [0.05, 0.02]}}
    db.settings.delete("poll_s")
    assert db.settings.get("poll_s") is None


def test_events(db: Database) -> None:
    fomc = EventRecord(T0 + DAY_MS, "FOMC", "macro", 0.03)
    first = db.events.add(fomc)
    assert db.events.add(fomc) == first
    mine = db.events.add(EventRecord(T0 + 2 * DAY_MS, "my unlock", "unlock", None, "user", True))
    got = db.events.between(T0, T0 + 3 * DAY_MS)
    assert [e.name for e in got] == ["FOMC", "my unlock"]
    assert got[1].user_defined and got[1].id == mine
    assert db.events.between(T0, T0 + DAY_MS) == []
    assert db.events.remove(mine) and not db.events.remove(mine)


def test_csv_exports(db: Database, account: AccountRecord, tmp_path: Path) -> None:
    _fill(db, account.id, T0, T0 + 20 * MINUTE_MS, 60_000, n_pos=2)
    db.prune(T0 + 11 * MINUTE_MS, budget_ms=60_000)
    db.warnings.upsert(_warning(account.id, Severity.WARNING, T0))
    n = export_snapshots(db.accounts, db.snapshots, tmp_path / "out" / "snaps.csv")
    with open(tmp_path / "out" / "snaps.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert n == len(rows) == 40
    assert rows[0]["ts_utc"].startswith("2026-01-01T00:00:00")
    assert {r["side"] for r in rows} <= {"long", "short"}
    assert export_snapshots(db.accounts, db.snapshots, tmp_path / "one.csv", account.id) == 40
    assert export_warnings(db.warnings, tmp_path / "w.csv") == 1
    with open(tmp_path / "w.csv", encoding="utf-8") as f:
        w = list(csv.DictReader(f))
    assert w[0]["severity"] == "warning" and "ETH/USDT:USDT" in w[0]["symbols"]
    assert not [p for p in tmp_path.rglob("*.tmp")]
