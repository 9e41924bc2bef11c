"""The database file and its connections: what every repository stands on.

``Connections.open(path)`` checks the file before SQLite sees it (a directory in its place, no
permission, not SQLite, cut short), then opens the single writer connection, switches it to
WAL and migrates the schema forward (storage/schema.py). Repositories (storage/accounts.py,
snapshots.py, candles.py, warnings.py, settings.py, events.py) are given the
``Connections`` and use only:

- ``transaction()``: one short ``BEGIN IMMEDIATE`` write transaction on the writer connection,
  behind a lock (one writer at a time, from any thread);
- ``read()``: a read transaction on this thread's own reader connection (WAL lets it read
  while a write is in progress; several queries see one state); ``query(sql, params)`` runs
  one query in one.

A ``sqlite3.DatabaseError`` that says the file is damaged, or a stored value its decoder cannot
read (``DamagedValue``: SQLite keeps no checksum, so a damaged page inside a blob shows only
there), becomes ``DatabaseCorrupt`` wherever it happens; an unreadable file at open becomes
``DatabaseUnreadable``. ``quick_check`` finds damaged pages in the file's structure.
``synchronous=NORMAL``: a killed process loses nothing committed; a power cut may lose the last
transactions but never corrupts the file.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from storage.errors import DamagedValue, DatabaseCorrupt, DatabaseUnreadable, StorageError
from storage.paths import ensure_data_dir, private_file
from storage.schema import SCHEMA_VERSION, check_version, migrate, user_version

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
SQLITE_MAGIC = b"SQLite format 3\x00"


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


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _roll_back(conn: sqlite3.Connection) -> None:
    """End a transaction a failed statement left open, so the next write can begin."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("ROLLBACK failed", exc_info=True)


class Connections:
    """One writer connection behind a lock, one reader connection per thread. Thread-safe.
    Build with ``Connections.open``."""

    def __init__(self, path: Path, writer: sqlite3.Connection) -> None:
        self.path = path
        self._writer = writer
        self._write_lock = threading.RLock()
        self._readers: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self._readers_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False

    @classmethod
    def open(cls, path: Path | str) -> Connections:
        """Open (creating it and its folder if needed) and migrate the file at ``path``.
        Raises ``DatabaseUnreadable`` / ``DatabaseCorrupt`` or ``SchemaTooNew`` (the file is
        left untouched)."""
        path = Path(path)
        _preflight(path)
        try:
            ensure_data_dir(path.parent)
        except OSError as e:
            raise DatabaseUnreadable(path, f"cannot create its folder ({e.strerror})") from None
        private_file(path)
        writer: sqlite3.Connection | None = None
        try:
            writer = _connect(path)
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
        return cls(path, writer)

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

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
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
                    _roll_back(conn)
                    raise
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as e:
                _roll_back(conn)  # a COMMIT that failed (disk full) leaves it open
                raise self._damaged(e) from None
            except DamagedValue as e:
                raise DatabaseCorrupt(self.path, str(e)) from None

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use; those of finished threads
        are closed then)."""
        if self._closed:
            raise StorageError("the database is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        conn = _connect(self.path)
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
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several queries that see one consistent state."""
        conn = self.reader()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise self._damaged(e) from None
        except DamagedValue as e:
            raise DatabaseCorrupt(self.path, str(e)) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of one query, as dicts by column name."""
        with self.read() as conn:
            return list(sqlite_utils.Database(conn).query(sql, params))

    def _damaged(self, error: sqlite3.DatabaseError) -> Exception:
        """A damaged file found after opening becomes DatabaseCorrupt; other errors stay."""
        wrapped = _corrupt_or_unreadable(self.path, error)
        if isinstance(wrapped, DatabaseCorrupt):
            # the caller reports it (one line naming the file and the way out)
            log.info("the database %s is damaged: %s", self.path, error)
            return wrapped
        return error

    @property
    def schema_version(self) -> int:
        with self.read() as conn:
            return user_version(conn)

    def quick_check(self) -> None:
        """Raise ``DatabaseCorrupt`` when a page of the file's structure is damaged (PRAGMA
        quick_check: every page is read once, ~50 ms for 90 MB cached, under a second cold;
        it does not look inside stored values)."""
        with self.read() as conn:
            found = [str(r[0]) for r in conn.execute("PRAGMA quick_check(4)").fetchall()]
        if found != ["ok"]:
            problems = [f for f in found if not f.startswith("***")] or found
            raise DatabaseCorrupt(self.path, "; ".join(" ".join(f.split()) for f in problems))

    def check_integrity(self) -> list[str]:
        """PRAGMA integrity_check; ["ok"] when the file is sound. Reads the whole file."""
        with self.read() as conn:
            return [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]

    def file_size(self) -> int:
        """Bytes on disk of the database and its WAL."""
        wal = self.path.with_name(self.path.name + "-wal")
        return self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)

    def checkpoint(self) -> None:
        """Move the WAL into the database file and truncate it (e.g. before a backup)."""
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
