"""The database schema as an ordered list of forward migrations.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[i]`` takes a file from
version i to version i + 1; the list is append-only history — never edit a shipped entry,
add a new one. Each migration runs in its own transaction together with the version bump,
so a crash leaves the file at the old or the new version, never in between.

v1  accounts, snapshots + snapshot_positions (one row per position per poll), candles,
    levels, warnings, settings, events.
v2  snapshot_blocks (compacted, compressed snapshot history; see storage/blocks.py),
    warnings.severity_history and an index on warning state, events made unique on
    (ts_ms, name, source) after removing duplicates.
v3  liquidation_minutes and liquidation_coverage (the market's liquidations per minute).
v4  warning_changes: every change in a warning's life (not its figures' updates), so the
    window's history survives a restart.
v5  the levels table dropped (written every minute, never read back).
v6  accounts.ws_url: where an account with its own API address streams from.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.errors import DatabaseCorrupt, SchemaTooNew

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


V1 = Migration(
    1,
    "initial schema",
    (
        """CREATE TABLE accounts (
            id INTEGER PRIMARY KEY,
            exchange TEXT NOT NULL,
            label TEXT NOT NULL,
            base_url TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            is_demo INTEGER NOT NULL DEFAULT 0,
            secret_name TEXT
        )""",
        """CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            ts_ms INTEGER NOT NULL,
            equity REAL,
            maintenance REAL,
            margin_ratio REAL,
            joint_leader TEXT,
            joint_down REAL,
            joint_up REAL
        )""",
        "CREATE INDEX snapshots_account_ts ON snapshots(account_id, ts_ms)",
        """CREATE TABLE snapshot_positions (
            snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            size REAL,
            mark REAL,
            liq_computed REAL,
            liq_exchange REAL,
            distance REAL,
            PRIMARY KEY (snapshot_id, symbol, side)
        ) WITHOUT ROWID""",
        """CREATE TABLE candles (
            symbol TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            open REAL, high REAL, low REAL, close REAL, volume REAL,
            open_interest REAL,
            taker_buy_volume REAL,
            PRIMARY KEY (symbol, timeframe, ts_ms)
        ) WITHOUT ROWID""",
        """CREATE TABLE levels (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            low REAL NOT NULL,
            high REAL NOT NULL,
            score REAL NOT NULL,
            reasons TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX levels_symbol_ts ON levels(symbol, ts_ms)",
        """CREATE TABLE warnings (
            key TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
            symbols TEXT NOT NULL DEFAULT '[]',
            first_seen_ms INTEGER NOT NULL,
            last_seen_ms INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'active'
                CHECK (state IN ('active', 'acknowledged', 'snoozed', 'resolved')),
            snoozed_until_ms INTEGER,
            resolved_ms INTEGER,
            acknowledged_ms INTEGER
        )""",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            typical_move REAL,
            source TEXT NOT NULL DEFAULT 'builtin',
            user_defined INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX events_ts ON events(ts_ms)",
    ),
)

V2 = Migration(
    2,
    "snapshot blocks, warning severity history, unique events",
    (
        """CREATE TABLE snapshot_blocks (
            id INTEGER PRIMARY KEY,
            account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            resolution_ms INTEGER NOT NULL,
            n_rows INTEGER NOT NULL,
            data BLOB NOT NULL
        )""",
        "CREATE INDEX snapshot_blocks_account_start ON snapshot_blocks(account_id, start_ms)",
        "ALTER TABLE warnings ADD COLUMN severity_history TEXT NOT NULL DEFAULT '[]'",
        """UPDATE warnings SET severity_history =
            json_array(json_array(first_seen_ms, severity))""",
        "CREATE INDEX warnings_state ON warnings(state, last_seen_ms)",
        """DELETE FROM events WHERE id NOT IN (
            SELECT MIN(id) FROM events GROUP BY ts_ms, name, source)""",
        "CREATE UNIQUE INDEX events_identity ON events(ts_ms, name, source)",
    ),
)

V3 = Migration(
    3,
    "the market's liquidations per minute, and when they were being recorded",
    (
        """CREATE TABLE liquidation_minutes (
            exchange TEXT NOT NULL,
            symbol TEXT NOT NULL,
            minute_ms INTEGER NOT NULL,
            long_usd REAL NOT NULL DEFAULT 0,
            short_usd REAL NOT NULL DEFAULT 0,
            long_count INTEGER NOT NULL DEFAULT 0,
            short_count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (exchange, symbol, minute_ms)
        ) WITHOUT ROWID""",
        """CREATE TABLE liquidation_coverage (
            id INTEGER PRIMARY KEY,
            exchange TEXT NOT NULL,
            symbol TEXT NOT NULL,
            from_ms INTEGER NOT NULL,
            to_ms INTEGER NOT NULL
        )""",
        "CREATE INDEX liquidation_coverage_key ON liquidation_coverage(exchange, symbol, to_ms)",
    ),
)

V4 = Migration(
    4,
    "the log of warning changes",
    (
        """CREATE TABLE warning_changes (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            key TEXT NOT NULL,
            change TEXT NOT NULL,
            severity TEXT NOT NULL,
            account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
            message TEXT NOT NULL,
            reason TEXT
        )""",
        "CREATE INDEX warning_changes_ts ON warning_changes(ts_ms)",
    ),
)

V5 = Migration(
    5,
    "support levels are no longer stored",
    (
        # Written every minute for each held symbol (~20 rows, ~110 MB per symbol per 30
        # days) and never read back: the chart and the warnings use the levels just computed.
        "DROP INDEX IF EXISTS levels_symbol_ts",
        "DROP TABLE IF EXISTS levels",
    ),
)

V6 = Migration(
    6,
    "the stream address of an account with its own API address",
    ("ALTER TABLE accounts ADD COLUMN ws_url TEXT",),
)

MIGRATIONS: tuple[Migration, ...] = (V1, V2, V3, V4, V5, V6)
SCHEMA_VERSION = len(MIGRATIONS)


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_version(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version, read without writing anything. Raises SchemaTooNew for a
    file from a newer app and DatabaseCorrupt for a non-empty SQLite file that is not ours."""
    found = user_version(conn)
    if found > SCHEMA_VERSION:
        raise SchemaTooNew(path, found, SCHEMA_VERSION)
    if found == 0:
        tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchone()[0]
        if tables:
            raise DatabaseCorrupt(path, "it is a SQLite file, but not a Cascade Watch database")
    return found


def migrate(conn: sqlite3.Connection, path: Path, target: int = SCHEMA_VERSION) -> int:
    """Bring the file at ``conn`` (autocommit mode) forward to ``target``, one transaction per
    migration; returns the version found (see check_version for what it refuses)."""
    found = check_version(conn, path)
    for migration in MIGRATIONS[found:target]:
        log.info("migrating %s to schema v%d (%s)", path, migration.version, migration.description)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {migration.version:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found
