"""Unreadable or damaged database files give a clear exception and a way out."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from storage.database import Database, open_database
from storage.errors import DatabaseCorrupt, DatabaseUnreadable
from storage.paths import move_aside
from storage.records import AccountRecord
from storage.sample import ReportWalk
from tests.damaged_db import T0, damage_inside_a_block, damage_pages, filled_database

DAY_MS = 86_400_000


def good_file(path: Path, snapshots: int = 400) -> None:
    with Database.open(path) as db:
        a = db.accounts.add(AccountRecord("bybit", "main"))
        walk = ReportWalk(10)
        db.snapshots.save_many((a.id, walk.next(), 1_767_225_600_000 + i) for i in range(snapshots))
        db.checkpoint()


def assert_way_out(path: Path, error: DatabaseUnreadable) -> None:
    text = str(error)
    assert str(path) in text and "move the file aside" in text
    assert error.path == path


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(DatabaseCorrupt, match="not a SQLite database") as info:
        Database.open(path)
    assert_way_out(path, info.value)


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    good_file(path)
    data = path.read_bytes()
    assert len(data) > 40_000
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(DatabaseCorrupt, match="truncated") as info:
        Database.open(path)
    assert_way_out(path, info.value)


def test_damaged_pages_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    good_file(path)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page : page * 3] = os.urandom(page * 2)
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupt) as info, Database.open(path) as db:
        db.snapshots.query(1)
        db.check_integrity()
    assert_way_out(path, info.value)


def test_directory_in_its_place(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    path.mkdir()
    with pytest.raises(DatabaseUnreadable, match="a directory is in its place") as info:
        Database.open(path)
    assert_way_out(path, info.value)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cascade.db"
    good_file(path)
    if os.geteuid() == 0:
        import builtins

        real_open = builtins.open

        def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if Path(file) == path:
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", deny)
    else:
        path.chmod(0)
    try:
        with pytest.raises(DatabaseUnreadable, match="permission denied") as info:
            Database.open(path)
        assert_way_out(path, info.value)
    finally:
        path.chmod(0o600)


def test_move_aside_then_start_fresh(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    garbage = os.urandom(4096)
    path.write_bytes(garbage)
    (tmp_path / "cascade.db-wal").write_bytes(b"wal")
    with pytest.raises(DatabaseCorrupt) as info:
        Database.open(path)
    moved = move_aside(info.value.path)
    assert re.fullmatch(r"cascade\.db\.corrupt-\d{8}-\d{6}", moved.name)
    assert moved.read_bytes() == garbage
    assert (tmp_path / f"{moved.name}-wal").read_bytes() == b"wal"
    assert not path.exists()
    second = tmp_path / "cascade.db"
    second.write_bytes(b"again")
    assert move_aside(second) != moved
    with Database.open(path) as db:
        assert db.accounts.all() == []


def test_sqlite_errors_during_open_are_wrapped(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    good_file(path, snapshots=10)
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[100:page] = b"\xff" * (page - 100)
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseUnreadable) as info:
        Database.open(path)
    assert_way_out(path, info.value)
    assert not isinstance(info.value.__cause__, sqlite3.Error) or info.value.__suppress_context__


@pytest.mark.parametrize("where", [0.1, 0.5, 0.9])
def test_damaged_pages_in_a_real_file_are_found_at_open(tmp_path: Path, where: float) -> None:
    """Pages overwritten in the middle of a file full of data (behind a valid header): found
    when the app opens it, before anything runs on it; --start-fresh's way out works."""
    path = tmp_path / "cascade.db"
    filled_database(path)
    damage_pages(path, where)
    damaged = path.read_bytes()
    with pytest.raises(DatabaseCorrupt, match="is damaged") as info:
        open_database(tmp_path)
    assert_way_out(path, info.value)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == damaged
    with open_database(tmp_path, start_fresh=True) as db:
        assert db.accounts.all() == []
        db.accounts.add(AccountRecord("okx", "new"))
    kept = list(tmp_path.glob("cascade.db.corrupt-*"))
    assert [p.read_bytes() for p in kept if p.suffix != ".db-wal"] == [damaged]


def test_damage_inside_a_stored_value_is_found_where_it_is_read(tmp_path: Path) -> None:
    """Bytes damaged inside a snapshot block leave every page sound (quick_check passes, so
    the app opens the file); reading the block says the file is damaged, naming it, instead
    of a zlib error; and --start-fresh, which reads every stored value, finds it and moves
    the file aside."""
    path = tmp_path / "cascade.db"
    filled_database(path)
    damage_inside_a_block(path)
    with Database.open(path) as db:
        db.verify()
        with pytest.raises(DatabaseCorrupt, match="block of snapshot history") as info:
            db.snapshots.query(1)
        assert_way_out(path, info.value)
        with pytest.raises(DatabaseCorrupt):
            db.prune(T0 + 40 * DAY_MS)
        with pytest.raises(DatabaseCorrupt):
            db.verify(thorough=True)
    with open_database(tmp_path) as db:
        assert len(db.accounts.all()) == 1
    with open_database(tmp_path, start_fresh=True) as db:
        assert db.accounts.all() == []
    assert len(list(tmp_path.glob("cascade.db.corrupt-*"))) == 1


def test_a_sound_file_passes_the_thorough_check(tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    filled_database(path)
    with open_database(tmp_path, start_fresh=True) as db:
        assert len(db.accounts.all()) == 1 and len(db.warnings.all()) == 40
    assert not list(tmp_path.glob("cascade.db.corrupt-*"))
