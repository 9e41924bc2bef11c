"""OKX v5 streams: ``/ws/v5/public``, ``/ws/v5/private`` (and ``/ws/v5/business``, which
serves nothing here), per OKX's API v5 "WebSocket" documentation.

Requests are ``{"op": "subscribe" | "unsubscribe" | "login", "args": [...]}``; answers are
``{"event": "subscribe", "arg": .., "connId": ..}``, ``{"event": "login", "code": "0", ..}`` or
``{"event": "error", "code": .., "msg": .., "connId": ..}``. Keep-alive is the text "ping",
answered "pong". Login: ``{"apiKey", "passphrase", "timestamp" (Unix seconds, within 30 s),
"sign": base64 HMAC-SHA256(secret, timestamp + "GET" + "/users/self/verify")}``.

Channels: ``mark-price`` (pushed when the mark changes, at most every 200 ms, and every 10 s
without a change), ``tickers`` (when the last price changes, at most every 100 ms),
``liquidation-orders`` by ``instType`` (every swap's liquidations; at most one order per
instrument per second, sizes in contracts), and after login ``positions`` and ``account`` (a
snapshot on subscription, then on every change and every 10 s).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from connectors.localexchange.accounts import LocalAccount, contract_size
from connectors.localexchange.market import price_decimals
from connectors.localexchange.okx import balance_body, mark_row, position_rows, ticker_row
from connectors.localexchange.protocol import short
from connectors.localexchange.signing import hmac_b64, same
from connectors.localexchange.wssession import Frame, Session, StreamState, Sub, parse_json

EXCHANGE = "okx"
MARK_EVERY_S = 0.2
TICKER_EVERY_S = 0.1
MARK_QUIET_S = 10.0
LIQUIDATION_EVERY_S = 0.25
ACCOUNT_EVERY_S = 0.5
ACCOUNT_REGULAR_S = 10.0
LOGIN_WINDOW_S = 30


def _inst_id(base: str) -> str:
    return f"{base}-USDT-SWAP"


class OkxSession(Session):
    exchange: ClassVar[str] = EXCHANGE

    def __init__(self, lx: StreamState, path: str, query: dict[str, str]):
        super().__init__(lx, path, query)
        self.private = path == "/ws/v5/private"
        self.account: LocalAccount | None = None
        self.conn_id = uuid.uuid4().hex[:8]

    def _error(self, code: str, msg: str) -> None:
        self.reply({"event": "error", "code": code, "msg": msg, "connId": self.conn_id})

    def on_text(self, text: str) -> None:
        if text == "ping":
            self.reply("pong", "pong")
            return
        msg = parse_json(text)
        if not isinstance(msg, dict):
            self._error("60012", f"Illegal request: {text}")
            return
        op, args = msg.get("op"), msg.get("args")
        if not isinstance(args, list):
            self._error("60012", f"Illegal request: {text}")
        elif op == "login":
            self._login(args)
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(str(op), args, text)
        else:
            self._error("60012", f"Illegal request: {text}")

    def _login(self, args: list[Any]) -> None:
        arg = args[0] if args and isinstance(args[0], dict) else {}
        account = self.lx.store.get(EXCHANGE, str(arg.get("apiKey", "")))
        if not self.private or account is None:
            self._error("60005", "Invalid OK-ACCESS-KEY")
            return
        stamp = str(arg.get("timestamp", ""))
        try:
            fresh = abs(float(stamp) - time.time()) <= LOGIN_WINDOW_S
        except ValueError:
            fresh = False
        if not fresh:
            self._error("60006", "Timestamp request expired")
            return
        if not same(str(arg.get("passphrase", "")), account.credentials.password):
            self._error("60024", "Wrong passphrase")
            return
        expected = hmac_b64(account.credentials.secret, stamp + "GET" + "/users/self/verify")
        if not same(expected, str(arg.get("sign", ""))):
            self._error("60007", "Invalid sign")
            return
        self.account = account
        self.reply({"event": "login", "code": "0", "msg": "", "connId": self.conn_id})

    def _subscribe(self, op: str, args: list[Any], text: str) -> None:
        parsed = []
        for arg in args:
            sub = self._parse_arg(arg) if isinstance(arg, dict) else None
            if sub is None:
                self._error("60018", f"Wrong URL or channel:{arg}, doesn't exist.")
                return
            if sub.kind in ("positions", "account") and self.account is None:
                self._error("60011", "Please log in")
                return
            parsed.append((arg, sub))
        for arg, sub in parsed:
            key = repr(sorted(arg.items()))
            if op == "subscribe":
                self.subs[key] = sub
            else:
                self.subs.pop(key, None)
            self.reply({"event": op, "arg": arg, "connId": self.conn_id})

    def _parse_arg(self, arg: dict[str, Any]) -> Sub | None:
        channel = arg.get("channel")
        if self.private:
            if channel == "positions" and arg.get("instType") in ("ANY", "SWAP"):
                return Sub("positions", key=arg)
            if channel == "account":
                return Sub("account", key=arg)
            return None
        if self.path != "/ws/v5/public":
            return None
        if channel in ("mark-price", "tickers"):
            base = next((b for b in self.lx.market.bases if _inst_id(b) == arg.get("instId")), None)
            kind = "mark" if channel == "mark-price" else "ticker"
            return None if base is None else Sub(kind, base, key=arg)
        if channel == "liquidation-orders" and arg.get("instType") == "SWAP":
            return Sub("liquidations", key=arg, last_ms=self.scenario_ms())
        return None

    def due(self, now: float) -> list[Frame]:
        frames: list[Frame] = []
        t = self.scenario_ms()
        for sub in self.subs.values():
            if sub.kind == "mark":
                if now >= sub.next_due or self.woken:
                    frame = self._mark(sub, t, now)
                    if frame is not None:
                        frames.append(frame)
            elif sub.kind == "ticker":
                if now >= sub.next_due or self.woken:
                    frame = self._ticker(sub, t, now)
                    if frame is not None:
                        frames.append(frame)
            elif now < sub.next_due:
                continue
            elif sub.kind == "liquidations":
                sub.next_due = now + LIQUIDATION_EVERY_S
                frames.extend(self._liquidations(sub, t))
            else:
                sub.next_due = now + ACCOUNT_EVERY_S
                frame = self._account(sub, t, now)
                if frame is not None:
                    frames.append(frame)
        return frames

    def _mark(self, sub: Sub, t: int, now: float) -> Frame | None:
        assert sub.base is not None
        row = mark_row(self.lx.market, sub.base, t)
        changed = row["markPx"] != sub.last_sent
        quiet_due = now >= sub.extra.get("quiet_until", 0.0)
        if not (changed or quiet_due or self.woken):
            sub.next_due = now + MARK_EVERY_S
            return None
        sub.last_sent = row["markPx"]
        sub.next_due = now + MARK_EVERY_S
        sub.extra["quiet_until"] = now + MARK_QUIET_S
        return Frame({"arg": sub.key, "data": [row]}, "mark-price")

    def _ticker(self, sub: Sub, t: int, now: float) -> Frame | None:
        assert sub.base is not None
        sub.next_due = now + TICKER_EVERY_S
        last = self.lx.market.last_price(sub.base, t)
        if last == sub.last_sent and not self.woken:
            return None
        sub.last_sent = last
        row = ticker_row(self.lx.market, sub.base, t)
        return Frame({"arg": sub.key, "data": [row]}, "tickers")

    def _liquidations(self, sub: Sub, t: int) -> list[Frame]:
        start = sub.last_ms if sub.last_ms is not None and sub.last_ms <= t else t
        sub.last_ms = t
        frames = []
        for base in self.lx.market.bases:
            cs = contract_size(EXCHANGE, base)
            d = price_decimals(base)
            for p in self.lx.tape.prints(EXCHANGE, base, start, t):
                detail = {
                    "bkLoss": "0",
                    "bkPx": short(p.price, d + 1),
                    "ccy": "",
                    "posSide": p.side,
                    "side": "sell" if p.side == "long" else "buy",
                    "sz": short(p.amount / cs, 2),
                    "ts": str(p.time_ms),
                }
                body = {
                    "details": [detail],
                    "instFamily": f"{base}-USDT",
                    "instId": _inst_id(base),
                    "instType": "SWAP",
                    "uly": f"{base}-USDT",
                }
                frames.append(Frame({"arg": sub.key, "data": [body]}, "liquidation-orders"))
        return frames

    def _account(self, sub: Sub, t: int, now: float) -> Frame | None:
        """A snapshot first, then the state on every change and every 10 s."""
        account = self.account
        if account is None:
            return None
        view = account.view(self.lx.market, t)
        state = (
            round(view.wallet_balance, 8),
            tuple((p.base, p.side.name, p.size, p.entry) for p in view.positions),
        )
        previous = sub.last_sent
        regular = now >= sub.extra.get("regular_at", 0.0)
        if previous == state and not regular:
            return None
        sub.last_sent = state
        sub.extra["regular_at"] = now + ACCOUNT_REGULAR_S
        kind = "snapshot" if previous is None else "event_update"
        arg = {**sub.key, "uid": str(account.uid)}
        head = {"arg": arg, "eventType": kind, "curPage": 1, "lastPage": True}
        if sub.kind == "account":
            return Frame({**head, "data": [balance_body(view)]}, "account")
        rows = position_rows(self.lx.market, account, view)
        if previous is not None:
            for base in sorted({b for b, *_ in previous[1]} - {p.base for p in view.positions}):
                rows.append(
                    {
                        "instId": _inst_id(base),
                        "instType": "SWAP",
                        "mgnMode": "cross",
                        "posSide": "net",
                        "pos": "0",
                        "avgPx": "",
                        "ccy": "USDT",
                        "posId": str(1000 + account.id),
                        "uTime": str(t),
                        "pTime": str(t),
                    }
                )
        return Frame({**head, "data": rows}, "positions")
