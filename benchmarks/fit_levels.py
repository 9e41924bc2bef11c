"""Do the supports hold, and does anything about them say which will? Out of sample.

    python benchmarks/fit_levels.py [--data DIR] [--tolerance 0.015]

Every day (at 00:00 UTC) of the Bitstamp BTC/USD 2018–22 and the Binance BTCUSDT and ETHUSDT
perpetual files, risk.levels.find_levels on the bars up to then (400 days at most); for every
support whose top is within 5 % below the price: after its first touch within 7 days, did the
price bounce one ATR above it before closing half an ATR below its bottom (research notes
§1.4)? Placebo: a level of the same width whose middle is at a distance drawn from the
supports' own middles (Osler 2000), drawn for every support whether or not it was touched. A
logistic regression of the outcome on the zone's confluence (touches, timeframes agreeing,
volume node, daily average, round number) is fit on the days before 2022-03 and scored on
2025–26 (area under the ROC curve), beside the confluence score's own.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.datafiles import FIT_FILES, SHARED_DATA, load_candles  # noqa: E402
from risk.indicators import atr_last  # noqa: E402
from risk.levels import Level, LevelKind, LevelParams, find_levels  # noqa: E402
from risk.types import Candles  # noqa: E402

HOUR_MS = 3_600_000
SPLIT_MS = 1_646_092_800_000  # 2022-03-01: fit before, score from 2025 on
WEEK = 168


def outcome(c: Candles, t: int, low: float, high: float, atr: float) -> int | None:
    end = min(len(c), t + 1 + WEEK)
    touched = np.flatnonzero(c.low[t + 1 : end] <= high)
    if touched.size == 0:
        return None
    j0 = t + 1 + int(touched[0])
    up = np.flatnonzero(c.high[j0:end] >= high + atr)
    down = np.flatnonzero(c.close[j0:end] < low - 0.5 * atr)
    if up.size == 0 and down.size == 0:
        return None
    return int(down.size == 0 or (up.size > 0 and up[0] < down[0]))


def confluence(z: Level) -> tuple[float, ...]:
    return (
        1.0,
        math.log1p(z.touches),
        float(bool(z.kinds & LevelKind.HIGHER_TIMEFRAME)),
        float(bool(z.kinds & LevelKind.VOLUME_NODE)),
        float(bool(z.kinds & (LevelKind.SMA50 | LevelKind.SMA200))),
        float(bool(z.kinds & LevelKind.ROUND)),
    )


def boot(x: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    m = rng.integers(0, x.shape[0], (2000, x.shape[0]))
    means = x[m].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def auc(score: np.ndarray, y: np.ndarray) -> float:
    order = np.argsort(score, kind="stable")
    rank = np.empty(score.shape[0])
    rank[order] = np.arange(1, score.shape[0] + 1)
    n1 = float(y.sum())
    n0 = y.shape[0] - n1
    return float((rank[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(w.shape[0])
        w -= np.linalg.solve(hess, grad)
    return w


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--tolerance", type=float, default=LevelParams().min_fraction)
    args = ap.parse_args(argv)
    params = replace(LevelParams(), min_fraction=args.tolerance)
    rng = np.random.default_rng(1)
    feats, ys, placebo, when, scores = [], [], [], [], []
    pool: list[float] = []
    for name in FIT_FILES:
        c = load_candles(args.data / name).candles
        bad = np.flatnonzero(np.diff(c.ts_ms) != HOUR_MS)
        for i in range(24 * 60, len(c) - WEEK - 2, 24):
            if np.any((bad >= i - 24 * 60) & (bad < i + WEEK + 1)):
                continue
            cut = c.slice(max(0, i + 1 - 400 * 24), i + 1)
            lv = find_levels(cut, params=params)
            atr = atr_last(cut)
            for z in lv.supports:
                if z.high < lv.price * 0.95:
                    break
                # The placebo's middle sits at a distance drawn from the supports' own middles,
                # for every support (touched or not): no selection on what happened.
                dm = 1.0 - z.mid / lv.price
                dp = pool[int(rng.integers(len(pool)))] if pool else dm
                mid, half = lv.price * (1 - dp), (z.high - z.low) / 2
                yp = outcome(c, i, mid - half, mid + half, atr)
                pool.append(dm)
                placebo.append((int(c.ts_ms[i]), -1 if yp is None else yp))
                y = outcome(c, i, z.low, z.high, atr)
                if y is None:
                    continue
                feats.append(confluence(z))
                ys.append(y)
                when.append(int(c.ts_ms[i]))
                scores.append(z.score)
    x = np.asarray(feats)
    y = np.asarray(ys, dtype=float)
    t = np.asarray(when)
    sc = np.asarray(scores)
    pt = np.asarray([p[0] for p in placebo])
    pl = np.asarray([p[1] for p in placebo], dtype=float)
    train, test = t < SPLIT_MS, t >= SPLIT_MS
    print(f"merge tolerance {args.tolerance:.1%} of the price; supports within 5 % below it")
    for label, sel, psel in (
        ("2018-22", train, pt < SPLIT_MS),
        ("2025-26", test, pt >= SPLIT_MS),
    ):
        ok = psel & (pl >= 0)
        lo, hi = boot(y[sel], rng)
        plo, phi = boot(pl[ok], rng)
        print(
            f"  {label}: supports held {y[sel].mean():.1%} [{lo:.1%}, {hi:.1%}] of "
            f"{int(sel.sum())} resolved touches; random levels {pl[ok].mean():.1%} "
            f"[{plo:.1%}, {phi:.1%}] of {int(ok.sum())}"
        )
    w = logistic(x[train], y[train])
    print(
        f"  AUC 2025-26 (fit on 2018-22): confluence features {auc(x[test] @ w, y[test]):.3f}; "
        f"confluence score {auc(sc[test], y[test]):.3f}"
    )
    assert math.isfinite(float(w.sum()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
