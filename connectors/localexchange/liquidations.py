"""The market's liquidation prints, replayed beside a scenario's prices.

``resources/scenarios/<name>.liquidations.json`` says how much was liquidated in each window of
the scenario (public totals across all venues, each with its source), how that splits between
longs and shorts, assets and venues, and the ordinary rate outside the windows. The prints
themselves are drawn here, deterministically, from the scenario's own price path: a window's
budget is spread over its minutes in proportion to a floor plus the square of the minute's
move against the side (a long is liquidated by a fall), so the prints cluster where the path
falls hardest, whatever path the scenario file draws. Within a minute the amount is split into
prints of lognormal size at times spread over the minute, priced a little through the mark
(the liquidation order sells below it). Binance and OKX publish at most one liquidation per
instrument per second (Binance's force-order stream is a snapshot of the latest one in each
second; OKX's liquidation-orders channel shows one per contract per second), so their prints sit
on distinct seconds.

A pinned mark (``LocalExchange.set_mark``) does not move the tape: the prints follow the
scenario's path.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from connectors.localexchange.scenario import HOUR_MS, MINUTE_MS, PricePath, Scenario
from resources import resource_path

VENUES = ("binanceusdm", "bybit", "okx", "hyperliquid")
SIDES = ("long", "short")
PRICE_THROUGH_MARK = 0.0006
"""A liquidation order fills this far through the mark (sells below it for a long)."""
LOT = {"BTC": 0.001, "ETH": 0.01}
ONE_PER_SECOND = ("binanceusdm", "okx")


@dataclass(frozen=True, slots=True)
class Print:
    """One liquidation as the venue reports it. ``side`` is the side of the position that was
    liquidated ("long": the venue sold it)."""

    venue: str
    base: str
    side: str
    time_ms: int
    price: float
    amount: float
    """In base units."""

    @property
    def notional(self) -> float:
        return self.price * self.amount


@dataclass(frozen=True, slots=True)
class Window:
    from_ms: int
    to_ms: int
    total_usd: float
    long_share: float
    asset_share: dict[str, float]


@dataclass(frozen=True, slots=True)
class TapeSpec:
    """What ``<scenario>.liquidations.json`` holds, with times resolved against the scenario."""

    windows: tuple[Window, ...]
    venue_share: dict[str, float]
    baseline_usd_per_hour: dict[tuple[str, str], float]
    """(asset, side) -> all-venue USD per hour outside the windows."""
    floor_share: float
    exponent: float
    median_print_usd: float
    print_sigma: float

    @classmethod
    def from_dict(cls, data: dict[str, Any], scenario: Scenario) -> TapeSpec:
        model = data.get("model", {})
        windows = tuple(
            Window(
                from_ms=scenario.start_ms + int(float(w["from_hours"]) * HOUR_MS),
                to_ms=scenario.start_ms + int(float(w["to_hours"]) * HOUR_MS),
                total_usd=float(w["total_usd"]),
                long_share=float(w["long_share"]),
                asset_share={str(k): float(v) for k, v in w["asset_share"].items()},
            )
            for w in data.get("windows", ())
        )
        for a, b in itertools.pairwise(windows):
            if b.from_ms < a.to_ms:
                raise ValueError("liquidation windows overlap")
        shares = {str(k): float(v) for k, v in data["venue_share"]["share"].items()}
        baseline = {
            (str(asset), side): float(rates[f"{side}_usd_per_hour"])
            for asset, rates in data["baseline"]["all_venues"].items()
            for side in SIDES
        }
        return cls(
            windows=windows,
            venue_share=shares,
            baseline_usd_per_hour=baseline,
            floor_share=float(model.get("floor_share", 0.15)),
            exponent=float(model.get("exponent", 2.0)),
            median_print_usd=float(model.get("median_print_usd", 15_000.0)),
            print_sigma=float(model.get("print_sigma", 1.1)),
        )


def tape_path(scenario: str) -> Any:
    return resource_path("scenarios", f"{scenario}.liquidations.json")


class LiquidationTape:
    """Every liquidation print of a scenario, on every venue, drawn on demand per minute."""

    def __init__(self, scenario: Scenario, spec: TapeSpec | None = None):
        self.scenario = scenario
        if spec is None:
            path = tape_path(scenario.name)
            if scenario.path is not None:
                path = scenario.path.with_name(f"{scenario.path.stem}.liquidations.json")
            if path.exists():
                with path.open(encoding="utf-8") as f:
                    spec = TapeSpec.from_dict(json.load(f), scenario)
        self.spec = spec
        self.paths = {
            base: PricePath(s, scenario.start_ms, scenario.seed)
            for base, s in scenario.symbols.items()
        }
        self._minute = lru_cache(maxsize=8192)(self._draw_minute)
        self._weights = lru_cache(maxsize=64)(self._window_weights)

    @classmethod
    def load(cls, scenario: Scenario) -> LiquidationTape:
        return cls(scenario)

    def prints(self, venue: str, base: str, from_ms: int, to_ms: int) -> list[Print]:
        """The prints of (from_ms, to_ms], oldest first."""
        if self.spec is None or base not in self.paths or to_ms <= from_ms:
            return []
        out: list[Print] = []
        for minute in range(from_ms // MINUTE_MS, (to_ms - 1) // MINUTE_MS + 1):
            for p in self._minute(venue, base, minute):
                if from_ms < p.time_ms <= to_ms:
                    out.append(p)
        return out

    def notional(self, venue: str, base: str, side: str, from_ms: int, to_ms: int) -> float:
        """USD liquidated on one side over (from_ms, to_ms] (a sum of ``prints``)."""
        return sum(p.notional for p in self.prints(venue, base, from_ms, to_ms) if p.side == side)

    # -- drawing ----------------------------------------------------------------------------

    def _window_of(self, t_ms: int) -> int | None:
        assert self.spec is not None
        for i, w in enumerate(self.spec.windows):
            if w.from_ms <= t_ms < w.to_ms:
                return i
        return None

    def _window_weights(self, base: str, index: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(first minute, long weights, short weights) of a window: each sums to 1."""
        assert self.spec is not None
        w = self.spec.windows[index]
        first = w.from_ms // MINUTE_MS
        count = max(1, (w.to_ms - w.from_ms) // MINUTE_MS)
        prices = self.paths[base].minute_prices(first, count)
        moves = np.diff(np.log(prices)) / max(self.paths[base].spec.sigma_per_minute, 1e-9)
        out = []
        for sign in (-1.0, 1.0):  # longs die on falls, shorts on rises
            push = np.maximum(0.0, sign * moves) ** self.spec.exponent
            total = float(push.sum())
            shaped = push / total if total > 0 else np.full(count, 1.0 / count)
            f = self.spec.floor_share
            out.append(f / count + (1.0 - f) * shaped)
        return first, out[0], out[1]

    def _minute_budget(self, venue: str, base: str, side: str, minute: int) -> float:
        assert self.spec is not None
        share = self.spec.venue_share.get(venue, 0.0)
        index = self._window_of(minute * MINUTE_MS)
        if index is None:
            hourly = self.spec.baseline_usd_per_hour.get((base, side), 0.0)
            return hourly * share / 60.0
        w = self.spec.windows[index]
        first, longs, shorts = self._weights(base, index)
        weights = longs if side == "long" else shorts
        k = minute - first
        if not 0 <= k < weights.shape[0]:
            return 0.0
        side_share = w.long_share if side == "long" else 1.0 - w.long_share
        budget = w.total_usd * side_share * w.asset_share.get(base, 0.0) * share
        return budget * float(weights[k])

    def _draw_minute(self, venue: str, base: str, minute: int) -> tuple[Print, ...]:
        assert self.spec is not None
        seed = [self.scenario.seed, VENUES.index(venue) if venue in VENUES else 9, minute]
        rng = np.random.default_rng([*seed, sum(map(ord, base))])
        one_per_second = venue in ONE_PER_SECOND
        drawn: list[tuple[str, np.ndarray]] = []
        for side in SIDES:
            budget = self._minute_budget(venue, base, side, minute)
            if budget <= 0:
                continue
            expected = budget / self.spec.median_print_usd
            n = int(rng.poisson(expected)) if expected < 1 else max(1, round(expected))
            n = min(n, 600)
            if n == 0:
                continue
            sizes = rng.lognormal(0.0, self.spec.print_sigma, n)
            total = budget if expected >= 1 else n * self.spec.median_print_usd
            drawn.append((side, sizes / sizes.sum() * total))
        if one_per_second:
            # at most one print a second, both sides together: merge down to 60 a minute
            count = sum(len(a) for _, a in drawn)
            if count > 60:
                drawn = [(side, _merge(a, max(1, len(a) * 60 // count))) for side, a in drawn]
            count = sum(len(a) for _, a in drawn)
            seconds = rng.choice(60, size=count, replace=False) * 1000
            offsets = seconds + rng.integers(0, 1000, count)
        else:
            offsets = rng.integers(0, MINUTE_MS, sum(len(a) for _, a in drawn))
        lot = LOT.get(base, 0.01)
        path = self.paths[base]
        out: list[Print] = []
        k = 0
        for side, amounts_usd in drawn:
            through = -PRICE_THROUGH_MARK if side == "long" else PRICE_THROUGH_MARK
            for usd in amounts_usd:
                t = minute * MINUTE_MS + int(offsets[k])
                k += 1
                price = path.price(t) * (1 + through)
                amount = max(lot, round(float(usd) / price / lot) * lot)
                out.append(Print(venue, base, side, t, float(price), float(amount)))
        out.sort(key=lambda p: p.time_ms)
        return tuple(out)


def _merge(amounts: np.ndarray, n: int) -> np.ndarray:
    """``amounts`` summed into ``n`` prints (the total kept)."""
    groups = np.array_split(np.asarray(amounts), n)
    return np.array([float(g.sum()) for g in groups])


def expected_total(tape: LiquidationTape, venue: str, base: str, side: str) -> float:
    """The USD budget of every window for (venue, base, side): what the prints add up to,
    before rounding to lots and the Poisson draw of sparse minutes."""
    spec = tape.spec
    if spec is None:
        return 0.0
    share = spec.venue_share.get(venue, 0.0)
    total = 0.0
    for w in spec.windows:
        side_share = w.long_share if side == "long" else 1.0 - w.long_share
        total += w.total_usd * side_share * w.asset_share.get(base, 0.0) * share
    return total
