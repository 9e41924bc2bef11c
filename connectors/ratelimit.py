"""Rate limits and bans, shared by every connector that talks to one venue from this machine.

Exchanges limit by address and by key. Binance's request weight and its ban (HTTP 418, "IP
banned until <ms>", lengthened when requests continue) are per IP; so are Bybit's 403/10018,
OKX's public limits and Hyperliquid's. Bybit's 10006 and OKX's 50011/50061 on private endpoints
count per account (the key). An account's poller, its market-data connector and any stream
send from the same address, often with the same key, so a limit one of them meets holds for
all of them: ``RateLimits`` keeps, per (venue, address) and per (venue, address, key), the
time before which nothing may be sent, and every ``ExchangeConnector`` asks it before each
request and tells it about every rate-limit answer.

The address is the API's base URL as configured (the real exchange, a testnet, a proxy, the
local exchange): one process sends from one IP, so a venue's base URL stands for the pair
(our IP, their service). Keys are held as a short hash, never as the key itself.

How long: the longest of the answer's Retry-After (or the kind's default) and, for Binance's
ban, the time left until the "banned until" instant, converted from the exchange's clock to
ours (the connector's measured clock offset) and capped at ``MAX_HOLD_S``. ccxt (4.5,
binance.handle_errors) raises ``DDoSProtection("<id> 418 <reason> <body>")`` for both 418 and
429, with Binance's JSON body (``{"code":-1003,"msg":"Way too many requests; IP(…) banned until
1700000000000. …"}``) in the message; the Retry-After header is in the client's
``last_response_headers``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

MAX_HOLD_S = 3 * 86_400.0
"""Binance's longest automatic ban is three days; a longer text is not believed."""

BANNED_UNTIL = re.compile(r"banned until (\d{12,14})")
HTTP_STATUS = re.compile(r"^\S+ (\d{3}) ")
"""The HTTP status at the head of ccxt's error text ("binanceusdm 418 ...")."""

KEY_SCOPED_CODES = {
    "bybit": frozenset({"10006"}),
    "okx": frozenset({"50011", "50061"}),
}
"""Exchange codes whose limit counts per key (account), not per address."""


class Scope(Enum):
    ADDRESS = "address"
    KEY = "key"


@dataclass(frozen=True, slots=True)
class Hold:
    """Nothing is sent to the venue in this scope before ``until`` (seconds since the epoch)."""

    until: float
    scope: Scope
    banned: bool
    """An IP ban (HTTP 418), not a plain rate limit."""


def address_of(api_url: str | None) -> str:
    """The base URL a rate limit is kept for: scheme, host and port, never user info ("" for
    the real exchange)."""
    if not api_url:
        return ""
    parts = urlsplit(api_url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path.rstrip('/')}"


def key_id(key: str) -> str:
    """A short stable name for an API key or wallet, not the key itself."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16] if key else ""


def scope_of(exchange: str, code: str | None, status: int | None) -> Scope:
    """Which limit an answer reports: Binance's 418/429 and everything unnamed are per
    address; the codes in KEY_SCOPED_CODES are per key."""
    if status == 418:
        return Scope.ADDRESS
    if code is not None and code in KEY_SCOPED_CODES.get(exchange, frozenset()):
        return Scope.KEY
    return Scope.ADDRESS


def ban_expiry_ms(text: str) -> int | None:
    """The instant in Binance's "IP banned until 1700000000000" text (epoch ms), if any."""
    found = BANNED_UNTIL.search(text)
    return int(found.group(1)) if found else None


def hold_seconds(
    retry_after: float | None,
    banned_until_ms: int | None,
    exchange_now_ms: float,
) -> float:
    """How long to hold: the longest of Retry-After and the ban's time left (in the
    exchange's clock), within [0, MAX_HOLD_S]."""
    wait = retry_after or 0.0
    if banned_until_ms is not None:
        wait = max(wait, (banned_until_ms - exchange_now_ms) / 1000.0)
    return min(max(wait, 0.0), MAX_HOLD_S)


class RateLimits:
    """The holds in force, by venue, address and key; thread-safe. One per process
    (``RATE_LIMITS``); tests may make their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[tuple[str, ...], Hold] = {}

    @staticmethod
    def _scopes(venue: str, address: str, key: str) -> list[tuple[tuple[str, ...], Scope]]:
        out: list[tuple[tuple[str, ...], Scope]] = [((venue, address), Scope.ADDRESS)]
        if key:
            out.append(((venue, address, key), Scope.KEY))
        return out

    def active(self, venue: str, address: str, key: str, now: float) -> Hold | None:
        """The hold that lasts longest among those in force for this venue, address and key
        (``key`` as ``key_id`` gives it), or None when sending is allowed."""
        with self._lock:
            holds = [
                h
                for k, _ in self._scopes(venue, address, key)
                if (h := self._holds.get(k)) is not None and h.until > now
            ]
        return max(holds, key=lambda h: h.until) if holds else None

    def hold(
        self,
        venue: str,
        address: str,
        key: str,
        scope: Scope,
        until: float,
        *,
        banned: bool = False,
        now: float,
    ) -> Hold:
        """Hold the scope until ``until``; a hold already longer is kept."""
        target = (venue, address) if scope is Scope.ADDRESS or not key else (venue, address, key)
        with self._lock:
            self._holds = {k: h for k, h in self._holds.items() if h.until > now}
            current = self._holds.get(target)
            if current is None or until > current.until:
                current = Hold(until, scope, banned or (current.banned if current else False))
                self._holds[target] = current
            return current

    def clear(self) -> None:
        with self._lock:
            self._holds.clear()


RATE_LIMITS = RateLimits()


def record_limit(
    limits: RateLimits,
    venue: str,
    address: str,
    key: str,
    raw: str,
    code: str | None,
    retry_after: float | None,
    exchange_now_ms: float,
    now: float,
) -> tuple[Hold, Hold | None]:
    """Record a rate-limit answer (ccxt's error text ``raw``, the exchange's ``code``, the
    Retry-After) for everything that shares the limit; returns the hold now and the one in
    force before (the caller logs a hold that grew)."""
    status_match = HTTP_STATUS.match(raw)
    status = int(status_match.group(1)) if status_match else None
    wait = hold_seconds(retry_after, ban_expiry_ms(raw), exchange_now_ms)
    scope = scope_of(venue, code, status)
    before = limits.active(venue, address, key, now)
    hold = limits.hold(venue, address, key, scope, now + wait, banned=status == 418, now=now)
    return hold, before
