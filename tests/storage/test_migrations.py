"""Forward migrations from every earlier schema version; refusal of newer files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from alerts import Severity
from storage.database import Database
from storage.errors import DatabaseCorrupt, SchemaTooNew
from storage.retention import HOUR_MS
from storage.schema import MIGRATIONS, SCHEMA_VERSION, migrate

T0 = 1_767_225_600_000


def make_file_at(path: Path, version: int) -> sqlite3.Connection:
    """A database as the app that shipped ``version`` would have created it."""
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, target=version)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    return conn


def fill(conn: sqlite3.Connection, version: int) -> None:
    """The same data as a file at ``version`` holds it (v1 kept duplicate events and had no
    severity history, which v2 built from first_seen)."""
    conn.execute(
        "INSERT INTO accounts (id, exchange, label, base_url, enabled, is_demo, secret_name) "
        "VALUES (1, 'bybit', 'main', NULL, 1, 0, 'bybit-main')"
    )
    for i in range(5):
        conn.execute(
            "INSERT INTO snapshots (id, account_id, ts_ms, equity, maintenance, margin_ratio, "
            "joint_leader, joint_down, joint_up) VALUES (?, 1, ?, ?, 10, ?, 'BTC', -0.2, 0.3)",
            (i + 1, T0 + i * 2000, 1000.0 + i, 10 / (1000.0 + i)),
        )
        conn.execute(
            "INSERT INTO snapshot_positions VALUES (?, 'BTC/USDT:USDT', 'long', 0.1, ?, 80000, "
            "80010, ?)",
            (i + 1, 97000.0 + i, 80000 / (97000.0 + i) - 1),
        )
    conn.execute(
        "INSERT INTO warnings (key, rule, severity, message, account_id, symbols, first_seen_ms, "
        "last_seen_ms, state) VALUES ('joint_move|1|BTC', 'joint_move', 'critical', 'close', 1, "
        "'[\"BTC\"]', ?, ?, 'acknowledged')",
        (T0, T0 + 5000),
    )
    if version >= 2:
        conn.execute(
            "UPDATE warnings SET severity_history = json_array(json_array(?, 'critical'))", (T0,)
        )
    for _ in range(2 if version == 1 else 1):
        conn.execute(
            "INSERT INTO events (ts_ms, name, kind, typical_move, source, user_defined) "
            "VALUES (?, 'CPI', 'macro', 0.02, 'builtin', 0)",
            (T0 + HOUR_MS,),
        )
    conn.execute("INSERT INTO settings VALUES ('poll_s', '3')")


def test_migrations_are_an_ordered_list() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 2


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_every_earlier_version_opens_with_data_kept(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    conn = make_file_at(path, version)
    fill(conn, version)
    conn.close()
    with Database.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION
        assert [a.secret_name for a in db.accounts.all()] == ["bybit-main"]
        s = db.snapshots.query(1)
        assert list(s.ts_ms) == [T0 + i * 2000 for i in range(5)]
        assert np.allclose(s.positions[("BTC/USDT:USDT", "long")].mark, 97000.0 + np.arange(5))
        w = db.warnings.all(active_only=True)
        assert len(w) == 1 and w[0].state.value == "acknowledged"
        assert w[0].severity_history == ((T0, Severity.CRITICAL),)
        assert len(db.events.between(T0, T0 + 2 * HOUR_MS)) == 1
        assert db.settings.get("poll_s") == 3
        assert db.prune(T0 + HOUR_MS, budget_ms=10_000).done
        assert len(db.snapshots.query(1)) == 5
        assert db.check_integrity() == ["ok"]


def test_fresh_file_gets_current_version(tmp_path: Path) -> None:
    with Database.open(tmp_path / "new.db") as db:
        assert db.schema_version == SCHEMA_VERSION


def test_newer_file_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = make_file_at(path, SCHEMA_VERSION)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew) as info:
        Database.open(path)
    message = str(info.value)
    assert f"schema version {SCHEMA_VERSION + 3}" in message
    assert f"up to {SCHEMA_VERSION}" in message and str(path) in message
    assert info.value.found == SCHEMA_VERSION + 3 and info.value.supported == SCHEMA_VERSION
    assert path.read_bytes() == before


def test_foreign_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseCorrupt, match="not a Cascade Watch database"):
        Database.open(path)


def test_failed_migration_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.schema as schema

    path = tmp_path / "v1.db"
    make_file_at(path, 1).close()
    broken = schema.Migration(2, "broken", (*schema.V2.statements, "SELECT * FROM nowhere"))
    monkeypatch.setattr(schema, "MIGRATIONS", (schema.V1, broken))
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "snapshot_blocks" not in names
    conn.close()


def test_v5_drops_the_stored_levels_and_keeps_the_rest(tmp_path: Path) -> None:
    """Support levels were written every minute for each held symbol (~20 rows each time)
    and never read back; v5 drops the table, and nothing else."""
    path = tmp_path / "cascade.db"
    conn = make_file_at(path, 4)
    fill(conn, 4)
    conn.executemany(
        "INSERT INTO levels (symbol, ts_ms, low, high, score, reasons) VALUES (?, ?, 1, 2, 1, '')",
        [("BTC/USDT:USDT", T0 + i * 60_000) for i in range(1000)],
    )
    conn.close()
    with Database.open(path) as db:
        assert db.schema_version == SCHEMA_VERSION >= 5
        assert "levels" not in db.sqlite.table_names()
        assert [a.label for a in db.accounts.all()] == ["main"]
        assert len(db.snapshots.query(1)) == 5
