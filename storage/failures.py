"""Why a write to the database failed, in words a trader understands: the database is
read-only, the disk is full, or something else (named by SQLite).

SQLite says SQLITE_READONLY (or SQLITE_PERM) for a file or connection it may not write and
SQLITE_FULL for a full disk. When the filesystem itself refuses (ext4 remounted read-only after
an error, a quota), SQLite reports only an I/O error (SQLITE_IOERR_WRITE, SQLITE_CANTOPEN);
then one small file is created and removed beside the database to ask the filesystem which it
is (EROFS, ENOSPC/EDQUOT, EACCES).

``diagnose`` returns None for an error that is not the database's (a constraint, a value that
cannot be stored): retrying such a write can never succeed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from storage.errors import DatabaseCorrupt, StorageError

SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
PROBE_NAME = ".cascade-write-probe"


class WriteFailure(Enum):
    READ_ONLY = "read-only"
    DISK_FULL = "disk full"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class WriteProblem:
    """What stops the database from being written: the kind, and the words for it."""

    kind: WriteFailure
    text: str
    """ "the disk is full", "the database file is read-only", ... (no path, no secret)."""


FULL = WriteProblem(WriteFailure.DISK_FULL, "the disk is full")


def diagnose(exc: BaseException, database: Path | None = None) -> WriteProblem | None:
    """The problem behind a failed write, or None when ``exc`` is not a storage failure.
    ``database`` (the file) lets an I/O error be told apart by asking its filesystem."""
    if isinstance(exc, DatabaseCorrupt):
        return WriteProblem(WriteFailure.OTHER, "the database file is damaged")
    if isinstance(exc, StorageError):
        return WriteProblem(WriteFailure.OTHER, str(exc))
    if isinstance(exc, OSError):
        return _from_errno(exc.errno) or WriteProblem(
            WriteFailure.OTHER, f"the disk cannot be written ({exc.strerror or 'I/O error'})"
        )
    if not isinstance(exc, sqlite3.OperationalError) and type(exc) is not sqlite3.DatabaseError:
        return None  # a constraint, a value SQLite cannot take, a misuse: not the database's
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in (SQLITE_READONLY, SQLITE_PERM):
        return WriteProblem(WriteFailure.READ_ONLY, "the database file is read-only")
    if primary == SQLITE_FULL:
        return FULL
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return WriteProblem(WriteFailure.OTHER, "another program holds the database locked")
    if primary == SQLITE_CORRUPT:
        return WriteProblem(WriteFailure.OTHER, "the database file is damaged")
    asked = _ask_filesystem(database.parent) if database is not None else None
    if asked is not None:
        return asked
    return WriteProblem(WriteFailure.OTHER, f"the database cannot be written ({exc})")


def _from_errno(code: int | None) -> WriteProblem | None:
    if code == errno.EROFS:
        return WriteProblem(WriteFailure.READ_ONLY, "the disk holding the database is read-only")
    if code in (errno.EACCES, errno.EPERM):
        return WriteProblem(
            WriteFailure.READ_ONLY, "the database's folder may not be written (permission denied)"
        )
    if code == errno.ENOSPC:
        return FULL
    if code == errno.EDQUOT:
        return WriteProblem(WriteFailure.DISK_FULL, "the disk quota is used up")
    return None


def _ask_filesystem(folder: Path) -> WriteProblem | None:
    """Create, write and remove one small file in ``folder``: the errno says what SQLite's
    I/O error was (None when the filesystem takes it)."""
    probe = folder / f"{PROBE_NAME}-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        return _from_errno(e.errno)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return None
