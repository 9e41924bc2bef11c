"""The offline calculator's account file (docs/account-file.md), parsed and checked.

Pure: it takes the already-decoded JSON value and returns the engine's types, or raises
AccountFileError naming the field and the problem — never anything less specific.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from risk.rules import EXCHANGES, rules_for
from risk.types import (
    Account,
    Collateral,
    CollateralTier,
    ContractType,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
    base_asset,
)

TierSource = Callable[[str, str, ContractType], tuple[MarginTier, ...]]
"""(exchange, symbol, contract type) -> the built-in tiers; raises ValueError when none."""

ACCOUNT_FIELDS = (
    "exchange", "wallet_balance", "settle", "margin_mode", "pool_mode", "collateral",
    "taker_fee_rate", "positions", "leader", "betas",
)  # fmt: skip
POSITION_FIELDS = (
    "symbol", "side", "contract_type", "settle", "contracts", "contract_size", "entry_price",
    "mark_price", "leverage", "margin_mode", "isolated_margin", "max_leverage", "tiers",
)  # fmt: skip
TIER_FIELDS = ("min_notional", "max_notional", "maintenance_margin_rate", "maintenance_amount")
COLLATERAL_FIELDS = ("coin", "balance", "price", "tiers", "liability_ratio")
COLLATERAL_TIER_FIELDS = ("max_amount", "ratio")


class AccountFileError(ValueError):
    """One problem in an account file: ``field`` is a path like positions[1].entry_price."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AccountFile:
    account: Account
    leader: str | None
    betas: Mapping[str, float]


def _check_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in allowed:
            guess = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {guess[0]!r}?" if guess else f"; expected one of {allowed}"
            raise AccountFileError(_join(where, key), f"unknown field{hint}")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise AccountFileError(where, f"must be an object, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def _number(
    obj: Mapping[str, Any],
    key: str,
    where: str,
    *,
    required: bool = True,
    positive: bool = False,
    non_negative: bool = False,
    default: float | None = None,
) -> float | None:
    field = _join(where, key)
    if key not in obj or obj[key] is None:
        if required:
            raise AccountFileError(field, "is missing")
        return default
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AccountFileError(field, f"must be a number, got {_kind(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise AccountFileError(field, f"is far too large ({len(str(value))} digits)") from None
    if not math.isfinite(x):
        raise AccountFileError(field, "must be a finite number")
    if positive and x <= 0:
        raise AccountFileError(field, f"must be greater than 0, got {value}")
    if non_negative and x < 0:
        raise AccountFileError(field, f"must not be negative, got {value}")
    return x


def _text(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    field = _join(where, key)
    if key not in obj or obj[key] is None:
        if required:
            raise AccountFileError(field, "is missing")
        return None
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise AccountFileError(field, f"must be a non-empty text, got {_kind(value)}")
    return value.strip()


def _choice(
    obj: Mapping[str, Any], key: str, where: str, parse: Callable[[str], Any], default: Any
) -> Any:
    text = _text(obj, key, where, required=False)
    if text is None:
        return default
    try:
        return parse(text)
    except ValueError as e:
        raise AccountFileError(_join(where, key), str(e)) from None


def _tiers(value: Any, where: str) -> tuple[MarginTier, ...]:
    if not isinstance(value, list) or not value:
        raise AccountFileError(where, f"must be a non-empty list of tiers, got {_kind(value)}")
    tiers: list[MarginTier] = []
    for i, raw in enumerate(value):
        here = f"{where}[{i}]"
        row = _object(raw, here)
        _check_keys(row, TIER_FIELDS, here)
        lo = _number(row, "min_notional", here, non_negative=True)
        hi = _number(row, "max_notional", here, required=False, default=math.inf)
        rate = _number(row, "maintenance_margin_rate", here, non_negative=True)
        amount = _number(row, "maintenance_amount", here, required=False, default=0.0)
        assert lo is not None and hi is not None and rate is not None and amount is not None
        if rate >= 1:
            raise AccountFileError(
                _join(here, "maintenance_margin_rate"), f"must be a fraction below 1, got {rate}"
            )
        if hi <= lo:
            raise AccountFileError(_join(here, "max_notional"), "must be above min_notional")
        if tiers and lo != tiers[-1].max_bound:
            raise AccountFileError(
                _join(here, "min_notional"),
                f"must equal the previous tier's max_notional ({tiers[-1].max_bound:g})",
            )
        tiers.append(MarginTier(lo, hi, rate, amount))
    return tuple(tiers)


def _collateral(value: Any, where: str) -> tuple[Collateral, ...]:
    if not isinstance(value, list):
        raise AccountFileError(where, f"must be a list of coins, got {_kind(value)}")
    out: list[Collateral] = []
    for i, raw in enumerate(value):
        here = f"{where}[{i}]"
        row = _object(raw, here)
        _check_keys(row, COLLATERAL_FIELDS, here)
        coin = _text(row, "coin", here)
        balance = _number(row, "balance", here)
        price = _number(row, "price", here, required=False, positive=True, default=1.0)
        liability = _number(row, "liability_ratio", here, required=False, positive=True,
                            default=1.0)  # fmt: skip
        assert coin is not None and balance is not None and price is not None
        assert liability is not None
        tiers: list[CollateralTier] = []
        raw_tiers = row.get("tiers")
        if raw_tiers is not None:
            if not isinstance(raw_tiers, list):
                raise AccountFileError(
                    _join(here, "tiers"), f"must be a list, got {_kind(raw_tiers)}"
                )
            for j, rt in enumerate(raw_tiers):
                th = f"{here}.tiers[{j}]"
                tr = _object(rt, th)
                _check_keys(tr, COLLATERAL_TIER_FIELDS, th)
                top = _number(tr, "max_amount", th, required=False, positive=True, default=math.inf)
                ratio = _number(tr, "ratio", th, non_negative=True)
                assert top is not None and ratio is not None
                if ratio > 1:
                    raise AccountFileError(
                        _join(th, "ratio"), f"must be a fraction up to 1, got {ratio}"
                    )
                if tiers and top <= tiers[-1].max_amount:
                    raise AccountFileError(_join(th, "max_amount"), "must rise from tier to tier")
                tiers.append(CollateralTier(top, ratio))
        out.append(Collateral(coin.upper(), balance, price, tuple(tiers), liability))
    return tuple(out)


def parse_account_file(data: Any, default_tiers: TierSource) -> AccountFile:
    """Check and convert a decoded account file. ``default_tiers(exchange, symbol, type)``
    supplies the built-in tiers for positions that give none (and may raise ValueError)."""
    top = _object(data, "the file")
    _check_keys(top, ACCOUNT_FIELDS, "")
    exchange = _text(top, "exchange", "")
    assert exchange is not None
    if exchange not in EXCHANGES:
        guess = difflib.get_close_matches(exchange, EXCHANGES, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else ""
        raise AccountFileError(
            "exchange",
            f"unknown exchange {exchange!r}; expected one of {', '.join(EXCHANGES)}{hint}",
        )
    rules = rules_for(exchange)
    wallet = _number(top, "wallet_balance", "")
    assert wallet is not None
    settle = (_text(top, "settle", "", required=False) or rules.linear_settles[0]).upper()
    if settle not in rules.linear_settles:
        raise AccountFileError(
            "settle",
            f"{exchange} has no {settle}-settled contracts; expected one of "
            f"{', '.join(rules.linear_settles)}",
        )
    account_mode = _choice(top, "margin_mode", "", MarginMode.parse, MarginMode.CROSS)
    pool_mode = _choice(top, "pool_mode", "", PoolMode.parse, rules.pool_modes[0])
    if pool_mode not in rules.pool_modes:
        offered = " or ".join(m.value for m in rules.pool_modes)
        raise AccountFileError(
            "pool_mode",
            f"{exchange} does not offer {pool_mode.value!r} margin pools (only {offered})",
        )
    collateral = _collateral(top["collateral"], "collateral") if top.get("collateral") else ()
    if any(c.coin == settle for c in collateral):
        raise AccountFileError(
            "collateral", f"{settle} is the settle coin: give it as wallet_balance"
        )
    fee = _number(top, "taker_fee_rate", "", required=False, non_negative=True)
    if fee is not None and fee >= 0.01:
        raise AccountFileError("taker_fee_rate", f"must be a fraction (0.0005 = 0.05 %), got {fee}")
    raw_positions = top.get("positions")
    if raw_positions is None:
        raise AccountFileError("positions", "is missing")
    if not isinstance(raw_positions, list):
        raise AccountFileError("positions", f"must be a list, got {_kind(raw_positions)}")

    positions = []
    for i, raw in enumerate(raw_positions):
        where = f"positions[{i}]"
        obj = _object(raw, where)
        _check_keys(obj, POSITION_FIELDS, where)
        symbol = _text(obj, "symbol", where)
        assert symbol is not None
        side = _choice(obj, "side", where, Side.parse, None)
        if side is None:
            raise AccountFileError(_join(where, "side"), "is missing")
        kind = _choice(obj, "contract_type", where, ContractType.parse, ContractType.LINEAR)
        inverse = kind is ContractType.INVERSE
        pos_settle = (_text(obj, "settle", where, required=False) or "").upper()
        if inverse and not rules.has_inverse:
            raise AccountFileError(
                _join(where, "contract_type"),
                f"{exchange} has no inverse (coin-margined) contracts",
            )
        if inverse and pos_settle and pos_settle != base_asset(symbol):
            raise AccountFileError(
                _join(where, "settle"),
                f"an inverse contract settles in its base coin {base_asset(symbol)}, "
                f"not {pos_settle}",
            )
        if not inverse and pos_settle and pos_settle not in rules.linear_settles:
            raise AccountFileError(
                _join(where, "settle"),
                f"{exchange} has no {pos_settle}-settled contracts; expected one of "
                f"{', '.join(rules.linear_settles)}",
            )
        contracts = _number(obj, "contracts", where, positive=True)
        contract_size = _number(obj, "contract_size", where, required=False, positive=True)
        if inverse and contract_size is None:
            raise AccountFileError(
                _join(where, "contract_size"),
                "an inverse contract needs its contract size in USD (BTCUSD: 100 on Binance "
                "COIN-M and OKX, 1 on Bybit)",
            )
        entry = _number(obj, "entry_price", where, positive=True)
        mark = _number(obj, "mark_price", where, positive=True)
        leverage = _number(obj, "leverage", where, required=False, positive=True)
        mode = _choice(obj, "margin_mode", where, MarginMode.parse, account_mode)
        iso_margin = _number(obj, "isolated_margin", where, required=False, non_negative=True)
        max_lev = _number(obj, "max_leverage", where, required=False, positive=True)
        assert contracts is not None and entry is not None and mark is not None
        if mode is MarginMode.ISOLATED and iso_margin is None and leverage is None:
            raise AccountFileError(
                _join(where, "isolated_margin"),
                "an isolated position needs isolated_margin or leverage",
            )
        if "tiers" in obj and obj["tiers"] is not None:
            tiers = _tiers(obj["tiers"], _join(where, "tiers"))
        elif max_lev is not None and exchange == "hyperliquid":
            try:
                tiers = rules.tiers_from_max_leverage(max_lev)
            except ValueError as e:
                raise AccountFileError(_join(where, "max_leverage"), str(e)) from None
        else:
            try:
                tiers = default_tiers(exchange, symbol, kind)
            except ValueError as e:
                raise AccountFileError(_join(where, "tiers"), str(e)) from None
        positions.append(
            Position(
                symbol=symbol,
                side=side,
                contracts=contracts,
                contract_size=contract_size or 1.0,
                entry_price=entry,
                mark_price=mark,
                tiers=tiers,
                margin_mode=mode,
                leverage=leverage,
                isolated_margin=iso_margin,
                max_leverage=max_lev,
                contract_type=kind,
                settle="" if inverse else pos_settle,
            )
        )

    leader = _text(top, "leader", "", required=False)
    if leader is not None and leader not in {p.symbol for p in positions}:
        raise AccountFileError("leader", f"{leader!r} is not the symbol of any position")
    betas: dict[str, float] = {}
    raw_betas = top.get("betas")
    if raw_betas is not None:
        for sym in _object(raw_betas, "betas"):
            beta = _number(raw_betas, sym, "betas")
            assert beta is not None
            betas[sym] = beta
    account = Account(
        exchange,
        wallet,
        tuple(positions),
        account_mode,
        settle=settle,
        pool_mode=pool_mode,
        collateral=collateral,
        taker_fee_rate=fee,
    )
    _check_domain(account, betas)
    return AccountFile(account, leader, betas)


# The model's domain: inside it every product the solves form stays many orders of magnitude
# from float64's limits and keeps its precision (a liquidation price to 1e-9 relative);
# beyond it a result would be unreliable (a mark of 1e200 once gave a liquidation price of 0),
# so the input is refused, naming the field and the range. The ranges hold every real market
# with room to spare: BTC trades near 1e5 USD, the smallest perpetuals near 1e-8, the whole
# crypto market is about 3e12 USD.
PRICE_RANGE = (1e-12, 1e9)
"""USD per base unit: entry and mark prices."""
SIZE_RANGE = (1e-12, 1e18)
"""contracts × contract_size: base units (USD for an inverse contract)."""
MONEY_MAX = 1e13
"""USD: a position's notional, the wallet balance, an isolated margin, a tier's deduction, a
collateral coin's value."""
LEVERAGE_RANGE = (0.01, 1000.0)
MAX_LEVERAGE_RANGE = (1.0, 1000.0)
BETA_MAX = 100.0
LIABILITY_RATIO_MAX = 10.0
FEE_RATE_MAX = 0.1
"""A taker fee of 10 %: no venue charges a tenth of that."""


def _outside(field: str, value: float, low: float, high: float, what: str) -> AccountFileError:
    return AccountFileError(
        field, f"{value:g} is outside what the model computes reliably: {what} {low:g} to {high:g}"
    )


def _check_domain(account: Account, betas: Mapping[str, float]) -> None:
    """Refuse, naming the field and the range, an input outside the model's domain."""
    if abs(account.wallet_balance) > MONEY_MAX:
        raise _outside("wallet_balance", account.wallet_balance, -MONEY_MAX, MONEY_MAX, "USD")
    for i, p in enumerate(account.positions):
        where = f"positions[{i}]"
        for key, price in (("entry_price", p.entry_price), ("mark_price", p.mark_price)):
            if not PRICE_RANGE[0] <= price <= PRICE_RANGE[1]:
                raise _outside(f"{where}.{key}", price, *PRICE_RANGE, "a price of")
        if not SIZE_RANGE[0] <= p.size <= SIZE_RANGE[1]:
            raise _outside(
                f"{where}.contracts", p.size, *SIZE_RANGE, "contracts × contract_size of"
            )
        for key, price in (("entry_price", p.entry_price), ("mark_price", p.mark_price)):
            usd = p.size if p.inverse else p.size * price  # an inverse size is in USD already
            if usd > MONEY_MAX:
                raise _outside(
                    f"{where}.contracts", usd, 0, MONEY_MAX, f"a notional in USD at {key} of"
                )
        if p.leverage is not None and not LEVERAGE_RANGE[0] <= p.leverage <= LEVERAGE_RANGE[1]:
            raise _outside(f"{where}.leverage", p.leverage, *LEVERAGE_RANGE, "a leverage of")
        if p.max_leverage is not None and not (
            MAX_LEVERAGE_RANGE[0] <= p.max_leverage <= MAX_LEVERAGE_RANGE[1]
        ):
            raise _outside(
                f"{where}.max_leverage", p.max_leverage, *MAX_LEVERAGE_RANGE, "a max leverage of"
            )
        if p.isolated_margin is not None and p.isolated_margin > MONEY_MAX:
            raise _outside(f"{where}.isolated_margin", p.isolated_margin, 0, MONEY_MAX, "USD")
        rules = rules_for(account.exchange)
        if rules.maintenance(p, p.mark_price) < 0:
            j = rules.tier_at(p, p.mark_price)
            tier = p.tiers[j]
            raise AccountFileError(
                f"{where}.tiers[{j}].maintenance_amount",
                f"{tier.maintenance_amount:g} makes the maintenance negative at the mark "
                f"(notional {p.notional():g} × rate {tier.maintenance_margin_rate:g} is "
                f"{p.notional() * tier.maintenance_margin_rate:g}); a deduction above "
                f"notional × rate is outside the model",
            )
        for j, tier in enumerate(p.tiers):
            if abs(tier.maintenance_amount) > MONEY_MAX:
                raise _outside(
                    f"{where}.tiers[{j}].maintenance_amount",
                    tier.maintenance_amount,
                    -MONEY_MAX,
                    MONEY_MAX,
                    "USD",
                )
    for i, c in enumerate(account.collateral):
        where = f"collateral[{i}]"
        if not PRICE_RANGE[0] <= c.price <= PRICE_RANGE[1]:
            raise _outside(f"{where}.price", c.price, *PRICE_RANGE, "a price of")
        if abs(c.balance) * c.price > MONEY_MAX:
            worth = abs(c.balance) * c.price
            raise _outside(f"{where}.balance", worth, 0, MONEY_MAX, "a value in USD of")
        if not 0 <= c.liability_ratio <= LIABILITY_RATIO_MAX:
            raise _outside(
                f"{where}.liability_ratio", c.liability_ratio, 0, LIABILITY_RATIO_MAX, "a ratio of"
            )
    fee = account.taker_fee_rate
    if fee is not None and not 0 <= fee <= FEE_RATE_MAX:
        raise _outside("taker_fee_rate", fee, 0, FEE_RATE_MAX, "a rate of")
    for symbol, beta in betas.items():
        if abs(beta) > BETA_MAX:
            raise _outside(f"betas.{symbol}", beta, -BETA_MAX, BETA_MAX, "a beta of")
