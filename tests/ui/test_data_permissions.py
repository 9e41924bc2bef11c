"""The app's data are private to the user, as the commands' are (issue 13, item 9).

As found: the app made its data folder 0755 and the database and log 0644 (readable by every
user of the machine), while the commands made the folder 0700. Both now go through
storage.paths.ensure_data_dir (the folder, 0700) and storage.paths.private_file (each file of
ours, 0600, before anything is written to it).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.logs import PrivateRotatingFileHandler, setup
from storage.database import open_database
from storage.paths import private_file
from ui.app import App


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default: files 0644 and folders 0755 unless made otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.fixture
def app_log_handlers() -> Iterator[None]:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    yield
    for h in [h for h in root.handlers if h not in before]:
        root.removeHandler(h)
        h.close()
    root.setLevel(level)


def test_the_app_makes_its_folder_0700_and_its_files_0600(
    qapp: object, tmp_path: Path, loose_umask: None, app_log_handlers: None
) -> None:
    data_dir = tmp_path / "fresh" / "CascadeWatch"
    setup(directory=data_dir, crash_traces=False)
    logging.getLogger("test.permissions").warning("the log file is written")
    app = App(data_dir, speed=60.0, crash_dialog=False)
    try:
        app.backend.db.settings.set("test.permissions", 1)  # a write: the WAL exists
    finally:
        app.shutdown()
        app.window.deleteLater()
    assert mode(data_dir) == "0o700"
    files = sorted(p.name for p in data_dir.iterdir() if p.is_file())
    assert {"cascade.db", "cascade-watch.log"} <= set(files)
    for name in files:
        if name.startswith(("cascade.db", "demo.db", "cascade-watch.log")):
            assert mode(data_dir / name) == "0o600", name


def test_each_rotated_log_file_is_0600(tmp_path: Path, loose_umask: None) -> None:
    handler = PrivateRotatingFileHandler(tmp_path / "x.log", maxBytes=200, backupCount=2)
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "x" * 150, None, None)
    try:
        for _ in range(6):
            handler.emit(record)
    finally:
        handler.close()
    logs = sorted(tmp_path.glob("x.log*"))
    assert [p.name for p in logs] == ["x.log", "x.log.1", "x.log.2"]
    assert all(mode(p) == "0o600" for p in logs)


def test_the_commands_open_the_database_the_same_way(tmp_path: Path, loose_umask: None) -> None:
    data_dir = tmp_path / "cli" / "data"
    db = open_database(data_dir)
    db.settings.set("x", 1)
    try:
        assert mode(data_dir) == "0o700"
        assert mode(data_dir / "cascade.db") == "0o600"
        assert mode(data_dir / "cascade.db-wal") == "0o600"
    finally:
        db.close()


def test_a_database_left_world_readable_by_an_older_build_is_tightened(
    tmp_path: Path, loose_umask: None
) -> None:
    data_dir = tmp_path / "old"
    open_database(data_dir).close()
    (data_dir / "cascade.db").chmod(0o644)
    open_database(data_dir).close()
    assert mode(data_dir / "cascade.db") == "0o600"


def test_private_file_leaves_what_is_not_a_file_of_ours(tmp_path: Path) -> None:
    (tmp_path / "a-dir").mkdir()
    assert private_file(tmp_path / "a-dir") == tmp_path / "a-dir"
    assert (tmp_path / "a-dir").is_dir()
    target = tmp_path / "elsewhere"
    target.write_text("x")
    target.chmod(0o644)
    (tmp_path / "link").symlink_to(target)
    private_file(tmp_path / "link")
    assert mode(target) == "0o644", "a symlink is not followed"
