"""Raw exchange bodies -> the risk engine's types. Pure functions: no ccxt calls, no clock.

The connector reads the account endpoints through ccxt's implicit API methods and parses the
raw bodies here, because the account-level figures (maintenance margin, margin ratio, cross
wallet) exist only in the raw body and ccxt's derived position fields drift between versions
(research notes §1, §6). Each exchange gives a ``RawAccount``: the account figures plus one
``RawPosition`` per open position, before tiers are attached (tiers are cached separately).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from risk.rules import rules_for
from risk.types import (
    Account,
    Figure,
    MarginMode,
    MarginTier,
    Position,
    Side,
    Source,
    TierBasis,
    cumulative_amounts,
)

SETTLE_COINS = ("USDT", "USDC")


@dataclass(frozen=True, slots=True)
class MarketRef:
    """What parsing needs from a loaded ccxt market."""

    symbol: str
    contract_size: float = 1.0
    max_leverage: float | None = None
    tier_key: str = ""
    """What the exchange's tier endpoint is keyed by (Binance/Bybit market id, OKX instFamily)."""


@dataclass(frozen=True, slots=True)
class RawPosition:
    symbol: str
    side: Side
    contracts: float
    entry_price: float
    mark_price: float
    contract_size: float = 1.0
    margin_mode: MarginMode = MarginMode.CROSS
    leverage: float | None = None
    isolated_margin: float | None = None
    max_leverage: float | None = None
    exchange_liquidation_price: float | None = None


@dataclass(frozen=True, slots=True)
class RawAccount:
    wallet_balance: float
    maintenance_margin: float | None
    margin_ratio: float | None
    positions: tuple[RawPosition, ...]
    notes: tuple[str, ...] = ()


MarketLookup = Callable[[str], MarketRef]


def num(value: Any) -> float | None:
    """A float from an exchange string; None for '', None and unparsable values."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _need(value: Any, what: str) -> float:
    parsed = num(value)
    if parsed is None:
        raise ValueError(f"missing or unreadable {what}")
    return parsed


def _positive_or_none(value: Any) -> float | None:
    parsed = num(value)
    return parsed if parsed is not None and parsed > 0 else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


# --- Binance USDⓈ-M: GET /fapi/v3/account + GET /fapi/v3/positionRisk ------------------------


def binance_account(
    account: Mapping[str, Any], risks: Sequence[Mapping[str, Any]], market: MarketLookup
) -> RawAccount:
    """``totalCrossWalletBalance`` is the cross wallet (it counts USDC, BTC… in multi-assets
    mode); margin ratio as Binance shows it: totalMaintMargin / totalMarginBalance."""
    mm = num(account.get("totalMaintMargin"))
    positions = []
    for row in risks:
        amount = _need(row.get("positionAmt"), "positionAmt")
        if amount == 0:
            continue
        ref = market(str(row["symbol"]))
        position_side = str(row.get("positionSide", "BOTH")).upper()
        side = (
            Side.parse(position_side)
            if position_side in ("LONG", "SHORT")
            else (Side.LONG if amount > 0 else Side.SHORT)
        )
        isolated_wallet = num(row.get("isolatedWallet")) or 0.0
        isolated = isolated_wallet > 0 or str(row.get("marginType", "")).lower() == "isolated"
        positions.append(
            RawPosition(
                symbol=ref.symbol,
                side=side,
                contracts=abs(amount),
                entry_price=_need(row.get("entryPrice"), "entryPrice"),
                mark_price=_need(row.get("markPrice"), "markPrice"),
                contract_size=ref.contract_size,
                margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                leverage=_positive_or_none(row.get("leverage")),
                isolated_margin=isolated_wallet if isolated else None,
                max_leverage=ref.max_leverage,
                exchange_liquidation_price=_positive_or_none(row.get("liquidationPrice")),
            )
        )
    return RawAccount(
        wallet_balance=_need(account.get("totalCrossWalletBalance"), "totalCrossWalletBalance"),
        maintenance_margin=mm,
        margin_ratio=_ratio(mm, num(account.get("totalMarginBalance"))),
        positions=tuple(positions),
    )


def binance_tiers(body: Iterable[Mapping[str, Any]]) -> dict[str, tuple[MarginTier, ...]]:
    """GET /fapi/v1/leverageBracket -> tiers by market id, each with Binance's ``cum``."""
    out: dict[str, tuple[MarginTier, ...]] = {}
    for entry in body:
        brackets = sorted(entry.get("brackets") or [], key=lambda b: num(b["notionalFloor"]) or 0)
        out[str(entry["symbol"])] = tuple(
            MarginTier(
                _need(b["notionalFloor"], "notionalFloor"),
                _need(b["notionalCap"], "notionalCap"),
                _need(b["maintMarginRatio"], "maintMarginRatio"),
                num(b.get("cum")) or 0.0,
                num(b.get("initialLeverage")),
            )
            for b in brackets
        )
    return out


# --- Bybit UTA: GET /v5/account/wallet-balance + GET /v5/position/list per settle coin -------


def _bybit_result(body: Mapping[str, Any]) -> Mapping[str, Any]:
    result = body.get("result")
    if not isinstance(result, Mapping):
        raise ValueError("bybit body has no result")
    return result


def bybit_account(
    wallet: Mapping[str, Any], position_lists: Sequence[Mapping[str, Any]], market: MarketLookup
) -> RawAccount:
    """UTA figures are in USD over all collateral: the cross wallet is the margin balance
    without the perpetuals' unrealised PnL; accountMMRate is Bybit's own MM / margin balance.
    A UTA cross position has no liquidation price of its own (``liqPrice`` is "")."""
    rows = _bybit_result(wallet).get("list") or []
    if not rows:
        raise ValueError("bybit wallet-balance has no account")
    acct = rows[0]
    margin_balance = num(acct.get("totalMarginBalance"))
    perp_upl = num(acct.get("totalPerpUPL")) or 0.0
    if margin_balance is None:
        margin_balance = _need(acct.get("totalEquity"), "totalEquity")
    positions = []
    for body in position_lists:
        for row in _bybit_result(body).get("list") or []:
            size = num(row.get("size")) or 0.0
            if size == 0 or row.get("side") not in ("Buy", "Sell"):
                continue
            ref = market(str(row["symbol"]))
            isolated = str(row.get("tradeMode", "0")) == "1"
            positions.append(
                RawPosition(
                    symbol=ref.symbol,
                    side=Side.LONG if row["side"] == "Buy" else Side.SHORT,
                    contracts=abs(size),
                    entry_price=_need(row.get("avgPrice"), "avgPrice"),
                    mark_price=_need(row.get("markPrice"), "markPrice"),
                    contract_size=ref.contract_size,
                    margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                    leverage=_positive_or_none(row.get("leverage")),
                    isolated_margin=num(row.get("positionBalance")) if isolated else None,
                    max_leverage=ref.max_leverage,
                    exchange_liquidation_price=_positive_or_none(row.get("liqPrice")),
                )
            )
    return RawAccount(
        wallet_balance=margin_balance - perp_upl,
        maintenance_margin=num(acct.get("totalMaintenanceMargin")),
        margin_ratio=num(acct.get("accountMMRate")),
        positions=tuple(positions),
    )


def bybit_tiers(body: Mapping[str, Any]) -> tuple[MarginTier, ...]:
    """GET /v5/market/risk-limit?symbol= -> tiers with ``mmDeduction``; a tier's floor is the
    previous tier's riskLimitValue."""
    rows = sorted(
        _bybit_result(body).get("list") or [], key=lambda r: num(r["riskLimitValue"]) or 0.0
    )
    tiers, floor = [], 0.0
    for r in rows:
        cap = _need(r["riskLimitValue"], "riskLimitValue")
        tiers.append(
            MarginTier(
                floor,
                cap,
                _need(r["maintenanceMargin"], "maintenanceMargin"),
                num(r.get("mmDeduction")) or 0.0,
                num(r.get("maxLeverage")),
            )
        )
        floor = cap
    return tuple(tiers)


def bybit_key_permissions(body: Mapping[str, Any]) -> tuple[bool, bool]:
    """GET /v5/user/query-api -> (can_trade, can_withdraw)."""
    result = _bybit_result(body)
    perms = result.get("permissions") or {}
    read_only = str(result.get("readOnly", "0")) == "1"
    trade_groups = ("ContractTrade", "Spot", "Options", "Derivatives", "CopyTrading")
    can_trade = not read_only and any(perms.get(g) for g in trade_groups)
    can_withdraw = "Withdraw" in (perms.get("Wallet") or [])
    return can_trade, can_withdraw


# --- OKX: GET /api/v5/account/balance + GET /api/v5/account/positions?instType=SWAP ----------


def _okx_data(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list):
        raise ValueError("okx body has no data")
    return data


def okx_account(
    balance: Mapping[str, Any], positions_body: Mapping[str, Any], market: MarketLookup
) -> RawAccount:
    """The cross wallet is each settle coin's cash balance less what sits in isolated
    positions (eq − isoEq − upl + isoUpl). OKX's own ``mmr`` is the cross maintenance margin in
    USD and its ``mgnRatio`` is equity / maintenance (liquidation at 100 %), the inverse of
    ours, so the ratio reported here is 1 / mgnRatio."""
    data = _okx_data(balance)
    if not data:
        raise ValueError("okx balance has no account")
    acct = data[0]
    details = [d for d in acct.get("details") or [] if d.get("ccy") in SETTLE_COINS]
    positions = []
    cross_upl = 0.0
    for row in _okx_data(positions_body):
        pos = num(row.get("pos")) or 0.0
        if pos == 0:
            continue
        ref = market(str(row["instId"]))
        pos_side = str(row.get("posSide", "net")).lower()
        side = (
            Side.parse(pos_side)
            if pos_side in ("long", "short")
            else (Side.LONG if pos > 0 else Side.SHORT)
        )
        isolated = str(row.get("mgnMode", "cross")).lower() == "isolated"
        if not isolated:
            cross_upl += num(row.get("upl")) or 0.0
        positions.append(
            RawPosition(
                symbol=ref.symbol,
                side=side,
                contracts=abs(pos),
                entry_price=_need(row.get("avgPx"), "avgPx"),
                mark_price=_need(row.get("markPx"), "markPx"),
                contract_size=ref.contract_size,
                margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                leverage=_positive_or_none(row.get("lever")),
                isolated_margin=num(row.get("margin")) if isolated else None,
                max_leverage=ref.max_leverage,
                exchange_liquidation_price=_positive_or_none(row.get("liqPx")),
            )
        )
    if details:
        wallet = sum(
            (num(d.get("eq")) or 0.0)
            - (num(d.get("isoEq")) or 0.0)
            - (num(d.get("upl")) or 0.0)
            + (num(d.get("isoUpl")) or 0.0)
            for d in details
        )
    else:
        wallet = _need(acct.get("totalEq"), "totalEq") - cross_upl
    mm = num(acct.get("mmr"))
    if mm is None and details:
        mm = sum(num(d.get("mmr")) or 0.0 for d in details)
    okx_ratio = num(acct.get("mgnRatio"))
    if okx_ratio is None and len(details) == 1:
        okx_ratio = num(details[0].get("mgnRatio"))
    if okx_ratio is not None and okx_ratio > 0:
        ratio: float | None = 1.0 / okx_ratio
    else:
        equity = num(acct.get("adjEq")) or (wallet + cross_upl)
        ratio = _ratio(mm, equity)
    return RawAccount(wallet, mm, ratio, tuple(positions))


def okx_tiers(body: Mapping[str, Any]) -> tuple[MarginTier, ...]:
    """GET /api/v5/public/position-tiers -> tiers by position size in contracts; OKX applies
    a tier's rate to the whole position, so there is no deduction."""
    rows = sorted(_okx_data(body), key=lambda r: num(r.get("minSz")) or 0.0)
    return tuple(
        MarginTier(
            num(r.get("minSz")) or 0.0,
            _need(r.get("maxSz"), "maxSz"),
            _need(r.get("mmr"), "mmr"),
            0.0,
            num(r.get("maxLever")),
            TierBasis.SIZE,
        )
        for r in rows
    )


def okx_key_permissions(body: Mapping[str, Any]) -> tuple[bool, bool]:
    """GET /api/v5/account/config -> (can_trade, can_withdraw) from ``perm``."""
    data = _okx_data(body)
    perms = {p.strip() for p in str(data[0].get("perm", "")).split(",")} if data else set()
    return "trade" in perms, "withdraw" in perms


# --- Hyperliquid: POST /info {"type": "clearinghouseState"} -----------------------------------


def hyperliquid_account(state: Mapping[str, Any], market: MarketLookup) -> RawAccount:
    """One body holds everything. positionValue is |szi| × mark, so the mark comes with the
    position; the cross wallet is the cross account value less the cross positions' PnL."""
    cross = state.get("crossMarginSummary") or state.get("marginSummary") or {}
    account_value = _need(cross.get("accountValue"), "accountValue")
    mm = num(state.get("crossMaintenanceMarginUsed"))
    positions, cross_upl = [], 0.0
    for item in state.get("assetPositions") or []:
        row = item.get("position") or {}
        szi = num(row.get("szi")) or 0.0
        if szi == 0:
            continue
        ref = market(str(row["coin"]))
        leverage = row.get("leverage") or {}
        isolated = str(leverage.get("type", "cross")) == "isolated"
        upnl = num(row.get("unrealizedPnl")) or 0.0
        if not isolated:
            cross_upl += upnl
        value = _need(row.get("positionValue"), "positionValue")
        max_lev = num(row.get("maxLeverage")) or ref.max_leverage
        positions.append(
            RawPosition(
                symbol=ref.symbol,
                side=Side.LONG if szi > 0 else Side.SHORT,
                contracts=abs(szi),
                entry_price=_need(row.get("entryPx"), "entryPx"),
                mark_price=value / abs(szi),
                contract_size=ref.contract_size,
                margin_mode=MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                leverage=_positive_or_none(leverage.get("value")),
                isolated_margin=(_need(row.get("marginUsed"), "marginUsed") - upnl)
                if isolated
                else None,
                max_leverage=max_lev,
                exchange_liquidation_price=_positive_or_none(row.get("liquidationPx")),
            )
        )
    return RawAccount(
        wallet_balance=account_value - cross_upl,
        maintenance_margin=mm,
        margin_ratio=_ratio(mm, account_value),
        positions=tuple(positions),
    )


def hyperliquid_tiers(max_leverage: float) -> tuple[MarginTier, ...]:
    return rules_for("hyperliquid").tiers_from_max_leverage(max_leverage)


def hyperliquid_meta_tiers(meta: Mapping[str, Any]) -> dict[str, tuple[MarginTier, ...]]:
    """POST /info {"type": "meta"} -> tiers by coin. A coin whose ``marginTableId`` names a
    table in ``marginTables`` gets its tiers (rate 1 / (2 × the tier's max leverage), the
    deduction accumulated from the lower bounds as for every tiered venue); any other coin
    gets the one tier of its maxLeverage."""
    tables = {
        int(table_id): table.get("marginTiers") or []
        for table_id, table in meta.get("marginTables") or []
    }
    out: dict[str, tuple[MarginTier, ...]] = {}
    for row in meta.get("universe") or []:
        coin = str(row["name"])
        rows = tables.get(int(num(row.get("marginTableId")) or -1))
        if rows:
            bounds = sorted(
                (_need(t["lowerBound"], "lowerBound"), _need(t["maxLeverage"], "maxLeverage"))
                for t in rows
            )
            highs = [lo for lo, _ in bounds[1:]] + [float("inf")]
            spec = [
                (lo, hi, 1.0 / (2.0 * lev)) for (lo, lev), hi in zip(bounds, highs, strict=True)
            ]
            out[coin] = tuple(
                MarginTier(
                    t.min_bound, t.max_bound, t.maintenance_margin_rate, t.maintenance_amount, lev
                )
                for t, (_, lev) in zip(cumulative_amounts(spec), bounds, strict=True)
            )
        elif (max_leverage := num(row.get("maxLeverage"))) is not None:
            out[coin] = hyperliquid_tiers(max_leverage)
    return out


# --- assembly ---------------------------------------------------------------------------------


def with_max_leverage(tiers: tuple[MarginTier, ...], max_leverage: float | None) -> float | None:
    if max_leverage is not None:
        return max_leverage
    return tiers[0].max_leverage if tiers else None


def build_account(
    exchange: str,
    raw: RawAccount,
    tiers_of: Callable[[str], tuple[MarginTier, ...]],
    *,
    as_of_ms: int,
    label: str = "",
    notes: Sequence[str] = (),
) -> Account:
    """Attach tiers and timestamps: the exchange's figures become Figure(EXCHANGE, as_of_ms)."""
    positions = []
    for rp in raw.positions:
        tiers = tiers_of(rp.symbol)
        lp = rp.exchange_liquidation_price
        positions.append(
            Position(
                symbol=rp.symbol,
                side=rp.side,
                contracts=rp.contracts,
                entry_price=rp.entry_price,
                mark_price=rp.mark_price,
                tiers=tiers,
                contract_size=rp.contract_size,
                margin_mode=rp.margin_mode,
                leverage=rp.leverage,
                isolated_margin=rp.isolated_margin,
                max_leverage=with_max_leverage(tiers, rp.max_leverage),
                exchange_liquidation_price=None
                if lp is None
                else Figure(lp, Source.EXCHANGE, as_of_ms),
                mark_as_of_ms=as_of_ms,
            )
        )

    def figure(value: float | None) -> Figure | None:
        return None if value is None else Figure(value, Source.EXCHANGE, as_of_ms)

    return Account(
        exchange=exchange,
        wallet_balance=raw.wallet_balance,
        positions=tuple(positions),
        as_of_ms=as_of_ms,
        label=label,
        exchange_maintenance_margin=figure(raw.maintenance_margin),
        exchange_margin_ratio=figure(raw.margin_ratio),
        notes=(*raw.notes, *notes),
    )
