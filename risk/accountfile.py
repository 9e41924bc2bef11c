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
from risk.types import Account, MarginMode, MarginTier, Position, Side

TierSource = Callable[[str, str], tuple[MarginTier, ...]]

ACCOUNT_FIELDS = ("exchange", "wallet_balance", "margin_mode", "positions", "leader", "betas")
POSITION_FIELDS = (
    "symbol", "side", "contracts", "contract_size", "entry_price", "mark_price", "leverage",
    "margin_mode", "isolated_margin", "max_leverage", "tiers",
)  # fmt: skip
TIER_FIELDS = ("min_notional", "max_notional", "maintenance_margin_rate", "maintenance_amount")


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
    x = float(value)
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


def parse_account_file(data: Any, default_tiers: TierSource) -> AccountFile:
    """Check and convert a decoded account file. ``default_tiers(exchange, symbol)`` supplies
    the built-in tiers for positions that give none (and may raise ValueError)."""
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
    account_mode = _choice(top, "margin_mode", "", MarginMode.parse, MarginMode.CROSS)
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
        contracts = _number(obj, "contracts", where, positive=True)
        contract_size = _number(obj, "contract_size", where, required=False, positive=True)
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
            tiers = rules.tiers_from_max_leverage(max_lev)
        else:
            try:
                tiers = default_tiers(exchange, symbol)
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
    account = Account(exchange, wallet, tuple(positions), account_mode)
    return AccountFile(account, leader, betas)
