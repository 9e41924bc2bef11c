"""OKX v5 (USDT-margined and coin-margined perpetual swaps, one-way "net" mode, cross margin).

Sizes are in contracts of ``ctVal`` base units (0.01 BTC, 0.1 ETH); position tiers are picked
by the number of contracts. Answers are ``{"code": "0", "msg": "", "data": [...]}``; auth
failures are HTTP 401 with OKX's own codes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.localexchange.accounts import (
    COLLATERAL_RATIO,
    LEVERAGE,
    AccountView,
    CoinView,
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
    int_param,
    json_response,
    short,
)
from connectors.localexchange.signing import hmac_b64, okx_timestamp_ms, same
from connectors.localexchange.timeframes import timeframe_ms
from risk.types import PoolMode

EXCHANGE = "okx"
TIMESTAMP_WINDOW_MS = 30_000
LIST_MS = {"BTC": 1611916828000, "ETH": 1611916828000}


def ok(data: list[Any]) -> Response:
    return json_response({"code": "0", "msg": "", "data": data})


def error(status: int, code: str, msg: str) -> ApiError:
    return ApiError(json_response({"msg": msg, "code": code}, status))


def error_body(kind: str) -> tuple[int, Any]:
    if kind in ("429", "418"):
        return int(kind), {"msg": "Too Many Requests", "code": "50011"}
    return 503, {
        "code": "50001",
        "msg": "Service temporarily unavailable. Please try again later.",
        "data": [],
    }


def _inst_id(base: str, inverse: bool = False) -> str:
    return f"{base}-USD-SWAP" if inverse else f"{base}-USDT-SWAP"


def _family(base: str, inverse: bool = False) -> str:
    return f"{base}-USD" if inverse else f"{base}-USDT"


def _kinds(req: Request) -> list[tuple[str, bool]]:
    """(base, inverse) of the swaps a public request asks about (instId or instFamily)."""
    inst = req.query.get("instId") or ""
    family = req.query.get("instFamily") or req.query.get("uly") or ""
    out = [(b, inv) for b in req.market.bases for inv in (False, True)]
    if inst:
        return [(b, inv) for b, inv in out if _inst_id(b, inv) == inst]
    if family:
        return [(b, inv) for b, inv in out if _family(b, inv) == family]
    return out if req.query.get("instType", "SWAP") == "SWAP" else []


def _bases(req: Request, *, required: bool = False) -> list[str]:
    inst = req.query.get("instId") or ""
    family = req.query.get("instFamily") or req.query.get("uly") or ""
    inst_type = req.query.get("instType", "SWAP")
    bases = list(req.market.bases)
    if inst:
        match = [b for b in bases if _inst_id(b) == inst]
        if not match:
            raise error(400, "51001", "Instrument ID does not exist")
        return match
    if required:
        raise error(400, "50014", "Parameter instId can not be empty")
    if family:
        return [b for b in bases if _family(b) == family]
    return bases if inst_type == "SWAP" else []


def _authenticate(req: Request) -> LocalAccount:
    h = req.headers
    key = h.get("OK-ACCESS-KEY", "")
    account = req.accounts.get(EXCHANGE, key) if key else None
    if account is None:
        raise error(401, "50111", "Invalid OK-ACCESS-KEY")
    ts_text = h.get("OK-ACCESS-TIMESTAMP", "")
    ts = okx_timestamp_ms(ts_text)
    if ts is None:
        raise error(401, "50112", "Invalid OK-ACCESS-TIMESTAMP")
    if abs(req.server_ms - ts) > TIMESTAMP_WINDOW_MS:
        raise error(401, "50102", "Timestamp request expired")
    if not same(h.get("OK-ACCESS-PASSPHRASE", ""), account.credentials.password):
        raise error(401, "50105", "Request header OK-ACCESS-PASSPHRASE incorrect.")
    target = req.path + (f"?{req.raw_query}" if req.raw_query else "")
    body = req.body.decode(errors="replace") if req.method != "GET" else ""
    expected = hmac_b64(account.credentials.secret, ts_text + req.method + target + body)
    if not same(expected, h.get("OK-ACCESS-SIGN", "")):
        raise error(401, "50113", "Invalid Sign")
    return account


# -- public -------------------------------------------------------------------------------


def server_time(req: Request) -> Response:
    return ok([{"ts": str(req.server_ms)}])


def instruments(req: Request) -> Response:
    rows = []
    if req.query.get("instType") == "SWAP":
        for base, inverse in _kinds(req):
            d = price_decimals(base)
            rows.append(
                {
                    "alias": "",
                    "baseCcy": "",
                    "category": "1",
                    "ctMult": "1",
                    "ctType": "inverse" if inverse else "linear",
                    "ctVal": short(contract_size(EXCHANGE, base, inverse)),
                    "ctValCcy": "USD" if inverse else base,
                    "expTime": "",
                    "instFamily": _family(base, inverse),
                    "instId": _inst_id(base, inverse),
                    "instType": "SWAP",
                    "lever": "100",
                    "listTime": str(LIST_MS.get(base, 0)),
                    "lotSz": "0.01",
                    "maxIcebergSz": "100000000.0000000000000000",
                    "maxLmtAmt": "20000000",
                    "maxLmtSz": "100000000",
                    "maxMktAmt": "",
                    "maxMktSz": "12000",
                    "maxStopSz": "12000",
                    "maxTriggerSz": "100000000.0000000000000000",
                    "maxTwapSz": "100000000.0000000000000000",
                    "minSz": "0.01",
                    "optType": "",
                    "quoteCcy": "",
                    "settleCcy": base if inverse else "USDT",
                    "state": "live",
                    "stk": "",
                    "tickSz": short(10.0**-d, d),
                    "uly": _family(base, inverse),
                    "ruleType": "normal",
                }
            )
    return ok(rows)


def mark_price(req: Request) -> Response:
    return ok([mark_row(req.market, b, req.scenario_ms) for b in _bases(req)])


def mark_row(m: Market, base: str, t: int) -> dict[str, Any]:
    """One mark price, as /api/v5/public/mark-price lists it and the mark-price channel
    pushes it."""
    return {
        "instType": "SWAP",
        "instId": _inst_id(base),
        "markPx": short(m.mark(base, t), price_decimals(base) + 1),
        "ts": str(t),
    }


def ticker_row(m: Market, base: str, t: int) -> dict[str, Any]:
    """One swap's ticker, as /api/v5/market/tickers lists it and the tickers channel
    pushes it."""
    d = price_decimals(base)
    st = m.stats_24h(base, t)
    bids, asks = m.order_book(base, t, 1)
    cs = contract_size(EXCHANGE, base)
    return {
        "instType": "SWAP",
        "instId": _inst_id(base),
        "last": short(m.last_price(base, t), d),
        "lastSz": "1",
        "askPx": short(asks[0, 0], d),
        "askSz": short(asks[0, 1] / cs, 2),
        "bidPx": short(bids[0, 0], d),
        "bidSz": short(bids[0, 1] / cs, 2),
        "open24h": short(st.open, d),
        "high24h": short(st.high, d),
        "low24h": short(st.low, d),
        "volCcy24h": short(st.volume, 4),
        "vol24h": short(st.volume / cs, 2),
        "ts": str(t),
        "sodUtc0": short(st.open, d),
        "sodUtc8": short(st.open, d),
    }


def tickers(req: Request) -> Response:
    return ok([ticker_row(req.market, b, req.scenario_ms) for b in _bases(req)])


def ticker(req: Request) -> Response:
    return ok([ticker_row(req.market, b, req.scenario_ms) for b in _bases(req, required=True)])


def candles(req: Request) -> Response:
    base = _bases(req, required=True)[0]
    tf = timeframe_ms(req.query.get("bar", "1m"))
    if tf is None:
        raise error(400, "51000", "Parameter bar error")
    limit = min(int_param(req.query, "limit", 100) or 100, 300)
    after = int_param(req.query, "after")
    before = int_param(req.query, "before")
    since = None if before is None else before + 1
    until = None if after is None else after - 1
    bars = req.market.bars(
        base,
        tf,
        req.scenario_ms,
        since_ms=since if after is not None else None,
        until_ms=until,
        limit=limit,
    )
    d = price_decimals(base)
    cs = contract_size(EXCHANGE, base)
    now_bar = req.scenario_ms // tf * tf
    rows = []
    for i in range(len(bars) - 1, -1, -1):
        ts = int(bars.ts[i])
        if since is not None and ts < since:
            continue
        v = float(bars.volume[i])
        close = float(bars.close[i])
        rows.append(
            [
                str(ts),
                short(bars.open[i], d),
                short(bars.high[i], d),
                short(bars.low[i], d),
                short(close, d),
                short(v / cs, 2),
                short(v, 4),
                short(v * close, 2),
                "0" if ts == now_bar else "1",
            ]
        )
    return ok(rows)


def books(req: Request) -> Response:
    base = _bases(req, required=True)[0]
    size = min(int_param(req.query, "sz", 1) or 1, 400)
    bids, asks = req.market.order_book(base, req.scenario_ms, size)
    d = price_decimals(base)
    cs = contract_size(EXCHANGE, base)
    return ok(
        [
            {
                "asks": [[short(p, d), short(q / cs, 2), "0", "3"] for p, q in asks],
                "bids": [[short(p, d), short(q / cs, 2), "0", "3"] for p, q in bids],
                "ts": str(req.scenario_ms),
            }
        ]
    )


def funding_rate(req: Request) -> Response:
    m, t = req.market, req.scenario_ms
    rows = []
    for b in _bases(req, required=True):
        rate = m.funding_rate(b, t)
        rows.append(
            {
                "instType": "SWAP",
                "instId": _inst_id(b),
                "fundingRate": fmt(rate, 16),
                "nextFundingRate": "",
                "fundingTime": str(m.next_funding_ms(t)),
                "nextFundingTime": str(m.next_funding_ms(t) + 8 * 3_600_000),
                "method": "current_period",
                "minFundingRate": "-0.0075",
                "maxFundingRate": "0.0075",
                "premium": fmt(rate - 0.0001, 8),
                "settFundingRate": fmt(m.funding_rate(b, t - 8 * 3_600_000), 16),
                "settState": "settled",
                "impactValue": "20000.0000000000000000",
                "interestRate": "0.0001",
                "sign": "",
                "ts": str(t),
            }
        )
    return ok(rows)


def funding_rate_history(req: Request) -> Response:
    base = _bases(req, required=True)[0]
    limit = min(int_param(req.query, "limit", 100) or 100, 100)
    before = int_param(req.query, "before")
    rows = req.market.funding_history(
        base, req.scenario_ms, None if before is None else before + 1, limit
    )
    return ok(
        [
            {
                "instType": "SWAP",
                "instId": _inst_id(base),
                "fundingRate": fmt(r, 16),
                "realizedRate": fmt(r, 16),
                "fundingTime": str(t),
                "method": "current_period",
                "formulaType": "withRate",
            }
            for t, r, _ in reversed(rows)
        ]
    )


def open_interest(req: Request) -> Response:
    m, t = req.market, req.scenario_ms
    rows = []
    for b in _bases(req):
        oi = m.open_interest(b, t)
        cs = contract_size(EXCHANGE, b)
        rows.append(
            {
                "instType": "SWAP",
                "instId": _inst_id(b),
                "oi": short(oi / cs, 2),
                "oiCcy": short(oi, 4),
                "oiUsd": short(oi * m.mark(b, t), 2),
                "ts": str(t),
            }
        )
    return ok(rows)


def position_tiers(req: Request) -> Response:
    if req.query.get("instType") not in ("SWAP", "FUTURES", "MARGIN", "OPTION"):
        raise error(400, "51000", "Parameter instType error")
    rows = []
    for b, inverse in _kinds(req):
        for i, tier in enumerate(tiers_for(EXCHANGE, b, inverse)):
            rows.append(
                {
                    "uly": _family(b, inverse),
                    "instFamily": _family(b, inverse),
                    "instId": "",
                    "tier": str(i + 1),
                    "minSz": short(tier.min_bound),
                    "maxSz": short(tier.max_bound),
                    "mmr": short(tier.maintenance_margin_rate),
                    "imr": short(1 / (tier.max_leverage or 1)),
                    "maxLever": short(tier.max_leverage or 1),
                    "optMgnFactor": "0",
                    "quoteMaxLoan": "",
                    "baseMaxLoan": "",
                }
            )
    return ok(rows)


# -- signed -------------------------------------------------------------------------------


def positions(req: Request) -> Response:
    account = _authenticate(req)
    inst_type = req.query.get("instType")
    if inst_type not in (None, "", "SWAP", "MARGIN", "FUTURES", "OPTION"):
        raise error(400, "51000", "Parameter instType error")
    ids = req.query.get("instId")
    kinds = {(b, inv) for b in req.market.bases for inv in (False, True)}
    if ids:
        wanted = {k for k in kinds if _inst_id(*k) in ids.split(",")}
    elif inst_type in (None, "", "SWAP"):
        wanted = kinds
    else:
        wanted = set()
    view = req.view(account)
    return ok(position_rows(req.market, account, view, wanted))


def position_rows(
    m: Market,
    account: LocalAccount,
    view: AccountView,
    wanted: set[tuple[str, bool]] | None = None,
) -> list[dict[str, Any]]:
    """The account's positions as /api/v5/account/positions lists them and the positions
    channel pushes them (``wanted``: only these (asset, inverse) swaps). A coin-margined swap's
    money (upl, mmr, imr) is in its coin."""
    mgn_ratio = view.equity / view.maintenance if view.maintenance > 0 else 0.0
    t = view.time_ms
    rows = []
    for p in view.positions:
        if wanted is not None and (p.base, p.inverse) not in wanted:
            continue
        d = price_decimals(p.base)
        im = p.initial_margin
        liq = "" if p.liquidation_price is None else short(p.liquidation_price, d + 1)
        rows.append(
            {
                "adl": "2",
                "availPos": "",
                "avgPx": short(p.entry, d + 1),
                "cTime": str(max(p.opened_ms, 0)),
                "ccy": p.settle,
                "deltaBS": "",
                "deltaPA": "",
                "gammaBS": "",
                "gammaPA": "",
                "imr": fmt(im, 8),
                "instId": _inst_id(p.base, p.inverse),
                "instType": "SWAP",
                "interest": "",
                "idxPx": short(m.index_price(p.base, t), d),
                "last": short(m.last_price(p.base, t), d),
                "usdPx": "",
                "bePx": short(p.entry * (1 + p.side.sign * 0.001), d + 1),
                "lever": str(LEVERAGE),
                "liab": "",
                "liabCcy": "",
                "liqPx": liq,
                "markPx": short(p.mark, d + 1),
                "margin": "",
                "mgnMode": "cross",
                "mgnRatio": fmt(mgn_ratio, 8),
                "mmr": fmt(p.maintenance, 8),
                "notionalUsd": fmt(p.size if p.inverse else p.notional, 8),
                "optVal": "",
                "pendingCloseOrdLiabVal": "",
                "pTime": str(t),
                "pos": short(p.side.sign * p.contracts, 2),
                "posCcy": "",
                "posId": str(1000 + account.id),
                "posSide": "net",
                "spotInUseAmt": "",
                "spotInUseCcy": "",
                "thetaBS": "",
                "thetaPA": "",
                "tradeId": "1",
                "bizRefId": "",
                "bizRefType": "",
                "quoteBal": "",
                "baseBal": "",
                "baseBorrowed": "",
                "baseInterest": "",
                "quoteBorrowed": "",
                "quoteInterest": "",
                "uTime": str(t),
                "upl": fmt(p.unrealized_pnl, 8),
                "uplLastPx": fmt(p.unrealized_pnl, 8),
                "uplRatio": fmt(p.unrealized_pnl / im if im else 0.0, 8),
                "uplRatioLastPx": "",
                "vegaBS": "",
                "vegaPA": "",
                "realizedPnl": "0",
                "pnl": "0",
                "fee": "0",
                "fundingFee": "0",
                "liqPenalty": "0",
                "closeOrderAlgo": [],
            }
        )
    return rows


LIQUIDATION_TYPE = "3"
"""positions-history ``type``: 1 partial close, 2 close all, 3 liquidation, 4 partial
liquidation, 5 ADL. The local exchange liquidates whole positions."""


def positions_history(req: Request) -> Response:
    """GET /api/v5/account/positions-history: closed positions of linear and coin-margined
    swaps, newest first (``uTime``); here those the liquidation closed. ``instId`` picks one
    swap; ``before``/``after`` keep records updated later / earlier than the given uTime;
    ``type`` filters by how they were closed; limit 100."""
    account = _authenticate(req)
    inst_type = req.query.get("instType") or "SWAP"
    inst = req.query.get("instId") or None
    kind = req.query.get("type") or None
    after = int_param(req.query, "after")
    before = int_param(req.query, "before")
    limit = min(max(int_param(req.query, "limit", 100) or 100, 1), 100)
    fills = [
        f
        for f in forced_fills(req, account)
        if inst_type == "SWAP"
        and inst in (None, _inst_id(f.position.base, f.position.inverse))
        and kind in (None, LIQUIDATION_TYPE)
        and (before is None or f.time_ms > before)
        and (after is None or f.time_ms < after)
    ]
    return ok([_history_row(f) for f in reversed(fills[-limit:])])


def _history_row(f: ForcedFill) -> dict[str, Any]:
    """A linear swap's sizes are contracts of ctVal coins, its money USDT; a coin-margined
    one's are contracts of ctVal USD, its money the coin."""
    p = f.position
    inv = p.inverse
    cs = contract_size(EXCHANGE, p.base, inverse=inv)
    d = price_decimals(p.base)
    if inv:
        pnl = p.side.sign * p.size * (1 / p.entry - 1 / p.price)
        margin, penalty = p.size / p.entry / LEVERAGE, p.size / p.price * 0.0005
    else:
        pnl = p.side.sign * p.size * (p.price - p.entry)
        margin, penalty = p.size * p.entry / LEVERAGE, p.size * p.price * 0.0005
    return {
        "instType": "SWAP",
        "instId": _inst_id(p.base, inv),
        "mgnMode": "cross",
        "type": LIQUIDATION_TYPE,
        "cTime": str(p.opened_ms),
        "uTime": str(f.time_ms),
        "openAvgPx": short(p.entry, d),
        "closeAvgPx": short(p.price, d),
        "posId": str(f.id),
        "openMaxPos": short(p.size / cs, 4),
        "closeTotalPos": short(p.size / cs, 4),
        "realizedPnl": short(pnl, 8),
        "fee": "0",
        "fundingFee": "0",
        "liqPenalty": short(-penalty, 8),
        "pnl": short(pnl, 8),
        "pnlRatio": short(pnl / margin, 8),
        "posSide": "net",
        "lever": str(LEVERAGE),
        "direction": p.side.name.lower(),
        "triggerPx": short(p.price, d),
        "uly": _family(p.base, inv),
        "ccy": p.base if inv else "USDT",
    }


def balance(req: Request) -> Response:
    account = _authenticate(req)
    v = req.view(account)
    return ok([balance_body(v, req.query.get("ccy"))])


def _detail(c: CoinView, shared: bool, t: str) -> dict[str, str]:
    """One coin of GET /api/v5/account/balance: cash, equity (cash + cross PnL), its USD
    value and, in multi-currency margin, its discounted value."""
    eq = c.equity
    usd = eq * c.price
    ratio = COLLATERAL_RATIO.get(c.coin, 1.0) if shared and eq > 0 else 1.0
    ratio_mm = eq / c.maintenance if c.maintenance > 0 else 0.0
    avail = max(0.0, eq - c.initial_margin)
    return {
        "availBal": fmt(avail),
        "availEq": fmt(avail),
        "cashBal": fmt(c.wallet),
        "ccy": c.coin,
        "crossLiab": "",
        "disEq": fmt(usd * ratio),
        "eq": fmt(eq),
        "eqUsd": fmt(usd),
        "fixedBal": "0",
        "frozenBal": fmt(c.initial_margin),
        "imr": fmt(c.initial_margin),
        "interest": "",
        "isoEq": "0",
        "isoLiab": "",
        "isoUpl": "0",
        "liab": "",
        "maxLoan": "",
        "mgnRatio": fmt(ratio_mm),
        "mmr": fmt(c.maintenance),
        "notionalLever": "",
        "ordFrozen": "0",
        "rewardBal": "0",
        "spotInUseAmt": "",
        "clSpotInUseAmt": "",
        "maxSpotInUse": "",
        "spotIsoBal": "0",
        "stgyEq": "0",
        "twap": "0",
        "uTime": t,
        "upl": fmt(c.unrealized_pnl),
        "uplLiab": "",
        "spotBal": "",
        "openAvgPx": "",
        "accAvgPx": "",
        "spotUpl": "",
        "spotUplRatio": "",
        "totalPnl": "",
        "totalPnlRatio": "",
    }


def balance_body(v: AccountView, ccy: str | None = None) -> dict[str, Any]:
    """The account as /api/v5/account/balance gives it and the account channel pushes it:
    one detail per coin; in multi-currency margin (acctLv 3) the USD figures are the pool's."""
    im = v.initial_margin
    eq = v.equity
    ratio = eq / v.maintenance if v.maintenance > 0 else 0.0
    t = str(v.time_ms)
    shared = v.pool_mode is PoolMode.SHARED
    coins = [c for c in v.coins if c.coin == "USDT" or c.wallet or c.unrealized_pnl]
    if ccy:
        coins = [c for c in coins if c.coin in ccy.split(",")]
    return {
        "adjEq": fmt(eq) if shared else "",
        "availEq": fmt(max(0.0, eq - im)),
        "borrowFroz": "",
        "details": [_detail(c, shared, t) for c in coins],
        "imr": fmt(im),
        "isoEq": "0",
        "mgnRatio": fmt(ratio) if shared else "",
        "mmr": fmt(v.maintenance) if shared else "",
        "notionalUsd": fmt(sum(p.size if p.inverse else p.notional for p in v.positions)),
        "ordFroz": "0",
        "totalEq": fmt(sum(c.equity * c.price for c in v.coins)),
        "uTime": t,
        "upl": fmt(sum(c.unrealized_pnl * c.price for c in v.coins)),
    }


def trade_fee(req: Request) -> Response:
    """GET /api/v5/account/trade-fee: the account's rates, charges as negative numbers."""
    account = _authenticate(req)
    if req.query.get("instType") not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
        raise error(400, "51000", "Parameter instType error")
    taker = fmt(-(account.taker_fee_rate or 0.0005), 6)
    maker = fmt(-0.0002, 6)
    return ok(
        [
            {
                "category": "1",
                "delivery": "",
                "exercise": "",
                "instType": req.query["instType"],
                "level": "Lv1",
                "maker": maker,
                "makerU": maker,
                "makerUSDC": maker,
                "taker": taker,
                "takerU": taker,
                "takerUSDC": taker,
                "ruleType": "normal",
                "ts": str(req.scenario_ms),
                "fiat": [],
            }
        ]
    )


def config(req: Request) -> Response:
    account = _authenticate(req)
    perm = ["read_only"]
    if account.can_trade:
        perm.append("trade")
    if account.can_withdraw:
        perm.append("withdraw")
    return ok(
        [
            {
                "acctLv": "3" if account.pool_mode is PoolMode.SHARED else "2",
                "acctStpMode": "cancel_maker",
                "autoLoan": False,
                "ctIsoMode": "automatic",
                "enableSpotBorrow": False,
                "greeksType": "PA",
                "ip": "",
                "kycLv": "2",
                "label": account.label or "cascade-watch",
                "level": "Lv1",
                "levelTmp": "",
                "liquidationGear": "-1",
                "mainUid": str(account.uid),
                "mgnIsoMode": "automatic",
                "opAuth": "0",
                "perm": ",".join(perm),
                "posMode": "net_mode",
                "roleType": "0",
                "spotBorrowAutoRepay": False,
                "spotOffsetType": "",
                "spotRoleType": "0",
                "spotTraderInsts": [],
                "traderInsts": [],
                "type": "0",
                "uid": str(account.uid),
            }
        ]
    )


def currencies(req: Request) -> Response:
    _authenticate(req)
    rows = []
    for ccy in ("USDT", "USDC", *req.market.bases):
        rows.append(
            {
                "canDep": True,
                "canInternal": True,
                "canWd": True,
                "ccy": ccy,
                "chain": f"{ccy}-ERC20",
                "depQuotaFixed": "",
                "depQuoteDailyLayer2": "",
                "logoLink": "",
                "mainNet": True,
                "maxFee": "10",
                "maxFeeForCtAddr": "10",
                "maxWd": "10000000",
                "minDep": "0.00005",
                "minDepArrivalConfirm": "64",
                "minFee": "1",
                "minFeeForCtAddr": "1",
                "minWd": "0.0001",
                "minWdUnlockConfirm": "96",
                "name": ccy,
                "needTag": False,
                "usedDepQuotaFixed": "",
                "usedWdQuota": "0",
                "wdQuota": "10000000",
                "wdTickSz": "8",
                "fee": "1",
                "burningFeeRate": "",
            }
        )
    return ok(rows)


ROUTES: dict[str, Callable[[Request], Response]] = {
    "/api/v5/asset/currencies": currencies,
    "/api/v5/public/time": server_time,
    "/api/v5/public/instruments": instruments,
    "/api/v5/public/mark-price": mark_price,
    "/api/v5/public/position-tiers": position_tiers,
    "/api/v5/public/funding-rate": funding_rate,
    "/api/v5/public/funding-rate-history": funding_rate_history,
    "/api/v5/public/open-interest": open_interest,
    "/api/v5/market/tickers": tickers,
    "/api/v5/market/ticker": ticker,
    "/api/v5/market/candles": candles,
    "/api/v5/market/history-candles": candles,
    "/api/v5/market/mark-price-candles": candles,
    "/api/v5/market/history-mark-price-candles": candles,
    "/api/v5/market/books": books,
    "/api/v5/account/positions": positions,
    "/api/v5/account/positions-history": positions_history,
    "/api/v5/account/balance": balance,
    "/api/v5/account/config": config,
    "/api/v5/account/trade-fee": trade_fee,
}
