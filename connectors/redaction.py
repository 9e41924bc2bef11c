"""No credential in any log line, crash report or echoed address.

Libraries log what they send: with DEBUG logging ccxt writes every request's headers (the API
key, Bybit's and OKX's signatures, the OKX passphrase) and urllib3 every signed query string.
Rather than trust each caller, the redaction sits at the handler: ``install_redaction()`` adds
a ``RedactingFilter`` to every handler logging has (the root's, any other logger's and the
last-resort stderr handler), so every record from our code or a library's, at every level, is
cleaned before any handler formats it, traceback text included. Call it once wherever logging
is configured, after the handlers exist.

What is removed:

- the live secrets: every API key, secret and passphrase, registered as credentials are made
  (``connectors.credentials.Credentials`` calls ``register_secrets``), and any password found
  in an API address, in the forms they take in text (plain, URL-quoted, JSON and repr escaped);
- generic patterns, for secrets not (yet) registered: the venues' authentication headers
  (X-MBX-APIKEY, OK-ACCESS-KEY/SIGN/PASSPHRASE, X-BAPI-API-KEY/SIGN, Authorization), signed
  query parameters (signature=, sign=, apiKey=, …), secret-named JSON fields, and the user
  info of URLs (``https://user:password@host`` becomes ``https://***@host``).

``display_url`` is the form of an address to show a user: without its user info at all.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_LEN = 4
"""Shorter values are not masked by value (they would blank out ordinary words and numbers);
the patterns still cover them where they appear as headers, parameters or URL user info."""

_HEADER_NAMES = (
    "x-mbx-apikey",
    "ok-access-key",
    "ok-access-sign",
    "ok-access-passphrase",
    "x-bapi-api-key",
    "x-bapi-sign",
    "x-bapi-signature",
    "x-api-key",
    "api-key",
    "authorization",
    "cookie",
)
_PARAM_NAMES = (
    "signature",
    "sign",
    "apikey",
    "api_key",
    "secret",
    "secretkey",
    "passphrase",
    "password",
    "token",
)
_FIELD_NAMES = (
    "secret",
    "secretkey",
    "secret_key",
    "password",
    "passphrase",
    "apikey",
    "api_key",
    "privatekey",
    "private_key",
    "token",
)
_HEADER = re.compile(
    rf"(?i)\b({'|'.join(_HEADER_NAMES)})"
    r"""(['"]?\s*[:=]\s*['"]?)((?:basic |bearer )?[^'"\s,}&]+)"""
)
_PARAM = re.compile(rf"(?i)\b({'|'.join(_PARAM_NAMES)})=[^&\s'\"]+")
_FIELD = re.compile(rf"""(?i)(["'](?:{"|".join(_FIELD_NAMES)})["']\s*:\s*["'])([^"']*)""")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>]+@")

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _forms(value: str) -> set[str]:
    """The ways a value shows up in text: as is, URL-quoted, JSON- and repr-escaped."""
    return {
        value,
        quote(value, safe=""),
        quote(value, safe="/"),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
    }


def register_secrets(values: Iterable[str]) -> None:
    """Mask these values from now on wherever they appear in a log record or crash text."""
    global _pattern
    new = {f for v in values if v and len(v) >= MIN_SECRET_LEN for f in _forms(v)}
    new = {f for f in new if len(f) >= MIN_SECRET_LEN}
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` without any registered secret, authentication header value, signed query
    parameter, secret-named field or URL user info."""
    with _lock:
        pattern, known = _pattern, tuple(_secrets)
    if pattern is not None and any(v in text for v in known):
        text = pattern.sub(MASK, text)
    # Each pattern runs only when its words are present: a DEBUG line carrying a market list
    # of a megabyte costs a few milliseconds, not a regex scan per pattern.
    low = text.lower()
    if any(name in low for name in _HEADER_NAMES):
        text = _HEADER.sub(rf"\1\2{MASK}", text)
    if "=" in low and any(f"{name}=" in low for name in _PARAM_NAMES):
        text = _PARAM.sub(rf"\1={MASK}", text)
    if any(name in low for name in _FIELD_NAMES):
        text = _FIELD.sub(rf"\1{MASK}", text)
    if "@" in text and "://" in text:
        text = _USERINFO.sub(rf"\1{MASK}@", text)
    return text


def display_url(url: str) -> str:
    """An address as a user may see it: no user name, no password."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return _USERINFO.sub(r"\1", redact(url))


def url_password(url: str) -> str:
    """The password (or lone user name) in an address's user info, if any."""
    try:
        parts = urlsplit(url)
        return parts.password or parts.username or ""
    except ValueError:
        return ""


class RedactingFilter(logging.Filter):
    """Rewrites each record in place (message, traceback, stack) without credentials; the
    handlers after it, whatever their formatter, see only the clean text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = f"<a log record from {record.name} that could not be formatted>"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        setattr(record, "_redacted", True)  # noqa: B010 - not a LogRecord field
        return True


REDACTING_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Add the redacting filter to every handler logging has now: the root logger's, every
    other logger's and the last-resort stderr handler. Call after configuring logging."""
    handlers: list[logging.Handler] = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(logger.handlers)
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if REDACTING_FILTER not in handler.filters:
            handler.addFilter(REDACTING_FILTER)
