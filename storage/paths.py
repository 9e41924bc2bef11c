"""Where the data lives: the data directory, the database file, the encrypted secret file.

Nothing here runs at import time; ``ensure_data_dir`` is the only function that creates
directories, and callers invoke it once at start-up. The data are private to the user: the
folder is created 0700 and every file of ours in it (the database and its WAL, the log, the
key file) is 0600, made so by ``private_file`` before anything is written to it. The app and
every command go through these two functions.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from platformdirs import user_data_dir

APP_NAME = "CascadeWatch"
DATA_DIR_ENV = "CASCADE_DATA_DIR"
DATABASE_NAME = "cascade.db"
DEMO_DATABASE_NAME = "demo.db"
SECRETS_NAME = "secrets.enc"


def resolve_data_dir(cli_value: str | None) -> Path:
    """The data directory: ``--data-dir`` wins, then $CASCADE_DATA_DIR, then the platform's
    user data directory. Not created here."""
    chosen = cli_value or os.environ.get(DATA_DIR_ENV) or user_data_dir(APP_NAME, appauthor=False)
    return Path(chosen).expanduser().resolve()


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """``--data-dir DIR`` for any command; pass its value to ``resolve_data_dir``."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help=f"where the database and secrets live (default: ${DATA_DIR_ENV}, else the "
        f"platform's user data directory)",
    )


def ensure_data_dir(data_dir: Path) -> Path:
    """Create the data directory (private to the user: 0700) if it does not exist. A folder
    that exists is left as it is (it may be one the user chose and shares on purpose)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return data_dir


def private_file(path: Path) -> Path:
    """Make ``path`` a file only its owner may read and write (0600), creating it empty when
    missing; SQLite gives its -wal and -shm files the database file's mode. Anything that is
    not our regular file (a directory in its place, a file we do not own) is left for the
    caller's own checks to report."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    except OSError:
        return path
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    except OSError:
        pass
    finally:
        os.close(fd)
    return path


def database_path(data_dir: Path, demo: bool = False) -> Path:
    """The database file; the demo keeps its own, so its data never mixes with real accounts."""
    return data_dir / (DEMO_DATABASE_NAME if demo else DATABASE_NAME)


def secrets_path(data_dir: Path) -> Path:
    return data_dir / SECRETS_NAME


def move_aside(path: Path) -> Path:
    """Rename a damaged file (and its -wal/-shm companions) to ``NAME.corrupt-YYYYmmdd-HHMMSS``
    so the app can start fresh; never deletes anything. Returns the new path."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    return target
