"""The app's database: one SQLite file (WAL), one repository per kind of record.

Usage::

    db = open_database(resolve_data_dir(args.data_dir))      # or Database.open(path)
    acct = db.accounts.add(AccountRecord("bybit", "main", secret_name="bybit-main"))
    db.snapshots.save(acct.id, report, ts_ms)        # worker thread, one short transaction
    series = db.snapshots.query(acct.id, since_ms=week_ago)  # GUI thread: NumPy columns
    db.prune(now_ms)                                 # scheduled; call again until .done
    db.close()

Repositories (each in its own module, all thread-safe):

- ``db.accounts`` (storage/accounts.py): ``all()``, ``get(id)``, ``add(rec)``, ``update(rec)``,
  ``remove(id) -> secret name | None`` (the account's snapshots, blocks and warnings go with
  it; its secret too when a secret store was given).
- ``db.snapshots`` (storage/snapshots.py): ``save(account_id, report, ts_ms) -> id``,
  ``save_many([(account_id, report, ts_ms), ...]) -> ids``,
  ``query(account_id, since_ms=None, until_ms=None, resolution_ms=0) -> SnapshotSeries``.
- ``db.candles`` (storage/candles.py): ``save(candles) -> int``,
  ``load(symbol, timeframe, since_ms=None, until_ms=None) -> Candles``.
- ``db.warnings`` (storage/warnings.py): ``upsert(rec) -> WarningRecord``,
  ``all(active_only=False)``, ``get(key)``; the history: ``log(change)``,
  ``changes(limit=500)`` newest first.
- ``db.settings`` (storage/settings.py, JSON values): ``get(key, default=None)``,
  ``set(key, value)``, ``delete(key)``, ``all() -> dict``.
- ``db.events`` (storage/events.py): ``add(rec) -> id``, ``add_many(recs) -> ids``,
  ``remove(id) -> bool``, ``between(from_ms, to_ms)``.
- ``db.liquidations`` (storage/liquidations.py): the market's liquidations per minute,
  ``add(minutes)``, ``cover(exchange, symbol, from_ms, to_ms)``,
  ``covered_since(exchange, symbol, now_ms)``, ``query(exchange, symbol, since_ms, until_ms)
  -> LiquidationSeries``, ``symbols()``.

On the database itself: ``prune(now_ms, budget_ms=200, max_steps=None) -> PruneResult``
(retention spans tables: storage/retention.py), ``check_integrity()``,
``verify(thorough=False)``, ``file_size()``, ``checkpoint()``, ``close()``, ``path``,
``schema_version``; it is a context manager. CSV export is storage/export.py, over the
repositories. Connections, transactions and damage detection are storage/connection.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlite_utils

from storage import retention
from storage.accounts import AccountRepository, SecretDeleter
from storage.candles import CandleRepository
from storage.connection import Connections
from storage.errors import DatabaseCorrupt, DatabaseUnreadable
from storage.events import EventRepository
from storage.liquidations import LiquidationRepository
from storage.records import MAX_TS, PruneResult
from storage.settings import SettingRepository
from storage.snapshots import SnapshotRepository
from storage.warnings import WarningRepository

log = logging.getLogger(__name__)


class Database:
    """See the module docstring. Build with ``Database.open`` or ``open_database``."""

    def __init__(self, connections: Connections, secret_store: SecretDeleter | None = None):
        self._core = connections
        self.accounts = AccountRepository(connections, secret_store)
        self.snapshots = SnapshotRepository(connections)
        self.candles = CandleRepository(connections)
        self.warnings = WarningRepository(connections)
        self.settings = SettingRepository(connections)
        self.events = EventRepository(connections)
        self.liquidations = LiquidationRepository(connections)

    @classmethod
    def open(cls, path: Path | str, *, secret_store: SecretDeleter | None = None) -> Database:
        """Open (creating and migrating) the file at ``path``. Raises ``DatabaseUnreadable`` /
        ``DatabaseCorrupt`` (offer ``move_aside(path)``) or ``SchemaTooNew`` (the file is left
        untouched)."""
        return cls(Connections.open(path), secret_store)

    @property
    def path(self) -> Path:
        return self._core.path

    @property
    def schema_version(self) -> int:
        return self._core.schema_version

    @property
    def sqlite(self) -> sqlite_utils.Database:
        """A read-only sqlite-utils view on this thread's reader connection, for introspection
        (table names, columns, counts) and ad-hoc queries."""
        return sqlite_utils.Database(self._core.reader())

    def prune(
        self, now_ms: int, budget_ms: float = 200.0, max_steps: int | None = None
    ) -> PruneResult:
        """Apply the retention policy (storage/retention.py) in short steps."""
        return retention.prune(self._core.transaction, now_ms, budget_ms, max_steps)

    def check_integrity(self) -> list[str]:
        """PRAGMA integrity_check; ["ok"] when the file is sound. Reads the whole file."""
        return self._core.check_integrity()

    def verify(self, *, thorough: bool = False) -> None:
        """Raise ``DatabaseCorrupt`` when the file is damaged: its pages (PRAGMA quick_check)
        and, ``thorough``, every stored value the app decodes (each account's whole snapshot
        history, every warning, setting and event): what a damaged page inside a value needs,
        since SQLite keeps no checksum of contents. Thorough reads everything once (seconds
        for a month of history); the commands run it for --start-fresh only."""
        self._core.quick_check()
        if not thorough:
            return
        for account in self.accounts.all():
            self.snapshots.query(account.id or 0)
        self.warnings.all()
        self.events.between(-MAX_TS, MAX_TS)
        try:
            self.settings.all()
        except ValueError as e:
            raise DatabaseCorrupt(self.path, f"a stored setting cannot be read: {e}") from None

    def file_size(self) -> int:
        """Bytes on disk of the database and its WAL."""
        return self._core.file_size()

    def checkpoint(self) -> None:
        """Move the WAL into the database file and truncate it (e.g. before a backup)."""
        self._core.checkpoint()

    def close(self) -> None:
        self._core.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_database(data_dir: Path, demo: bool = False, *, start_fresh: bool = False) -> Database:
    """Open (creating the folder and file if needed) the app's database, or the demo's, and
    check its pages (``Database.verify``), so a damaged file is found here, before anything
    runs on it, and not by a job later.

    With ``start_fresh``, a file that cannot be opened or is damaged (checked thoroughly: every
    stored value is read once) is renamed aside (never deleted) and an empty database takes
    its place; a file from a newer app is never moved: it is refused."""
    from storage.paths import database_path, ensure_data_dir, move_aside

    ensure_data_dir(data_dir)
    path = database_path(data_dir, demo)
    try:
        db = Database.open(path)
        try:
            db.verify(thorough=start_fresh)
        except BaseException:
            db.close()
            raise
        return db
    except DatabaseUnreadable:
        if not start_fresh:
            raise
        moved = move_aside(path)
        log.warning("moved the unreadable database aside to %s; starting fresh", moved)
        return Database.open(path)
