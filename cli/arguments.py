"""The commands' argument types and the parser that reports a bad argument in one line.

Each type is a function argparse calls with the text given; it returns the value or raises
``argparse.ArgumentTypeError`` with a sentence naming what is wrong, which the parser prints
as ``cascade-watch watch: argument --speed: must be a number above 0, got 'nan'`` and exit
status 2. A value no command can use (NaN, infinity, a port outside 0-65535, an address that
is not a URL) is refused here, before anything starts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn
from urllib.parse import urlsplit

PORT_MAX = 65_535


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr (what is wrong, and where
    the help is), exit status 2; sub-commands' parsers are of the same class."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: {text} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive(text: str) -> float:
    """A finite number above 0 (a speed, an interval, a timeout in seconds)."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


def between(low: float, high: float, unit: str = "") -> Callable[[str], float]:
    """A finite number in [low, high]."""
    suffix = f" {unit}" if unit else ""

    def parse(text: str) -> float:
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be between {low:g} and {high:g}{suffix}, got {text!r}"
            )
        return value

    parse.__name__ = "number"
    return parse


speed = between(0.01, 100_000, "scenario seconds per second")
"""A replay pace: scenario seconds per wall second (100,000: a day in under a second)."""


def port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= value <= PORT_MAX:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to {PORT_MAX}, got {text!r}")
    return value


def record_id(text: str) -> int:
    """A stored record's id: a whole number from 1 to 2^63 - 1 (SQLite's integers)."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value < 2**63:
        raise argparse.ArgumentTypeError("must be an id from 1 to 2^63 - 1")
    return value


def http_url(text: str) -> str:
    """An http(s) base URL with a host (``http://127.0.0.1:8000``, ``https://testnet...``).
    The text is never echoed back: a URL can carry a password."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - reading the port is the check (a bad one raises)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"is not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError("must be an http:// or https:// address with a host")
    return text
