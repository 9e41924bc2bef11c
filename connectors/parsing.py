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
    Collateral,
    CollateralTier,
    ContractType,
    Figure,
    ForcedClose,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
    Source,
    TierBasis,
    UnsupportedPosition,
    base_asset,
    cumulative_amounts,
)

SETTLE_COINS = ("USDT", "USDC")
INVERSE = ContractType.INVERSE
LINEAR = ContractType.LINEAR


@dataclass(frozen=True, slots=True)
class MarketRef:
    """What parsing needs from a loaded ccxt market."""

    symbol: str
    contract_size: float = 1.0
    max_leverage: float | None = None
    tier_key: str = ""
    """What the exchange's tier endpoint is keyed by (Binance/Bybit market id, OKX instFamily)."""
    contract_type: ContractType = ContractType.LINEAR
    settle: str = "USDT"


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
    contract_type: ContractType = ContractType.LINEAR
    settle: str = ""


@dataclass(frozen=True, slots=True)
class RawAccount:
    """One poll's account: the settle coin's cross wallet and the other coins' (collateral),
    how the exchange pools them, and the exchange's own account figures."""

    wallet_balance: float
    maintenance_margin: float | None
    margin_ratio: float | None
    positions: tuple[RawPosition, ...]
    notes: tuple[str, ...] = ()
    settle: str = "USDT"
    pool_mode: PoolMode = PoolMode.SEPARATE
    collateral: tuple[Collateral, ...] = ()
    taker_fee_rate: float | None = None
    equity: float | None = None
    figure_label: str = ""
    """What the exchange's account figures are (which fields, what they include)."""
    unsupported: tuple[UnsupportedPosition, ...] = ()


MarketLookup = Callable[[str], MarketRef]
"""Raw market id -> MarketRef; raises UnknownMarket for a market the connector does not read."""


class UnknownMarket(LookupError):
    """A position's market is not among the perpetual swaps the connector reads (an expiring
    future, a product not loaded): the position is listed as not supported yet."""


def _unsupported(market_id: str, side: Side, contracts: float) -> UnsupportedPosition:
    return UnsupportedPosition(
        market_id, side, abs(contracts), "not a perpetual swap the connector reads yet"
    )


KnownMarket = Callable[[str], MarketRef | None]
"""A listed market by its id, or None (a record of a market no longer listed)."""


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


def _binance_position(row: Mapping[str, Any], ref: MarketRef, amount: float) -> RawPosition:
    position_side = str(row.get("positionSide", "BOTH")).upper()
    side = (
        Side.parse(position_side)
        if position_side in ("LONG", "SHORT")
        else (Side.LONG if amount > 0 else Side.SHORT)
    )
    isolated_wallet = num(row.get("isolatedWallet")) or 0.0
    isolated = isolated_wallet > 0 or str(row.get("marginType", "")).lower() == "isolated"
    inverse = ref.contract_type is INVERSE
    return RawPosition(
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
        contract_type=ref.contract_type,
        settle=base_asset(ref.symbol) if inverse else str(row.get("marginAsset") or ref.settle),
    )


def binance_asset_index(body: Iterable[Mapping[str, Any]]) -> dict[str, tuple[float, float, float]]:
    """GET /fapi/v1/assetIndex -> {asset: (index price, value ratio of a positive balance,
    ratio of a negative one)}: bidRate / index and askRate / index (Multi-Assets Mode)."""
    out = {}
    for row in body:
        symbol = str(row.get("symbol", ""))
        index = num(row.get("index"))
        if not symbol.endswith("USD") or not index:
            continue
        bid = num(row.get("bidRate")) or index
        ask = num(row.get("askRate")) or index
        out[symbol[:-3]] = (index, bid / index, ask / index)
    return out


def binance_account(
    account: Mapping[str, Any],
    risks: Sequence[Mapping[str, Any]],
    market: MarketLookup,
    *,
    multi_assets: bool = False,
    asset_index: Mapping[str, tuple[float, float, float]] | None = None,
    coinm_account: Mapping[str, Any] | None = None,
    coinm_risks: Sequence[Mapping[str, Any]] = (),
) -> RawAccount:
    """USDⓈ-M: GET /fapi/v3/account + /fapi/v3/positionRisk; the mode from GET
    /fapi/v1/multiAssetsMargin. Single-asset mode: each margin asset's ``crossWalletBalance``
    is its own pool. Multi-assets mode: one pool, each asset at its index × bid/ask rate
    (GET /fapi/v1/assetIndex). Margin ratio as Binance shows it: totalMaintMargin /
    totalMarginBalance. COIN-M (GET /dapi/v1/account + /dapi/v1/positionRisk) adds one pool per
    margin coin, each with its own ``crossWalletBalance``."""
    mm = num(account.get("totalMaintMargin"))
    positions = []
    unsupported: list[UnsupportedPosition] = []

    def add(row: Mapping[str, Any], amount: float) -> None:
        try:
            ref = market(str(row["symbol"]))
        except UnknownMarket:
            side = Side.LONG if amount > 0 else Side.SHORT
            unsupported.append(_unsupported(str(row["symbol"]), side, amount))
            return
        positions.append(_binance_position(row, ref, amount))

    for row in risks:
        amount = _need(row.get("positionAmt"), "positionAmt")
        if amount == 0:
            continue
        add(row, amount)
    wallets: dict[str, float] = {}
    for row in account.get("assets") or []:
        wallet = num(row.get("crossWalletBalance"))
        if wallet is None:
            wallet = num(row.get("walletBalance"))
        if wallet is not None and (wallet != 0 or row.get("asset") in SETTLE_COINS):
            wallets[str(row["asset"])] = wallet
    index = asset_index or {}
    collateral: list[Collateral] = []
    if not wallets:
        wallets["USDT"] = _need(account.get("totalCrossWalletBalance"), "totalCrossWalletBalance")
    settle = "USDT" if "USDT" in wallets else next(iter(wallets))
    others = [c for c, w in wallets.items() if c != settle and w]
    total = num(account.get("totalCrossWalletBalance"))
    if multi_assets and len(others) == 1 and others[0] not in index and total is not None:
        # Without the asset index, the one other asset's USD price is what Binance's own
        # total counts it at.
        coin = others[0]
        index = {**index, coin: ((total - wallets[settle]) / wallets[coin], 1.0, 1.0)}
    for coin, wallet in wallets.items():
        if coin == settle:
            continue
        price, ratio, liability = index.get(coin, (1.0, 1.0, 1.0))
        tiers = (CollateralTier(float("inf"), ratio),) if multi_assets and ratio != 1 else ()
        collateral.append(
            Collateral(coin, wallet, price, tiers, liability if multi_assets else 1.0)
        )
    notes: list[str] = []
    if coinm_account is not None:
        for row in coinm_account.get("assets") or []:
            wallet = num(row.get("crossWalletBalance"))
            if wallet is None:
                wallet = num(row.get("walletBalance"))
            if not wallet:
                continue
            coin = str(row["asset"])
            if any(c.coin == coin for c in collateral):
                # One wallet per coin in the model: the COIN-M one margins its own pool.
                collateral = [c for c in collateral if c.coin != coin]
                notes.append(
                    f"{coin} is both USDⓈ-M margin and COIN-M margin: counted in COIN-M only"
                )
            collateral.append(Collateral(coin, wallet))
        for row in coinm_risks:
            amount = num(row.get("positionAmt")) or 0.0
            if amount == 0:
                continue
            add(row, amount)
    label = (
        "Binance totalMarginBalance / totalMaintMargin (USDⓈ-M; multi-assets: USD across "
        "margin assets after haircuts)"
    )
    return RawAccount(
        wallet_balance=wallets[settle],
        maintenance_margin=mm,
        margin_ratio=_ratio(mm, num(account.get("totalMarginBalance"))),
        positions=tuple(positions),
        settle=settle,
        pool_mode=PoolMode.SHARED if multi_assets else PoolMode.SEPARATE,
        collateral=tuple(collateral),
        equity=num(account.get("totalMarginBalance")),
        figure_label=label,
        unsupported=tuple(unsupported),
        notes=tuple(notes),
    )


def binance_tiers(body: Iterable[Mapping[str, Any]]) -> dict[str, tuple[MarginTier, ...]]:
    """GET /fapi/v1/leverageBracket -> tiers by market id, each with Binance's ``cum``; the
    COIN-M GET /dapi/v2/leverageBracket gives qtyFloor/qtyCap (in the coin) instead."""
    out: dict[str, tuple[MarginTier, ...]] = {}
    for entry in body:
        first = (entry.get("brackets") or [{}])[0]
        coin = "qtyCap" in first
        # Binance's own COIN-M example spells the floor "qtylFloor"
        floor = "qtyFloor" if "qtyFloor" in first else "qtylFloor"
        lo_key, hi_key = (floor, "qtyCap") if coin else ("notionalFloor", "notionalCap")
        brackets = sorted(entry.get("brackets") or [], key=lambda b: num(b[lo_key]) or 0)
        key = str(entry.get("symbol") or entry.get("pair"))
        out[key] = tuple(
            MarginTier(
                _need(b[lo_key], lo_key),
                _need(b[hi_key], hi_key),
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


def bybit_collateral_ratios(body: Mapping[str, Any]) -> dict[str, float]:
    """GET /v5/account/collateral-info -> the collateral value ratio of each coin (0 for a coin
    whose collateral switch is off or that cannot be margin)."""
    out = {}
    for row in _bybit_result(body).get("list") or []:
        coin = str(row.get("currency", ""))
        ratio = num(row.get("collateralRatio"))
        usable = row.get("marginCollateral", True) and row.get("collateralSwitch", True)
        if coin and ratio is not None:
            out[coin] = ratio if usable else 0.0
    return out


def bybit_account(
    wallet: Mapping[str, Any],
    position_lists: Sequence[Mapping[str, Any]],
    market: MarketLookup,
    collateral_ratios: Mapping[str, float] | None = None,
) -> RawAccount:
    """UTA: one shared pool (GET /v5/account/wallet-balance?accountType=UNIFIED). Each coin
    counts with its own wallet (``walletBalance``), USD price (``usdValue`` / ``equity``) and
    collateral value ratio (GET /v5/account/collateral-info; at full value when unknown).
    Positions from GET /v5/position/list for linear USDT, linear USDC and inverse. Bybit's own
    totalMarginBalance / totalMaintenanceMargin / accountMMRate are kept beside ours: they also
    count what an account poll cannot (borrowing interest, open orders' losses). A UTA cross
    position has no liquidation price of its own (``liqPrice`` is "")."""
    rows = _bybit_result(wallet).get("list") or []
    if not rows:
        raise ValueError("bybit wallet-balance has no account")
    acct = rows[0]
    margin_balance = num(acct.get("totalMarginBalance"))
    if margin_balance is None:
        margin_balance = num(acct.get("totalEquity"))
    ratios = collateral_ratios or {}
    balances: dict[str, Collateral] = {}
    for c in acct.get("coin") or []:
        coin = str(c.get("coin", ""))
        balance = num(c.get("walletBalance")) or 0.0
        if not coin or (balance == 0 and coin not in SETTLE_COINS):
            continue
        equity, usd = num(c.get("equity")), num(c.get("usdValue"))
        price = usd / equity if equity and usd else 1.0
        ratio = ratios.get(coin, 1.0)
        tiers = (CollateralTier(float("inf"), ratio),) if ratio != 1.0 else ()
        balances[coin] = Collateral(coin, balance, price if price > 0 else 1.0, tiers)
    positions = []
    unsupported: list[UnsupportedPosition] = []
    for body in position_lists:
        for row in _bybit_result(body).get("list") or []:
            size = num(row.get("size")) or 0.0
            if size == 0 or row.get("side") not in ("Buy", "Sell"):
                continue
            try:
                ref = market(str(row["symbol"]))
            except UnknownMarket:
                side = Side.LONG if row["side"] == "Buy" else Side.SHORT
                unsupported.append(_unsupported(str(row["symbol"]), side, size))
                continue
            isolated = str(row.get("tradeMode", "0")) == "1"
            inverse = ref.contract_type is INVERSE
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
                    contract_type=ref.contract_type,
                    settle=base_asset(ref.symbol) if inverse else ref.settle,
                )
            )
    usdt = balances.pop("USDT", None)
    notes: tuple[str, ...] = ()
    if balances and not ratios:
        notes = ("Bybit's collateral value ratios unknown: coins counted at full value",)
    return RawAccount(
        wallet_balance=usdt.balance if usdt else 0.0,
        maintenance_margin=num(acct.get("totalMaintenanceMargin")),
        margin_ratio=num(acct.get("accountMMRate")),
        positions=tuple(positions),
        notes=notes,
        settle="USDT",
        pool_mode=PoolMode.SHARED,
        collateral=tuple(balances.values()),
        equity=margin_balance,
        unsupported=tuple(unsupported),
        figure_label=(
            "Bybit totalMarginBalance / totalMaintenanceMargin / accountMMRate (USD; after "
            "collateral value ratios, borrowings, haircut and open orders' losses)"
        ),
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


OKX_ACCOUNT_LEVELS = {
    "1": "simple",
    "2": "single-currency margin",
    "3": "multi-currency margin",
    "4": "portfolio margin",
}


def okx_config(body: Mapping[str, Any]) -> tuple[PoolMode, str]:
    """GET /api/v5/account/config ``acctLv`` -> (pool mode, the mode's name): single-currency
    margin (2) keeps each margin coin apart; multi-currency (3) and portfolio (4) pool them."""
    data = _okx_data(body)
    level = str(data[0].get("acctLv", "2")) if data else "2"
    mode = PoolMode.SHARED if level in ("3", "4") else PoolMode.SEPARATE
    return mode, OKX_ACCOUNT_LEVELS.get(level, f"account level {level}")


def okx_taker_rate(body: Mapping[str, Any]) -> float | None:
    """GET /api/v5/account/trade-fee?instType=SWAP -> the USDT-margined taker rate (OKX sends
    fees as negative numbers: -0.0005 is a 0.05 % charge)."""
    data = _okx_data(body)
    if not data:
        return None
    row = data[0]
    rate = num(row.get("takerU")) if row.get("takerU") not in (None, "") else num(row.get("taker"))
    return None if rate is None else abs(rate)


def okx_account(
    balance: Mapping[str, Any],
    positions_body: Mapping[str, Any],
    market: MarketLookup,
    *,
    pool_mode: PoolMode = PoolMode.SEPARATE,
    mode_name: str = "",
    taker_rate: float | None = None,
) -> RawAccount:
    """Each coin's cross wallet is its equity less what sits in isolated positions and less the
    cross PnL (eq − isoEq − upl + isoUpl), USDT being the account's settle coin and the others
    collateral. In multi-currency margin every coin counts in USD at ``eqUsd`` / ``eq`` times
    its discount rate (``disEq`` / ``eqUsd``, the rate of its current slice). OKX's ``mmr`` is
    the cross maintenance in USD and ``mgnRatio`` is equity / maintenance (liquidation at
    100 %), the inverse of ours, so the ratio kept here is 1 / mgnRatio. Coin-margined swaps
    (``ctType`` inverse) settle in their coin."""
    data = _okx_data(balance)
    if not data:
        raise ValueError("okx balance has no account")
    acct = data[0]
    details = list(acct.get("details") or [])
    positions = []
    unsupported: list[UnsupportedPosition] = []
    cross_upl = 0.0
    for row in _okx_data(positions_body):
        pos = num(row.get("pos")) or 0.0
        if pos == 0:
            continue
        pos_side = str(row.get("posSide", "net")).lower()
        side = (
            Side.parse(pos_side)
            if pos_side in ("long", "short")
            else (Side.LONG if pos > 0 else Side.SHORT)
        )
        try:
            ref = market(str(row["instId"]))
        except UnknownMarket:
            unsupported.append(_unsupported(str(row["instId"]), side, pos))
            continue
        isolated = str(row.get("mgnMode", "cross")).lower() == "isolated"
        inverse = ref.contract_type is INVERSE
        if not isolated and not inverse:
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
                contract_type=ref.contract_type,
                settle=base_asset(ref.symbol) if inverse else str(row.get("ccy") or ref.settle),
            )
        )
    wallets: dict[str, Collateral] = {}
    for d in details:
        coin = str(d.get("ccy", ""))
        wallet = (
            (num(d.get("eq")) or 0.0)
            - (num(d.get("isoEq")) or 0.0)
            - (num(d.get("upl")) or 0.0)
            + (num(d.get("isoUpl")) or 0.0)
        )
        if not coin or (wallet == 0 and coin not in SETTLE_COINS):
            continue
        eq, usd, dis = num(d.get("eq")), num(d.get("eqUsd")), num(d.get("disEq"))
        price = usd / eq if eq and usd else 1.0
        ratio = dis / usd if pool_mode is PoolMode.SHARED and dis is not None and usd else 1.0
        tiers = (CollateralTier(float("inf"), ratio),) if ratio != 1.0 else ()
        wallets[coin] = Collateral(coin, wallet, price if price > 0 else 1.0, tiers)
    usdt = wallets.pop("USDT", None)
    if usdt is not None:
        wallet = usdt.balance
    elif not details:
        wallet = _need(acct.get("totalEq"), "totalEq") - cross_upl
    else:
        wallet = 0.0
    mm = num(acct.get("mmr"))
    if mm is None and details:
        mm = sum(num(d.get("mmr")) or 0.0 for d in details)
    okx_ratio = num(acct.get("mgnRatio"))
    settle_rows = [d for d in details if d.get("ccy") in SETTLE_COINS]
    if okx_ratio is None and len(settle_rows) == 1:
        okx_ratio = num(settle_rows[0].get("mgnRatio"))
    if okx_ratio is not None and okx_ratio > 0:
        ratio_out: float | None = 1.0 / okx_ratio
    else:
        equity = num(acct.get("adjEq")) or (wallet + cross_upl)
        ratio_out = _ratio(mm, equity)
    notes = (
        (f"OKX {mode_name}: computed as multi-currency margin, not OKX's portfolio model",)
        if mode_name == "portfolio margin"
        else ()
    )
    return RawAccount(
        wallet,
        mm,
        ratio_out,
        tuple(positions),
        notes=notes,
        settle="USDT",
        pool_mode=pool_mode,
        collateral=tuple(wallets.values()),
        taker_fee_rate=taker_rate,
        equity=num(acct.get("adjEq")) or num(acct.get("totalEq")),
        unsupported=tuple(unsupported),
        figure_label="OKX adjEq (or totalEq) / mmr / 1 ÷ mgnRatio (USD, all cross coins)",
    )


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
    unsupported: list[UnsupportedPosition] = []
    for item in state.get("assetPositions") or []:
        row = item.get("position") or {}
        szi = num(row.get("szi")) or 0.0
        if szi == 0:
            continue
        try:
            ref = market(str(row["coin"]))
        except UnknownMarket:
            side = Side.LONG if szi > 0 else Side.SHORT
            unsupported.append(_unsupported(str(row["coin"]), side, szi))
            continue
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
        settle="USDC",
        equity=account_value,
        figure_label="Hyperliquid crossMarginSummary.accountValue / crossMaintenanceMarginUsed",
        unsupported=tuple(unsupported),
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


# --- the account's own liquidations: each exchange's record ----------------------------------


def closed_side(order_side: Any, position_side: Any = None) -> Side | None:
    """The side of the position a forced order closed: the position side when the record
    names one (hedge mode), else the opposite of the order's side (a sell closes a long)."""
    pos = str(position_side or "").strip().lower()
    if pos in ("long", "short"):
        return Side.parse(pos)
    order = str(order_side or "").strip().lower()
    if order in ("sell", "a", "ask"):
        return Side.LONG
    if order in ("buy", "b", "bid"):
        return Side.SHORT
    return None


def ccxt_forced_closes(
    rows: Iterable[Mapping[str, Any]],
    source: str,
    contract_size: Callable[[str], float | None],
    position_side_field: str | None = None,
) -> list[ForcedClose]:
    """ccxt's liquidation structures (``fetch_my_liquidations``) as forced closes. ccxt maps
    the symbol, contracts, price and time; the size is contracts × the market's contract size
    (``contract_size(symbol)``: ccxt leaves it out when asked without a symbol); the closed
    side comes from the order's side (ccxt's, or the raw record's where ccxt leaves it out)
    and ``position_side_field`` of the raw record."""
    out: list[ForcedClose] = []
    for row in rows:
        info = row.get("info") or {}
        side = closed_side(
            row.get("side") or info.get("side"),
            info.get(position_side_field) if position_side_field else None,
        )
        contracts = num(row.get("contracts"))
        per = num(row.get("contractSize")) or contract_size(str(row.get("symbol"))) or 1.0
        size = num(row.get("baseValue")) if contracts is None else contracts * per
        ts = row.get("timestamp")
        if side is None or size is None or ts is None or not row.get("symbol"):
            continue
        out.append(
            ForcedClose(str(row["symbol"]), side, int(ts), abs(size), num(row.get("price")), source)
        )
    return out


OKX_LIQUIDATION_TYPES = ("3", "4")
"""GET /api/v5/account/positions-history ``type``: 1 partial close, 2 close all,
3 liquidation, 4 partial liquidation, 5 ADL."""


def okx_forced_closes(
    body: Mapping[str, Any], market: KnownMarket, source: str
) -> list[ForcedClose]:
    """OKX's position history, the liquidation types only: ``direction`` (or ``posSide``) is
    the position's side, ``closeTotalPos`` its closed size in contracts, ``closeAvgPx`` the
    average close price, ``uTime`` when it was last updated."""
    out: list[ForcedClose] = []
    for row in _okx_data(body):
        if str(row.get("type")) not in OKX_LIQUIDATION_TYPES:
            continue
        side = closed_side(None, row.get("direction") or row.get("posSide"))
        size = num(row.get("closeTotalPos"))
        ts = num(row.get("uTime"))
        ref = market(str(row.get("instId")))
        if side is None or size is None or ts is None or ref is None:
            continue
        out.append(
            ForcedClose(
                ref.symbol,
                side,
                int(ts),
                abs(size) * ref.contract_size,
                _positive_or_none(row.get("closeAvgPx")),
                source,
            )
        )
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
                contract_type=rp.contract_type,
                settle="" if rp.contract_type is INVERSE or rp.settle == raw.settle else rp.settle,
            )
        )

    def figure(value: float | None) -> Figure | None:
        if value is None:
            return None
        return Figure(value, Source.EXCHANGE, as_of_ms, raw.figure_label)

    return Account(
        exchange=exchange,
        wallet_balance=raw.wallet_balance,
        positions=tuple(positions),
        as_of_ms=as_of_ms,
        label=label,
        exchange_maintenance_margin=figure(raw.maintenance_margin),
        exchange_margin_ratio=figure(raw.margin_ratio),
        notes=(*raw.notes, *notes),
        settle=raw.settle,
        pool_mode=raw.pool_mode,
        collateral=raw.collateral,
        taker_fee_rate=raw.taker_fee_rate,
        exchange_equity=figure(raw.equity),
        unsupported=raw.unsupported,
    )
