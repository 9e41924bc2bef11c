"""One Cascade Watch per data folder: the desktop app and ``watch`` both hold this lock while
they run, so two of them never poll the same accounts or send every warning twice.

The lock is the operating system's own on ``cascade-watch.lock`` in the data folder
(``fcntl.flock`` on Linux and macOS, ``msvcrt.locking`` on Windows): it is released when the
process ends, however it ends, so a crash never leaves the folder locked. The file says who
holds it (process id and "app" or "watch") for the second one's message; it is left in place,
empty, when the holder stops (removing it would let two later starters lock two different
files).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

LOCK_NAME = "cascade-watch.lock"
_WINDOWS_OFFSET = 4096
"""Windows locks a byte range; one past the text, so the text stays readable."""


class FolderLock:
    """``acquire()`` once at start (False: another holds it, ``holder()`` says who);
    ``release()`` at the end (the process's end releases it too)."""

    def __init__(self, data_dir: Path, role: str) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self.role = role
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """True when this process now holds the folder."""
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        f = os.fdopen(fd, "r+", encoding="utf-8")
        if not _lock(f):
            f.close()
            return False
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n{self.role}\n")
        f.flush()
        self._file = f
        return True

    def holder(self) -> tuple[int | None, str]:
        """(process id, "app" or "watch") of the holder, as far as its file says."""
        try:
            pid, _, role = self.path.read_text(encoding="utf-8").partition("\n")
        except OSError:
            return None, ""
        return (int(pid) if pid.strip().isdigit() else None), role.strip()

    def describe_holder(self) -> str:
        """``the app (pid 1234)``, ``a watch (pid 1234)`` or ``another Cascade Watch``."""
        pid, role = self.holder()
        who = {"app": "the app", "watch": "a watch"}.get(role, "another Cascade Watch")
        return f"{who} (pid {pid})" if pid else who

    def release(self) -> None:
        f, self._file = self._file, None
        if f is None:
            return
        with contextlib.suppress(OSError):
            f.seek(0)
            f.truncate()
            f.flush()
        _unlock(f)
        f.close()


def _lock(f: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        f.seek(_WINDOWS_OFFSET)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(f: IO[str]) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":
            import msvcrt

            f.seek(_WINDOWS_OFFSET)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
