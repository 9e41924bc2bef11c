"""apprise's own log lines, kept out of our log and read back redacted.

apprise logs through the "apprise" logger; some of its lines can carry a URL, a host or a
request's details. The logger is detached from ours (``propagate = False``) and its records
are collected only inside ``captured(secrets)``, per thread, with the channel's secret parts
already replaced. The sender turns the last warning of a failed delivery into its one-line
reason; nothing of apprise's reaches a log file unredacted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from notify.urls import redact

_local = threading.local()
_installed = threading.Lock()
_done = False


class _Collector(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        frame: tuple[tuple[str, ...], list[tuple[int, str]]] | None = getattr(_local, "frame", None)
        if frame is None:
            return
        secrets, lines = frame
        try:
            text = record.getMessage()
        except Exception:
            text = str(record.msg)
        lines.append((record.levelno, redact(text, secrets)))


class _Redactor(logging.Filter):
    """On apprise's and urllib3's loggers: a line logged during a delivery or a URL check (at
    DEBUG urllib3 names the path, which may hold a webhook's token; apprise the whole URL) is
    redacted of the channel's secret parts before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        frame: tuple[tuple[str, ...], list[tuple[int, str]]] | None = getattr(_local, "frame", None)
        if frame is not None:
            try:
                text = record.getMessage()
            except Exception:
                text = str(record.msg)
            record.msg, record.args = redact(text, frame[0]), ()
        return True


def install() -> None:
    """Detach apprise's logger from the application's handlers (once); call before apprise
    is imported, so that even its import-time lines stay out."""
    global _done
    with _installed:
        if _done:
            return
        log = logging.getLogger("apprise")
        log.propagate = False
        log.handlers[:] = [_Collector()]
        log.setLevel(logging.DEBUG)  # its socket errors are DEBUG lines; kept only in captured()
        # on the loggers themselves, so that any handler someone attaches sees redacted text
        log.addFilter(_Redactor())
        logging.getLogger("urllib3.connectionpool").addFilter(_Redactor())
        _done = True


@contextmanager
def captured(secrets: tuple[str, ...]) -> Iterator[list[tuple[int, str]]]:
    """Collect, redacted, what apprise logs on this thread inside the block."""
    install()
    lines: list[tuple[int, str]] = []
    previous = getattr(_local, "frame", None)
    _local.frame = (secrets, lines)
    try:
        yield lines
    finally:
        _local.frame = previous


SOCKET_CAUSES = (
    ("timed out", "no answer in time"),
    ("connection refused", "connection refused"),
    ("name or service not known", "the host name is not known"),
    ("temporary failure in name resolution", "the host name is not known"),
    ("certificate verify failed", "its TLS certificate is not trusted"),
    ("network is unreachable", "the network is unreachable"),
)
"""What apprise's DEBUG "Socket Exception: …" line says, in a trader's words."""


def last_problem(lines: list[tuple[int, str]]) -> str:
    """The last warning or error apprise logged, on one line, with the socket's cause when
    apprise logged one ("" when there was none)."""
    problem = next((t for level, t in reversed(lines) if level >= logging.WARNING), "")
    problem = " ".join(problem.split())
    socket = " ".join(t.lower() for _l, t in lines if t.startswith("Socket Exception"))
    cause = next((said for found, said in SOCKET_CAUSES if found in socket), "")
    if problem and cause:
        return f"{problem.rstrip('.')} ({cause})."
    return problem or cause
