"""One error type for everything a connector can fail with, and the translation from ccxt.

ccxt raises a deep exception hierarchy whose messages carry the exchange id, the raw response
body and sometimes the request URL (signature included). The monitor and the user need neither:
they need to know *what kind* of failure it is (to decide whether to back off, retry or ask for
a new key) and one sentence a trader can act on. ``translate`` does that, reading the exchange's
own error code first because ccxt's class depends on state (Binance -2015 turns into
DDoSProtection once a key has worked) and on the URL (Binance maps per-host tables).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping

import ccxt  # type: ignore[import-untyped]  # ccxt ships no stubs and no py.typed

from connectors.redaction import redact
from connectors.types import ConnectorError, ErrorKind
from formatting import VENUE_NAMES

logger = logging.getLogger(__name__)


EXCHANGE_NAMES = VENUE_NAMES

_CLOCK_CODES = {"-1021", "10002", "50102"}
_PERMISSION_CODES = {"-2015", "10005", "10010", "50110", "50120"}
_RATE_CODES = {"-1003", "10006", "10018", "50011", "50061"}
_MAINTENANCE_CODES = {"50001", "50013", "50026", "10016", "-1001", "-1008", "-1016"}
_UNKNOWN_SYMBOL_CODES = {"-1121", "10001", "51001"}

_URL = re.compile(r"(?:https?|wss?)://\S+")
_QUERY_SECRET = re.compile(r"(signature|sign|apiKey|api_key|secret|passphrase)=[^&\s\"']+", re.I)
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)
_MAX_DETAIL = 160


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove URLs, signed query parameters, any of ``secrets`` and every credential the log
    redaction knows (connectors/redaction.py) from text."""
    text = redact(text)
    text = _URL.sub("<url>", text)
    text = _QUERY_SECRET.sub(r"\1=<hidden>", text)
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "<hidden>")
    return text


def _exchange_body(message: str) -> Mapping[str, object]:
    """The JSON object ccxt appended to its message (the exchange's error body), if any."""
    match = _JSON_OBJECT.search(message)
    if not match:
        return {}
    try:
        body = json.loads(match.group(0))
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def exchange_code_and_text(message: str) -> tuple[str | None, str]:
    """The exchange's own error code and message text, from a ccxt exception message."""
    body = _exchange_body(message)
    code = None
    for key in ("code", "retCode", "ret_code", "sCode"):
        if key in body and str(body[key]) not in ("", "0"):
            code = str(body[key])
            break
    text = ""
    for key in ("msg", "retMsg", "ret_msg", "sMsg", "error", "response"):
        value = body.get(key)
        if isinstance(value, str) and value:
            text = value
            break
    if code is None:
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            inner = data[0]
            if str(inner.get("sCode", "0")) not in ("", "0"):
                code = str(inner["sCode"])
                text = str(inner.get("sMsg", text))
    if code is None:
        found = re.search(r"(?:\"code\"|\"retCode\")\s*:\s*\"?(-?\d+)", message)
        code = found.group(1) if found else None
    return code, text


def _detail(code: str | None, text: str, secrets: Iterable[str]) -> str:
    if not (code or text):
        return ""
    text = scrub(text, secrets)[:_MAX_DETAIL]
    inside = f"{code}: {text}" if code and text else (code or text)
    return f" ({inside})"


def retry_after_from(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form); None when absent or unreadable."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def translate(
    exc: BaseException,
    exchange: str,
    *,
    secrets: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    timeout_ms: int | None = None,
) -> ConnectorError:
    """Turn any exception raised while talking to an exchange into a ConnectorError."""
    if isinstance(exc, ConnectorError):
        return exc
    secrets = tuple(secrets)
    name = EXCHANGE_NAMES.get(exchange, exchange)
    raw = str(exc)
    code, text = exchange_code_and_text(raw) if isinstance(exc, ccxt.BaseError) else (None, "")
    detail = _detail(code, text, secrets)
    retry_after = retry_after_from(headers)

    def err(kind: ErrorKind, message: str, wait: float | None = None) -> ConnectorError:
        return ConnectorError(kind, scrub(message, secrets), wait)

    if code in _CLOCK_CODES or isinstance(exc, ccxt.InvalidNonce):
        return err(
            ErrorKind.CLOCK_SKEW,
            f"{name} rejected the request's timestamp: your computer's clock is off; "
            f"sync it{detail}",
        )
    if code == "-2015":
        return err(
            ErrorKind.PERMISSION,
            "Binance refused this key for futures: the key is unknown, lacks the futures "
            f"permission, or this IP is not on the key's whitelist{detail}",
        )
    if code in _PERMISSION_CODES or isinstance(exc, ccxt.PermissionDenied):
        return err(
            ErrorKind.PERMISSION,
            f"{name} accepted the key but refused this request: the key lacks futures "
            f"read permission or this IP is not whitelisted{detail}",
        )
    if code in _RATE_CODES or isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        banned = f"{exchange} 418 " in raw[:80]
        wait = retry_after if retry_after is not None else 60.0 if banned else 5.0
        what = (
            "has banned this IP address for too many requests"
            if banned
            else "is rate-limiting this connection"
        )
        return err(
            ErrorKind.RATE_LIMITED,
            f"{name} {what}; waiting {wait:g} s before the next request{detail}",
            wait,
        )
    if isinstance(exc, ccxt.AuthenticationError):
        return err(
            ErrorKind.AUTH,
            f"{name} rejected the API key or its signature: check the key and the secret"
            f"{' and passphrase' if exchange == 'okx' else ''}{detail}",
        )
    if (
        isinstance(exc, ccxt.OnMaintenance)
        or code in _MAINTENANCE_CODES
        or "maintenance" in raw.lower()
    ):
        return err(
            ErrorKind.EXCHANGE_DOWN,
            f"{name} is in maintenance or unavailable; will retry{detail}",
            retry_after if retry_after is not None else 30.0,
        )
    if isinstance(exc, ccxt.RequestTimeout):
        seconds = f" within {timeout_ms / 1000:g} s" if timeout_ms else ""
        return err(ErrorKind.TIMEOUT, f"{name} did not answer{seconds}; will retry", retry_after)
    if isinstance(exc, ccxt.ExchangeNotAvailable):
        return err(
            ErrorKind.EXCHANGE_DOWN,
            f"{name} is down or overloaded (server error); will retry{detail}",
            retry_after if retry_after is not None else 10.0,
        )
    if isinstance(exc, ccxt.BadSymbol):
        return err(ErrorKind.UNKNOWN_SYMBOL, f"{name} does not list that symbol{detail}")
    if isinstance(exc, ccxt.NotSupported):
        return err(ErrorKind.NOT_SUPPORTED, f"{name} does not offer this through its API{detail}")
    if isinstance(exc, ccxt.BadResponse):
        return err(ErrorKind.MALFORMED, f"{name} sent a response that could not be read")
    if isinstance(exc, ccxt.NetworkError):
        return err(
            ErrorKind.NETWORK,
            f"cannot reach {name}: check the internet connection or the API address",
        )
    if isinstance(exc, ccxt.ExchangeError) and code in _UNKNOWN_SYMBOL_CODES:
        return err(ErrorKind.UNKNOWN_SYMBOL, f"{name} does not list that symbol{detail}")
    if isinstance(exc, ccxt.ExchangeError):
        return err(ErrorKind.EXCHANGE_DOWN, f"{name} returned an error{detail}", 10.0)
    logger.debug("unreadable %s response", exchange, exc_info=exc)
    return err(ErrorKind.MALFORMED, f"{name} sent a response that could not be read")
