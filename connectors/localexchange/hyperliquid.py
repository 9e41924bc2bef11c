"""Hyperliquid: every read is POST /info with a JSON ``type``; no signature for reads.

Any well-formed wallet address has a state (an unknown one is simply empty), as on the real
exchange. Prices carry at most five significant figures; funding is hourly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from connectors.localexchange.accounts import LEVERAGE, AccountView, LocalAccount, tiers_for
from connectors.localexchange.market import Market
from connectors.localexchange.protocol import (
    ApiError,
    Request,
    Response,
    forced_fills,
    in_window,
    json_response,
    short,
)
from connectors.localexchange.timeframes import timeframe_ms

EXCHANGE = "hyperliquid"
SZ_DECIMALS = {"BTC": 5, "ETH": 4}
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def error_body(kind: str) -> tuple[int, Any]:
    if kind in ("429", "418"):
        return int(kind), "null"
    return 503, "<html><body>503 Service Temporarily Unavailable</body></html>"


def bad_request() -> ApiError:
    return ApiError(
        Response(
            422,
            b"Failed to deserialize the JSON body into the target type",
            {"Content-Type": "text/plain"},
        )
    )


def px(value: float) -> str:
    """A price with at most five significant figures, as Hyperliquid quotes them."""
    if value <= 0:
        return "0.0"
    digits = max(0, 5 - math.floor(math.log10(value)) - 1)
    text = short(round(value, digits), digits)
    return text if "." in text else text + ".0"


def num(value: float, decimals: int = 6) -> str:
    """A decimal string the way Hyperliquid writes them: never without a decimal point."""
    text = short(value, decimals)
    return text if "." in text else text + ".0"


def _max_leverage(base: str) -> int:
    return int(tiers_for(EXCHANGE, base)[0].max_leverage or 1)


def asset_ctx(m: Market, base: str, t: int) -> dict[str, Any]:
    """One perp's context, as metaAndAssetCtxs lists it and activeAssetCtx pushes it."""
    mark = m.mark(base, t)
    st = m.stats_24h(base, t)
    bids, asks = m.order_book(base, t, 1)
    return {
        "funding": num(m.funding_rate(base, t) / 8, 8),
        "openInterest": num(m.open_interest(base, t) / 10, 4),
        "prevDayPx": px(st.open),
        "dayNtlVlm": num(st.quote_volume / 10, 2),
        "premium": num(m.index_price(base, t) / mark - 1 + 0.00024, 8),
        "oraclePx": px(m.index_price(base, t)),
        "markPx": px(mark),
        "midPx": px((bids[0, 0] + asks[0, 0]) / 2),
        "impactPxs": [px(bids[0, 0]), px(asks[0, 0])],
        "dayBaseVlm": num(st.volume / 10, 4),
    }


def _universe(req: Request) -> list[dict[str, Any]]:
    return [
        {
            "szDecimals": SZ_DECIMALS.get(b, 2),
            "name": b,
            "maxLeverage": _max_leverage(b),
            "marginTableId": _max_leverage(b),
        }
        for b in req.market.bases
    ]


def meta(req: Request) -> Response:
    return json_response({"universe": _universe(req), "marginTables": []})


def meta_and_ctxs(req: Request) -> Response:
    if req.json_body.get("dex"):
        return json_response([{"universe": [], "marginTables": [], "collateralToken": 0}, []])
    return json_response(
        [
            {"universe": _universe(req), "marginTables": [], "collateralToken": 0},
            [asset_ctx(req.market, b, req.scenario_ms) for b in req.market.bases],
        ]
    )


USDC_TOKEN = {
    "name": "USDC",
    "szDecimals": 8,
    "weiDecimals": 8,
    "index": 0,
    "tokenId": "0x6d1e7cde53ba9467b783cb7c530ce054",
    "isCanonical": True,
    "evmContract": None,
    "fullName": None,
}


def spot_meta(req: Request) -> Response:
    return json_response({"universe": [], "tokens": [USDC_TOKEN]})


def spot_meta_and_ctxs(req: Request) -> Response:
    return json_response([{"universe": [], "tokens": [USDC_TOKEN]}, []])


def perp_dexs(req: Request) -> Response:
    return json_response([None])


def all_mids(req: Request) -> Response:
    m, t = req.market, req.scenario_ms
    return json_response({b: px(m.mark(b, t)) for b in m.bases})


def _account(req: Request) -> LocalAccount | None:
    user = req.json_body.get("user")
    if not isinstance(user, str) or not ADDRESS.match(user):
        raise bad_request()
    return req.accounts.get(EXCHANGE, user)


def clearinghouse_state(req: Request) -> Response:
    account = _account(req)
    if req.json_body.get("dex"):
        account = None
    view = None if account is None else req.view(account)
    return json_response(clearinghouse_body(view, req.scenario_ms))


def clearinghouse_body(v: AccountView | None, t: int) -> dict[str, Any]:
    """A user's perp state (None: an address without an account), as clearinghouseState
    answers and the clearinghouseState subscription pushes it."""
    if v is None:
        zero = {
            "accountValue": "0.0",
            "totalNtlPos": "0.0",
            "totalRawUsd": "0.0",
            "totalMarginUsed": "0.0",
        }
        return {
            "marginSummary": zero,
            "crossMarginSummary": zero,
            "crossMaintenanceMarginUsed": "0.0",
            "withdrawable": "0.0",
            "assetPositions": [],
            "time": t,
        }
    positions = []
    ntl = 0.0
    signed_ntl = 0.0
    used = 0.0
    for p in v.positions:
        margin = p.notional / LEVERAGE
        ntl += p.notional
        signed_ntl += p.side.sign * p.notional
        used += margin
        positions.append(
            {
                "type": "oneWay",
                "position": {
                    "coin": p.base,
                    "szi": num(p.side.sign * p.size, SZ_DECIMALS.get(p.base, 4)),
                    "leverage": {"type": "cross", "value": LEVERAGE},
                    "entryPx": px(p.entry),
                    "positionValue": num(p.notional, 6),
                    "unrealizedPnl": num(p.unrealized_pnl, 6),
                    "returnOnEquity": num(p.unrealized_pnl / (p.size * p.entry / LEVERAGE), 10),
                    "liquidationPx": None
                    if p.liquidation_price is None
                    else num(p.liquidation_price, 10),
                    "marginUsed": num(margin, 6),
                    "maxLeverage": int(p.max_leverage or LEVERAGE),
                    "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
                },
            }
        )
    summary = {
        "accountValue": num(v.equity, 6),
        "totalNtlPos": num(ntl, 6),
        "totalRawUsd": num(v.equity - signed_ntl, 6),
        "totalMarginUsed": num(used, 6),
    }
    return {
        "marginSummary": summary,
        "crossMarginSummary": summary,
        "crossMaintenanceMarginUsed": num(v.maintenance, 6),
        "withdrawable": num(max(0.0, v.equity - used), 6),
        "assetPositions": positions,
        "time": t,
    }


def spot_clearinghouse_state(req: Request) -> Response:
    _account(req)
    return json_response({"balances": []})


def candle_snapshot(req: Request) -> Response:
    q = req.json_body.get("req")
    if not isinstance(q, dict) or q.get("coin") not in req.market.bases:
        raise bad_request()
    tf = timeframe_ms(str(q.get("interval", "")))
    if tf is None:
        raise bad_request()
    base = q["coin"]
    start = int(q.get("startTime") or 0)
    end = q.get("endTime")
    if end is not None and start > req.scenario_ms:
        # A client whose "now" is the wall clock asks for a window after the scenario's now:
        # answer the window of the same length that ends now.
        start, end = req.scenario_ms - (int(end) - start), None
    bars = req.market.bars(
        base,
        tf,
        req.scenario_ms,
        since_ms=start,
        until_ms=None if end is None else int(end),
        limit=5000,
    )
    return json_response(
        [
            {
                "t": int(bars.ts[i]),
                "T": int(bars.ts[i]) + tf - 1,
                "s": base,
                "i": q["interval"],
                "o": px(bars.open[i]),
                "c": px(bars.close[i]),
                "h": px(bars.high[i]),
                "l": px(bars.low[i]),
                "v": num(bars.volume[i] / 10, 5),
                "n": max(1, int(bars.volume[i])),
            }
            for i in range(len(bars))
        ]
    )


def l2_book(req: Request) -> Response:
    base = req.json_body.get("coin")
    if base not in req.market.bases:
        return json_response(None)
    bids, asks = req.market.order_book(base, req.scenario_ms, 20)
    dec = SZ_DECIMALS.get(base, 4)

    def side(levels: Any) -> list[dict[str, Any]]:
        return [{"px": px(p), "sz": num(q / 10, dec), "n": 3} for p, q in levels]

    return json_response(
        {"coin": base, "time": req.scenario_ms, "levels": [side(bids), side(asks)]}
    )


def funding_history(req: Request) -> Response:
    base = req.json_body.get("coin")
    if base not in req.market.bases:
        raise bad_request()
    start = int(req.json_body.get("startTime") or 0)
    rows = req.market.funding_history(base, req.scenario_ms, start, 500)
    return json_response(
        [
            {
                "coin": base,
                "fundingRate": num(r / 8, 8),
                "premium": num(r / 8 - 0.0000125, 8),
                "time": t,
            }
            for t, r, _ in rows
        ]
    )


USER_FILLS_LIMIT = 2000
"""Hyperliquid: userFills returns at most the 2000 most recent fills; userFillsByTime at most
2000 per answer."""


def user_fills(req: Request) -> Response:
    """POST /info userFills (most recent first) and userFillsByTime (``startTime`` required,
    ``endTime`` optional; oldest first): the account's fills, here those of its
    liquidations, each carrying ``liquidation.liquidatedUser`` (the account itself)."""
    account = _account(req)
    by_time = req.json_body.get("type") == "userFillsByTime"
    start = end = None
    if by_time:
        start, end = req.json_body.get("startTime"), req.json_body.get("endTime")
        if not isinstance(start, int) or not (end is None or isinstance(end, int)):
            raise bad_request()
    if account is None:
        return json_response([])
    user = str(req.json_body["user"]).lower()
    fills = in_window(forced_fills(req, account), start, end)
    rows = []
    for f in fills:
        p = f.position
        signed = p.side.sign * p.size
        decimals = SZ_DECIMALS.get(p.base, 4)
        rows.append(
            {
                "coin": p.base,
                "px": px(p.price),
                "sz": num(p.size, decimals),
                "side": "A" if p.side.sign > 0 else "B",
                "time": f.time_ms,
                "startPosition": num(signed, decimals),
                "dir": f"Close {p.side.name.title()}",
                "closedPnl": num(signed * (p.price - p.entry), 6),
                "hash": f"0x{f.id:064x}",
                "oid": f.id,
                "crossed": True,
                "fee": num(p.size * p.price * 0.00045, 6),
                "tid": f.id,
                "liquidation": {"liquidatedUser": user, "markPx": px(p.price), "method": "market"},
                "feeToken": "USDC",
                "twapId": None,
            }
        )
    rows = rows[-USER_FILLS_LIMIT:] if by_time else rows[::-1][:USER_FILLS_LIMIT]
    return json_response(rows)


def empty_list(req: Request) -> Response:
    return json_response([])


TYPES: dict[str, Callable[[Request], Response]] = {
    "meta": meta,
    "metaAndAssetCtxs": meta_and_ctxs,
    "spotMeta": spot_meta,
    "spotMetaAndAssetCtxs": spot_meta_and_ctxs,
    "perpDexs": perp_dexs,
    "allMids": all_mids,
    "clearinghouseState": clearinghouse_state,
    "spotClearinghouseState": spot_clearinghouse_state,
    "candleSnapshot": candle_snapshot,
    "l2Book": l2_book,
    "fundingHistory": funding_history,
    "openOrders": empty_list,
    "frontendOpenOrders": empty_list,
    "userFills": user_fills,
    "userFillsByTime": user_fills,
}
ROUTES: dict[str, Callable[[Request], Response]] = {}


def handle(req: Request, info_type: str | None) -> Response:
    if req.path != "/info" or req.method != "POST" or not isinstance(req.json_body, dict):
        raise bad_request()
    handler = TYPES.get(info_type or "")
    if handler is None:
        raise bad_request()
    return handler(req)
