"""Binance USDⓈ-M futures streams, at the paths ccxt 4.5.90 builds: ``/market/ws/<n>`` and
``/public/ws/<n>`` (subscriptions by ``{"method": "SUBSCRIBE", "params": [...], "id": n}``,
answered ``{"result": null, "id": n}``) and the user-data stream ``/private/ws?listenKey=K``
(the key comes from ``POST /fapi/v1/listenKey``; no subscription needed).

Streams (Binance's "WebSocket Market Streams" and "User Data Streams" documentation):
``<symbol>@markPrice[@1s]`` and ``!markPrice@arr[@1s]`` (``markPriceUpdate`` every 1 s, or 3 s
without ``@1s``), ``<symbol>@ticker`` / ``@miniTicker`` and their ``!…@arr`` (``24hrTicker`` /
``24hrMiniTicker`` every 500 ms / 1 s), ``<symbol>@forceOrder`` and ``!forceOrder@arr`` (one
``forceOrder`` event per liquidation; Binance sends at most the latest one per symbol per
second), and on the user
stream ``ACCOUNT_UPDATE`` whenever a position or the wallet changes. Pings are WebSocket
frames, answered by the server.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.localexchange.accounts import LocalAccount
from connectors.localexchange.binance import premium_row, ticker_row
from connectors.localexchange.liquidations import Print
from connectors.localexchange.market import price_decimals
from connectors.localexchange.protocol import fmt, short
from connectors.localexchange.wssession import Frame, Session, StreamState, Sub, parse_json
from risk.types import base_asset

EXCHANGE = "binanceusdm"
LIQUIDATION_EVERY_S = 0.25
TICKERS = {"ticker": ("24hrTicker", 0.5), "miniTicker": ("24hrMiniTicker", 1.0)}
"""Stream name -> (event type, push interval in seconds)."""
ACCOUNT_EVERY_S = 0.5


def _symbol(base: str) -> str:
    return f"{base}USDT"


def force_order(p: Print, event_ms: int) -> dict[str, Any]:
    d = price_decimals(p.base)
    qty = short(p.amount, 3)
    return {
        "e": "forceOrder",
        "E": event_ms,
        "o": {
            "s": _symbol(p.base),
            "S": "SELL" if p.side == "long" else "BUY",
            "o": "LIMIT",
            "f": "IOC",
            "q": qty,
            "p": fmt(p.price * (0.998 if p.side == "long" else 1.002), d),
            "ap": fmt(p.price, d),
            "X": "FILLED",
            "l": qty,
            "z": qty,
            "T": p.time_ms,
        },
    }


class BinanceSession(Session):
    exchange: ClassVar[str] = EXCHANGE

    def __init__(self, lx: StreamState, path: str, query: dict[str, str]):
        super().__init__(lx, path, query)
        self.account: LocalAccount | None = None

    def accept(self) -> str | None:
        if not self.path.startswith("/private/ws"):
            return None
        key = self.query.get("listenKey", "")
        self.account = self.lx.listen_keys.account(key)
        if self.account is None:
            return '{"code":-1125,"msg":"This listenKey does not exist."}'
        self.subs["account"] = Sub("account", last_sent=None)
        return None

    def on_text(self, text: str) -> None:
        msg = parse_json(text)
        if not isinstance(msg, dict) or "method" not in msg:
            self.reply({"error": {"code": 3, "msg": "Invalid JSON: expected value"}, "id": None})
            return
        method = msg.get("method")
        req_id = msg.get("id")
        params = msg.get("params") or []
        if method == "LIST_SUBSCRIPTIONS":
            self.reply({"result": sorted(self.subs), "id": req_id})
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            self.reply(
                {"error": {"code": 2, "msg": "Invalid request: unknown method"}, "id": req_id}
            )
            return
        parsed = [self._parse_stream(str(p)) for p in params]
        if any(s is None for s in parsed):
            self.reply(
                {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": req_id}
            )
            return
        for name, sub in zip(params, parsed, strict=True):
            if method == "SUBSCRIBE":
                assert sub is not None
                self.subs[str(name)] = sub
            else:
                self.subs.pop(str(name), None)
        self.reply({"result": None, "id": req_id})

    def _parse_stream(self, name: str) -> Sub | None:
        bases = self.lx.market.bases
        parts = name.split("@")
        target, kind = parts[0], parts[1] if len(parts) > 1 else ""
        if target.startswith("!"):
            base = None
            if parts[-1] not in ("arr", "1s") or kind not in (*TICKERS, "markPrice", "forceOrder"):
                return None
        else:
            base = base_asset(target.upper())
            if target.upper() != _symbol(base) or base not in bases:
                return None
        if kind == "markPrice":
            every = 1.0 if parts[-1] == "1s" else 3.0
            return Sub("mark", base, extra={"every": every})
        if kind == "forceOrder":
            return Sub("liquidations", base, last_ms=self.scenario_ms())
        if kind in TICKERS:
            return Sub("ticker", base, extra={"every": TICKERS[kind][1], "event": kind})
        return None

    def due(self, now: float) -> list[Frame]:
        frames: list[Frame] = []
        t = self.scenario_ms()
        for sub in self.subs.values():
            if sub.kind == "mark" and (self.woken or now >= sub.next_due):
                sub.next_due = now + sub.extra["every"]
                rows = [
                    {"e": "markPriceUpdate", "E": t, **self._mark(b, t)}
                    for b in ([sub.base] if sub.base else self.lx.market.bases)
                ]
                frames.append(Frame(rows[0] if sub.base else rows, "markPrice"))
            elif sub.kind == "ticker" and now >= sub.next_due:
                sub.next_due = now + sub.extra["every"]
                kind = sub.extra["event"]
                rows = [
                    self._ticker(kind, b, t)
                    for b in ([sub.base] if sub.base else self.lx.market.bases)
                ]
                frames.append(Frame(rows[0] if sub.base else rows, TICKERS[kind][0]))
            elif sub.kind == "liquidations" and now >= sub.next_due:
                sub.next_due = now + LIQUIDATION_EVERY_S
                start = sub.last_ms if sub.last_ms is not None and sub.last_ms <= t else t
                sub.last_ms = t
                for b in [sub.base] if sub.base else self.lx.market.bases:
                    for p in self.lx.tape.prints(EXCHANGE, b, start, t):
                        frames.append(Frame(force_order(p, p.time_ms), "forceOrder"))
            elif sub.kind == "account" and now >= sub.next_due:
                sub.next_due = now + ACCOUNT_EVERY_S
                frame = self._account_update(sub, t)
                if frame is not None:
                    frames.append(frame)
        return frames

    def _mark(self, base: str, t: int) -> dict[str, Any]:
        row = premium_row(self.lx.market, base, t)
        return {
            "s": row["symbol"],
            "p": row["markPrice"],
            "i": row["indexPrice"],
            "P": row["estimatedSettlePrice"],
            "r": row["lastFundingRate"],
            "T": row["nextFundingTime"],
        }

    def _ticker(self, kind: str, base: str, t: int) -> dict[str, Any]:
        row = ticker_row(self.lx.market, base, t)
        out: dict[str, Any] = {"e": TICKERS[kind][0], "E": t, "s": row["symbol"]}
        names = {"c": "lastPrice", "o": "openPrice", "h": "highPrice", "l": "lowPrice"}
        names |= {"v": "volume", "q": "quoteVolume"}
        if kind == "ticker":
            names |= {"p": "priceChange", "P": "priceChangePercent", "w": "weightedAvgPrice"}
            names |= {"Q": "lastQty", "O": "openTime", "C": "closeTime", "F": "firstId"}
            names |= {"L": "lastId", "n": "count"}
        out.update({short_name: row[name] for short_name, name in names.items()})
        return out

    def _account_update(self, sub: Sub, t: int) -> Frame | None:
        """``ACCOUNT_UPDATE`` when the positions or the wallet changed since the last push
        (not on the first look: the client reads the snapshot over REST)."""
        account = self.account
        if account is None:
            return None
        view = account.view(self.lx.market, t)
        state = (
            round(view.wallet_balance, 8),
            tuple((p.base, p.side.name, p.size, p.entry) for p in view.positions),
        )
        previous = sub.last_sent
        sub.last_sent = state
        if previous is None or previous == state:
            return None
        held = {p.base: p for p in view.positions}
        gone = {b for b, *_ in previous[1]} - set(held)
        rows = [
            {
                "s": _symbol(p.base),
                "pa": short(p.side.sign * p.size, 3),
                "ep": short(p.entry, 8),
                "bep": short(p.entry, 8),
                "cr": "0",
                "up": fmt(p.unrealized_pnl),
                "mt": "cross",
                "iw": "0",
                "ps": "BOTH",
                "ma": "USDT",
            }
            for p in view.positions
        ] + [
            {
                "s": _symbol(b),
                "pa": "0",
                "ep": "0.00000",
                "bep": "0",
                "cr": "0",
                "up": "0",
                "mt": "cross",
                "iw": "0",
                "ps": "BOTH",
                "ma": "USDT",
            }
            for b in sorted(gone)
        ]
        wallet = fmt(view.wallet_balance)
        return Frame(
            {
                "e": "ACCOUNT_UPDATE",
                "E": t,
                "T": t,
                "a": {
                    "m": "ORDER",
                    "B": [{"a": "USDT", "wb": wallet, "cw": wallet, "bc": "0"}],
                    "P": rows,
                },
            },
            "ACCOUNT_UPDATE",
        )
