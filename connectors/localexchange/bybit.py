"""Bybit v5 (linear USDT perpetuals and inverse coin-margined ones, Unified Trading Account).

Every answer is HTTP 200 with a ``retCode`` envelope, as Bybit sends them. UTA cross positions
carry ``liqPrice: ""``: the account, not the position, is liquidated at Account MM Rate 100 %.
Risk-limit rates are fractions ("0.005"), the scale of Bybit's linear answers and the one ccxt
passes through unchanged as ``maintenanceMarginRate``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.localexchange.accounts import (
    COLLATERAL_RATIO,
    LEVERAGE,
    AccountView,
    LocalAccount,
    tiers_for,
)
from connectors.localexchange.market import Market, price_decimals
from connectors.localexchange.protocol import (
    ApiError,
    Request,
    Response,
    fmt,
    forced_fills,
    in_window,
    int_param,
    json_response,
    short,
)
from connectors.localexchange.signing import hmac_hex, same
from connectors.localexchange.timeframes import HOUR, timeframe_ms
from risk.types import base_asset

EXCHANGE = "bybit"
LAUNCH_MS = {"BTC": 1585526400000, "ETH": 1615766400000}
OI_INTERVALS = {
    "5min": 300_000,
    "15min": 900_000,
    "30min": 1_800_000,
    "1h": HOUR,
    "4h": 4 * HOUR,
    "1d": 24 * HOUR,
}


def envelope(result: Any, t_ms: int, code: int = 0, msg: str = "OK") -> Response:
    return json_response(
        {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": t_ms}
    )


def error(req: Request, code: int, msg: str) -> ApiError:
    return ApiError(envelope({}, req.server_ms, code, msg))


def error_body(kind: str) -> tuple[int, Any]:
    if kind == "429":
        return 429, {
            "retCode": 10006,
            "retMsg": "Too many visits. Exceeded the API Rate Limit.",
            "result": {},
            "retExtInfo": {},
            "time": 0,
        }
    if kind == "418":
        return 418, {
            "retCode": 10018,
            "retMsg": "Exceeded the IP Rate Limit.",
            "result": {},
            "retExtInfo": {},
            "time": 0,
        }
    return (
        503,
        "<html><body><h1>503 Service Unavailable</h1>"
        "Bybit is under scheduled system maintenance.</body></html>",
    )


def _symbol(base: str, category: str = "linear") -> str:
    return f"{base}USD" if category == "inverse" else f"{base}USDT"


def _category(req: Request) -> None:
    category = req.query.get("category")
    if category is None:
        raise error(req, 10001, "params error: Category is invalid")
    if category not in ("linear", "inverse", "spot", "option"):
        raise error(req, 10001, "params error: Category is invalid")


def _bases(req: Request, *, required: bool = False) -> list[str]:
    category = req.query.get("category", "")
    served = category in ("linear", "inverse")
    symbol = req.query.get("symbol")
    if not symbol:
        if required:
            raise error(req, 10001, "params error: symbol is required")
        return list(req.market.bases) if served else []
    base = base_asset(symbol)
    if symbol != _symbol(base, category) or base not in req.market.bases:
        raise error(req, 10001, "params error: symbol invalid")
    return [base] if served else []


def _authenticate(req: Request) -> LocalAccount:
    h = req.headers
    key = h.get("X-BAPI-API-KEY", "")
    account = req.accounts.get(EXCHANGE, key) if key else None
    if account is None:
        raise error(req, 10003, "API key is invalid.")
    ts_text = h.get("X-BAPI-TIMESTAMP", "")
    recv_text = h.get("X-BAPI-RECV-WINDOW", "5000") or "5000"
    try:
        ts, recv = int(ts_text), int(recv_text)
    except ValueError:
        raise error(
            req, 10002, "invalid request, please check your server timestamp or recv_window param"
        ) from None
    if not (req.server_ms - recv <= ts < req.server_ms + 1000):
        raise error(
            req,
            10002,
            f"invalid request, please check your server timestamp or "
            f"recv_window param. req_timestamp[{ts}],server_timestamp[{req.server_ms}],"
            f"recv_window[{recv}]",
        )
    payload = req.raw_query if req.method == "GET" else req.body.decode(errors="replace")
    expected = hmac_hex(account.credentials.secret, ts_text + key + recv_text + payload)
    if not same(expected, h.get("X-BAPI-SIGN", "")):
        raise error(req, 10004, f"error sign! origin_string[{ts_text}{key}{recv_text}{payload}]")
    return account


# -- public -------------------------------------------------------------------------------


def server_time(req: Request) -> Response:
    ms = req.server_ms
    return envelope({"timeSecond": str(ms // 1000), "timeNano": str(ms * 1_000_000)}, ms)


def instruments(req: Request) -> Response:
    _category(req)
    rows = []
    category = req.query.get("category", "")
    inverse = category == "inverse"
    if req.query.get("status", "Trading") == "Trading":
        for base in _bases(req):
            d = price_decimals(base)
            tick = fmt(10.0**-d, d)
            rows.append(
                {
                    "symbol": _symbol(base, category),
                    "contractType": "InversePerpetual" if inverse else "LinearPerpetual",
                    "status": "Trading",
                    "baseCoin": base,
                    "quoteCoin": "USD" if inverse else "USDT",
                    "launchTime": str(LAUNCH_MS.get(base, 0)),
                    "deliveryTime": "0",
                    "deliveryFeeRate": "",
                    "priceScale": str(d),
                    "leverageFilter": {
                        "minLeverage": "1",
                        "maxLeverage": "100.00",
                        "leverageStep": "0.01",
                    },
                    "priceFilter": {"minPrice": tick, "maxPrice": "1999999.80", "tickSize": tick},
                    # inverse: quantities are whole 1-USD contracts (ccxt's contractSize is
                    # the minimum order quantity there)
                    "lotSizeFilter": {
                        "maxOrderQty": "1000000" if inverse else "1190.000",
                        "minOrderQty": "1" if inverse else "0.001",
                        "qtyStep": "1" if inverse else "0.001",
                        "postOnlyMaxOrderQty": "1000000" if inverse else "1190.000",
                        "maxMktOrderQty": "500000" if inverse else "500.000",
                        "minNotionalValue": "" if inverse else "5",
                    },
                    "unifiedMarginTrade": True,
                    "fundingInterval": 480,
                    "settleCoin": base if inverse else "USDT",
                    "copyTrading": "both",
                    "upperFundingRate": "0.005",
                    "lowerFundingRate": "-0.005",
                    "isPreListing": False,
                    "preListingInfo": None,
                    "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
                    "displayName": "",
                }
            )
    return envelope(
        {"category": req.query["category"], "list": rows, "nextPageCursor": ""}, req.server_ms
    )


def tickers(req: Request) -> Response:
    _category(req)
    category = req.query.get("category", "")
    rows = [
        {**ticker_row(req.market, base, req.scenario_ms), "symbol": _symbol(base, category)}
        for base in _bases(req)
    ]
    return envelope({"category": req.query["category"], "list": rows}, req.server_ms)


def ticker_row(m: Market, base: str, t: int) -> dict[str, Any]:
    """One linear ticker, as /v5/market/tickers lists it and the tickers stream pushes it."""
    d = price_decimals(base)
    st = m.stats_24h(base, t)
    last = m.last_price(base, t)
    bids, asks = m.order_book(base, t, 1)
    oi = m.open_interest(base, t)
    mark = m.mark(base, t)
    return {
        "symbol": _symbol(base),
        "lastPrice": fmt(last, d),
        "indexPrice": fmt(m.index_price(base, t), d),
        "markPrice": fmt(mark, d),
        "prevPrice24h": fmt(st.open, d),
        "price24hPcnt": fmt(last / st.open - 1, 6),
        "highPrice24h": fmt(st.high, d),
        "lowPrice24h": fmt(st.low, d),
        "prevPrice1h": fmt(m.mark(base, t - HOUR), d),
        "openInterest": fmt(oi, 3),
        "openInterestValue": fmt(oi * mark, 2),
        "turnover24h": fmt(st.quote_volume, 4),
        "volume24h": fmt(st.volume, 4),
        "fundingRate": fmt(m.funding_rate(base, t), 8),
        "nextFundingTime": str(m.next_funding_ms(t)),
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "ask1Size": fmt(asks[0, 1], 3),
        "bid1Price": fmt(bids[0, 0], d),
        "ask1Price": fmt(asks[0, 0], d),
        "bid1Size": fmt(bids[0, 1], 3),
        "basis": "",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def kline(req: Request, *, with_volume: bool = True) -> Response:
    _category(req)
    base = _bases(req, required=True)[0]
    tf = timeframe_ms(req.query.get("interval", ""))
    if tf is None:
        raise error(req, 10001, "params error: interval invalid")
    limit = min(int_param(req.query, "limit", 200) or 200, 1000)
    bars = req.market.bars(
        base,
        tf,
        req.scenario_ms,
        since_ms=int_param(req.query, "start"),
        until_ms=int_param(req.query, "end"),
        limit=limit,
    )
    d = price_decimals(base)
    rows = []
    for i in range(len(bars) - 1, -1, -1):  # newest first, as Bybit sends them
        row = [
            str(int(bars.ts[i])),
            short(bars.open[i], d),
            short(bars.high[i], d),
            short(bars.low[i], d),
            short(bars.close[i], d),
        ]
        if with_volume:
            v = float(bars.volume[i])
            row += [fmt(v, 3), fmt(v * float(bars.close[i]), 4)]
        rows.append(row)
    return envelope(
        {"symbol": _symbol(base), "category": req.query["category"], "list": rows}, req.server_ms
    )


def price_kline(req: Request) -> Response:
    return kline(req, with_volume=False)


def orderbook(req: Request) -> Response:
    _category(req)
    base = _bases(req, required=True)[0]
    limit = min(int_param(req.query, "limit", 25) or 25, 500)
    bids, asks = req.market.order_book(base, req.scenario_ms, limit)
    d = price_decimals(base)
    t = req.scenario_ms
    return envelope(
        {
            "s": _symbol(base),
            "b": [[fmt(p, d), fmt(q, 3)] for p, q in bids],
            "a": [[fmt(p, d), fmt(q, 3)] for p, q in asks],
            "ts": t,
            "u": t // 100,
            "seq": t // 10,
            "cts": t - 3,
        },
        req.server_ms,
    )


def open_interest(req: Request) -> Response:
    _category(req)
    base = _bases(req, required=True)[0]
    interval = OI_INTERVALS.get(req.query.get("intervalTime", ""))
    if interval is None:
        raise error(req, 10001, "params error: intervalTime invalid")
    limit = min(int_param(req.query, "limit", 50) or 50, 200)
    end = min(int_param(req.query, "endTime", req.scenario_ms) or req.scenario_ms, req.scenario_ms)
    start = int_param(req.query, "startTime")
    last = end // interval * interval
    rows: list[dict[str, str]] = []
    t = last
    while len(rows) < limit and (start is None or t >= start):
        oi = req.market.open_interest(base, t)
        rows.append({"openInterest": fmt(oi, 8), "timestamp": str(t)})
        t -= interval
    return envelope(
        {
            "symbol": _symbol(base),
            "category": req.query["category"],
            "list": rows,
            "nextPageCursor": "",
        },
        req.server_ms,
    )


def funding_history(req: Request) -> Response:
    _category(req)
    base = _bases(req, required=True)[0]
    limit = min(int_param(req.query, "limit", 200) or 200, 200)
    rows = req.market.funding_history(
        base, req.scenario_ms, int_param(req.query, "startTime"), limit
    )
    return envelope(
        {
            "category": req.query["category"],
            "list": [
                {"symbol": _symbol(base), "fundingRate": fmt(r, 8), "fundingRateTimestamp": str(t)}
                for t, r, _ in reversed(rows)
            ],
        },
        req.server_ms,
    )


def risk_limit(req: Request) -> Response:
    _category(req)
    rows = []
    category = req.query.get("category", "")
    for base in _bases(req):
        for i, tier in enumerate(tiers_for(EXCHANGE, base, category == "inverse")):
            rows.append(
                {
                    "id": i + 1,
                    "symbol": _symbol(base, category),
                    "riskLimitValue": short(tier.max_bound, 2),
                    "maintenanceMargin": short(tier.maintenance_margin_rate, 6),
                    "initialMargin": short(1 / (tier.max_leverage or 1), 6),
                    "isLowestRisk": 1 if i == 0 else 0,
                    "maxLeverage": fmt(tier.max_leverage or 1, 2),
                    "mmDeduction": "" if i == 0 else short(tier.maintenance_amount, 4),
                }
            )
    return envelope(
        {"category": req.query["category"], "list": rows, "nextPageCursor": ""}, req.server_ms
    )


# -- signed -------------------------------------------------------------------------------


def position_row(p: Any, t: int) -> dict[str, Any]:
    """One row of GET /v5/position/list (and the position stream): linear sizes in the coin,
    inverse in 1-USD contracts with money in the coin. positionMM is the engine's, i.e.
    Bybit's formula (value at entry, fee to close at the bankruptcy price)."""
    d = price_decimals(p.base)
    im = p.initial_margin
    category = "inverse" if p.inverse else "linear"
    value = p.size / p.entry if p.inverse else p.size * p.entry
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "150" if p.inverse else "2000000",
        "symbol": _symbol(p.base, category),
        "side": "Buy" if p.side.sign > 0 else "Sell",
        "size": short(p.contracts, 0 if p.inverse else 3),
        "avgPrice": short(p.entry, 8),
        "positionValue": fmt(value, 8 if p.inverse else 4),
        "tradeMode": 0,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": str(LEVERAGE),
        "markPrice": fmt(p.mark, d),
        "liqPrice": "",
        "bustPrice": "",
        "positionIM": fmt(im, 8),
        "positionMM": fmt(p.maintenance, 8),
        "positionIMByMp": fmt(im, 8),
        "positionMMByMp": fmt(p.maintenance, 8),
        "positionBalance": fmt(im, 8),
        "tpslMode": "Full",
        "takeProfit": "",
        "stopLoss": "",
        "trailingStop": "0",
        "sessionAvgPrice": "",
        "delta": "",
        "gamma": "",
        "vega": "",
        "theta": "",
        "unrealisedPnl": fmt(p.unrealized_pnl, 8),
        "curRealisedPnl": "0",
        "cumRealisedPnl": "0",
        "adlRankIndicator": 2,
        "createdTime": str(max(p.opened_ms, 0)),
        "updatedTime": str(t),
        "seq": t // 10,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "breakEvenPrice": short(p.entry * (1 + p.side.sign * 0.0011), 8),
    }


def position_list(req: Request) -> Response:
    account = _authenticate(req)
    _category(req)
    symbol = req.query.get("symbol")
    settle = req.query.get("settleCoin")
    if not symbol and not settle and req.query.get("category") == "linear":
        # Bybit: "For linear, either symbol or settleCoin is required" (inverse needs neither)
        raise error(req, 10001, "params error: symbol or settleCoin is required")
    view = req.view(account)
    wanted = set(_bases(req)) if symbol else set(req.market.bases)
    rows = []
    category = req.query.get("category")
    if category == "linear" and (settle in (None, "USDT")):
        rows = [position_row(p, req.scenario_ms) for p in view.linear() if p.base in wanted]
    elif category == "inverse":
        rows = [
            position_row(p, req.scenario_ms)
            for p in view.inverse()
            if p.base in wanted and settle in (None, p.base)
        ]
    return envelope(
        {"list": rows, "nextPageCursor": "", "category": req.query["category"]}, req.server_ms
    )


WEEK_MS = 7 * 86_400_000


def execution_list(req: Request) -> Response:
    """GET /v5/execution/list: the account's executions; here its liquidation fills
    (execType BustTrade). Bybit: without startTime and endTime the last 7 days; a window
    wider than 7 days is refused; newest first; limit 50 by default, 100 at most."""
    account = _authenticate(req)
    _category(req)
    wanted = set(_bases(req))
    end = int_param(req.query, "endTime")
    start = int_param(req.query, "startTime")
    if start is None and end is None:
        end = req.server_ms
    if start is None:
        start = (end or req.server_ms) - WEEK_MS
    if end is None:
        end = start + WEEK_MS
    if end - start > WEEK_MS:
        raise error(req, 10001, "params error: The time range cannot exceed 7 days")
    kind = req.query.get("execType")
    category = req.query["category"]
    inverse = category == "inverse"
    fills = [] if kind not in (None, "", "BustTrade") else forced_fills(req, account)
    fills = [
        f
        for f in in_window(fills, start, end)
        if f.position.base in wanted and f.position.inverse is inverse
    ]
    limit = min(max(int_param(req.query, "limit", 50) or 50, 1), 100)
    rows = []
    for f in reversed(fills[-limit:]):
        p = f.position
        d = price_decimals(p.base)
        # linear: base units; inverse: 1-USD contracts, values in the coin
        qty = short(p.size, 0 if inverse else 3)
        value = p.size / p.price if inverse else p.size * p.price
        rows.append(
            {
                "symbol": _symbol(p.base, category),
                "orderType": "Market",
                "underlyingPrice": "",
                "orderLinkId": "",
                "side": "Sell" if p.side.sign > 0 else "Buy",
                "indexPrice": "",
                "orderId": f"{f.id:032x}",
                "stopOrderType": "UNKNOWN",
                "leavesQty": "0",
                "execTime": str(f.time_ms),
                "feeCurrency": "",
                "isMaker": False,
                "execFee": short(value * 0.0006, 8),
                "feeRate": "0.0006",
                "execId": f"{f.id:032x}-bust",
                "tradeIv": "",
                "blockTradeId": "",
                "markPrice": short(p.price, d),
                "execPrice": short(p.price, d),
                "markIv": "",
                "orderQty": qty,
                "orderPrice": short(p.price, d),
                "execValue": short(value, 8),
                "execType": "BustTrade",
                "execQty": qty,
                "closedSize": qty,
                "seq": f.id,
            }
        )
    return envelope({"nextPageCursor": "", "category": category, "list": rows}, req.server_ms)


def _coin(
    coin: str, wallet: float, upnl: float, im: float, mm: float, price: float = 1.0
) -> dict[str, Any]:
    return {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": "0",
        "equity": fmt(wallet + upnl),
        "totalPositionMM": fmt(mm),
        "usdValue": fmt((wallet + upnl) * price),
        "unrealisedPnl": fmt(upnl),
        "collateralSwitch": True,
        "spotHedgingQty": "0",
        "borrowAmount": "0.000000000000000000",
        "totalPositionIM": fmt(im),
        "walletBalance": fmt(wallet),
        "cumRealisedPnl": "0",
        "locked": "0",
        "marginCollateral": True,
        "coin": coin,
    }


def wallet_balance(req: Request) -> Response:
    account = _authenticate(req)
    if req.query.get("accountType") not in ("UNIFIED", "CONTRACT"):
        raise error(req, 10001, "accountType only support UNIFIED.")
    v: AccountView = req.view(account)
    return envelope({"list": [wallet_body(v)]}, req.server_ms)


def wallet_body(v: AccountView) -> dict[str, Any]:
    """The UNIFIED account as /v5/account/wallet-balance lists it and the wallet stream
    pushes it."""
    im = v.initial_margin
    equity = v.equity
    mm_rate = v.maintenance / equity if equity > 0 else 1.0
    coins = list(v.coins)
    if not any(c.coin == "USDC" for c in coins):
        coins.append(v.coin("USDC"))
    return {
        "totalEquity": fmt(equity),
        "accountIMRate": fmt(im / equity if equity > 0 else 1.0, 4),
        "totalMarginBalance": fmt(equity),
        "totalInitialMargin": fmt(im),
        "accountType": "UNIFIED",
        "totalAvailableBalance": fmt(max(0.0, equity - im)),
        "accountMMRate": fmt(mm_rate, 4),
        "totalPerpUPL": fmt(v.unrealized_pnl),
        "totalWalletBalance": fmt(v.wallet_balance),
        "accountLTV": "0",
        "totalMaintenanceMargin": fmt(v.maintenance),
        "coin": [
            _coin(c.coin, c.wallet, c.unrealized_pnl, c.initial_margin, c.maintenance, c.price)
            for c in coins
        ],
    }


def collateral_info(req: Request) -> Response:
    """GET /v5/account/collateral-info: each coin's collateral value ratio in the UTA."""
    _authenticate(req)
    rows = []
    for coin in ("USDT", "USDC", *req.market.bases):
        ratio = COLLATERAL_RATIO.get(coin, 1.0)
        rows.append(
            {
                "currency": coin,
                "hourlyBorrowRate": "0.0000015",
                "maxBorrowingAmount": "1000000",
                "freeBorrowingLimit": "",
                "freeBorrowAmount": "0",
                "borrowAmount": "0",
                "otherBorrowAmount": "0",
                "availableToBorrow": "1000000",
                "borrowable": True,
                "freeBorrowingAmount": "",
                "borrowUsageRate": "0",
                "marginCollateral": True,
                "collateralSwitch": True,
                "collateralRatio": fmt(ratio, 4),
            }
        )
    return envelope({"list": rows}, req.server_ms)


def account_info(req: Request) -> Response:
    _authenticate(req)
    return envelope(
        {
            "marginMode": "REGULAR_MARGIN",
            "updatedTime": "1697078946000",
            "unifiedMarginStatus": 6,
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
        },
        req.server_ms,
    )


def query_api(req: Request) -> Response:
    account = _authenticate(req)
    wallet = ["AccountTransfer", "SubMemberTransfer", "Withdraw"] if account.can_withdraw else []
    trade = ["Order", "Position"] if account.can_trade else []
    read_only = 0 if (account.can_trade or account.can_withdraw) else 1
    return envelope(
        {
            "id": str(account.id),
            "note": account.label or "cascade-watch",
            "apiKey": account.credentials.api_key,
            "readOnly": read_only,
            "secret": "",
            "permissions": {
                "ContractTrade": trade,
                "Spot": [],
                "Wallet": wallet,
                "Options": [],
                "Derivatives": [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
            },
            "ips": ["*"],
            "type": 1,
            "deadlineDay": 83,
            "expiredAt": "2026-12-31T00:00:00Z",
            "createdAt": "2025-01-01T00:00:00Z",
            "unified": 0,
            "uta": 1,
            "userID": account.uid,
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT",
            "kycRegion": "",
        },
        req.server_ms,
    )


def coin_info(req: Request) -> Response:
    _authenticate(req)
    rows = [
        {"name": c, "coin": c, "remainAmount": "1000000", "chains": []}
        for c in ("USDT", "USDC", *req.market.bases)
    ]
    return envelope({"rows": rows}, req.server_ms)


ROUTES: dict[str, Callable[[Request], Response]] = {
    "/v5/market/time": server_time,
    "/v5/market/instruments-info": instruments,
    "/v5/market/tickers": tickers,
    "/v5/market/kline": kline,
    "/v5/market/mark-price-kline": price_kline,
    "/v5/market/index-price-kline": price_kline,
    "/v5/market/orderbook": orderbook,
    "/v5/market/open-interest": open_interest,
    "/v5/market/funding/history": funding_history,
    "/v5/market/risk-limit": risk_limit,
    "/v5/position/list": position_list,
    "/v5/execution/list": execution_list,
    "/v5/account/wallet-balance": wallet_balance,
    "/v5/account/info": account_info,
    "/v5/account/collateral-info": collateral_info,
    "/v5/user/query-api": query_api,
    "/v5/asset/coin/query-info": coin_info,
}
