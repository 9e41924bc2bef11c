"""The app's database: one SQLite file (WAL) through sqlite-utils, safe to share between the
monitor's worker threads (writers) and the GUI thread (reader).

Usage::

    db = Database.open(database_path(ensure_data_dir(resolve_data_dir(args.data_dir))),
                       secret_store=store)
    acct = db.add_account(AccountRecord("bybit", "main", secret_name="bybit-main"))
    db.save_snapshot(acct.id, report, ts_ms)          # worker thread, one short transaction
    series = db.snapshots(acct.id, since_ms=week_ago)  # GUI thread: NumPy columns for the chart
    db.prune(now_ms)                                   # scheduled; call again until .done
    db.close()

API (all methods are thread-safe):

- ``Database.open(path, *, secret_store=None) -> Database`` / ``close()``; a context manager.
  Raises ``DatabaseUnreadable`` / ``DatabaseCorrupt`` (offer ``move_aside(path)``) or
  ``SchemaTooNew`` (the file is left untouched). Older files are migrated forward.
- accounts: ``add_account(AccountRecord) -> AccountRecord``, ``update_account(AccountRecord)``,
  ``remove_account(id) -> str | None`` (returns the secret's name; deletes the secret too
  when a secret store was given; snapshots, blocks and warnings of the account go with it),
  ``accounts() -> list[AccountRecord]``, ``account(id) -> AccountRecord | None``.
- snapshots: ``save_snapshot(account_id, AccountReport, ts_ms) -> int``,
  ``save_snapshots([(account_id, report, ts_ms), ...]) -> list[int]``,
  ``snapshots(account_id, since_ms=None, until_ms=None, resolution_ms=0) -> SnapshotSeries``
  (half-open range; resolution_ms >= 60_000 is the fast path for charts of days and weeks).
- candles: ``save_candles(Candles) -> int`` (upsert by ts), ``load_candles(symbol, timeframe,
  since_ms=None, until_ms=None) -> Candles``.
- levels: ``save_levels(symbol, ts_ms, levels)`` (replaces that symbol's set at ts_ms),
  ``latest_levels(symbol) -> tuple[LevelRecord, ...]``.
- warnings: ``upsert_warning(WarningRecord) -> WarningRecord``, ``warnings(active_only=True,
  account_id=None) -> list[WarningRecord]`` (active_only leaves out resolved ones),
  ``warning(key) -> WarningRecord | None``.
- settings (JSON values): ``get_setting(key, default=None)``, ``set_setting(key, value)``,
  ``delete_setting(key)``, ``settings() -> dict``.
- events: ``add_event(EventRecord) -> int`` (idempotent on ts_ms + name + source),
  ``add_events(records) -> list[int]``, ``remove_event(id) -> bool``,
  ``events(from_ms, to_ms) -> list[EventRecord]``.
- ``export_warnings_csv(path) -> int``, ``export_snapshots_csv(path, account_id=None) -> int``.
- ``prune(now_ms, budget_ms=200) -> PruneResult`` (storage/retention.py),
  ``check_integrity() -> list[str]``.

Threads: one writer connection behind a lock; every write is one short ``BEGIN IMMEDIATE``
transaction. Each reading thread gets its own connection (WAL lets it read while a write is
in progress); multi-query reads run in one read transaction so they see one state.
``synchronous=NORMAL``: a killed process loses nothing committed; a power cut may lose the
last transactions but never corrupts the file.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import struct
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import sqlite_utils

from risk.report import AccountReport
from risk.types import Candles
from storage import export, retention
from storage.errors import DatabaseCorrupt, DatabaseUnreadable, StorageError
from storage.records import (
    AccountRecord,
    EventRecord,
    LevelRecord,
    PruneResult,
    SnapshotSeries,
    WarningRecord,
    WarningState,
)
from storage.schema import SCHEMA_VERSION, check_version, migrate, user_version
from storage.snapshots import MAX_TS, insert_snapshots, read_frame

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
SQLITE_MAGIC = b"SQLite format 3\x00"


class SecretDeleter(Protocol):
    def delete(self, name: str) -> None: ...


def _preflight(path: Path) -> None:
    """Refuse what SQLite would mishandle or report obscurely: a directory, an unreadable
    file, a file that is not SQLite, a file cut short."""
    if path.is_dir():
        raise DatabaseUnreadable(path, "a directory is in its place")
    if not path.exists():
        return
    try:
        with open(path, "rb") as f:
            header = f.read(100)
        with open(path, "r+b"):
            pass
    except PermissionError:
        raise DatabaseUnreadable(path, "permission denied") from None
    except OSError as e:
        raise DatabaseUnreadable(path, e.strerror or type(e).__name__) from None
    if not header:
        return
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DatabaseCorrupt(path, "it is not a SQLite database")
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    wal = path.with_name(path.name + "-wal")
    wal_pending = wal.exists() and wal.stat().st_size > 0
    header_valid = pages and change_counter == valid_for and not wal_pending
    if header_valid and path.stat().st_size < pages * page_size:
        raise DatabaseCorrupt(path, "the file is truncated")


def _corrupt_or_unreadable(path: Path, error: sqlite3.Error) -> StorageError:
    text = str(error)
    if isinstance(error, sqlite3.DatabaseError) and any(
        marker in text for marker in ("not a database", "malformed", "corrupt", "disk image")
    ):
        return DatabaseCorrupt(path, text)
    return DatabaseUnreadable(path, text)


class Database:
    """See the module docstring. Build with ``Database.open``."""

    def __init__(self, path: Path, writer: sqlite3.Connection, secret_store: Any) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = threading.RLock()
        self._readers: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._secret_store: SecretDeleter | None = secret_store
        self._closed = False

    @classmethod
    def open(cls, path: Path | str, *, secret_store: SecretDeleter | None = None) -> Database:
        path = Path(path)
        _preflight(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DatabaseUnreadable(path, f"cannot create its folder ({e.strerror})") from None
        writer: sqlite3.Connection | None = None
        try:
            writer = cls._connect(path)
            check_version(writer, path)
            mode = writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("database %s is in %s mode, not WAL", path, mode)
            found = migrate(writer, path)
            if found != SCHEMA_VERSION:
                log.info("database %s migrated from v%d to v%d", path, found, SCHEMA_VERSION)
        except StorageError:
            if writer is not None:
                writer.close()
            raise
        except sqlite3.Error as e:
            if writer is not None:
                writer.close()
            raise _corrupt_or_unreadable(path, e) from None
        log.debug("opened database %s (schema v%d)", path, SCHEMA_VERSION)
        return cls(path, writer, secret_store)

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._readers_lock:
            for _, conn in self._readers.values():
                conn.close()
            self._readers.clear()
        with self._write_lock:
            try:
                self._writer.execute("PRAGMA optimize")
            except sqlite3.Error:
                log.debug("PRAGMA optimize failed", exc_info=True)
            self._writer.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def sqlite(self) -> sqlite_utils.Database:
        """A read-only sqlite-utils view on this thread's reader connection, for introspection
        (table names, columns, counts) and ad-hoc queries."""
        return sqlite_utils.Database(self._reader())

    @property
    def schema_version(self) -> int:
        with self._read() as conn:
            return user_version(conn)

    # -- connections ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction on the writer connection."""
        if self._closed:
            raise StorageError("the database is closed")
        with self._write_lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                raise self._damaged(e) from None

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("the database is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = self._connect(self.path)
        conn.execute("PRAGMA query_only = ON")
        me = threading.current_thread()
        with self._readers_lock:
            for ident, (thread, old) in list(self._readers.items()):
                if not thread.is_alive():
                    old.close()
                    del self._readers[ident]
            self._readers[me.ident or 0] = (me, conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries that see one consistent state."""
        conn = self._reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise self._damaged(e) from None

    def _damaged(self, error: sqlite3.DatabaseError) -> Exception:
        """A damaged file found after opening becomes DatabaseCorrupt; other errors stay."""
        wrapped = _corrupt_or_unreadable(self.path, error)
        if isinstance(wrapped, DatabaseCorrupt):
            log.error("the database %s is damaged: %s", self.path, error)
            return wrapped
        return error

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._read() as conn:
            return list(sqlite_utils.Database(conn).query(sql, params))

    # -- accounts ---------------------------------------------------------------------------

    def add_account(self, record: AccountRecord) -> AccountRecord:
        with self._transaction() as conn:
            cur = conn.execute(
                """INSERT INTO accounts (exchange, label, base_url, enabled, is_demo, secret_name)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    record.exchange,
                    record.label,
                    record.base_url,
                    int(record.enabled),
                    int(record.is_demo),
                    record.secret_name,
                ),
            )
        account_id = int(cur.lastrowid or 0)
        log.info("added account %d (%s, %r)", account_id, record.exchange, record.label)
        return AccountRecord(
            record.exchange,
            record.label,
            record.base_url,
            record.enabled,
            record.is_demo,
            record.secret_name,
            account_id,
        )

    def update_account(self, record: AccountRecord) -> None:
        if record.id is None:
            raise ValueError("update_account needs a record with an id")
        with self._transaction() as conn:
            cur = conn.execute(
                """UPDATE accounts SET exchange = ?, label = ?, base_url = ?, enabled = ?,
                   is_demo = ?, secret_name = ? WHERE id = ?""",
                (
                    record.exchange,
                    record.label,
                    record.base_url,
                    int(record.enabled),
                    int(record.is_demo),
                    record.secret_name,
                    record.id,
                ),
            )
        if cur.rowcount == 0:
            raise KeyError(f"no account with id {record.id}")

    def remove_account(self, account_id: int) -> str | None:
        """Delete the account and everything recorded for it; returns its secret's name.
        With a secret store injected, the secret is deleted too (after the rows are gone)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT secret_name FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                """DELETE FROM snapshot_positions WHERE snapshot_id IN
                   (SELECT id FROM snapshots WHERE account_id = ?)""",
                (account_id,),
            )
            conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        name: str | None = row[0]
        if name and self._secret_store is not None:
            self._secret_store.delete(name)
        log.info("removed account %d", account_id)
        return name

    @staticmethod
    def _account(row: Mapping[str, Any]) -> AccountRecord:
        return AccountRecord(
            exchange=row["exchange"],
            label=row["label"],
            base_url=row["base_url"],
            enabled=bool(row["enabled"]),
            is_demo=bool(row["is_demo"]),
            secret_name=row["secret_name"],
            id=int(row["id"]),
        )

    def accounts(self) -> list[AccountRecord]:
        return [self._account(r) for r in self._query("SELECT * FROM accounts ORDER BY id")]

    def account(self, account_id: int) -> AccountRecord | None:
        rows = self._query("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return self._account(rows[0]) if rows else None

    # -- snapshots --------------------------------------------------------------------------

    def save_snapshot(self, account_id: int, report: AccountReport, ts_ms: int) -> int:
        return self.save_snapshots([(account_id, report, ts_ms)])[0]

    def save_snapshots(self, batch: Iterable[tuple[int, AccountReport, int]]) -> list[int]:
        """Write several snapshots in one transaction; returns their ids."""
        batch = list(batch)
        with self._transaction() as conn:
            ids = insert_snapshots(conn, batch)
        log.debug("saved %d snapshots", len(ids))
        return ids

    def snapshots(
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
        with self._read() as conn:
            frame = read_frame(conn, account_id, lo, hi, int(resolution_ms))
        return frame.to_series(account_id)

    def prune(
        self, now_ms: int, budget_ms: float = 200.0, max_steps: int | None = None
    ) -> PruneResult:
        """Apply the retention policy (storage/retention.py) in short steps."""
        return retention.prune(self._transaction, now_ms, budget_ms, max_steps)

    # -- candles ----------------------------------------------------------------------------

    def save_candles(self, candles: Candles) -> int:
        def col(a: np.ndarray | None, i: int) -> float | None:
            if a is None:
                return None
            v = float(a[i])
            return None if v != v else v

        rows = [
            (
                candles.symbol,
                candles.timeframe,
                int(candles.ts_ms[i]),
                col(candles.open, i),
                col(candles.high, i),
                col(candles.low, i),
                col(candles.close, i),
                col(candles.volume, i),
                col(candles.open_interest, i),
                col(candles.taker_buy_volume, i),
            )
            for i in range(len(candles))
        ]
        with self._transaction() as conn:
            conn.executemany(
                """INSERT INTO candles (symbol, timeframe, ts_ms, open, high, low, close, volume,
                   open_interest, taker_buy_volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (symbol, timeframe, ts_ms) DO UPDATE SET open = excluded.open,
                   high = excluded.high, low = excluded.low, close = excluded.close,
                   volume = excluded.volume,
                   open_interest = coalesce(excluded.open_interest, open_interest),
                   taker_buy_volume = coalesce(excluded.taker_buy_volume, taker_buy_volume)""",
                rows,
            )
        return len(rows)

    def load_candles(
        self,
        symbol: str,
        timeframe: str,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> Candles:
        """Bars with since_ms <= ts < until_ms, oldest first; optional columns are None when
        no bar in the range has them."""
        lo = -MAX_TS if since_ms is None else since_ms
        hi = MAX_TS if until_ms is None else until_ms
        with self._read() as conn:
            rows = conn.execute(
                """SELECT ts_ms, open, high, low, close, volume, open_interest, taker_buy_volume
                   FROM candles WHERE symbol = ? AND timeframe = ? AND ts_ms >= ? AND ts_ms < ?
                   ORDER BY ts_ms""",
                (symbol, timeframe, lo, hi),
            ).fetchall()
        data = np.array(rows, dtype=np.float64).reshape(len(rows), 8)
        optional = [None if np.all(np.isnan(data[:, j])) else data[:, j].copy() for j in (6, 7)]
        return Candles(
            symbol,
            timeframe,
            data[:, 0].astype(np.int64),
            open=data[:, 1].copy(),
            high=data[:, 2].copy(),
            low=data[:, 3].copy(),
            close=data[:, 4].copy(),
            volume=data[:, 5].copy(),
            open_interest=optional[0],
            taker_buy_volume=optional[1],
        )

    # -- support levels ---------------------------------------------------------------------

    def save_levels(self, symbol: str, ts_ms: int, levels: Iterable[LevelRecord]) -> int:
        rows = [(symbol, int(ts_ms), lv.low, lv.high, lv.score, lv.reasons) for lv in levels]
        with self._transaction() as conn:
            conn.execute("DELETE FROM levels WHERE symbol = ? AND ts_ms = ?", (symbol, ts_ms))
            conn.executemany(
                "INSERT INTO levels (symbol, ts_ms, low, high, score, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    def latest_levels(self, symbol: str) -> tuple[LevelRecord, ...]:
        rows = self._query(
            """SELECT * FROM levels WHERE symbol = ? AND ts_ms =
               (SELECT max(ts_ms) FROM levels WHERE symbol = ?) ORDER BY score DESC, id""",
            (symbol, symbol),
        )
        return tuple(
            LevelRecord(r["symbol"], r["ts_ms"], r["low"], r["high"], r["score"], r["reasons"])
            for r in rows
        )

    # -- warnings ---------------------------------------------------------------------------

    def upsert_warning(self, record: WarningRecord) -> WarningRecord:
        """Insert or update the warning with ``record.key``; the severity history gains an
        entry whenever the severity differs from the last one recorded."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT severity_history FROM warnings WHERE key = ?", (record.key,)
            ).fetchone()
            history = [tuple(x) for x in json.loads(row[0])] if row else []
            if not history or history[-1][1] != record.severity:
                history.append((record.last_seen_ms, record.severity))
            conn.execute(
                """INSERT INTO warnings (key, rule, severity, message, account_id, symbols,
                   first_seen_ms, last_seen_ms, state, snoozed_until_ms, resolved_ms,
                   acknowledged_ms, severity_history)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET rule = excluded.rule,
                   severity = excluded.severity, message = excluded.message,
                   account_id = excluded.account_id, symbols = excluded.symbols,
                   first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
                   state = excluded.state, snoozed_until_ms = excluded.snoozed_until_ms,
                   resolved_ms = excluded.resolved_ms, acknowledged_ms = excluded.acknowledged_ms,
                   severity_history = excluded.severity_history""",
                (
                    record.key,
                    record.rule,
                    record.severity,
                    record.message,
                    record.account_id,
                    json.dumps(list(record.symbols)),
                    record.first_seen_ms,
                    record.last_seen_ms,
                    record.state.value,
                    record.snoozed_until_ms,
                    record.resolved_ms,
                    record.acknowledged_ms,
                    json.dumps(history),
                ),
            )
        return WarningRecord(
            record.key,
            record.rule,
            record.severity,
            record.message,
            record.account_id,
            tuple(record.symbols),
            record.first_seen_ms,
            record.last_seen_ms,
            record.state,
            record.snoozed_until_ms,
            record.resolved_ms,
            record.acknowledged_ms,
            tuple((int(t), str(s)) for t, s in history),
        )

    @staticmethod
    def _warning(r: Mapping[str, Any]) -> WarningRecord:
        return WarningRecord(
            key=r["key"],
            rule=r["rule"],
            severity=r["severity"],
            message=r["message"],
            account_id=r["account_id"],
            symbols=tuple(json.loads(r["symbols"])),
            first_seen_ms=r["first_seen_ms"],
            last_seen_ms=r["last_seen_ms"],
            state=WarningState(r["state"]),
            snoozed_until_ms=r["snoozed_until_ms"],
            resolved_ms=r["resolved_ms"],
            acknowledged_ms=r["acknowledged_ms"],
            severity_history=tuple((int(t), str(s)) for t, s in json.loads(r["severity_history"])),
        )

    def warnings(
        self, active_only: bool = True, account_id: int | None = None
    ) -> list[WarningRecord]:
        """Newest first. ``active_only`` leaves out resolved warnings (acknowledged and snoozed
        ones are still open)."""
        sql = "SELECT * FROM warnings WHERE 1"
        params: list[Any] = []
        if active_only:
            sql += " AND state != 'resolved'"
        if account_id is not None:
            sql += " AND account_id = ?"
            params.append(account_id)
        return [self._warning(r) for r in self._query(sql + " ORDER BY last_seen_ms DESC", params)]

    def warning(self, key: str) -> WarningRecord | None:
        rows = self._query("SELECT * FROM warnings WHERE key = ?", (key,))
        return self._warning(rows[0]) if rows else None

    # -- settings ---------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, key: str, value: Any) -> None:
        text = json.dumps(value)
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, text),
            )

    def delete_setting(self, key: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))

    def settings(self) -> dict[str, Any]:
        with self._read() as conn:
            rows = conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    # -- events -----------------------------------------------------------------------------

    def add_event(self, record: EventRecord) -> int:
        return self.add_events([record])[0]

    def add_events(self, records: Iterable[EventRecord]) -> list[int]:
        """Insert or update events, identified by (ts_ms, name, source); returns their ids."""
        ids = []
        with self._transaction() as conn:
            for e in records:
                row = conn.execute(
                    """INSERT INTO events (ts_ms, name, kind, typical_move, source, user_defined)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT (ts_ms, name, source) DO UPDATE SET kind = excluded.kind,
                       typical_move = excluded.typical_move,
                       user_defined = excluded.user_defined
                       RETURNING id""",
                    (e.ts_ms, e.name, e.kind, e.typical_move, e.source, int(e.user_defined)),
                ).fetchone()
                ids.append(int(row[0]))
        return ids

    def remove_event(self, event_id: int) -> bool:
        with self._transaction() as conn:
            return conn.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount > 0

    def events(self, from_ms: int, to_ms: int) -> list[EventRecord]:
        """Events with from_ms <= ts_ms < to_ms, in time order."""
        rows = self._query(
            "SELECT * FROM events WHERE ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms, id",
            (from_ms, to_ms),
        )
        return [
            EventRecord(
                r["ts_ms"],
                r["name"],
                r["kind"],
                r["typical_move"],
                r["source"],
                bool(r["user_defined"]),
                r["id"],
            )
            for r in rows
        ]

    # -- export and maintenance -------------------------------------------------------------

    def export_warnings_csv(self, path: Path | str) -> int:
        """Write every warning to CSV; returns the number of rows."""
        return export.write_warnings_csv(Path(path), self.warnings(active_only=False))

    def export_snapshots_csv(self, path: Path | str, account_id: int | None = None) -> int:
        """Write snapshots (one line per position per snapshot) to CSV; returns the lines."""
        ids = [account_id] if account_id is not None else [a.id for a in self.accounts()]
        return export.write_snapshots_csv(
            Path(path), ((i, self.snapshots(i)) for i in ids if i is not None)
        )

    def check_integrity(self) -> list[str]:
        """PRAGMA integrity_check; ["ok"] when the file is sound. Reads the whole file."""
        with self._read() as conn:
            return [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]

    def file_size(self) -> int:
        """Bytes on disk of the database and its WAL."""
        wal = self.path.with_name(self.path.name + "-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def checkpoint(self) -> None:
        """Move the WAL into the database file and truncate it (e.g. before a backup)."""
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def open_database(data_dir: Path, demo: bool = False, *, start_fresh: bool = False) -> Database:
    """Open (creating the folder and file if needed) the app's database, or the demo's.

    With ``start_fresh``, a file that cannot be opened is renamed aside (never deleted) and an
    empty database takes its place; a file from a newer app is never moved: it is refused."""
    from storage.paths import database_path, ensure_data_dir, move_aside

    ensure_data_dir(data_dir)
    path = database_path(data_dir, demo)
    try:
        return Database.open(path)
    except DatabaseUnreadable:
        if not start_fresh:
            raise
        moved = move_aside(path)
        log.warning("moved the unreadable database aside to %s; starting fresh", moved)
        return Database.open(path)
