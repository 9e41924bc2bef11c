"""What an exchange handler receives and returns, independent of the HTTP plumbing.

A handler sees the request, the market, a way to find an account by its key (and Binance's
listen keys): nothing of the service that runs the server, so no handler module imports the
service (which imports them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Protocol

from connectors.localexchange.accounts import (
    AccountView,
    ClosedPosition,
    Liquidation,
    LocalAccount,
)
from connectors.localexchange.listenkeys import ListenKeys
from connectors.localexchange.market import Market


class Accounts(Protocol):
    """The accounts a handler may read: one, found by its exchange and key (or wallet)."""

    def get(self, exchange: str, key: str) -> LocalAccount | None: ...


@dataclass
class Request:
    method: str
    path: str
    raw_query: str
    query: dict[str, str]
    headers: Message
    body: bytes
    exchange: str
    server_ms: int
    """The exchange's clock (wall time plus any injected skew), in ms."""
    scenario_ms: int
    """The scenario time the answer describes (the tick), in ms."""
    market: Market
    accounts: Accounts
    exchange_time: Callable[[int], int]
    """The exchange's clock (ms) when the scenario reached a scenario time: what its records
    of the account's own events (a liquidation) are stamped with."""
    json_body: Any = None
    listen_keys: ListenKeys | None = None
    """Binance's user-data stream keys (the listenKey endpoints issue and renew them)."""

    def view(self, account: LocalAccount) -> AccountView:
        """The account as it stands at the request's scenario time."""
        return account.view(self.market, self.scenario_ms)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, {"Content-Type": "application/json", **(headers or {})})


class ApiError(Exception):
    """An error answer in the exchange's own format; the server sends ``response``."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def fmt(x: float, decimals: int = 8) -> str:
    """A decimal string as the exchanges send them ("67445.90000000")."""
    return f"{x:.{decimals}f}"


def short(x: float, decimals: int = 8) -> str:
    """A decimal string without trailing zeros ("0.005", "110565.3")."""
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def int_param(query: dict[str, str], name: str, default: int | None = None) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(float(str(value)))
    except ValueError:
        return default


@dataclass(frozen=True)
class ForcedFill:
    """One position a liquidation closed, as the exchanges record it: stamped with the
    exchange's clock (``time_ms``) and a stable ``id``."""

    liquidation: Liquidation
    position: ClosedPosition
    time_ms: int
    id: int


def forced_fills(req: Request, account: LocalAccount) -> list[ForcedFill]:
    """The account's positions closed by liquidations so far, oldest first (the account is
    brought up to the request's time first, which liquidates it if due)."""
    req.view(account)
    return [
        ForcedFill(
            liq,
            pos,
            req.exchange_time(liq.time_ms),
            (account.uid * 1000 + liq.number) * 100 + i,
        )
        for liq in list(account.liquidations)
        for i, pos in enumerate(liq.closed)
    ]


def in_window(
    fills: list[ForcedFill], start_ms: int | None, end_ms: int | None
) -> list[ForcedFill]:
    """The fills stamped within [start_ms, end_ms] (either end open when None)."""
    return [
        f
        for f in fills
        if (start_ms is None or f.time_ms >= start_ms) and (end_ms is None or f.time_ms <= end_ms)
    ]
