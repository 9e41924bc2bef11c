"""Databases that stop taking writes, as found: a filesystem that turns read-only under a
running watch and a full disk — for real where this machine lets a test mount a filesystem
(root, loop devices), and through SQLite itself everywhere.

- ``ext4_read_only``: a small ext4 image, loop-mounted with ``errors=remount-ro`` (the default
  behaviour of many distributions' root filesystems); ``trigger`` makes the kernel report a
  filesystem error (``/sys/fs/ext4/<dev>/trigger_fs_error``), after which ext4 refuses every
  write (EROFS; SQLite says SQLITE_IOERR_WRITE). It does not come back until it is unmounted.
- ``small_tmpfs``: a tmpfs of a few MB; ``fill`` takes what is left, so a write that needs a
  new page fails with ENOSPC (SQLite says SQLITE_FULL); removing the filler gives it back.
- ``writer_read_only`` / ``page_limit``: the same two refusals from SQLite on any machine:
  ``PRAGMA query_only`` on the database's writer connection (SQLITE_READONLY, "attempt to
  write a readonly database"), and ``PRAGMA max_page_count`` at the file's current size
  (SQLITE_FULL, "database or disk is full", which is what SQLite says of a full disk).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from storage.database import Database


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a filesystem needs root (the SQLite-level variant runs instead)")
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let a test mount a filesystem: {done.stderr.strip()}")


def _unmount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path, size: str = "4m") -> Iterator[Path]:
    point = tmp_path / "tmpfs"
    point.mkdir()
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(point))
    try:
        yield point
    finally:
        _unmount(point)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s filesystem; remove the returned file to free it."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


class Ext4:
    """A loop-mounted ext4 image that turns read-only when ``trigger`` is called."""

    def __init__(self, point: Path, device: str) -> None:
        self.point = point
        self.device = device

    def trigger(self) -> None:
        name = os.path.basename(self.device)
        Path(f"/sys/fs/ext4/{name}/trigger_fs_error").write_text("cascade watch test\n")


@contextlib.contextmanager
def ext4_read_only(tmp_path: Path, size_mb: int = 16) -> Iterator[Ext4]:
    if shutil.which("mkfs.ext4") is None:
        pytest.skip("mkfs.ext4 is not installed")
    image = tmp_path / "ext4.img"
    with open(image, "wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    point = tmp_path / "ext4"
    point.mkdir()
    _mount("-o", "loop,errors=remount-ro", str(image), str(point))
    try:
        device = next(
            line.split()[0]
            for line in Path("/proc/mounts").read_text().splitlines()
            if line.split()[1] == str(point)
        )
        if not Path(f"/sys/fs/ext4/{os.path.basename(device)}/trigger_fs_error").exists():
            pytest.skip("this kernel cannot be asked to report an ext4 error")
        os.chmod(point, 0o700)
        yield Ext4(point, device)
    finally:
        _unmount(point)


def _writer(db: Database) -> tuple[sqlite3.Connection, AbstractContextManager[object]]:
    """The database's one writer connection and its lock (private: a test reaches in)."""
    return db._core._writer, db._core._write_lock


@contextlib.contextmanager
def writer_read_only(db: Database) -> Iterator[None]:
    """SQLite refuses every write of the database's writer (SQLITE_READONLY) while inside."""
    conn, lock = _writer(db)
    with lock:
        conn.execute("PRAGMA query_only = ON")
    try:
        yield
    finally:
        with lock:
            conn.execute("PRAGMA query_only = OFF")


@contextlib.contextmanager
def page_limit(db: Database) -> Iterator[None]:
    """A write that needs a new page fails with SQLITE_FULL while inside (the file may not
    grow past its size now; the WAL is checkpointed first, as a full disk finds it)."""
    conn, lock = _writer(db)
    with lock:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        before = conn.execute("PRAGMA max_page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {int(pages)}")
    try:
        yield
    finally:
        with lock:
            conn.execute(f"PRAGMA max_page_count = {int(before)}")
