"""The storage layer's exceptions: each names the file and says what the user can do.

None of them ever carries a secret: messages are built from paths and version numbers only.
"""

from __future__ import annotations

from pathlib import Path

from formatting import safe_text


def shown(path: Path) -> str:
    """A path as echoed in a message: one line, no control character (a --data-dir is typed
    by the user and may carry anything)."""
    return safe_text(path, limit=1000)


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class DatabaseUnreadable(StorageError):
    """The database file cannot be opened: a directory in its place, permission denied, or
    an I/O error. ``path`` is the file; the UI offers ``move_aside(path)`` and a fresh start."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        return (
            f"cannot open the database at {shown(self.path)}: {self.reason}. Fix the file's "
            f"permissions, choose another data directory (--data-dir or CASCADE_DATA_DIR), or "
            f"move the file aside and start fresh (the app offers to; from the terminal, add "
            f"--start-fresh). Nothing is deleted"
        )


class DatabaseCorrupt(DatabaseUnreadable):
    """The file is not a (whole) SQLite database of ours: random bytes, truncated, malformed
    pages, a stored value that cannot be decoded."""

    def describe(self) -> str:
        return (
            f"the database at {shown(self.path)} is damaged ({self.reason}): move the file "
            f"aside and start fresh (the app offers to; from the terminal, add --start-fresh; "
            f"nothing is deleted), or choose another data directory (--data-dir or "
            f"CASCADE_DATA_DIR)"
        )


class DamagedValue(Exception):
    """A stored value that cannot be decoded (a snapshot block, a JSON column): raised by the
    decoders, turned into ``DatabaseCorrupt`` (which names the file) by storage/connection.py."""


class SchemaTooNew(StorageError):
    """The file was written by a newer Cascade Watch; opening it could damage it."""

    def __init__(self, path: Path, found: int, supported: int) -> None:
        self.path = Path(path)
        self.found = found
        self.supported = supported
        super().__init__(
            f"the database at {shown(self.path)} has schema version {found}, but this version of "
            f"Cascade Watch understands schema versions up to {supported}; update Cascade Watch, "
            f"or choose another data directory (--data-dir or CASCADE_DATA_DIR). "
            f"The file was not modified"
        )


class SecretStoreError(StorageError):
    """The secret store cannot be used."""


class WrongPassphrase(SecretStoreError):
    """``final``: the run's passphrase attempts are used up (or the user gave none); the keys
    stay locked until the next start."""

    def __init__(self, path: Path, *, final: bool = False) -> None:
        self.path = Path(path)
        self.final = final
        then = "restart Cascade Watch to enter it again" if final else "try again"
        super().__init__(
            f"the passphrase does not open the secret store at {shown(self.path)}; {then}"
        )


class SecretStoreCorrupt(SecretStoreError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        super().__init__(
            f"the secret store at {shown(self.path)} is unreadable ({reason}); move it aside "
            f"(storage.move_aside) and enter the API keys again"
        )
