"""Hyperliquid streams: ``/ws`` (Hyperliquid's "WebSocket" / "Subscriptions" documentation).

Requests are ``{"method": "subscribe" | "unsubscribe", "subscription": {"type": ..}}``,
answered ``{"channel": "subscriptionResponse", "data": <the request>}``; ``{"method": "ping"}``
is answered ``{"channel": "pong"}``; a bad request gets ``{"channel": "error", "data": ..}``.
Subscriptions: ``activeAssetCtx`` (one perp's context with its mark, when it changes, at most
every 500 ms, and every 2 s without a change), ``allMids``, and ``clearinghouseState`` by user
address (no login: the address is public; a snapshot, then every second, as the state moves
with the marks). Hyperliquid has no public liquidation feed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from connectors.localexchange.hyperliquid import ADDRESS, asset_ctx, clearinghouse_body, px
from connectors.localexchange.wssession import Frame, Session, Sub, parse_json

EXCHANGE = "hyperliquid"
CTX_EVERY_S = 0.5
CTX_QUIET_S = 2.0
MIDS_EVERY_S = 0.5
STATE_EVERY_S = 1.0


class HyperliquidSession(Session):
    exchange: ClassVar[str] = EXCHANGE

    def on_text(self, text: str) -> None:
        msg = parse_json(text)
        if not isinstance(msg, dict) or "method" not in msg:
            self._error(f"Error parsing JSON into valid websocket request: {text}")
            return
        method = msg["method"]
        if method == "ping":
            self.reply({"channel": "pong"}, "pong")
            return
        subscription = msg.get("subscription")
        if method not in ("subscribe", "unsubscribe") or not isinstance(subscription, dict):
            self._error(f"Error parsing JSON into valid websocket request: {text}")
            return
        sub = self._parse(subscription)
        if sub is None:
            self._error(f"Invalid subscription {text}")
            return
        key = repr(sorted(subscription.items()))
        if method == "subscribe":
            if key in self.subs:
                self._error(f"Already subscribed: {text}")
                return
            self.subs[key] = sub
        else:
            self.subs.pop(key, None)
        self.reply({"channel": "subscriptionResponse", "data": msg})

    def _error(self, message: str) -> None:
        self.reply({"channel": "error", "data": message})

    def _parse(self, s: dict[str, Any]) -> Sub | None:
        kind = s.get("type")
        if s.get("dex"):
            return None
        if kind == "activeAssetCtx":
            coin = s.get("coin")
            return Sub("ctx", coin) if coin in self.lx.market.bases else None
        if kind == "allMids":
            return Sub("mids")
        if kind == "clearinghouseState":
            user = s.get("user")
            if not isinstance(user, str) or not ADDRESS.match(user):
                return None
            return Sub("state", key=user)
        return None

    def due(self, now: float) -> list[Frame]:
        frames: list[Frame] = []
        t = self.scenario_ms()
        m = self.lx.market
        for sub in self.subs.values():
            if now < sub.next_due and not (self.woken and sub.kind != "state"):
                continue
            if sub.kind == "ctx":
                assert sub.base is not None
                sub.next_due = now + CTX_EVERY_S
                mark = px(m.mark(sub.base, t))
                quiet = now >= sub.extra.get("quiet_until", 0.0)
                if mark == sub.last_sent and not (self.woken or quiet):
                    continue
                sub.last_sent = mark
                sub.extra["quiet_until"] = now + CTX_QUIET_S
                ctx = asset_ctx(m, sub.base, t)
                body = {"coin": sub.base, "ctx": ctx}
                frames.append(Frame({"channel": "activeAssetCtx", "data": body}, "activeAssetCtx"))
            elif sub.kind == "mids":
                sub.next_due = now + MIDS_EVERY_S
                mids = {b: px(m.mark(b, t)) for b in m.bases}
                frames.append(Frame({"channel": "allMids", "data": {"mids": mids}}, "allMids"))
            else:
                sub.next_due = now + STATE_EVERY_S
                account = self.lx.store.get(EXCHANGE, str(sub.key))
                view = None if account is None else account.view(self.lx.market, t)
                data = {
                    "dex": "",
                    "user": sub.key,
                    "clearinghouseState": clearinghouse_body(view, t),
                }
                frames.append(
                    Frame({"channel": "clearinghouseState", "data": data}, "clearinghouseState")
                )
        return frames
