"""Fault injection, per exchange and per endpoint.

``inject(kind, exchange=None, endpoint=None, **params)`` adds a rule; a request matches when the
exchange is the rule's (or the rule has none) and the endpoint is the request's path, a
suffix of it, or (Hyperliquid) the ``type`` of its POST /info body. ``times=N`` limits a rule to
the next N matching requests. Kinds and their parameters:

- ``latency``     ``seconds`` (default 0.5) added before the normal answer
- ``timeout``     hang ``seconds`` (default 60, longer than any client timeout), then drop
- ``429``         HTTP 429 with ``Retry-After: retry_after`` (default 1) and the exchange's body
- ``418``         HTTP 418 (Binance's IP ban) with ``Retry-After``
- ``5xx``         HTTP ``status`` (default 502) with a gateway error page
- ``maintenance`` HTTP 503 with the exchange's own maintenance body
- ``malformed``   HTTP ``status`` (default 200) with a body cut off mid-JSON
- ``clock_skew``  the exchange's clock runs ``skew_ms`` (default 5000) ahead (negative: behind)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "timeout", "429", "418", "5xx", "maintenance", "malformed", "clock_skew")


@dataclass
class Fault:
    kind: str
    exchange: str | None
    endpoint: str | None
    params: dict[str, Any] = field(default_factory=dict)
    remaining: int | None = None

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
        fault = Fault(kind, exchange, endpoint, dict(params), times)
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            self._rules = [] if kind is None else [f for f in self._rules if f.kind != kind]

    def take(self, exchange: str, path: str, info_type: str | None) -> list[Fault]:
        """The faults that apply to this request (a clock skew is not consumed here)."""
        out = []
        with self._lock:
            for f in self._rules:
                if f.kind == "clock_skew" or not f.matches(exchange, path, info_type):
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
