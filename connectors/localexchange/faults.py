"""Fault injection, per exchange and per endpoint.

``inject(kind, exchange=None, endpoint=None, **params)`` adds a rule; a request matches when the
exchange is the rule's (or the rule has none) and the endpoint is the request's path, a
suffix of it, or (Hyperliquid) the ``type`` of its POST /info body. ``times=N`` limits a rule to
the next N matching requests. Kinds and their parameters:

- ``latency``     ``seconds`` (default 0.5) added before the normal answer
- ``timeout``     hang ``seconds`` (default 60, longer than any client timeout), then drop
- ``429``         HTTP 429 with ``Retry-After: retry_after`` (default 1) and the exchange's body
- ``418``         HTTP 418 (Binance's IP ban) with ``Retry-After``; with ``ban_s`` a real ban:
                  from the first matching request on, every matching request is answered 418
                  for ``ban_s`` seconds (wall clock), with ``Retry-After`` the seconds left and
                  Binance's "banned until <ms>" text; then the rule lifts itself
- ``5xx``         HTTP ``status`` (default 502) with a gateway error page
- ``maintenance`` HTTP 503 with the exchange's own maintenance body
- ``malformed``   HTTP ``status`` (default 200) with a body cut off mid-JSON
- ``clock_skew``  the exchange's clock runs ``skew_ms`` (default 5000) ahead (negative: behind)

The streaming side (connectors/localexchange/wsserver.py) has three more, matched against the
WebSocket path or the channel; HTTP requests never see them, nor streams the HTTP kinds:

- ``ws_drop``     drop the connection without a close frame (``mid_frame=1``: after half of a
                  frame); ``times=N`` drops N connections, without ``times`` every connection
                  as soon as it is made (a reconnect storm) until ``seconds`` have passed
- ``ws_silent``   send no data frames (subscriptions are still answered; ``pongs=0`` stops the
                  pongs too), until ``seconds`` have passed or the rule is cleared
- ``ws_malformed`` the next data frame(s) cut off in the middle of the JSON

An unknown kind, exchange or parameter, or a value that is not a finite number, is refused
with a one-line ``ValueError``. ``parse_spec`` reads the same rule from one line of text
(``418,exchange=binanceusdm,ban_s=120``), as ``localexchange --fault`` and the control
endpoint (connectors/localexchange/control.py) take it.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

HTTP_KINDS = ("latency", "timeout", "429", "418", "5xx", "maintenance", "malformed", "clock_skew")
WS_KINDS = ("ws_drop", "ws_silent", "ws_malformed")
KINDS = HTTP_KINDS + WS_KINDS
PARAMS: dict[str, tuple[str, ...]] = {
    "latency": ("seconds",),
    "timeout": ("seconds",),
    "429": ("retry_after",),
    "418": ("retry_after", "ban_s"),
    "5xx": ("status",),
    "maintenance": (),
    "malformed": ("status",),
    "clock_skew": ("skew_ms",),
    "ws_drop": ("mid_frame", "seconds"),
    "ws_silent": ("pongs", "seconds"),
    "ws_malformed": (),
}
"""Each kind's parameters (besides exchange, endpoint and times)."""
EXCHANGE_NAMES = ("binanceusdm", "bybit", "okx", "hyperliquid")


@dataclass
class Fault:
    kind: str
    exchange: str | None
    endpoint: str | None
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = None
    banned_at: float | None = None
    """Wall-clock seconds of the request that started a ``ban_s`` ban."""
    created: float = field(default_factory=time.monotonic)

    @property
    def expired(self) -> bool:
        """A stream fault with ``seconds`` ends that long after it was injected."""
        seconds = self.params.get("seconds")
        return (
            self.kind in WS_KINDS
            and seconds is not None
            and (time.monotonic() - self.created >= float(seconds))
        )

    @property
    def ban_until(self) -> float | None:
        """When a started ban ends (wall-clock seconds), else None."""
        if self.banned_at is None:
            return None
        return self.banned_at + float(self.params["ban_s"])

    def retry_after(self, now: float) -> int:
        """The Retry-After header's seconds: what is left of a ban, else ``retry_after``."""
        until = self.ban_until
        if until is not None:
            return max(1, math.ceil(until - now))
        return int(self.params.get("retry_after", 1))

    def matches(self, exchange: str, path: str, info_type: str | None) -> bool:
        if self.exchange is not None and self.exchange != exchange:
            return False
        if self.endpoint is None:
            return True
        ep = self.endpoint
        return path == ep or path.endswith(ep) or (info_type is not None and info_type == ep)


class Faults:
    """The active fault rules; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def inject(
        self,
        kind: str,
        *,
        exchange: str | None = None,
        endpoint: str | None = None,
        times: int | None = None,
        **params: Any,
    ) -> Fault:
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
        if exchange == "binance":
            exchange = "binanceusdm"
        if endpoint is not None and not isinstance(endpoint, str):
            raise ValueError(f"endpoint must be a path or a request type, not {endpoint!r}")
        if exchange is not None and exchange not in EXCHANGE_NAMES:
            raise ValueError(
                f"unknown exchange {exchange!r}; expected one of {', '.join(EXCHANGE_NAMES)}"
            )
        for name, value in params.items():
            if name not in PARAMS[kind]:
                allowed = ", ".join((*PARAMS[kind], "times")) or "times"
                raise ValueError(f"a {kind} fault takes no {name!r}; it takes {allowed}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if not math.isfinite(value) or (name != "skew_ms" and value < 0):
                raise ValueError(f"{name} must be a finite number of at least 0, not {value!r}")
            if name == "status" and not (
                isinstance(value, int) and (500 if kind == "5xx" else 100) <= value <= 599
            ):
                raise ValueError(f"status must be an HTTP status code, not {value!r}")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError(f"times must be a whole number of at least 1, not {times!r}")
        fault = Fault(kind, exchange, endpoint, dict(params), times)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            self._rules = [] if kind is None else [f for f in self._rules if f.kind != kind]

    def describe(self) -> list[dict[str, Any]]:
        """The active rules, as the control endpoint lists them."""
        with self._lock:
            return [
                {
                    "kind": f.kind,
                    "exchange": f.exchange,
                    "endpoint": f.endpoint,
                    "params": dict(f.params),
                    "remaining": f.remaining,
                    "ban_until_ms": None if f.ban_until is None else int(f.ban_until * 1000),
                }
                for f in self._rules
            ]

    def take(
        self, exchange: str, path: str, info_type: str | None, now: float | None = None
    ) -> list[Fault]:
        """The faults that apply to this request (a clock skew is not consumed here). ``now``:
        wall-clock seconds, for bans."""
        now = time.time() if now is None else now
        out = []
        with self._lock:
            self._rules = [f for f in self._rules if not _ban_over(f, now)]
            for f in self._rules:
                if f.kind in ("clock_skew", *WS_KINDS) or not f.matches(exchange, path, info_type):
                    continue
                if f.remaining is not None:
                    if f.remaining <= 0:
                        continue
                    f.remaining -= 1
                if "ban_s" in f.params and f.banned_at is None:
                    f.banned_at = now
                out.append(f)
            self._rules = [f for f in self._rules if f.remaining is None or f.remaining > 0]
        return out

    def take_ws(
        self, exchange: str, path: str, channel: str, kinds: tuple[str, ...]
    ) -> list[Fault]:
        """The stream faults of ``kinds`` that apply to a frame on ``channel`` of a
        connection at ``path`` (a ``times`` rule is consumed; a ``seconds`` rule expires)."""
        out = []
        with self._lock:
            self._rules = [f for f in self._rules if not f.expired]
            for f in self._rules:
                if f.kind not in kinds or not f.matches(exchange, path, channel or None):
                    continue
                if f.remaining is not None:
                    if f.remaining <= 0:
                        continue
                    f.remaining -= 1
                out.append(f)
            self._rules = [f for f in self._rules if f.remaining is None or f.remaining > 0]
        return out

    def skew_ms(self, exchange: str, path: str = "", info_type: str | None = None) -> int:
        with self._lock:
            return sum(
                int(f.params.get("skew_ms", 5000))
                for f in self._rules
                if f.kind == "clock_skew" and f.matches(exchange, path, info_type)
            )


def _ban_over(fault: Fault, now: float) -> bool:
    until = fault.ban_until
    return until is not None and now >= until


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """One fault rule from a line: the kind, then comma-separated ``name=value`` pairs
    (``exchange``, ``endpoint``, ``times`` and the kind's parameters), e.g.
    ``418,exchange=binanceusdm,ban_s=120`` or ``latency,exchange=okx,seconds=2,times=5``.
    Returns (kind, keyword arguments for ``Faults.inject``); the values are checked there."""
    kind, *pairs = [part.strip() for part in text.strip().split(",")]
    if not kind:
        raise ValueError("a fault starts with its kind: " + ", ".join(KINDS))
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"expected name=value after the fault's kind, not {pair!r}")
        if name in kwargs:
            raise ValueError(f"{name} is given twice")
        if name in ("exchange", "endpoint"):
            kwargs[name] = value
            continue
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, not {value!r}") from None
        kwargs[name] = (
            int(number) if number.is_integer() and name in ("times", "status") else number
        )
    return kind, kwargs
