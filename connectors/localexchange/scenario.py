"""Scenarios: price paths as anchor points plus seeded noise, so every replay is identical.

A path is the log-linear interpolation of its anchors (hours from the scenario start, price)
plus a Brownian bridge per UTC day on a one-minute grid, pinned to zero at each midnight so the
days join up and the anchors stay close to where they were placed. Between two grid minutes the
price moves in a straight line, so a one-minute candle's open and close bracket every price the
path takes inside it and all candles of every timeframe agree with the live mark.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np

from resources import resource_path

MINUTE_MS = 60_000
DAY_MINUTES = 1440
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
ANCHOR_PIN_MS = 45 * MINUTE_MS


def scenario_names() -> tuple[str, ...]:
    """Every scenario file's name (``<name>.json``; sidecars such as
    ``<name>.liquidations.json`` are not scenarios)."""
    folder = resource_path("scenarios")
    return tuple(sorted(p.stem for p in folder.glob("*.json") if "." not in p.stem))


def _parse_time(text: str) -> int:
    return int(
        datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000
    )


@dataclass(frozen=True)
class SymbolSpec:
    """One asset of a scenario: its path and the market figures around it."""

    base: str
    anchors: tuple[tuple[float, float], ...]
    sigma_per_minute: float
    volume_per_minute: float
    open_interest: float
    funding_base: float
    spread_bps: float = 0.2


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    start_ms: int
    duration_hours: float
    seed: int
    history_days: int
    symbols: dict[str, SymbolSpec]
    accounts: dict[str, Any]

    @classmethod
    def load(cls, name: str) -> Scenario:
        path = resource_path("scenarios", f"{name}.json")
        if not path.exists():
            raise ValueError(
                f"unknown scenario {name!r}; choose one of {', '.join(scenario_names())}"
            )
        with path.open(encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        symbols = {
            base: SymbolSpec(
                base=base,
                anchors=tuple((float(h), float(p)) for h, p in spec["anchors"]),
                sigma_per_minute=float(spec["sigma_per_minute"]),
                volume_per_minute=float(spec["volume_per_minute"]),
                open_interest=float(spec["open_interest"]),
                funding_base=float(spec.get("funding_base", 0.0001)),
                spread_bps=float(spec.get("spread_bps", 0.2)),
            )
            for base, spec in data["symbols"].items()
        }
        return cls(
            name=data["name"],
            title=data.get("title", data["name"]),
            start_ms=_parse_time(data["start"]),
            duration_hours=float(data["duration_hours"]),
            seed=int(data["seed"]),
            history_days=int(data.get("history_days", 400)),
            symbols=symbols,
            accounts=data.get("accounts", {}),
        )


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


class PricePath:
    """The deterministic price of one asset at any millisecond, and its minute grid."""

    def __init__(self, spec: SymbolSpec, start_ms: int, seed: int):
        self.spec = spec
        self.start_ms = start_ms
        self._seed = (seed, _stable_hash(spec.base))
        hours = np.array([h for h, _ in spec.anchors], dtype=float)
        order = np.argsort(hours)
        self._anchor_ms = start_ms + hours[order] * HOUR_MS
        self._anchor_log = np.log(np.array([p for _, p in spec.anchors], dtype=float))[order]
        self._day = lru_cache(maxsize=4096)(self._make_day)

    def _make_day(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bridge noise at the 1441 minute boundaries, wick sizes, volume factors) of a day."""
        rng = np.random.default_rng([*self._seed, day + 1_000_000])
        sigma = self.spec.sigma_per_minute
        steps = rng.normal(0.0, sigma, DAY_MINUTES)
        walk = np.concatenate(([0.0], np.cumsum(steps)))
        bridge = walk - np.linspace(0.0, 1.0, DAY_MINUTES + 1) * walk[-1]
        wicks = np.abs(rng.normal(0.0, sigma * 0.5, (2, DAY_MINUTES)))
        volume = rng.lognormal(0.0, 0.45, DAY_MINUTES)
        return bridge, wicks, volume

    def _noise(self, minutes: np.ndarray) -> np.ndarray:
        days = minutes // DAY_MINUTES
        out = np.empty(minutes.shape, dtype=float)
        for day in np.unique(days):
            sel = days == day
            out[sel] = self._day(int(day))[0][minutes[sel] - day * DAY_MINUTES]
        return out

    def minute_prices(self, first_minute: int, count: int) -> np.ndarray:
        """Prices at the count+1 minute boundaries from first_minute on."""
        minutes = np.arange(first_minute, first_minute + count + 1, dtype=np.int64)
        t = minutes * MINUTE_MS
        trend = np.interp(t, self._anchor_ms, self._anchor_log)
        out: np.ndarray = np.exp(trend + self._noise(minutes) * self._pin(t))
        return out

    def _pin(self, t: np.ndarray) -> np.ndarray:
        """Noise weight: 0 at each anchor, rising to 1 within ANCHOR_PIN_MS, so a path passes
        exactly through its anchors (a fast move drawn with close anchors stays as drawn)."""
        idx = np.searchsorted(self._anchor_ms, t)
        left = self._anchor_ms[np.clip(idx - 1, 0, len(self._anchor_ms) - 1)]
        right = self._anchor_ms[np.clip(idx, 0, len(self._anchor_ms) - 1)]
        nearest = np.minimum(np.abs(t - left), np.abs(right - t))
        weight: np.ndarray = np.clip(nearest / ANCHOR_PIN_MS, 0.0, 1.0)
        return weight

    def price(self, t_ms: float) -> float:
        m = int(t_ms // MINUTE_MS)
        a, b = self.minute_prices(m, 1)
        frac = (t_ms - m * MINUTE_MS) / MINUTE_MS
        return float(a + (b - a) * frac)

    def prices(self, t_ms: np.ndarray) -> np.ndarray:
        """Vectorised ``price`` for many times."""
        t = np.asarray(t_ms, dtype=float)
        m = np.floor(t / MINUTE_MS).astype(np.int64)
        lo = int(m.min())
        grid = self.minute_prices(lo, int(m.max()) - lo + 1)
        a = grid[m - lo]
        b = grid[m - lo + 1]
        out: np.ndarray = a + (b - a) * ((t - m * MINUTE_MS) / MINUTE_MS)
        return out

    def minute_bars(self, first_minute: int, count: int) -> tuple[np.ndarray, ...]:
        """(open, high, low, close, volume) of complete one-minute bars."""
        grid = self.minute_prices(first_minute, count)
        o, c = grid[:-1], grid[1:]
        minutes = np.arange(first_minute, first_minute + count, dtype=np.int64)
        days = minutes // DAY_MINUTES
        wick_up = np.empty(count)
        wick_dn = np.empty(count)
        vol = np.empty(count)
        for day in np.unique(days):
            sel = days == day
            idx = minutes[sel] - day * DAY_MINUTES
            _, wicks, volume = self._day(int(day))
            wick_up[sel] = wicks[0][idx]
            wick_dn[sel] = wicks[1][idx]
            vol[sel] = volume[idx]
        h = np.maximum(o, c) * np.exp(wick_up)
        low = np.minimum(o, c) * np.exp(-wick_dn)
        move = np.abs(np.log(c / o)) / max(self.spec.sigma_per_minute, 1e-9)
        v = self.spec.volume_per_minute * vol * (0.5 + 0.5 * move)
        return o, h, low, c, v
