"""Where the log goes, for the app and the ``watch`` command alike.

- The platform's log folder (``platformdirs.user_log_dir``: ``~/.local/state/CascadeWatch/log``
  on Linux, ``~/Library/Logs/CascadeWatch`` on macOS, ``%LOCALAPPDATA%\\CascadeWatch\\Logs`` on
  Windows), or ``$CASCADE_LOG_DIR``; the file rotates at 2 MB, five old files kept.
- What happens on every poll is DEBUG, not INFO: APScheduler's "Running job" / "executed
  successfully" lines (one per job run) are demoted, so an INFO log holds what changed.
- A native crash (a segfault in Qt, an abort) leaves the Python stacks of every thread in
  ``native-crashes.log`` beside the log (``faulthandler``), where no Python handler can write.
- Every handler redacts secrets (``connectors.redaction``); the folder is 0700, the files
  0600 (``storage.paths``).
"""

from __future__ import annotations

import atexit
import faulthandler
import logging
import os
import sys
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

APP_NAME = "CascadeWatch"
LOG_DIR_ENV = "CASCADE_LOG_DIR"
LOG_LEVEL_ENV = "CASCADE_LOG_LEVEL"
LOG_NAME = "cascade-watch.log"
CRASH_NAME = "native-crashes.log"
MAX_BYTES = 2_000_000
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PER_RUN_LOGGERS = ("apscheduler.executors.", "apscheduler.scheduler")
"""APScheduler's loggers (by name prefix) that write INFO lines for every job run (every
poll) and every job added."""

_crash_file: IO[str] | None = None


def log_dir() -> Path:
    """$CASCADE_LOG_DIR, else the platform's user log folder (not created here)."""
    from platformdirs import user_log_dir

    chosen = os.environ.get(LOG_DIR_ENV) or user_log_dir(APP_NAME, appauthor=False)
    return Path(chosen).expanduser().resolve()


class PerRunToDebug(logging.Filter):
    """On a handler: a per-run INFO record becomes DEBUG, and passes only when the handler
    takes DEBUG. (A logger's own filter would miss its children's records.)"""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.name.startswith(PER_RUN_LOGGERS):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.handler.level


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files (the first and each one after a rollover) are 0600."""

    def _open(self) -> Any:
        from storage.paths import private_file

        private_file(Path(self.baseFilename))
        return super()._open()


def level_from_env() -> int:
    """The file's level: $CASCADE_LOG_LEVEL (DEBUG, INFO, WARNING…) when set, else INFO."""
    name = os.environ.get(LOG_LEVEL_ENV, "").strip().upper()
    level = logging.getLevelName(name) if name else logging.INFO
    return level if isinstance(level, int) else logging.INFO


def setup(
    *,
    file_level: int | None = None,
    console_level: int | None = None,
    directory: Path | None = None,
    crash_traces: bool = True,
) -> Path:
    """Log to the rotating file at ``file_level`` (default: ``level_from_env()``), and to
    stderr at ``console_level`` when given; demote the per-run lines; redact secrets on every
    handler (connectors.redaction); send native crashes to the crash file. Returns the log
    file's path. Calling it again adds nothing."""
    from connectors.redaction import install_redaction
    from storage.paths import ensure_data_dir

    root = logging.getLogger()
    folder = directory or log_dir()
    path = folder / LOG_NAME
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return path
    ensure_data_dir(folder)
    handler = PrivateRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )
    handler.setLevel(level_from_env() if file_level is None else file_level)
    handlers: list[logging.Handler] = [handler]
    if console_level is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        handlers.append(console)
    for h in handlers:
        h.setFormatter(logging.Formatter(FORMAT))
        h.addFilter(PerRunToDebug(h))
        root.addHandler(h)
    install_redaction()
    root.setLevel(min(h.level for h in handlers))
    if crash_traces:
        enable_crash_traces(folder / CRASH_NAME)
    return path


def enable_crash_traces(path: Path) -> None:
    """``faulthandler`` writes every thread's stack to ``path`` on a fatal signal; a line with
    the time and process id before it says which run a trace belongs to."""
    global _crash_file
    if _crash_file is not None:
        return
    f = path.open("a", encoding="utf-8")
    f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()} started\n")
    f.flush()
    faulthandler.enable(file=f, all_threads=True)
    _crash_file = f
    atexit.register(_close_crash_file)


def _close_crash_file() -> None:
    """At a normal exit: stop tracing and close the file (no trace can come after)."""
    global _crash_file
    if _crash_file is not None:
        faulthandler.disable()
        _crash_file.close()
        _crash_file = None
