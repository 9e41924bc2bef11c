"""Binance USDⓈ-M futures (binanceusdm in ccxt): /fapi and the one /sapi call ccxt makes, and
the COIN-M endpoints (/dapi) that read coin-margined (inverse) positions.

Formats follow Binance's documentation and the bodies recorded in ccxt's static tests (the
COIN-M position row: tests/fixtures/binance_fetchPositions.json case 3).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from connectors.localexchange.accounts import (
    COLLATERAL_RATIO,
    LEVERAGE,
    AccountView,
    LocalAccount,
    contract_size,
    tiers_for,
)
from connectors.localexchange.market import Market, price_decimals
from connectors.localexchange.protocol import (
    ApiError,
    ForcedFill,
    Request,
    Response,
    fmt,
    forced_fills,
    in_window,
    int_param,
    json_response,
    short,
)
from connectors.localexchange.scenario import DAY_MS
from connectors.localexchange.signing import binance_payload, hmac_hex, same
from connectors.localexchange.timeframes import timeframe_ms
from risk.types import PoolMode, base_asset

EXCHANGE = "binanceusdm"
ONBOARD_MS = {"BTC": 1569398400000, "ETH": 1569398400000}
DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60_000
"""Binance: "The max cannot go beyond 60,000" (USDⓈ-M futures, General Info, Timing security);
error -1131 BAD_RECV_WINDOW "recvWindow must be less than 60000." (Error codes, 11xx)."""


def error(status: int, code: int, msg: str) -> ApiError:
    return ApiError(json_response({"code": code, "msg": msg}, status))


def error_body(kind: str) -> tuple[int, dict[str, object]]:
    """Status and body of an injected fault, as Binance sends them."""
    if kind == "429":
        return 429, {
            "code": -1003,
            "msg": "Too many requests; current limit of IP is 2400 "
            "requests per minute. Please use the websocket for live updates.",
        }
    if kind == "418":
        return ban_body(1700000000000)
    return 503, {"code": 1, "msg": "System is under maintenance."}


def ban_body(until_ms: int) -> tuple[int, dict[str, object]]:
    """Binance's IP ban: HTTP 418, code -1003, the ban's end in epoch milliseconds."""
    return 418, {
        "code": -1003,
        "msg": f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. "
        "Please use the websocket for live updates to avoid bans.",
    }


def _symbol(base: str) -> str:
    return f"{base}USDT"


def _base(req: Request, *, required: bool = True) -> str | None:
    symbol = req.query.get("symbol")
    if not symbol:
        if required:
            raise error(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        return None
    base = base_asset(symbol)
    if symbol != _symbol(base) or base not in req.market.bases:
        raise error(400, -1121, "Invalid symbol.")
    return base


def _authenticate(req: Request) -> LocalAccount:
    key = req.headers.get("X-MBX-APIKEY", "")
    if not key or not key.isalnum():
        raise error(401, -2014, "API-key format invalid.")
    account = req.accounts.get(EXCHANGE, key)
    if account is None:
        raise error(401, -2015, "Invalid API-key, IP, or permissions for action.")
    signed, signature = binance_payload(req.raw_query, req.body)
    # the query string wins over the body for a parameter sent in both (Binance's rule)
    params = {
        name: value
        for part in (req.body.decode(errors="replace"), req.raw_query)
        for name, value in (pair.partition("=")[::2] for pair in part.split("&") if pair)
        if name != "signature"
    }
    if "timestamp" not in params:
        raise error(
            400,
            -1102,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        )
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW))
    except ValueError:
        raise error(400, -1100, "Illegal characters found in parameter 'timestamp'.") from None
    if not 0 < recv_window <= MAX_RECV_WINDOW:
        raise error(400, -1131, "recvWindow must be less than 60000.")
    if timestamp >= req.server_ms + 1000 or req.server_ms - timestamp > recv_window:
        raise error(400, -1021, "Timestamp for this request is outside of the recvWindow.")
    if signature is None or not same(
        hmac_hex(account.credentials.secret, signed), unquote(signature)
    ):
        raise error(400, -1022, "Signature for this request is not valid.")
    return account


# -- public -------------------------------------------------------------------------------


def ping(req: Request) -> Response:
    return json_response({})


def server_time(req: Request) -> Response:
    return json_response({"serverTime": req.server_ms})


def exchange_info(req: Request) -> Response:
    symbols = []
    for base in req.market.bases:
        d = price_decimals(base)
        tick = short(10.0**-d, d)
        symbols.append(
            {
                "symbol": _symbol(base),
                "pair": _symbol(base),
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": ONBOARD_MS.get(base, 1569398400000),
                "status": "TRADING",
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": base,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": d,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "underlyingSubType": ["PoW"],
                "settlePlan": 0,
                "triggerProtect": "0.0500",
                "liquidationFee": "0.012500",
                "marketTakeBound": "0.05",
                "maxMoveOrderLimit": 10000,
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": tick,
                        "maxPrice": "4529764",
                        "tickSize": tick,
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "stepSize": "0.001",
                        "maxQty": "1000",
                        "minQty": "0.001",
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "stepSize": "0.001",
                        "maxQty": "120",
                        "minQty": "0.001",
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                    {"filterType": "MIN_NOTIONAL", "notional": "100"},
                    {
                        "filterType": "PERCENT_PRICE",
                        "multiplierUp": "1.0500",
                        "multiplierDown": "0.9500",
                        "multiplierDecimal": "4",
                    },
                ],
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                "permissionSets": ["GRID", "COPY"],
            }
        )
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": req.server_ms,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 2400,
                },
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [
                {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
                {"asset": "USDC", "marginAvailable": True, "autoAssetExchange": "-10000"},
            ],
            "symbols": symbols,
        }
    )


def _premium(req: Request, base: str) -> dict[str, object]:
    return premium_row(req.market, base, req.scenario_ms)


def premium_row(m: Market, base: str, t: int) -> dict[str, object]:
    """One row of /fapi/v1/premiumIndex (the mark-price stream carries the same figures)."""
    d = price_decimals(base) + 7
    return {
        "symbol": _symbol(base),
        "markPrice": fmt(m.mark(base, t), d),
        "indexPrice": fmt(m.index_price(base, t), d),
        "estimatedSettlePrice": fmt(m.mark(base, t), d),
        "lastFundingRate": fmt(m.funding_rate(base, t), 8),
        "interestRate": "0.00010000",
        "nextFundingTime": m.next_funding_ms(t),
        "time": t,
    }


def premium_index(req: Request) -> Response:
    base = _base(req, required=False)
    if base is not None:
        return json_response(_premium(req, base))
    return json_response([_premium(req, b) for b in req.market.bases])


def ticker_row(m: Market, base: str, t: int) -> dict[str, object]:
    """One symbol's 24-h statistics, as /fapi/v1/ticker/24hr lists them (the ticker stream
    pushes the same figures under one-letter names)."""
    d = price_decimals(base)
    st = m.stats_24h(base, t)
    last = m.last_price(base, t)
    return {
        "symbol": _symbol(base),
        "priceChange": fmt(last - st.open, d),
        "priceChangePercent": fmt((last / st.open - 1) * 100, 3),
        "weightedAvgPrice": fmt(st.quote_volume / st.volume if st.volume else last, d),
        "lastPrice": fmt(last, d),
        "lastQty": "0.010",
        "openPrice": fmt(st.open, d),
        "highPrice": fmt(st.high, d),
        "lowPrice": fmt(st.low, d),
        "volume": fmt(st.volume, 3),
        "quoteVolume": fmt(st.quote_volume, 2),
        "openTime": t - 86_400_000,
        "closeTime": t,
        "firstId": 1,
        "lastId": 2,
        "count": 2,
    }


def ticker_24hr(req: Request) -> Response:
    base = _base(req, required=False)
    if base is not None:
        return json_response(ticker_row(req.market, base, req.scenario_ms))
    return json_response([ticker_row(req.market, b, req.scenario_ms) for b in req.market.bases])


def ticker_price(req: Request) -> Response:
    m, t = req.market, req.scenario_ms

    def row(b: str) -> dict[str, object]:
        return {
            "symbol": _symbol(b),
            "price": fmt(m.last_price(b, t), price_decimals(b)),
            "time": t,
        }

    base = _base(req, required=False)
    return json_response(row(base) if base else [row(b) for b in m.bases])


def book_ticker(req: Request) -> Response:
    m, t = req.market, req.scenario_ms

    def row(b: str) -> dict[str, object]:
        bids, asks = m.order_book(b, t, 1)
        d = price_decimals(b)
        return {
            "symbol": _symbol(b),
            "bidPrice": fmt(bids[0, 0], d),
            "bidQty": fmt(bids[0, 1], 3),
            "askPrice": fmt(asks[0, 0], d),
            "askQty": fmt(asks[0, 1], 3),
            "time": t,
        }

    base = _base(req, required=False)
    return json_response(row(base) if base else [row(b) for b in m.bases])


def klines(req: Request) -> Response:
    base = _base(req)
    assert base is not None
    tf = timeframe_ms(req.query.get("interval", ""))
    if tf is None:
        raise error(400, -1120, "Invalid interval.")
    limit = min(int_param(req.query, "limit", 500) or 500, 1500)
    bars = req.market.bars(
        base,
        tf,
        req.scenario_ms,
        since_ms=int_param(req.query, "startTime"),
        until_ms=int_param(req.query, "endTime"),
        limit=limit,
    )
    d = price_decimals(base)
    rows = []
    for i in range(len(bars)):
        ts = int(bars.ts[i])
        v = float(bars.volume[i])
        close = float(bars.close[i])
        rows.append(
            [
                ts,
                fmt(bars.open[i], d),
                fmt(bars.high[i], d),
                fmt(bars.low[i], d),
                fmt(close, d),
                fmt(v, 3),
                ts + tf - 1,
                fmt(v * close, 5),
                max(1, int(v * 20)),
                fmt(v * 0.48, 3),
                fmt(v * 0.48 * close, 5),
                "0",
            ]
        )
    return json_response(rows)


def depth(req: Request) -> Response:
    base = _base(req)
    assert base is not None
    limit = int_param(req.query, "limit", 500) or 500
    bids, asks = req.market.order_book(base, req.scenario_ms, limit)
    d = price_decimals(base)
    return json_response(
        {
            "lastUpdateId": req.scenario_ms,
            "E": req.scenario_ms,
            "T": req.scenario_ms,
            "bids": [[fmt(p, d), fmt(q, 3)] for p, q in bids],
            "asks": [[fmt(p, d), fmt(q, 3)] for p, q in asks],
        }
    )


def open_interest(req: Request) -> Response:
    base = _base(req)
    assert base is not None
    oi = req.market.open_interest(base, req.scenario_ms)
    return json_response(
        {"symbol": _symbol(base), "openInterest": fmt(oi, 3), "time": req.scenario_ms}
    )


OI_HISTORY_DAYS = 30
"""Binance serves open-interest statistics for the last 30 days only."""


def open_interest_history(req: Request) -> Response:
    """``/futures/data/openInterestHist``: open interest at each period boundary (the snapshot
    ``timestamp``), oldest first; limit 30 by default, at most 500; the last 30 days only."""
    base = _base(req)
    assert base is not None
    tf = timeframe_ms(req.query.get("period", ""))
    if tf is None or tf < 5 * 60_000:
        raise error(400, -1120, "Invalid period.")
    limit = min(max(int_param(req.query, "limit", 30) or 30, 1), 500)
    now = req.scenario_ms
    last = min(now, int_param(req.query, "endTime") or now) // tf
    first = (max(now - OI_HISTORY_DAYS * DAY_MS, req.market.history_start_ms) + tf - 1) // tf
    start = int_param(req.query, "startTime")
    if start is not None:
        first = max(first, -(-start // tf))
        last = min(last, first + limit - 1)
    else:
        first = max(first, last - limit + 1)
    m = req.market
    rows = []
    for k in range(first, last + 1):
        t = k * tf
        oi = m.open_interest(base, t)
        rows.append(
            {
                "symbol": _symbol(base),
                "sumOpenInterest": fmt(oi, 3),
                "sumOpenInterestValue": fmt(oi * m.mark(base, t), 2),
                "timestamp": t,
            }
        )
    return json_response(rows)


def funding_rate_history(req: Request) -> Response:
    base = _base(req, required=False) or "BTC"
    limit = min(int_param(req.query, "limit", 100) or 100, 1000)
    rows = req.market.funding_history(
        base, req.scenario_ms, int_param(req.query, "startTime"), limit
    )
    d = price_decimals(base) + 7
    return json_response(
        [
            {
                "symbol": _symbol(base),
                "fundingTime": t,
                "fundingRate": fmt(r, 8),
                "markPrice": fmt(p, d),
            }
            for t, r, p in rows
        ]
    )


def funding_info(req: Request) -> Response:
    return json_response(
        [
            {
                "symbol": _symbol(b),
                "adjustedFundingRateCap": "0.03000000",
                "adjustedFundingRateFloor": "-0.03000000",
                "fundingIntervalHours": 8,
                "disclaimer": False,
            }
            for b in req.market.bases
        ]
    )


# -- signed -------------------------------------------------------------------------------


def leverage_bracket(req: Request) -> Response:
    account = _authenticate(req)
    base = _base(req, required=False)
    out = []
    for b in [base] if base else list(req.market.bases):
        brackets = [
            {
                "bracket": i + 1,
                "initialLeverage": int(t.max_leverage or 1),
                "notionalCap": int(t.max_bound),
                "notionalFloor": int(t.min_bound),
                "maintMarginRatio": t.maintenance_margin_rate,
                "cum": t.maintenance_amount,
            }
            for i, t in enumerate(tiers_for(account.exchange, b))
        ]
        out.append({"symbol": _symbol(b), "notionalCoef": 1.0, "brackets": brackets})
    return json_response(out[0] if base else out)


def _position_rows(req: Request, view: AccountView, version: int) -> list[dict[str, object]]:
    rows = []
    held = {p.base: p for p in view.linear()}
    symbol_filter = _base(req, required=False)
    bases = [symbol_filter] if symbol_filter else list(req.market.bases)
    for base in bases:
        p = held.get(base)
        if p is None and version == 3:
            continue
        price_decimals(base)
        amt = 0.0 if p is None else p.side.sign * p.size
        mark = req.market.mark(base, req.scenario_ms) if p is None else p.mark
        notional = 0.0 if p is None else p.side.sign * p.notional
        im = 0.0 if p is None else p.notional / LEVERAGE
        liq = "0" if p is None or p.liquidation_price is None else fmt(p.liquidation_price, 8)
        row: dict[str, object] = {
            "symbol": _symbol(base),
            "positionSide": "BOTH",
            "positionAmt": short(amt, 3),
            "entryPrice": short(0.0 if p is None else p.entry, 8),
            "breakEvenPrice": short(0.0 if p is None else p.entry * (1 + p.side.sign * 0.0005), 8),
            "markPrice": fmt(mark, 8),
            "unRealizedProfit": fmt(0 if p is None else p.unrealized_pnl),
            "liquidationPrice": liq,
            "isolatedMargin": "0",
            "notional": fmt(notional),
            "marginAsset": "USDT",
            "isolatedWallet": "0",
        }
        if version == 3:
            row.update(
                {
                    "initialMargin": fmt(im),
                    "maintMargin": fmt(0 if p is None else p.maintenance),
                    "positionInitialMargin": fmt(im),
                    "openOrderInitialMargin": "0",
                    "adl": 2,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": 0 if p is None else max(p.opened_ms, 0),
                }
            )
        else:
            row.update(
                {
                    "leverage": str(LEVERAGE),
                    "maxNotionalValue": "10000000",
                    "marginType": "cross",
                    "isAutoAddMargin": "false",
                    "isolated": False,
                    "adlQuantile": 2,
                    "updateTime": 0 if p is None else max(p.opened_ms, 0),
                }
            )
        rows.append(row)
    return rows


def position_risk(version: int) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        account = _authenticate(req)
        view = req.view(account)
        return json_response(_position_rows(req, view, version))

    return handler


def _asset_row(asset: str, view: AccountView | None, t: int) -> dict[str, object]:
    if view is None:
        wallet = upnl = mm = im = 0.0
    else:
        c = view.coin(asset)
        wallet, upnl, mm, im = c.wallet, c.unrealized_pnl, c.maintenance, c.initial_margin
    available = max(0.0, wallet + upnl - im)
    return {
        "asset": asset,
        "walletBalance": fmt(wallet),
        "unrealizedProfit": fmt(upnl),
        "marginBalance": fmt(wallet + upnl),
        "maintMargin": fmt(mm),
        "initialMargin": fmt(im),
        "positionInitialMargin": fmt(im),
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": fmt(wallet),
        "crossUnPnl": fmt(upnl),
        "availableBalance": fmt(available),
        "maxWithdrawAmount": fmt(min(wallet, available)),
        "updateTime": t,
    }


def account_info(version: int) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        account = _authenticate(req)
        v = req.view(account)
        im = v.initial_margin
        available = max(0.0, v.equity - im)
        body: dict[str, object] = {
            "totalInitialMargin": fmt(im),
            "totalMaintMargin": fmt(v.maintenance),
            "totalWalletBalance": fmt(v.wallet_balance),
            "totalUnrealizedProfit": fmt(v.unrealized_pnl),
            "totalMarginBalance": fmt(v.equity),
            "totalPositionInitialMargin": fmt(im),
            "totalOpenOrderInitialMargin": "0.00000000",
            "totalCrossWalletBalance": fmt(v.wallet_balance),
            "totalCrossUnPnl": fmt(v.unrealized_pnl),
            "availableBalance": fmt(available),
            "maxWithdrawAmount": fmt(min(v.wallet_balance, available)),
            "assets": [_asset_row("USDT", v, req.scenario_ms), _asset_row("USDC", v, 0)],
            "positions": [
                {
                    "symbol": _symbol(p.base),
                    "positionSide": "BOTH",
                    "positionAmt": short(p.side.sign * p.size, 3),
                    "unrealizedProfit": fmt(p.unrealized_pnl),
                    "isolatedMargin": "0",
                    "notional": fmt(p.side.sign * p.notional),
                    "isolatedWallet": "0",
                    "initialMargin": fmt(p.notional / LEVERAGE),
                    "maintMargin": fmt(p.maintenance),
                    "updateTime": max(p.opened_ms, 0),
                }
                for p in v.linear()
            ],
        }
        if version == 2:
            body.update(
                {
                    "feeTier": 0,
                    "canTrade": account.can_trade,
                    "canDeposit": True,
                    "canWithdraw": account.can_withdraw,
                    "updateTime": 0,
                    "multiAssetsMargin": False,
                    "tradeGroupId": -1,
                }
            )
        return json_response(body)

    return handler


def balance(req: Request) -> Response:
    account = _authenticate(req)
    v = req.view(account)
    return json_response(
        [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": fmt(v.wallet_balance),
                "crossWalletBalance": fmt(v.wallet_balance),
                "crossUnPnl": fmt(v.unrealized_pnl),
                "availableBalance": fmt(max(0.0, v.equity - v.initial_margin)),
                "maxWithdrawAmount": fmt(
                    max(0.0, min(v.wallet_balance, v.equity - v.initial_margin))
                ),
                "marginAvailable": True,
                "updateTime": req.scenario_ms,
            },
        ]
    )


def api_restrictions(req: Request) -> Response:
    account = _authenticate(req)
    return json_response(
        {
            "ipRestrict": False,
            "createTime": 1698645219000,
            "enableReading": True,
            "enableWithdrawals": account.can_withdraw,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": account.can_trade,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": False,
            "enableSpotAndMarginTrading": account.can_trade,
            "enablePortfolioMarginTrading": False,
        }
    )


def listen_key(req: Request) -> Response:
    """POST / PUT / DELETE /fapi/v1/listenKey: the user-data stream's key. Only the API key
    is checked (Binance: USER_STREAM endpoints are not signed)."""
    key = req.headers.get("X-MBX-APIKEY", "")
    account = req.accounts.get(EXCHANGE, key) if key else None
    keys = req.listen_keys
    if account is None or keys is None:
        raise error(401, -2015, "Invalid API-key, IP, or permissions for action.")
    if req.method == "POST":
        return json_response({"listenKey": keys.issue(account)})
    if req.method == "PUT":
        live = keys.keep_alive(account)
        if live is None:
            raise error(400, -1125, "This listenKey does not exist.")
        return json_response({"listenKey": live})
    if req.method == "DELETE":
        keys.close(account)
        return json_response({})
    raise error(405, -1000, "Method not allowed.")


def force_orders(inverse: bool) -> Callable[[Request], Response]:
    """GET /fapi/v1/forceOrders (USDⓈ-M) and /dapi/v1/forceOrders (COIN-M), USER_DATA: the
    account's liquidation (and ADL) orders of that book. Binance: without startTime, the 7
    days before endTime; limit 50 by default, 100 at most. The local exchange liquidates
    whole pools, so every order is a LIQUIDATION. COIN-M quantities are contracts, its value
    ``cumBase`` in the coin."""

    def handler(req: Request) -> Response:
        account = _authenticate(req)
        symbol = req.query.get("symbol") or None
        name = _coin_symbol if inverse else _symbol
        if symbol is not None and symbol not in {name(b) for b in req.market.bases}:
            raise error(400, -1121, "Invalid symbol.")
        kind = req.query.get("autoCloseType") or None
        if kind not in (None, "LIQUIDATION", "ADL"):
            raise error(400, -1116, "Invalid autoCloseType.")
        end = int_param(req.query, "endTime", req.server_ms)
        assert end is not None
        start = int_param(req.query, "startTime", end - 7 * DAY_MS)
        limit = min(max(int_param(req.query, "limit", 50) or 50, 1), 100)
        fills = [] if kind == "ADL" else in_window(forced_fills(req, account), start, end)
        fills = [
            f
            for f in fills
            if f.position.inverse is inverse and symbol in (None, name(f.position.base))
        ]
        return json_response([_force_order(f, inverse) for f in fills[-limit:]])

    return handler


def _force_order(f: ForcedFill, inverse: bool) -> dict[str, object]:
    p = f.position
    price = fmt(p.price, price_decimals(p.base))
    row: dict[str, object] = {
        "orderId": f.id,
        "symbol": _coin_symbol(p.base) if inverse else _symbol(p.base),
        "status": "FILLED",
        "clientOrderId": f"autoclose-{f.time_ms}{f.id % 1_000_000:06d}",
        "price": price,
        "avgPrice": price,
        "timeInForce": "IOC",
        "type": "LIMIT",
        "reduceOnly": False,
        "closePosition": False,
        "side": "SELL" if p.side.sign > 0 else "BUY",
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "origType": "LIMIT",
        "time": f.time_ms,
        "updateTime": f.time_ms,
    }
    if inverse:
        contracts = short(p.size / contract_size(EXCHANGE, p.base, inverse=True), 0)
        row.update(
            pair=f"{p.base}USD",
            origQty=contracts,
            executedQty=contracts,
            cumBase=fmt(p.size / p.price),
            priceProtect=False,
        )
    else:
        qty = short(p.size, 3)
        row.update(origQty=qty, executedQty=qty, cumQuote=fmt(p.size * p.price))
    return row


def position_side_dual(req: Request) -> Response:
    _authenticate(req)
    return json_response({"dualSidePosition": False})


def multi_assets_margin(req: Request) -> Response:
    """GET /fapi/v1/multiAssetsMargin: the account's asset mode."""
    account = _authenticate(req)
    return json_response({"multiAssetsMargin": account.pool_mode is PoolMode.SHARED})


def asset_index(req: Request) -> Response:
    """GET /fapi/v1/assetIndex: each margin asset's index and the rates a positive (bid) and a
    negative (ask) balance count at in multi-assets mode."""
    m, t = req.market, req.scenario_ms
    rows = []
    for coin in ("USDC", *m.bases):
        index = 1.0 if coin == "USDC" else m.index_price(coin, t)
        ratio = COLLATERAL_RATIO.get(coin, 1.0)
        rows.append(
            {
                "symbol": f"{coin}USD",
                "time": t,
                "index": fmt(index, 8),
                "bidBuffer": fmt(1 - ratio, 8),
                "askBuffer": fmt(1 - ratio, 8),
                "bidRate": fmt(index * ratio, 8),
                "askRate": fmt(index * (2 - ratio), 8),
                "autoExchangeBidBuffer": fmt(1 - ratio, 8),
                "autoExchangeAskBuffer": fmt(1 - ratio, 8),
                "autoExchangeBidRate": fmt(index * ratio, 8),
                "autoExchangeAskRate": fmt(index * (2 - ratio), 8),
            }
        )
    return json_response(rows)


# -- COIN-M (/dapi): coin-margined perpetuals, one cross pool per margin coin ------------------


def _coin_symbol(base: str) -> str:
    return f"{base}USD_PERP"


def dapi_exchange_info(req: Request) -> Response:
    symbols = []
    for base in req.market.bases:
        d = price_decimals(base)
        tick = short(10.0**-d, d)
        symbols.append(
            {
                "symbol": _coin_symbol(base),
                "pair": f"{base}USD",
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": ONBOARD_MS.get(base, 1569398400000),
                "contractStatus": "TRADING",
                "contractSize": int(contract_size(EXCHANGE, base, inverse=True)),
                "marginAsset": base,
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": base,
                "quoteAsset": "USD",
                "pricePrecision": d,
                "quantityPrecision": 0,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "equalQtyPrecision": 4,
                "maxMoveOrderLimit": 10000,
                "triggerProtect": "0.0500",
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "liquidationFee": "0.015000",
                "marketTakeBound": "0.05",
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": tick,
                        "maxPrice": "4520958",
                        "tickSize": tick,
                    },
                    {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1000000", "minQty": "1"},
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "stepSize": "1",
                        "maxQty": "60000",
                        "minQty": "1",
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {
                        "filterType": "PERCENT_PRICE",
                        "multiplierUp": "1.0500",
                        "multiplierDown": "0.9500",
                        "multiplierDecimal": "4",
                    },
                ],
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        )
    return json_response(
        {
            "timezone": "UTC",
            "serverTime": req.server_ms,
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
        }
    )


def dapi_account(req: Request) -> Response:
    """GET /dapi/v1/account: one asset row per margin coin."""
    account = _authenticate(req)
    v = req.view(account)
    assets = []
    for base in req.market.bases:
        c = v.coin(base)
        margin = c.wallet + c.unrealized_pnl
        assets.append(
            {
                "asset": base,
                "walletBalance": fmt(c.wallet, 8),
                "unrealizedProfit": fmt(c.unrealized_pnl, 8),
                "marginBalance": fmt(margin, 8),
                "maintMargin": fmt(c.maintenance, 8),
                "initialMargin": fmt(c.initial_margin, 8),
                "positionInitialMargin": fmt(c.initial_margin, 8),
                "openOrderInitialMargin": "0.00000000",
                "maxWithdrawAmount": fmt(max(0.0, min(c.wallet, margin - c.initial_margin)), 8),
                "crossWalletBalance": fmt(c.wallet, 8),
                "crossUnPnl": fmt(c.unrealized_pnl, 8),
                "availableBalance": fmt(max(0.0, margin - c.initial_margin), 8),
                "updateTime": req.scenario_ms,
            }
        )
    return json_response(
        {
            "assets": assets,
            "positions": [],
            "canDeposit": True,
            "canTrade": account.can_trade,
            "canWithdraw": account.can_withdraw,
            "feeTier": 0,
            "updateTime": 0,
        }
    )


def dapi_position_risk(req: Request) -> Response:
    """GET /dapi/v1/positionRisk: positionAmt in contracts; notionalValue and PnL in the coin."""
    account = _authenticate(req)
    v = req.view(account)
    rows = []
    for p in v.inverse():
        d = price_decimals(p.base)
        liq = "0" if p.liquidation_price is None else fmt(p.liquidation_price, 8)
        rows.append(
            {
                "symbol": _coin_symbol(p.base),
                "positionAmt": short(p.side.sign * p.contracts, 0),
                "entryPrice": fmt(p.entry, 8),
                "markPrice": fmt(p.mark, 8),
                "unRealizedProfit": fmt(p.unrealized_pnl, 8),
                "liquidationPrice": liq,
                "leverage": str(LEVERAGE),
                "maxQty": "1000000",
                "marginType": "cross",
                "isolatedMargin": "0.00000000",
                "isAutoAddMargin": "false",
                "positionSide": "BOTH",
                "notionalValue": fmt(p.side.sign * -p.notional, 8),
                "isolatedWallet": "0",
                "updateTime": max(p.opened_ms, 0),
                "breakEvenPrice": fmt(round(p.entry, d), 8),
            }
        )
    return json_response(rows)


def dapi_leverage_bracket(req: Request) -> Response:
    """GET /dapi/v2/leverageBracket: brackets by symbol, bounds (qtyFloor/qtyCap) and cum in
    the coin."""
    _authenticate(req)
    out = []
    for b in req.market.bases:
        brackets = [
            {
                "bracket": i + 1,
                "initialLeverage": int(t.max_leverage or 1),
                "qtyCap": t.max_bound,
                "qtyFloor": t.min_bound,
                "maintMarginRatio": t.maintenance_margin_rate,
                "cum": t.maintenance_amount,
            }
            for i, t in enumerate(tiers_for(EXCHANGE, b, inverse=True))
        ]
        out.append({"symbol": _coin_symbol(b), "notionalCoef": 1.0, "brackets": brackets})
    return json_response(out)


ROUTES: dict[str, Callable[[Request], Response]] = {
    "/fapi/v1/ping": ping,
    "/fapi/v1/time": server_time,
    "/fapi/v1/exchangeInfo": exchange_info,
    "/fapi/v1/premiumIndex": premium_index,
    "/fapi/v1/ticker/24hr": ticker_24hr,
    "/fapi/v1/ticker/price": ticker_price,
    "/fapi/v2/ticker/price": ticker_price,
    "/fapi/v1/ticker/bookTicker": book_ticker,
    "/fapi/v1/klines": klines,
    "/fapi/v1/markPriceKlines": klines,
    "/fapi/v1/indexPriceKlines": klines,
    "/fapi/v1/depth": depth,
    "/fapi/v1/openInterest": open_interest,
    "/futures/data/openInterestHist": open_interest_history,
    "/fapi/v1/fundingRate": funding_rate_history,
    "/fapi/v1/fundingInfo": funding_info,
    "/fapi/v1/leverageBracket": leverage_bracket,
    "/fapi/v1/forceOrders": force_orders(inverse=False),
    "/fapi/v2/positionRisk": position_risk(2),
    "/fapi/v3/positionRisk": position_risk(3),
    "/fapi/v2/account": account_info(2),
    "/fapi/v3/account": account_info(3),
    "/fapi/v2/balance": balance,
    "/fapi/v3/balance": balance,
    "/fapi/v1/positionSide/dual": position_side_dual,
    "/fapi/v1/listenKey": listen_key,
    "/fapi/v1/multiAssetsMargin": multi_assets_margin,
    "/fapi/v1/assetIndex": asset_index,
    "/dapi/v1/ping": ping,
    "/dapi/v1/time": server_time,
    "/dapi/v1/exchangeInfo": dapi_exchange_info,
    "/dapi/v1/account": dapi_account,
    "/dapi/v1/positionRisk": dapi_position_risk,
    "/dapi/v1/forceOrders": force_orders(inverse=True),
    "/dapi/v2/leverageBracket": dapi_leverage_bracket,
    "/sapi/v1/account/apiRestrictions": api_restrictions,
}
