"""Scenarios: real hourly candles replayed minute by minute, or anchor points plus seeded
noise; every replay is identical.

Real bars. A symbol may carry hourly OHLCV rows copied from a real data file (the scenario
names the file and the rows). Inside each hour the price runs open → first extreme → second
extreme → close on a one-minute grid: the extreme the bar reached first is taken to be the
low when the bar closed up and the high when it closed down (the order a bar's shape makes
likeliest; a one-hour candle does not record it), and each leg's share of the hour is its share
of the distance travelled. A Brownian bridge with a fixed seed, pinned to zero at the four
points and kept inside the bar's high–low range, adds the wiggle between them. So every hourly
candle served is the real one: its high and low are reached exactly (a liquidation happens when
the real price touched its level) and its close is exact; its open is the previous close
(Binance's next open differs from the close by at most 1.8 bp in these files). The hour's real
volume is spread over its minutes. Why not a plain straight line: the minute chart and the
order book would show a market that moves in three steps an hour; why not a free random walk:
it would leave the real range.

Anchors. Before (and after) the real bars, or for a symbol without them, the path is the
log-linear interpolation of anchors (hours from the scenario start, price) plus a Brownian
bridge per UTC day on a one-minute grid, pinned to zero at each midnight so the days join up and
the anchors stay close to where they were placed.

Between two grid minutes the price moves in a straight line, so a one-minute candle's open and
close bracket every price the path takes inside it and all candles of every timeframe agree with
the live mark.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
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
    tiers_like: str | None = None
    """For an asset without built-in maintenance tiers (a benchmark's synthetic asset): the
    asset whose tiers it uses."""
    bars: RealBars | None = None


@dataclass(frozen=True)
class RealBars:
    """Hourly bars from a real data file: ``start_ms`` is the first bar's open time; ``rows``
    an (n, 5) array of open, high, low, close, volume; ``source`` names the file and rows."""

    start_ms: int
    rows: np.ndarray
    source: str

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.rows.shape[0]) * HOUR_MS

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealBars:
        rows = np.asarray(data["rows"], dtype=float)
        if rows.ndim != 2 or rows.shape[1] != 5 or rows.shape[0] == 0:
            raise ValueError("scenario bars must be rows of [open, high, low, close, volume]")
        o, h, low, c = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        if np.any(h < np.maximum(o, c)) or np.any(low > np.minimum(o, c)) or np.any(low <= 0):
            raise ValueError("scenario bars must have low <= open, close <= high and prices > 0")
        return cls(_parse_time(data["start"]), rows, str(data.get("source", "")))


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
    path: Path | None = None
    """The file it was read from (its liquidation tape sits beside it)."""

    @classmethod
    def load(cls, name: str) -> Scenario:
        """A shipped scenario by name, or a scenario file by its path (``….json``: the
        benchmarks' own, which are not shipped)."""
        path = Path(name) if name.endswith(".json") else resource_path("scenarios", f"{name}.json")
        if not path.exists():
            raise ValueError(
                f"unknown scenario {name!r}; choose one of {', '.join(scenario_names())}"
            )
        with path.open(encoding="utf-8") as f:
            return replace(cls.from_dict(json.load(f)), path=path)

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
                bars=RealBars.from_dict(spec["bars"]) if "bars" in spec else None,
                tiers_like=spec.get("tiers_like"),
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
        anchors = [(start_ms + h * HOUR_MS, p) for h, p in spec.anchors]
        bars = spec.bars
        if bars is not None:
            # The real bars replace the anchors inside their span and pin the anchor path to
            # their first open and last close at its edges.
            anchors = [(t, p) for t, p in anchors if not bars.start_ms <= t <= bars.end_ms]
            anchors += [
                (bars.start_ms, float(bars.rows[0, 0])),
                (bars.end_ms, float(bars.rows[-1, 3])),
            ]
        anchors.sort()
        self._anchor_ms = np.array([t for t, _ in anchors], dtype=float)
        self._anchor_log = np.log(np.array([p for _, p in anchors], dtype=float))
        self._day = lru_cache(maxsize=4096)(self._make_day)
        self._hour = lru_cache(maxsize=8192)(self._make_hour)
        self._bar_first = -1 if bars is None else bars.start_ms // MINUTE_MS
        self._bar_last = -1 if bars is None else bars.end_ms // MINUTE_MS

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

    def _make_hour(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(prices at the 61 minute boundaries, upper and lower wick sizes, volumes) of real
        bar k: open → first extreme → second extreme → close, with a pinned bridge inside the
        bar's range (module docstring)."""
        bars = self.spec.bars
        assert bars is not None
        o, h, low, c, v = (float(x) for x in bars.rows[k])
        if k > 0:
            o = float(bars.rows[k - 1, 3])
        first, second = (low, h) if c >= o else (h, low)
        points = np.log([o, first, second, c])
        legs = np.abs(np.diff(points))
        total = float(legs.sum())
        if total <= 0:
            t1, t2 = 20, 40
        else:
            t1 = int(min(58, max(1, round(60 * legs[0] / total))))
            t2 = int(min(59, max(t1 + 1, round(60 * (legs[0] + legs[1]) / total))))
        grid = np.interp(np.arange(61), [0, t1, t2, 60], points)
        rng = np.random.default_rng([*self._seed, k + 2_000_000])
        width = math.log(h / low) if h > low else 0.0
        step = 0.25 * width / math.sqrt(60.0)
        walk = np.concatenate(([0.0], np.cumsum(rng.normal(0.0, step, 60))))
        noise = np.zeros(61)
        for a, b in ((0, t1), (t1, t2), (t2, 60)):
            seg = walk[a : b + 1]
            frac = np.linspace(0.0, 1.0, b - a + 1)
            noise[a : b + 1] = seg - seg[0] - frac * (seg[-1] - seg[0])
        path = np.clip(grid + noise, math.log(low), math.log(h))
        path[[0, t1, t2, 60]] = points
        wicks = np.abs(rng.normal(0.0, step * 0.5, (2, 60)))
        weight = rng.lognormal(0.0, 0.45, 60) * (0.5 + np.abs(np.diff(path)) / max(step, 1e-12))
        volume = v * weight / weight.sum()
        return np.exp(path), wicks[0], wicks[1], volume

    def _in_bars(self, minutes: np.ndarray) -> np.ndarray:
        out: np.ndarray = (minutes >= self._bar_first) & (minutes < self._bar_last)
        return out

    def _bar_prices(self, minutes: np.ndarray) -> np.ndarray:
        """Prices at minute boundaries inside the real bars (vectorised over hours)."""
        rel = minutes - self._bar_first
        hours = rel // 60
        out = np.empty(minutes.shape, dtype=float)
        for k in np.unique(hours):
            sel = hours == k
            out[sel] = self._hour(int(k))[0][rel[sel] - k * 60]
        return out

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
        real = self._in_bars(minutes)
        out = np.empty(minutes.shape, dtype=float)
        if np.any(real):
            out[real] = self._bar_prices(minutes[real])
        if not np.all(real):
            m = minutes[~real]
            t = m * MINUTE_MS
            trend = np.interp(t, self._anchor_ms, self._anchor_log)
            out[~real] = np.exp(trend + self._noise(m) * self._pin(t))
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
        real = self._in_bars(minutes)
        if np.any(real) and self.spec.bars is not None:
            rel = minutes[real] - self._bar_first
            hours = rel // 60
            rows = self.spec.bars.rows[hours]
            within = rel - hours * 60
            wu = np.empty(rel.shape)
            wd = np.empty(rel.shape)
            vv = np.empty(rel.shape)
            for k in np.unique(hours):
                sel = hours == k
                _, up_k, dn_k, vol_k = self._hour(int(k))
                wu[sel], wd[sel], vv[sel] = up_k[within[sel]], dn_k[within[sel]], vol_k[within[sel]]
            oo, cc = o[real], c[real]
            h[real] = np.minimum(np.maximum(oo, cc) * np.exp(wu), np.maximum(rows[:, 1], oo))
            low[real] = np.maximum(np.minimum(oo, cc) * np.exp(-wd), np.minimum(rows[:, 2], oo))
            v[real] = vv
        return o, h, low, c, v
