"""The evidence behind "a cascade is under way": CoinGlass liquidation history, walk-forward.

    python benchmarks/eval_liquidation_flow.py [--data DIR]

Input: ../shared/data/coinglass-{btc,eth}-4h-oi-liquidations.csv (never committed): Binance
perp OHLC and Binance's BTC / ETH long and short liquidations (USD) per 4-h bar, 2024-11-13 ..
2025-06-30 (the later months are withheld for an independent evaluation).

The rule at 4 h, for longs (shorts mirror it): a bar fires when its long liquidations reach
``k`` × their norm (the mean of the 42 bars before it: 7 days) and the bar's own move is at most
``p`` sigmas (sigma: the standard deviation of the 42 previous 4-h log returns). The claim it
makes about the future: the fall goes on — the next bar's low is at least one sigma below this
bar's close.

- Walk-forward by calendar month: (k, p) are tuned on every month before a test month (at
  least three) and scored on that month only. Tuning: the highest hit rate among the grid
  points that alert between once per 14 days and once per 4 days (rarity is part of the
  design: a warning that fires every day is not heard, one that never fires teaches nothing).
- Baselines on the same test months: the same number of alerts placed at random (the base
  rate), and a volatility rule with the same alert count in tuning: the bars with the largest
  fall in sigmas (no liquidation data).
- Confidence intervals: Wilson 95 % for hit rates.
- The bridge to the live rule's 5-minute window: the multiple that keeps one alert per 17 days
  is computed at 4, 8, 12, 24 and 48 h; its log-log slope against the window length is carried
  down to the length of a cascade (15 minutes: the 24 Aug 2025 drop of about 4,000 USD took 10
  to 20 minutes, resources/scenarios/2025-08-24.json) and no further (a window shorter than a
  cascade sees the same rate). That is an extrapolation 16-fold beyond the data; it is stated as
  such in the output.
- The norm the live rule falls back to before the app has 7 days of its own prints: the median
  over the file of the 7-day mean, per 5 minutes (Binance; other venues scale it by their share
  of liquidations, resources/scenarios/*.liquidations.json venue_share).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = next(
    (a / "shared" / "data" for a in ROOT.parents if (a / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)
"""../shared/data beside the project (or beside a folder of worktrees)."""
NORM_BARS = 42
K_GRID = (3.0, 4.0, 5.0, 6.0, 8.0, 11.0, 15.0)
P_GRID = (0.0, -0.5, -1.0, -1.5, -2.0)
MIN_ALERTS_PER_BAR = 1 / 84  # one per 14 days of 4-h bars (per coin)
MAX_ALERTS_PER_BAR = 1 / 24  # one per 4 days
WARMUP_MONTHS = 3
SCALES = (1, 2, 3, 6, 12)  # 4, 8, 12, 24, 48 h
CASCADE_MINUTES = 15.0
EQUAL_RATE_DAYS = 17.0


@dataclass
class Series:
    coin: str
    month: np.ndarray
    ratio: np.ndarray
    move: np.ndarray
    event: np.ndarray
    further: np.ndarray
    """Further fall to the next bar's low, in sigmas (positive = lower)."""
    further_pct: np.ndarray
    long_usd: np.ndarray
    short_usd: np.ndarray
    ok: np.ndarray


def trailing_mean(x: np.ndarray, w: int) -> np.ndarray:
    cs = np.concatenate(([0.0], np.cumsum(x)))
    out = np.full(x.shape[0], np.nan)
    out[w:] = (cs[w:-1] - cs[: -w - 1]) / w
    return out


def trailing_std(x: np.ndarray, w: int) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    for i in range(w, x.shape[0]):
        out[i] = float(np.std(x[i - w : i]))
    return out


def load(path: Path, coin: str) -> Series:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def col(name: str) -> np.ndarray:
        return np.array([float(r[name]) for r in rows])

    o, lo, c = col("open"), col("low"), col("close")
    longs, shorts = col("long_liquidation_usd"), col("short_liquidation_usd")
    ret = np.diff(np.log(c), prepend=np.log(c[0]))
    sigma = trailing_std(ret, NORM_BARS)
    move = np.log(c / o) / sigma
    ratio = longs / trailing_mean(longs, NORM_BARS)
    further = np.full(c.shape[0], np.nan)
    further[:-1] = -np.log(lo[1:] / c[:-1])
    ok = np.isfinite(ratio) & np.isfinite(sigma) & np.isfinite(further) & (sigma > 0)
    return Series(
        coin,
        np.array([r["timestamp"][:7] for r in rows]),
        ratio,
        move,
        further >= sigma,
        further / sigma,
        further,
        longs,
        shorts,
        ok,
    )


def wilson(hits: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    z = 1.96
    p = hits / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return centre - half, centre + half


def fires(s: Series, k: float, p: float, sel: np.ndarray) -> np.ndarray:
    out: np.ndarray = sel & s.ok & (s.ratio >= k) & (s.move <= p)
    return out


def tune(series: list[Series], months: set[str]) -> tuple[float, float, int, int]:
    """(k, p, alerts, bars) with the best tuning hit rate among the rare-enough grid points."""
    best: tuple[float, float, float, int, int] | None = None
    for k, p in product(K_GRID, P_GRID):
        n = hits = bars = 0
        for s in series:
            sel = np.isin(s.month, list(months)) & s.ok
            f = fires(s, k, p, sel)
            n += int(f.sum())
            hits += int(s.event[f].sum())
            bars += int(sel.sum())
        if not MIN_ALERTS_PER_BAR * bars <= n <= MAX_ALERTS_PER_BAR * bars:
            continue
        rate = hits / n
        if best is None or rate > best[2] or (rate == best[2] and n > best[3]):
            best = (k, p, rate, n, bars)
    if best is None:
        return (K_GRID[-1], P_GRID[-1], 0, 0)
    return (best[0], best[1], best[3], best[4])


def vol_threshold(series: list[Series], months: set[str], count: int) -> float:
    """The move (sigmas) below which the ``count`` largest falls of the tuning months lie."""
    moves = np.concatenate([s.move[np.isin(s.month, list(months)) & s.ok] for s in series])
    if count <= 0 or moves.size == 0:
        return -math.inf
    return float(np.sort(moves)[min(count, moves.size) - 1])


def walk_forward(series: list[Series]) -> dict[str, list[tuple[bool, float]]]:
    months = sorted(set(series[0].month))
    out: dict[str, list[tuple[bool, float]]] = {"rule": [], "vol": [], "all": []}
    chosen = []
    for i, m in enumerate(months):
        if i < WARMUP_MONTHS:
            continue
        past = set(months[:i])
        k, p, n, _ = tune(series, past)
        q = vol_threshold(series, past, n)
        chosen.append((m, k, p))
        for s in series:
            sel = (s.month == m) & s.ok
            for j in np.nonzero(fires(s, k, p, sel))[0]:
                out["rule"].append((bool(s.event[j]), float(s.further[j])))
            for j in np.nonzero(sel & (s.move <= q))[0]:
                out["vol"].append((bool(s.event[j]), float(s.further[j])))
            for j in np.nonzero(sel)[0]:
                out["all"].append((bool(s.event[j]), float(s.further[j])))
    print(
        "  tuned per test month (k x norm, p sigmas): "
        + ", ".join(f"{m} {k:g}/{p:g}" for m, k, p in chosen)
    )
    return out


def report(name: str, rows: list[tuple[bool, float]], base: float | None = None) -> None:
    n = len(rows)
    hits = sum(1 for e, _ in rows if e)
    lo, hi = wilson(hits, n)
    extra = "" if base is None else f"  (x{hits / n / base:.2f} the base rate)" if n else ""
    print(
        f"  {name:<34} n={n:4d}  hit {hits / n if n else math.nan:5.1%}  "
        f"95 % CI {lo:5.1%}-{hi:5.1%}{extra}"
    )


def equal_rate_multiples(series: list[Series]) -> list[tuple[float, float]]:
    """(window hours, the multiple of the 7-day norm exceeded once per EQUAL_RATE_DAYS)."""
    out = []
    for agg in SCALES:
        ratios = []
        for s in series:
            n = s.long_usd.shape[0] // agg * agg
            x = s.long_usd[:n].reshape(-1, agg).sum(axis=1)
            r = x / trailing_mean(x, NORM_BARS // agg)
            ratios.append(r[np.isfinite(r)])
        r = np.concatenate(ratios)
        q = 1 - 4 * agg / (EQUAL_RATE_DAYS * 24)
        out.append((4.0 * agg, float(np.quantile(r, q))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    paths = {c: args.data / f"coinglass-{c}-4h-oi-liquidations.csv" for c in ("btc", "eth")}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        print(f"skipped: the CoinGlass files are not here ({', '.join(missing)})")
        return 0
    series = [load(p, c) for c, p in paths.items()]
    bars = sum(int(s.ok.sum()) for s in series)
    print(
        "CoinGlass 4-h liquidations (Binance BTC and ETH), "
        f"{series[0].month[0]} .. {series[0].month[-1]}, {bars} bars"
    )
    print(
        "\n1. Walk-forward, rule 'long liquidations >= k x their 7-day norm and the bar falls >= p"
        " sigma'; event: the next bar's low is >= 1 sigma below the close"
    )
    wf = walk_forward(series)
    base = sum(e for e, _ in wf["all"]) / len(wf["all"])
    report("random placement (base rate)", wf["all"])
    report("liquidation-flow rule", wf["rule"], base)
    report("volatility rule, equal alert count", wf["vol"], base)
    further = np.array([f for _, f in wf["rule"]])
    if further.size:
        print(
            f"  after the rule's alerts the next 4 h fell a further median {np.median(further):.2f}"
            f" sigma, p90 {np.quantile(further, 0.9):.2f} sigma"
        )

    print("\n2. Does the flow add to a fall already seen? Bars among the 5 % largest falls:")
    for s in series:
        sel = s.ok & (s.move <= np.quantile(s.move[s.ok], 0.05))
        for label, part in (
            ("high flow (>= 5x)", sel & (s.ratio >= 5)),
            ("low flow (< 5x)", sel & (s.ratio < 5)),
        ):
            n = int(part.sum())
            h = int(s.event[part].sum())
            lo, hi = wilson(h, n)
            print(
                f"  {s.coin} {label:<18} n={n:3d} hit {h / n if n else math.nan:5.1%}"
                f" (95 % CI {lo:5.1%}-{hi:5.1%})"
            )

    k, p, n, bars = tune(series, set(series[0].month))
    print(
        f"\n3. Tuned on every month: k = {k:g} x the 7-day norm, p = {p:g} sigma "
        f"({n} alerts in {bars} bars, one per {bars / max(n, 1) / 6:.1f} days)"
    )

    scales = equal_rate_multiples(series)
    hours = np.log([h for h, _ in scales])
    mult = np.log([m for _, m in scales])
    beta = -float(np.polyfit(hours, mult, 1)[0])
    k4 = dict(scales)[4.0]
    print(
        "\n4. The multiple exceeded once per 17 days, by window: "
        + ", ".join(f"{h:g} h {m:.1f}x" for h, m in scales)
    )
    print(f"   log-log slope beta = {beta:.2f} (the multiple grows as window^-beta)")
    factor = (240.0 / CASCADE_MINUTES) ** beta
    print(
        f"   carried down to a {CASCADE_MINUTES:g}-minute cascade (and not below): x{factor:.1f};"
        f" the tuned k = {k:g} becomes {k * factor:.0f}x the norm per 5 minutes"
        f" (the equal-rate {k4:.1f}x becomes {k4 * factor:.0f}x)"
    )
    print(
        "   this is an extrapolation 16-fold below the shortest window in the data:"
        " no public minute-level liquidation history exists to test it"
    )

    print("\n5. Prior norm per 5 minutes (the median over the file of the 7-day mean), Binance:")
    for s in series:
        for side, x in (("long", s.long_usd), ("short", s.short_usd)):
            norm = trailing_mean(x, NORM_BARS)
            print(f"   {s.coin.upper()} {side}: {np.nanmedian(norm) / 48:,.0f} USD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
