"""Timing of one full market recompute on two years of 1h candles (prints figures, asserts
nothing).

    python benchmarks/bench_market.py [--csv PATH] [--repeat N]

The two years are the real CSV's candles tiled end to end as relative moves (each bar's
open/high/low/close relative to the previous close), so the series is continuous; a seeded
random walk is timed too (alone when the CSV is absent). A recompute is: levels (1h pivots, 4h
and 1d resampled, volume profile, averages, round numbers), the liquidation map, σ/V, and the
cascades from the three nearest supports.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from risk.cascade import cascades  # noqa: E402
from risk.indicators import daily_sigma, daily_volume_notional  # noqa: E402
from risk.levels import find_levels  # noqa: E402
from risk.liqmap import LiqMapParams, build_liqmap  # noqa: E402
from risk.types import Candles  # noqa: E402

DEFAULT_CSV = ROOT.parent / "shared" / "data" / "btc-usd-1h.csv"
HOUR_MS = 3_600_000
BARS = 2 * 365 * 24


def tiled(src: Candles, bars: int) -> Candles:
    prev = np.r_[src.close[:1], src.close[:-1]]
    rel = np.stack([src.open / prev, src.high / prev, src.low / prev, src.close / prev])
    reps = -(-bars // len(src))
    rel = np.tile(rel, reps)[:, :bars]
    growth = np.cumprod(rel[3])
    base = float(src.close[0]) * np.r_[1.0, growth[:-1]]
    o, h, lo, c = (rel[i] * base for i in range(4))
    vol = np.tile(src.volume, reps)[:bars]
    ts = int(src.ts_ms[0]) + np.arange(bars, dtype=np.int64) * HOUR_MS
    return Candles(src.symbol, "1h", ts, o, h, lo, c, vol)


def random_walk(bars: int, seed: int = 1) -> Candles:
    rng = np.random.default_rng(seed)
    close = 100_000 * np.exp(np.cumsum(rng.normal(0, 0.004, bars)))
    open_ = np.r_[100_000.0, close[:-1]]
    wick = np.abs(rng.normal(0, 0.002, (2, bars)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    ts = 1_700_000_000_000 // HOUR_MS * HOUR_MS + np.arange(bars, dtype=np.int64) * HOUR_MS
    return Candles("BTC/USD", "1h", ts, open_, high, low, close, rng.lognormal(6.5, 0.5, bars))


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs), max(runs)


def bench(c: Candles, source: str, repeat: int) -> None:
    print(f"\ncandles: {source}; last close {c.close[-1]:,.0f}")

    def full() -> object:
        lv = find_levels(c)
        lm = build_liqmap(c)
        return cascades(lv, lm, daily_sigma(c), daily_volume_notional(c), count=3, min_score=0)

    lv = find_levels(c)
    lm = build_liqmap(c)
    sigma, vol = daily_sigma(c), daily_volume_notional(c)
    all_years = LiqMapParams(lookback_days=731)
    parts = {
        "levels (1h/4h/1d pivots, profile, averages)": lambda: find_levels(c),
        "liquidation map (45-day window, the default)": lambda: build_liqmap(c),
        "liquidation map over all 2 years": lambda: build_liqmap(c, all_years),
        "sigma and volume": lambda: (daily_sigma(c), daily_volume_notional(c)),
        "cascades from 3 nearest supports": lambda: cascades(
            lv, lm, sigma, vol, count=3, min_score=0
        ),
        "FULL RECOMPUTE": full,
    }
    print(f"{'step':46} {'median ms':>10} {'max ms':>8}   ({repeat} runs)")
    for name, fn in parts.items():
        med, worst = timed(fn, repeat)
        print(f"{name:46} {med:>10.1f} {worst:>8.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    if args.csv is not None and not args.csv.exists():
        raise SystemExit(f"{args.csv}: no such file")
    path = args.csv or (DEFAULT_CSV if DEFAULT_CSV.exists() else None)
    if path is not None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from eval_cascade import load_csv

        bench(tiled(load_csv(path), BARS), f"{path.name} tiled to {BARS} bars", args.repeat)
    bench(random_walk(BARS), f"seeded random walk, {BARS} bars", args.repeat)
    print("\ntarget: full recompute under 200 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
