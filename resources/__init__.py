"""Data the app ships, and the small loaders that read it.

Everything here is read-only at run time; nothing is written next to the code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from risk.probability import EventMoves, MoveModel
from risk.rules import rules_for
from risk.types import ContractType, MarginTier, TierBasis, base_asset, cumulative_amounts

ROOT = Path(__file__).resolve().parent


ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The icon's bitmap sizes (resources/icons/cascade-watch-N.png, made by
packaging/make_icons.py from cascade-watch.svg)."""


def resource_path(*parts: str) -> Path:
    return ROOT.joinpath(*parts)


def icon_path(size: int | None = None) -> Path:
    """The app's icon: the SVG source when no size is given, else the smallest PNG at least
    ``size`` pixels wide (the largest when none is). For the window, the tray and the
    notifications; the .ico and .icns beside them are for the frozen builds."""
    if size is None:
        return ROOT / "icons" / "cascade-watch.svg"
    chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return ROOT / "icons" / f"cascade-watch-{chosen}.png"


def calendar_files() -> tuple[str, ...]:
    """The shipped event calendars (events-YYYY.json), oldest year first. Next year's
    calendar needs only its file dropped in beside these."""
    return tuple(sorted(p.name for p in ROOT.glob("events-*.json")))


@cache
def load_json(*parts: str) -> Any:
    with resource_path(*parts).open(encoding="utf-8") as f:
        return json.load(f)


def default_tiers(
    exchange: str, symbol: str, contract_type: ContractType = ContractType.LINEAR
) -> tuple[MarginTier, ...]:
    """The built-in maintenance tiers for an exchange and symbol (resources/tiers.json); for an
    inverse contract the coin-margined table (bounds and amounts in the coin, or contracts on
    OKX).

    The connectors always read live tiers from the exchange; these serve the offline calculator
    and the local exchange. Raises ValueError when the symbol has no built-in table.
    """
    rules_for(exchange)
    data = load_json("tiers.json")
    inverse = contract_type is ContractType.INVERSE
    tables = data["inverse"]["exchanges"] if inverse else data["exchanges"]
    table = tables.get(exchange)
    if table is None:
        raise ValueError(f"{exchange} has no inverse (coin-margined) contracts")
    asset = base_asset(symbol)
    rows = table["symbols"].get(asset)
    if rows is None:
        kind = "inverse " if inverse else ""
        raise ValueError(
            f"no built-in {kind}maintenance tiers for {symbol} on {exchange} "
            f"(built in: {', '.join(sorted(table['symbols']))}); give 'tiers' in the file"
        )
    if exchange == "hyperliquid":
        return rules_for(exchange).tiers_from_max_leverage(float(rows["max_leverage"]))
    basis = TierBasis(table.get("basis", "notional"))
    tiers = cumulative_amounts([(float(lo), float(hi), float(rate)) for lo, hi, rate, _ in rows])
    if basis is TierBasis.SIZE:
        # OKX applies the tier's rate to the whole position: there is no deduction.
        tiers = tuple(
            MarginTier(t.min_bound, t.max_bound, t.maintenance_margin_rate) for t in tiers
        )
    return tuple(
        MarginTier(
            t.min_bound,
            t.max_bound,
            t.maintenance_margin_rate,
            t.maintenance_amount,
            float(row[3]),
            basis,
        )
        for t, row in zip(tiers, rows, strict=True)
    )


def liquidation_prior(exchange: str, symbol: str, side: str) -> float | None:
    """The usual USD liquidated on one side of a symbol on one venue per 5 minutes, before the
    app has its own week of prints (resources/liquidation_norms.json: CoinGlass's Binance
    history, other venues scaled by their share of liquidations). None where there is no prior
    (assets other than BTC and ETH)."""
    data = load_json("liquidation_norms.json")
    rates = data["binanceusdm"].get(base_asset(symbol))
    shares = data["venue_share"]["share"]
    if rates is None or exchange not in shares or side not in ("long", "short"):
        return None
    return float(rates[side]) * float(shares[exchange]) / float(shares["binanceusdm"])


def inverse_contract_size(exchange: str, symbol: str) -> float:
    """USD per contract of a coin-margined swap (Binance COIN-M BTCUSD_PERP 100, OKX
    BTC-USD-SWAP 100, Bybit BTCUSD 1)."""
    table = load_json("tiers.json")["inverse"]["exchanges"].get(exchange)
    if table is None:
        raise ValueError(f"{exchange} has no inverse (coin-margined) contracts")
    return float(table["contract_size"].get(base_asset(symbol), 10))


MOVE_DISTRIBUTION = "move-distribution.json"


@cache
def move_model() -> MoveModel:
    """The shipped distribution of moves (resources/move-distribution.json): its survival
    tables, the files it was fit on and the date (benchmarks/fit_moves.py writes it)."""
    return MoveModel.from_dict(load_json(MOVE_DISTRIBUTION))


EVENT_MOVES = "event-moves.json"


@cache
def event_moves(hours: float = 4.0) -> dict[str, EventMoves]:
    """The moves after past CPI releases and FOMC decisions (resources/event-moves.json,
    written by benchmarks/fit_events.py), by kind, for the window of ``hours`` after a release."""
    doc = load_json(EVENT_MOVES)
    out: dict[str, EventMoves] = {}
    for kind, entry in doc["kinds"].items():
        for window in entry["windows"]:
            if float(window["hours"]) == hours:
                out[kind] = EventMoves.from_dict(kind, window)
    return out
