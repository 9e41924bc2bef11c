"""Bybit v5 streams: ``/v5/public/linear`` and ``/v5/private`` (Bybit's "WebSocket Stream"
documentation, v5).

Requests are ``{"op": "subscribe" | "unsubscribe" | "ping" | "auth", "req_id": .., "args": [..]}``
and are answered with ``{"success": .., "ret_msg": .., "conn_id": .., "req_id": .., "op": ..}``.
The private stream needs ``{"op": "auth", "args": [api_key, expires, signature]}`` first, the
signature being hex HMAC-SHA256(secret, "GET/realtime" + expires) with expires in ms in the
future. Topics: ``tickers.<symbol>`` (a snapshot, then deltas of what changed, at most every
100 ms, and every 2 s when the mark has not moved), ``allLiquidation.<symbol>`` (the
liquidations of each 500 ms in one message; ``S`` is the side of the position: "Buy" = a long
was liquidated), ``position`` and ``wallet`` (pushed
when they change; the client reads the starting state over REST).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, ClassVar

from connectors.localexchange.accounts import LocalAccount
from connectors.localexchange.bybit import position_row, ticker_row, wallet_body
from connectors.localexchange.market import price_decimals
from connectors.localexchange.protocol import fmt, short
from connectors.localexchange.signing import hmac_hex, same
from connectors.localexchange.wssession import Frame, Session, StreamState, Sub, parse_json
from risk.types import base_asset

EXCHANGE = "bybit"
TICKER_EVERY_S = 0.1
TICKER_QUIET_S = 2.0
"""An unchanged ticker is still pushed this often: on the venue the delta's other fields
(volume, turnover, open interest, the book's best prices) keep moving, so a live symbol is
never silent for long, even while its mark is pinned."""
LIQUIDATION_EVERY_S = 0.5
ACCOUNT_EVERY_S = 0.5
PRIVATE_TOPICS = ("position", "position.linear", "wallet")


def _symbol(base: str) -> str:
    return f"{base}USDT"


class BybitSession(Session):
    exchange: ClassVar[str] = EXCHANGE

    def __init__(self, lx: StreamState, path: str, query: dict[str, str]):
        super().__init__(lx, path, query)
        self.private = path == "/v5/private"
        self.account: LocalAccount | None = None
        self.conn_id = uuid.uuid4().hex[:20]

    def _ack(self, op: str, req_id: Any, ok: bool = True, msg: str = "") -> None:
        body: dict[str, Any] = {"success": ok, "ret_msg": msg, "conn_id": self.conn_id}
        if req_id is not None:
            body["req_id"] = req_id
        body["op"] = op
        self.reply(body)

    def on_text(self, text: str) -> None:
        msg = parse_json(text)
        if not isinstance(msg, dict):
            self._ack("", None, False, "error:request not json")
            return
        op, req_id, args = msg.get("op"), msg.get("req_id"), msg.get("args") or []
        if op == "ping":
            if self.private:
                pong = {"op": "pong", "args": [str(int(time.time() * 1000))]}
                self.reply({"req_id": req_id, **pong, "conn_id": self.conn_id}, "pong")
            else:
                self.reply(
                    {
                        "success": True,
                        "ret_msg": "pong",
                        "conn_id": self.conn_id,
                        "req_id": req_id,
                        "op": "ping",
                    },
                    "pong",
                )
        elif op == "auth":
            self._auth(args, req_id)
        elif op in ("subscribe", "unsubscribe") and isinstance(args, list):
            self._subscribe(op, [str(a) for a in args], req_id)
        else:
            self._ack(str(op or ""), req_id, False, f"error:handler not found,op:{op}")

    def _auth(self, args: list[Any], req_id: Any) -> None:
        if not self.private or len(args) != 3:
            self._ack("auth", req_id, False, "error:params error")
            return
        key, expires, signature = (str(a) for a in args)
        account = self.lx.store.get(EXCHANGE, key)
        if account is None:
            self._ack("auth", req_id, False, "Invalid apikey")
            return
        try:
            expired = int(expires) <= int(time.time() * 1000)
        except ValueError:
            expired = True
        if expired:
            self._ack("auth", req_id, False, "Params Error: expires is in the past")
            return
        if not same(hmac_hex(account.credentials.secret, "GET/realtime" + expires), signature):
            self._ack("auth", req_id, False, "Signature verification failed")
            return
        self.account = account
        self._ack("auth", req_id)

    def _subscribe(self, op: str, topics: list[str], req_id: Any) -> None:
        parsed: dict[str, Sub] = {}
        for topic in topics:
            sub = self._parse_topic(topic)
            if sub is None:
                self._ack(op, req_id, False, f"error:handler not found,topic:{topic}")
                return
            if sub.kind in ("position", "wallet") and self.account is None:
                self._ack(op, req_id, False, "Request not authorized")
                return
            parsed[topic] = sub
        for topic, sub in parsed.items():
            if op == "subscribe":
                self.subs[topic] = sub
            else:
                self.subs.pop(topic, None)
        self._ack(op, req_id)

    def _parse_topic(self, topic: str) -> Sub | None:
        if self.private:
            if topic in PRIVATE_TOPICS:
                return Sub("wallet" if topic == "wallet" else "position")
            return None
        name, _, symbol = topic.partition(".")
        base = base_asset(symbol)
        if symbol != _symbol(base) or base not in self.lx.market.bases:
            return None
        if name == "tickers":
            return Sub("ticker", base)
        if name in ("allLiquidation", "liquidation"):
            return Sub("liquidations", base, last_ms=self.scenario_ms(), extra={"topic": name})
        return None

    def due(self, now: float) -> list[Frame]:
        frames: list[Frame] = []
        t = self.scenario_ms()
        for topic, sub in self.subs.items():
            if now < sub.next_due and not (sub.kind == "ticker" and self.woken):
                continue
            if sub.kind == "ticker":
                sub.next_due = now + TICKER_EVERY_S
                frame = self._ticker(topic, sub, t, now)
            elif sub.kind == "liquidations":
                sub.next_due = now + LIQUIDATION_EVERY_S
                frame = self._liquidations(topic, sub, t)
            else:
                sub.next_due = now + ACCOUNT_EVERY_S
                frame = self._account(topic, sub, t)
            if frame is not None:
                frames.append(frame)
        return frames

    def _ticker(self, topic: str, sub: Sub, t: int, now: float) -> Frame | None:
        assert sub.base is not None
        m = self.lx.market
        d = price_decimals(sub.base)
        if sub.last_sent is None:
            data: dict[str, Any] = ticker_row(m, sub.base, t)
            kind = "snapshot"
        else:
            data = {
                "symbol": _symbol(sub.base),
                "markPrice": fmt(m.mark(sub.base, t), d),
                "indexPrice": fmt(m.index_price(sub.base, t), d),
                "lastPrice": fmt(m.last_price(sub.base, t), d),
            }
            quiet = now >= sub.extra.get("quiet_until", 0.0)
            if data["markPrice"] == sub.last_sent and not (self.woken or quiet):
                return None
            kind = "delta"
        sub.last_sent = data["markPrice"]
        sub.extra["quiet_until"] = now + TICKER_QUIET_S
        return Frame(
            {"topic": topic, "type": kind, "data": data, "cs": t // 10, "ts": t}, "tickers"
        )

    def _liquidations(self, topic: str, sub: Sub, t: int) -> Frame | None:
        assert sub.base is not None
        start = sub.last_ms if sub.last_ms is not None and sub.last_ms <= t else t
        sub.last_ms = t
        prints = self.lx.tape.prints(EXCHANGE, sub.base, start, t)
        if not prints:
            return None
        d = price_decimals(sub.base)
        rows = [
            {
                "T": p.time_ms,
                "s": _symbol(p.base),
                "S": "Buy" if p.side == "long" else "Sell",
                "v": short(p.amount, 3),
                "p": fmt(p.price, d),
            }
            for p in prints
        ]
        if sub.extra.get("topic") == "liquidation":
            last = rows[-1]
            data: Any = {
                "price": last["p"],
                "side": last["S"],
                "size": last["v"],
                "symbol": last["s"],
                "updatedTime": last["T"],
            }
        else:
            data = rows
        return Frame({"topic": topic, "type": "snapshot", "ts": t, "data": data}, "allLiquidation")

    def _account(self, topic: str, sub: Sub, t: int) -> Frame | None:
        """Pushed when the account changed since the last look (not on the first look)."""
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
        header = {"id": uuid.uuid4().hex, "topic": topic, "creationTime": t}
        if sub.kind == "wallet":
            return Frame({**header, "data": [wallet_body(view)]}, "wallet")
        rows = [{**position_row(p, t), "category": "linear"} for p in view.positions]
        for base in sorted({b for b, *_ in previous[1]} - {p.base for p in view.positions}):
            rows.append(
                {
                    "category": "linear",
                    "symbol": _symbol(base),
                    "side": "",
                    "size": "0",
                    "positionIdx": 0,
                    "positionValue": "0",
                    "entryPrice": "0",
                    "avgPrice": "0",
                    "markPrice": fmt(self.lx.market.mark(base, t), price_decimals(base)),
                    "leverage": "20",
                    "positionIM": "0",
                    "positionMM": "0",
                    "unrealisedPnl": "0",
                    "liqPrice": "",
                    "bustPrice": "",
                    "positionStatus": "Normal",
                    "tradeMode": 0,
                    "createdTime": str(t),
                    "updatedTime": str(t),
                }
            )
        return Frame({**header, "data": rows}, "position")
