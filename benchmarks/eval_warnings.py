"""Out-of-sample evaluation of the warnings on real candles (issue 15, §4).

    python benchmarks/eval_warnings.py --csv FILE [--oi FILE] [--json]
                                       [--train FILE ...] [--step N] [--no-cascade]

FILE is a candle CSV of the ../shared/data kind (timestamp, open, high, low, close, volume; 1 h
or 4 h bars; optional funding_rate, open_interest in USD, long/short_liquidation_usd). --oi adds
open interest in USD from another CSV (an ``open_interest`` column, or the sum of its
``oi_*_usd`` columns), forward-filled onto the bars. --train adds earlier candle files to every
walk-forward fit (only their windows that ended before each test month are used): a file with
only a few months of its own history (btc-usd-1h.csv, the CoinGlass 4 h files) is then scored
against a fit on years of other data that ended before it began.

Walk-forward, by calendar month: every figure for a month comes from a fit on windows that ended
before the month began — the move distribution (risk.probability) and the fixed-% rule's base
rates alike. Months before 2,000 fitted 24 h windows exist are not scored.

User level. Synthetic positions of 10,000 USDT on Binance's rules and built-in tiers (the
engine's own liquidation price, risk.closed_form, which the tests check against
risk.liquidation): longs and shorts at 3×, 5×, 10×, 20× and 25×, one of each opened at every
bar's close, held up to 7 days or until a later bar's low (high) reaches the liquidation price.
At every bar a position is alive, the model's P(liquidated within 24 h) is scored against what
happened in the next 24 h (predictions whose 24 h reach past the 7 days are not scored):
calibration table (ten equal-width bins), expected calibration error, Brier score. The fixed-%
rule as a forecast: the base rate, on the earlier months, of a liquidation within 24 h for
positions < 5 %, 5–10 % and ≥ 10 % from their liquidation price (the best it can do as a
probability). A liquidation is "warned ≥ 4 h ahead" when the rule was on at some bar from 24 h
to 4 h before the bar that liquidated it. The default probability threshold (P(24 h) ≥ 10 %) is
compared with the fixed-% rule at the same alert time (its distance threshold set so it is on
for the same share of position-hours) and at its shipped 10 %.

Market rules. Falls of ≥ 5 % and ≥ 10 %: the first bar whose low is that far below the highest
close of the 24 h before it (falls within 24 h of the previous one are merged); the fall's onset
is the bar of that highest close. A rule catches a fall when it was on at some bar in the 24 h up
to the onset (lead counted from the onset). Each rule against its own random-shift baseline
(its out-of-sample flags shifted circularly by a random offset of at least a week, 1,000 draws:
the same alert time and episode lengths, placed at random) and against the volatility rule at
equal alert time month by month (its threshold each month: the quantile of the 90 days before
that leaves the rule's share of that month above it). 95 % intervals: bootstrap over the falls.
Rules: volatility (24 h realised volatility above the 90th percentile of the 90 days before),
cascade support (risk.levels + risk.liqmap + risk.cascade from bars ≤ t: a support with score ≥
1 within 1.5 % or one ATR below the price whose domino ratio is ≥ 1 — the market half of the
shipped rule 3), crowding (funding, or open interest when given, above a 30-day z-score of 2),
scheduled event (the bars the shipped rule is on around each CPI release and FOMC decision the
product knows — resources/event-moves.json's dates from 2018 and the shipped events-YYYY.json —
from the first ``Thresholds.event_lead_ms`` before the release to ``event_after_ms`` after it: the
market half of the shipped rule, which then fires when the account's headroom is inside the
release's usual move).

Also: support hold rates against placebo levels (risk.levels), and — on a file with CoinGlass
liquidations — the liquidation map's consumed long notional against the liquidations that
really happened, and the square-root law's impact of those liquidations against the falls.

--json prints one object (issue 15's shape, with a few extra fields); otherwise a report.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alerts import Thresholds, WarningRule  # noqa: E402
from benchmarks.datafiles import CandleFile, DataError, fmt_ts, load_candles  # noqa: E402
from resources import EVENT_MOVES, calendar_files, default_tiers, load_json  # noqa: E402
from risk.closed_form import single_position_liquidation  # noqa: E402
from risk.indicators import HOUR_MS, rolling_realized_vol, timeframe_ms  # noqa: E402
from risk.probability import (  # noqa: E402
    MoveModel,
    clean_bars,
    extremes,
    sigma_series,
    survival_from,
    valid_bars,
)
from risk.rules import rules_for  # noqa: E402
from risk.types import Candles, Side  # noqa: E402

LEVERAGES = (3.0, 5.0, 10.0, 20.0, 25.0)
NOTIONAL = 10_000.0
HOLD_H = 168
HORIZON_H = 24
LEAD_H = 4
WARN_P = Thresholds().probability_warning
"""The shipped default: a warning at P(24 h) ≥ 10 % (critical at 35 %)."""
FIXED_WARN = Thresholds().distance_warning
FIXED_BINS = (0.05, 0.10)
MIN_FIT_WINDOWS = 2_000
CAL_BINS = 10
FALLS = (0.05, 0.10)
SHIFT_DRAWS = 1_000
BOOT_DRAWS = 2_000
MIN_SHIFT_H = 168


def alarm_rules() -> list[str]:
    """The rules the shipped defaults raise as warnings (alerts.Thresholds): the chance of
    liquidation and the scheduled events always; the market rules only where switched on."""
    t = Thresholds()
    out = [WarningRule.LIQUIDATION_PROBABILITY.value, WarningRule.SCHEDULED_EVENT.value]
    if t.fixed_percent:
        out += [WarningRule.LIQUIDATION_DISTANCE.value, WarningRule.JOINT_MOVE.value]
    if t.cascade_alerts:
        out.append(WarningRule.CASCADE_SUPPORT.value)
    if t.crowding_alerts:
        out.append(WarningRule.CROWDING.value)
    return out


# ---------------------------------------------------------------------------------------------
# Series


@dataclass(slots=True, eq=False)
class Series:
    """One candle series prepared once: validity, σ, the 24 h standardized extremes."""

    name: str
    c: Candles
    bar_h: float
    valid: np.ndarray
    sigma: np.ndarray
    z_down: np.ndarray
    z_up: np.ndarray
    window_end: np.ndarray
    high: np.ndarray
    low: np.ndarray
    tiers_asset: str
    gauss_daily: np.ndarray
    """σ per day for the Gaussian baseline: 7 days of hourly close-to-close returns."""
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.c)


def prepare(cf: CandleFile) -> Series:
    c = cf.candles
    bar_ms = timeframe_ms(c.timeframe)
    valid = valid_bars(c)
    sigma = sigma_series(c, valid=valid)
    zd, zu = extremes(c, float(HORIZON_H), sigma)
    h, lo = clean_bars(c.open, c.high, c.low, c.close)
    end = c.ts_ms + HORIZON_H * HOUR_MS + bar_ms
    asset = "ETH" if c.symbol.upper().startswith("ETH") else "BTC"
    bar_h = bar_ms / HOUR_MS
    window = round(168 / bar_h)
    gauss = rolling_realized_vol(c.close, window, valid) * math.sqrt(24 / 168)
    return Series(
        cf.name, c, bar_h, valid, sigma, zd, zu, end,
        np.where(valid, h, np.nan), np.where(valid, lo, np.nan), asset, gauss, dict(cf.extra),
    )  # fmt: skip


def month_starts_ms(first_ms: int, last_ms: int) -> list[int]:
    d = datetime.fromtimestamp(first_ms / 1000, UTC).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    out = []
    while int(d.timestamp() * 1000) <= last_ms:
        out.append(int(d.timestamp() * 1000))
        d = d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)
    return out


def fit_until(series: Sequence[Series], until_ms: int) -> MoveModel | None:
    """The 24 h tables fit on every series' windows that ended by ``until_ms``."""
    down, up = [], []
    for s in series:
        keep = np.isfinite(s.z_down) & (s.window_end <= until_ms)
        down.append(s.z_down[keep])
        up.append(s.z_up[keep])
    d = np.concatenate(down)
    if d.shape[0] < MIN_FIT_WINDOWS:
        return None
    return MoveModel((float(HORIZON_H),), (survival_from(d),), (survival_from(np.concatenate(up)),))


# ---------------------------------------------------------------------------------------------
# User level


@dataclass(slots=True)
class Tally:
    """Running sums for the user-level figures of the scored (target) months."""

    positions: int = 0
    liquidations: int = 0
    n: int = 0
    brier: float = 0.0
    brier_fixed: float = 0.0
    brier_gauss: float = 0.0
    live_hours: int = 0
    alerts: int = 0
    bins: np.ndarray = field(default_factory=lambda: np.zeros((3, CAL_BINS)))
    """Rows: count, Σ predicted, Σ observed, per equal-width bin of the prediction."""
    gauss_bins: np.ndarray = field(default_factory=lambda: np.zeros((3, CAL_BINS)))
    dist_hist: np.ndarray = field(default_factory=lambda: np.zeros(10_002))
    """Alive position-hours by distance to liquidation, in 0.01 % steps (last: ≥ 100 %)."""
    liq_max_p: list[float] = field(default_factory=list)
    """Per liquidation: the highest P(24 h) from 24 h to 4 h before it (−1: no such bar)."""
    liq_min_dist: list[float] = field(default_factory=list)
    month: str = ""

    @classmethod
    def merged(cls, parts: Sequence[Tally]) -> Tally:
        t = cls(month=f"{parts[0].month}..{parts[-1].month}" if parts else "")
        for x in parts:
            t.positions += x.positions
            t.liquidations += x.liquidations
            t.n += x.n
            t.brier += x.brier
            t.brier_fixed += x.brier_fixed
            t.brier_gauss += x.brier_gauss
            t.live_hours += x.live_hours
            t.alerts += x.alerts
            t.bins += x.bins
            t.gauss_bins += x.gauss_bins
            t.dist_hist += x.dist_hist
            t.liq_max_p += x.liq_max_p
            t.liq_min_dist += x.liq_min_dist
        return t

    def add_bins(self, which: np.ndarray, p: np.ndarray, y: np.ndarray) -> None:
        b = np.minimum((p * CAL_BINS).astype(np.int64), CAL_BINS - 1)
        which[0] += np.bincount(b, minlength=CAL_BINS)
        which[1] += np.bincount(b, p, minlength=CAL_BINS)
        which[2] += np.bincount(b, y, minlength=CAL_BINS)


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc for x ≥ 0 (Abramowitz & Stegun 7.1.26, absolute error below 1.5e-7)."""
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: np.ndarray = poly * np.exp(-x * x)
    return out


def month_index(ms: np.ndarray) -> np.ndarray:
    out: np.ndarray = ms.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
    return out


def month_ms(index: int) -> int:
    return int(np.datetime64(index, "M").astype("datetime64[ms]").astype(np.int64))


def user_level(target: Series, train: Sequence[Series]) -> list[Tally]:
    """Walk the months of every series in time order; score the target's (one tally per
    scored month)."""
    rules = rules_for("binanceusdm")
    everything = [*train, target]
    steps: list[tuple[int, int, Series]] = []
    for order, s in enumerate(everything):
        for m in np.unique(month_index(s.c.ts_ms)):
            steps.append((int(m), order, s))
    steps.sort(key=lambda x: (x[0], x[1]))
    known: dict[int, np.ndarray] = {}
    """Fixed-rule counts by the month their outcome became known: rows n, y; columns the bins."""
    tallies: list[Tally] = []
    models: dict[int, MoveModel | None] = {}
    for m, _, s in steps:
        if m not in models:
            models[m] = fit_until(everything, month_ms(m))
        model = models[m]
        if model is None:
            continue
        prior = sum((v for k, v in known.items() if k < m), np.zeros((2, 3)))
        rate = np.where(prior[0] > 0, prior[1] / np.maximum(prior[0], 1.0), np.nan)
        tally = Tally(month=str(np.datetime64(m, "M"))) if s is target else None
        _month(s, model, rules, m, rate, known, tally)
        if tally is not None and tally.n:
            tallies.append(tally)
    return tallies


def _month(
    s: Series,
    model: MoveModel,
    rules: Any,
    month: int,
    fixed_rate: np.ndarray,
    known: dict[int, np.ndarray],
    tally: Tally | None,
) -> None:
    c = s.c
    bar_ms = timeframe_ms(c.timeframe)
    hold = round(HOLD_H / s.bar_h)
    hz = round(HORIZON_H / s.bar_h)
    lead = round(LEAD_H / s.bar_h)
    lo_i = int(np.searchsorted(c.ts_ms, month_ms(month)))
    hi_i = int(np.searchsorted(c.ts_ms, month_ms(month + 1)))
    t0 = np.arange(lo_i, min(hi_i, s.n - hold - 1))
    if t0.shape[0] == 0:
        return
    # The whole hold must be gap-free, and the opening bar valid with a volatility figure.
    span = c.ts_ms[t0 + hold] - c.ts_ms[t0]
    t0 = t0[(span == hold * bar_ms) & s.valid[t0] & np.isfinite(s.sigma[t0])]
    if t0.shape[0] == 0:
        return
    tiers = default_tiers("binanceusdm", s.tiers_asset)
    ks = np.arange(hold + 1)
    idx = t0[:, None] + ks[None, :]
    close = c.close[idx]
    scale = s.sigma[idx] * math.sqrt(HORIZON_H)
    gauss_daily = s.gauss_daily[idx]
    known_month = month_index(c.ts_ms[np.minimum(idx + hz, s.n - 1)] + bar_ms)
    entry = c.close[t0]
    for side in Side:
        extreme = (s.low if side is Side.LONG else s.high)[idx[:, 1:]]
        table = model.down[0] if side is Side.LONG else model.up[0]
        for lev in LEVERAGES:
            lp = single_position_liquidation(
                side, entry, NOTIONAL / entry, NOTIONAL / lev, tiers, rules
            )
            ok = np.isfinite(lp)
            with np.errstate(invalid="ignore"):
                hit = (extreme <= lp[:, None]) if side is Side.LONG else (extreme >= lp[:, None])
            hit &= ok[:, None]
            liquidated = hit.any(axis=1)
            kliq = np.where(liquidated, hit.argmax(axis=1) + 1, 10**9)
            # Alive at the close of bar t0+k when no bar in (t0, t0+k] reached the price.
            alive = (ks[None, :] < kliq[:, None]) & ok[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = lp[:, None] / close
                log_d = np.abs(np.log(ratio))
                z = log_d / scale
            fin = np.isfinite(z)
            p = np.where(fin, table(np.where(fin, z, 0.0)), np.nan)
            dist = np.abs(ratio - 1.0)
            y = (kliq[:, None] > ks[None, :]) & (kliq[:, None] <= ks[None, :] + hz)
            fbin = np.digitize(dist, FIXED_BINS)
            graded = alive & fin & (ks[None, :] <= hold - hz)
            km = known_month[graded]
            for key in np.unique(km):
                sel = km == key
                add = np.zeros((2, 3))
                add[0] = np.bincount(fbin[graded][sel], minlength=3)
                add[1] = np.bincount(fbin[graded][sel], y[graded][sel], minlength=3)
                known[int(key)] = known.get(int(key), np.zeros((2, 3))) + add
            if tally is None:
                continue
            fr = fixed_rate[fbin]
            scored = graded & np.isfinite(fr)
            ps, ys = p[scored], y[scored].astype(float)
            tally.positions += int(ok.sum())
            tally.liquidations += int((liquidated & ok).sum())
            tally.n += ps.shape[0]
            tally.brier += float(np.sum((ps - ys) ** 2))
            tally.brier_fixed += float(np.sum((fr[scored] - ys) ** 2))
            tally.add_bins(tally.bins, ps, ys)
            with np.errstate(divide="ignore", invalid="ignore"):
                gz = log_d[scored] / (gauss_daily[scored] * math.sqrt(2.0))
            gp = np.where(np.isfinite(gz), erfc(np.where(np.isfinite(gz), gz, 50.0)), 0.0)
            tally.brier_gauss += float(np.sum((gp - ys) ** 2))
            tally.add_bins(tally.gauss_bins, gp, ys)
            # Alert share and warnings ahead use every alive bar of the hold.
            live = alive & fin
            tally.live_hours += int(live.sum())
            tally.alerts += int((p[live] >= WARN_P).sum())
            dbin = np.minimum((dist[live] * 10_000).astype(np.int64), 10_001)
            tally.dist_hist += np.bincount(dbin, minlength=10_002)
            for i in np.flatnonzero(liquidated & ok):
                k_liq = int(kliq[i])
                a, b = max(0, k_liq - hz), k_liq - lead
                if b < a:
                    tally.liq_max_p.append(-1.0)
                    tally.liq_min_dist.append(math.inf)
                    continue
                pw, dw = p[i, a : b + 1], dist[i, a : b + 1]
                tally.liq_max_p.append(float(np.nanmax(pw)) if np.isfinite(pw).any() else -1.0)
                tally.liq_min_dist.append(
                    float(np.nanmin(dw)) if np.isfinite(dw).any() else math.inf
                )


def ece(bins: np.ndarray) -> float:
    n = bins[0]
    total = float(n.sum())
    if total == 0:
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(bins[1] - bins[2]) / np.maximum(n, 1)
    return float(np.sum(n / total * gap))


def matched_threshold(t: Tally, share: float) -> float:
    """The fixed-% distance threshold that is on for ``share`` of the alive position-hours."""
    cum = np.cumsum(t.dist_hist) / max(1.0, float(t.dist_hist.sum()))
    return (int(np.searchsorted(cum, share)) + 1) / 10_000


def headline(t: Tally, threshold: float | None = None) -> dict[str, float]:
    """ECE, the two Brier scores and the two warned-ahead shares of one tally."""
    liq = max(1, len(t.liq_max_p))
    share = t.alerts / max(1, t.live_hours)
    thr = matched_threshold(t, share) if threshold is None else threshold
    n = max(1, t.n)
    return {
        "ece": ece(t.bins),
        "brier": t.brier / n,
        "brier_fixed_rule": t.brier_fixed / n,
        "alert_share": share,
        "warned_ahead_4h": float(np.sum(np.asarray(t.liq_max_p) >= WARN_P)) / liq,
        "fixed_rule_warned_ahead_4h": float(np.sum(np.asarray(t.liq_min_dist) < thr)) / liq,
        "threshold": thr,
    }


def bootstrap(parts: Sequence[Tally], draws: int = 400, seed: int = 11) -> dict[str, list[float]]:
    """95 % intervals of the headline figures, and of the two differences that decide "done",
    resampling whole months (a month's positions share its market, so they are not
    independent)."""
    rng = np.random.default_rng(seed)
    keys = ("ece", "brier_minus_fixed", "warned_minus_fixed")
    samples: dict[str, list[float]] = {k: [] for k in keys}
    m = len(parts)
    if m < 2:
        return {k: [math.nan, math.nan] for k in keys}
    for _ in range(draws):
        pick = rng.integers(0, m, m)
        h = headline(Tally.merged([parts[i] for i in pick]))
        samples["ece"].append(h["ece"])
        samples["brier_minus_fixed"].append(h["brier"] - h["brier_fixed_rule"])
        samples["warned_minus_fixed"].append(h["warned_ahead_4h"] - h["fixed_rule_warned_ahead_4h"])
    return {
        k: [round(float(np.nanpercentile(v, q)), 5) for q in (2.5, 97.5)]
        for k, v in samples.items()
    }


def user_summary(parts: Sequence[Tally]) -> dict[str, Any]:
    """The issue's user_level object, and a few figures beside it."""
    if not parts:
        return {"positions": 0, "liquidations": 0, "note": "no month could be scored"}
    t = Tally.merged(parts)
    h = headline(t)
    liq = len(t.liq_max_p)
    min_d = np.asarray(t.liq_min_dist)
    cum = np.cumsum(t.dist_hist) / max(1.0, float(t.dist_hist.sum()))
    cal = [
        {
            "predicted": round(float(t.bins[1, b] / t.bins[0, b]), 4),
            "observed": round(float(t.bins[2, b] / t.bins[0, b]), 4),
            "n": int(t.bins[0, b]),
        }
        for b in range(CAL_BINS)
        if t.bins[0, b] > 0
    ]
    gauss_cal = [
        {
            "predicted": round(float(t.gauss_bins[1, b] / t.gauss_bins[0, b]), 4),
            "observed": round(float(t.gauss_bins[2, b] / t.gauss_bins[0, b]), 4),
            "n": int(t.gauss_bins[0, b]),
        }
        for b in range(CAL_BINS)
        if t.gauss_bins[0, b] > 0
    ]
    years: dict[str, list[Tally]] = {}
    for x in parts:
        years.setdefault(x.month[:4], []).append(x)
    by_year = []
    for year, ps in sorted(years.items()):
        hy = headline(Tally.merged(ps))
        by_year.append(
            {"year": year, "liquidations": len(Tally.merged(ps).liq_max_p)}
            | {k: round(v, 4) for k, v in hy.items()}
        )
    return {
        "positions": t.positions,
        "liquidations": t.liquidations,
        "calibration": cal,
        "ece": round(h["ece"], 4),
        "brier": round(h["brier"], 5),
        "brier_fixed_rule": round(h["brier_fixed_rule"], 5),
        "alert_share": round(h["alert_share"], 4),
        "warned_ahead_4h": round(h["warned_ahead_4h"], 4),
        "fixed_rule_warned_ahead_4h": round(h["fixed_rule_warned_ahead_4h"], 4),
        "ci95": bootstrap(parts),
        "predictions": t.n,
        "scored_months": [parts[0].month, parts[-1].month],
        "fixed_rule_matched_threshold": round(h["threshold"], 4),
        "fixed_rule_default": {
            "threshold": FIXED_WARN,
            "alert_share": round(float(cum[int(FIXED_WARN * 10_000) - 1]), 4),
            "warned_ahead_4h": round(float(np.sum(min_d < FIXED_WARN)) / max(1, liq), 4),
        },
        "gaussian": {
            "ece": round(ece(t.gauss_bins), 4),
            "brier": round(t.brier_gauss / max(1, t.n), 5),
            "calibration": gauss_cal,
        },
        "by_year": by_year,
    }


# ---------------------------------------------------------------------------------------------
# Market rules


def falls(s: Series, size: float) -> tuple[np.ndarray, np.ndarray]:
    """(bar of the fall, bar of its onset) of every fall of ``size`` within 24 h."""
    c = s.c
    hz = round(HORIZON_H / s.bar_h)
    close = np.where(s.valid, c.close, np.nan)
    n = s.n
    if n <= hz + 1:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    win = sliding_window_view(close, hz)[:-1]  # the hz closes before bar i, for i ≥ hz
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.where(np.isnan(win), -np.inf, win), axis=1)
        hit = np.flatnonzero(s.low[hz:] <= (1.0 - size) * peak) + hz
    out_e: list[int] = []
    out_o: list[int] = []
    last = -(10**9)
    for i in hit:
        if i - last > hz:
            w = close[i - hz : i]
            onset = i - hz + int(np.nanargmax(w))
            out_e.append(int(i))
            out_o.append(onset)
        last = int(i)
    return np.asarray(out_e, np.int64), np.asarray(out_o, np.int64)


def caught(flags: np.ndarray, onsets: np.ndarray, hz: int) -> np.ndarray:
    """Whether the flags were on at some bar in the 24 h up to each onset."""
    cs = np.r_[0, np.cumsum(flags)]
    a = np.maximum(onsets - hz, 0)
    return np.asarray((cs[onsets + 1] - cs[a]) > 0)


def leads(flags: np.ndarray, onsets: np.ndarray, hz: int, bar_h: float) -> list[float | None]:
    out: list[float | None] = []
    for o in onsets:
        a = max(0, int(o) - hz)
        on = np.flatnonzero(flags[a : o + 1])
        out.append(None if on.size == 0 else float((o - (a + on[0])) * bar_h))
    return out


def shifted_caught(
    flags: np.ndarray, onsets: np.ndarray, lo: int, hi: int, hz: int, min_shift: int, seed: int
) -> np.ndarray:
    """Falls caught by the flags of [lo, hi) shifted circularly by random offsets."""
    rng = np.random.default_rng(seed)
    seg = flags[lo:hi].astype(np.int64)
    m = seg.shape[0]
    if m <= 2 * min_shift or onsets.shape[0] == 0:
        return np.zeros(SHIFT_DRAWS)
    shifts = rng.integers(min_shift, m - min_shift, SHIFT_DRAWS)
    cs = np.r_[0, np.cumsum(np.r_[seg, seg])]
    o = onsets - lo
    a = np.maximum(o - hz, 0)
    # flags shifted by k: shifted[j] = seg[(j - k) mod m]; window [a, o] maps to [a-k, o-k] mod m
    start = (a[None, :] - shifts[:, None]) % m
    length = (o - a + 1)[None, :]
    total = cs[start + length] - cs[start]
    out: np.ndarray = (total > 0).sum(axis=1).astype(float)
    return out


def boot_ci(hits: np.ndarray, seed: int = 5) -> list[float]:
    if hits.shape[0] == 0:
        return [math.nan, math.nan]
    rng = np.random.default_rng(seed)
    draws = hits[rng.integers(0, hits.shape[0], (BOOT_DRAWS, hits.shape[0]))].mean(axis=1)
    return [round(float(np.percentile(draws, 2.5)), 4), round(float(np.percentile(draws, 97.5)), 4)]


def rolling_quantile_threshold(
    x: np.ndarray, s: Series, share: np.ndarray | float, lookback_days: float = 90.0
) -> np.ndarray:
    """Per bar, the quantile of ``x`` over the ``lookback_days`` before the bar's day that leaves
    ``share`` (per bar, or one figure) above it; recomputed once a day (from earlier days only)."""
    c = s.c
    day = c.ts_ms // (24 * HOUR_MS)
    thr = np.full(s.n, np.inf)
    shares = np.broadcast_to(np.asarray(share, dtype=float), (s.n,))
    firsts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    lb = int(lookback_days * 24 / s.bar_h)
    for k, i in enumerate(firsts):
        j = firsts[k + 1] if k + 1 < len(firsts) else s.n
        hist = x[max(0, i - lb) : i]
        hist = hist[np.isfinite(hist)]
        if hist.shape[0] < lb // 2:
            continue
        q = shares[i]
        if not (0 < q < 1):
            thr[i:j] = np.inf if q <= 0 else -np.inf
            continue
        thr[i:j] = np.quantile(hist, 1.0 - q)
    return thr


def volatility_flags(s: Series, share: np.ndarray | float = 0.10) -> np.ndarray:
    rv = rolling_realized_vol(s.c.close, round(HORIZON_H / s.bar_h), s.valid)
    thr = rolling_quantile_threshold(rv, s, share)
    with np.errstate(invalid="ignore"):
        out: np.ndarray = rv >= thr
    return out


def zscore_flags(x: np.ndarray, s: Series, z: float = 2.0, days: float = 30.0) -> np.ndarray:
    """x above ``z`` standard deviations of its own last ``days`` (forward-filled)."""
    v = x.astype(float).copy()
    ok = np.isfinite(v)
    if not ok.any():
        return np.zeros(s.n, dtype=bool)
    idx = np.where(ok, np.arange(s.n), 0)
    np.maximum.accumulate(idx, out=idx)
    v = np.where(np.arange(s.n) >= np.argmax(ok), v[idx], np.nan)
    w = int(days * 24 / s.bar_h)
    out = np.zeros(s.n, dtype=bool)
    if s.n <= w:
        return out
    win = sliding_window_view(v, w)
    mean = np.nanmean(win, axis=1)
    sd = np.nanstd(win, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        zz = (v[w - 1 :] - mean) / sd
    out[w - 1 :] = zz > z
    return out


def crowding_flags(s: Series, oi_usd: np.ndarray | None) -> tuple[np.ndarray | None, str]:
    """Long crowding, as the shipped rule 5 reads it: funding above a 30-day z of 2 (the
    funding known at each bar: settlements forward-filled), or open interest above its own."""
    parts = []
    flags = np.zeros(s.n, dtype=bool)
    fund = s.extra.get("funding_rate")
    if fund is not None and np.isfinite(fund).sum() > 100:
        settled = np.where(np.isfinite(fund), fund, np.nan)
        flags |= zscore_flags(settled, s) & (_ffill(settled) > 0)
        parts.append("funding")
    if oi_usd is not None and np.isfinite(oi_usd).sum() > 100:
        flags |= zscore_flags(oi_usd, s)
        parts.append("open interest")
    if not parts:
        return None, "no funding or open interest in the data"
    return flags, " or ".join(parts) + " above a 30-day z-score of 2"


def scheduled_releases_ms() -> np.ndarray:
    """The CPI releases and FOMC decisions the product knows: those benchmarks/fit_events.py
    cites (resources/event-moves.json, from 2018) and the shipped calendars (events-YYYY.json),
    as release times in epoch ms, sorted, without duplicates."""
    times: set[int] = set()
    for entry in load_json(EVENT_MOVES)["kinds"].values():
        times.update(_utc_ms(t) for t in entry["releases_utc"])
    for name in calendar_files():
        times.update(_utc_ms(e["utc"]) for e in load_json(name)["events"] if e.get("kind"))
    return np.asarray(sorted(times), dtype=np.int64)


def _utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def scheduled_event_flags(s: Series, releases_ms: np.ndarray | None = None) -> np.ndarray:
    """The market half of the shipped scheduled-event rule (alerts.market_rules.scheduled_event):
    on from the first lead before each release (``Thresholds.event_lead_ms``, 60 min) to
    ``event_after_ms`` (30 min) after it. A bar is flagged when its span overlaps that window
    (a window that only touches a bar's edge does not count)."""
    t = Thresholds()
    before = max(t.event_lead_ms) if t.event_lead_ms else 0
    after = t.event_after_ms
    at = scheduled_releases_ms() if releases_ms is None else releases_ms
    ts = s.c.ts_ms
    bar_ms = round(s.bar_h * HOUR_MS)
    flags = np.zeros(s.n, dtype=bool)
    if not before and not after:
        return flags
    # bars with start < release + after and start + bar > release - before
    first = np.searchsorted(ts, at - before - bar_ms, side="right")
    last = np.searchsorted(ts, at + after, side="left")
    for a, b in zip(first, last, strict=True):
        flags[a:b] = True
    return flags


def _ffill(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if not ok.any():
        return x
    idx = np.where(ok, np.arange(x.shape[0]), 0)
    np.maximum.accumulate(idx, out=idx)
    out: np.ndarray = np.where(np.arange(x.shape[0]) >= np.argmax(ok), x[idx], np.nan)
    return out


@dataclass(slots=True)
class CascadeSnaps:
    flags: np.ndarray
    nearest: list[tuple[int, float, float, float, float]]
    """Daily samples for the hold rates: (bar, support low, high, price, atr) of every support
    whose top is within 5 % below the price."""
    context: list[tuple[int, float, float]]
    """(bar, support mid, estimated USD of long liquidations between it and the next support)."""
    seconds: float
    snapshots: int


def cascade_flags(s: Series, oi_usd: np.ndarray | None, step: int, first: int) -> CascadeSnaps:
    """The market half of the shipped rule 3 at every ``step``-th bar, from bars ≤ t only."""
    from risk.cascade import CascadeParams, cascades
    from risk.indicators import atr_last, daily_sigma, daily_volume_notional
    from risk.levels import find_levels
    from risk.liqmap import build_liqmap

    t0 = time.perf_counter()
    c = s.c
    if oi_usd is not None:
        c = Candles(
            c.symbol, c.timeframe, c.ts_ms, c.open, c.high, c.low, c.close, c.volume,
            oi_usd / c.close, c.taker_buy_volume,
        )  # fmt: skip
    keep = int(400 * 24 / s.bar_h)
    flags = np.zeros(s.n, dtype=bool)
    nearest: list[tuple[int, float, float, float, float]] = []
    context: list[tuple[int, float, float]] = []
    params = CascadeParams()
    per_day = round(24 / s.bar_h)
    count = 0
    for i in range(first, s.n, step):
        if not s.valid[i]:
            continue
        cut = c.slice(max(0, i + 1 - keep), i + 1)
        lv = find_levels(cut)
        lm = build_liqmap(cut)
        sigma = daily_sigma(cut)
        vol = daily_volume_notional(cut)
        atr = atr_last(cut)
        price = lv.price
        band = max(0.015 * price, atr)
        count += 1
        cas = cascades(lv, lm, sigma, vol, params=params, count=3)
        on = any(
            x.domino_ratio >= params.prone_ratio and price - x.support.high <= band for x in cas
        )
        flags[i : i + step] = on
        if (i - first) % per_day < step:
            for z in lv.supports:
                if z.high >= price * 0.95:
                    nearest.append((i, z.low, z.high, price, atr))
            for x in cas[:1]:
                context.append((i, x.support.mid, x.fuel))
    return CascadeSnaps(flags, nearest, context, time.perf_counter() - t0, count)


def hold_rates(
    s: Series, samples: Sequence[tuple[int, float, float, float, float]], seed: int = 7
) -> dict[str, Any]:
    """Of every support within 5 % below the price, sampled daily: after its first touch within
    7 days, does the price bounce one ATR above it before closing half an ATR below? Placebo: the
    same test at random levels of the same width with the detected supports' distances (Osler
    2000)."""
    rng = np.random.default_rng(seed)
    c = s.c
    week = round(168 / s.bar_h)

    def tally(t: int, low: float, high: float, atr: float) -> int | None:
        end = min(s.n, t + 1 + week)
        touched = np.flatnonzero(c.low[t + 1 : end] <= high)
        if touched.size == 0:
            return None
        j0 = t + 1 + int(touched[0])
        up = np.flatnonzero(c.high[j0:end] >= high + atr)
        down = np.flatnonzero(c.close[j0:end] < low - 0.5 * atr)
        if up.size == 0 and down.size == 0:
            return None
        return int(down.size == 0 or (up.size > 0 and up[0] < down[0]))

    real: list[int] = []
    fake: list[int] = []
    dists = np.array([(p - (lo + hi) / 2) / p for _, lo, hi, p, _ in samples])
    for t, lo, hi, price, atr in samples:
        r = tally(t, lo, hi, atr)
        if r is not None:
            real.append(r)
        half = (hi - lo) / 2
        for d in rng.choice(dists, size=10) if dists.size else ():
            mid = price * (1 - d)
            f = tally(t, mid - half, mid + half, atr)
            if f is not None:
                fake.append(f)
    rh = np.asarray(real, dtype=float)
    fh = np.asarray(fake, dtype=float)
    return {
        "supports": len(samples),
        "tested": int(rh.shape[0]),
        "hold_rate": round(float(rh.mean()), 4) if rh.size else None,
        "hold_ci95": boot_ci(rh),
        "placebo_tested": int(fh.shape[0]),
        "placebo_hold_rate": round(float(fh.mean()), 4) if fh.size else None,
        "placebo_ci95": boot_ci(fh),
        "median_distance": round(float(np.median(dists)), 4) if dists.size else None,
    }


def market_rules(
    s: Series, oi_usd: np.ndarray | None, step: int, with_cascade: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every market rule on the falls of the series, after a 90-day warm-up."""
    hz = round(HORIZON_H / s.bar_h)
    first = round(90 * 24 / s.bar_h)
    lo, hi = first, s.n
    rules: dict[str, np.ndarray] = {"volatility": volatility_flags(s)}
    notes: dict[str, Any] = {}
    crowd, why = crowding_flags(s, oi_usd)
    notes["crowding"] = why
    if crowd is not None:
        rules["crowding"] = crowd
    rules[WarningRule.SCHEDULED_EVENT.value] = scheduled_event_flags(s)
    notes[WarningRule.SCHEDULED_EVENT.value] = (
        f"{scheduled_releases_ms().shape[0]} CPI/FOMC releases known (event-moves.json and the "
        "shipped calendars); on from the first lead before each to event_after_ms after it"
    )
    snaps = None
    if with_cascade and s.n > first:
        snaps = cascade_flags(s, oi_usd, step or max(1, round(4 / s.bar_h)), first)
        rules["cascade_support"] = snaps.flags
        notes["cascade_support"] = (
            f"{snaps.snapshots} snapshots in {snaps.seconds:.0f} s; the liquidation map from "
            + ("open interest" if oi_usd is not None else "a volume proxy (no open interest)")
        )
    rv = rolling_realized_vol(s.c.close, hz, s.valid)
    out: list[dict[str, Any]] = []
    month = month_index(s.c.ts_ms)
    for size in FALLS:
        ev, onsets = falls(s, size)
        sel = (onsets >= lo + hz) & (ev < hi)
        ev, onsets = ev[sel], onsets[sel]
        for name, flags in rules.items():
            f = flags.copy()
            f[:lo] = False
            hits = caught(f, onsets, hz)
            shifted = shifted_caught(f, onsets, lo, hi, hz, int(MIN_SHIFT_H / s.bar_h), 23)
            share = float(f[lo:hi].mean()) if hi > lo else 0.0
            row: dict[str, Any] = {
                "rule": name,
                "raises_warning_by_default": name in alarm_rules(),
                "fall": size,
                "events": int(onsets.shape[0]),
                "caught_before_onset": int(hits.sum()),
                "random_shift_caught": round(float(shifted.mean()), 2),
                "random_shift_ci95": [
                    float(np.percentile(shifted, 2.5)),
                    float(np.percentile(shifted, 97.5)),
                ],
                "p_value": round(float(np.mean(shifted >= hits.sum())), 4),
                "alert_share": round(share, 4),
                "ci95": boot_ci(hits.astype(float)),
                "leads_h": leads(f, onsets, hz, s.bar_h),
                "onsets": [fmt_ts(int(s.c.ts_ms[o])) for o in onsets],
            }
            if name != "volatility":
                # The volatility rule at this rule's alert time, month by month.
                shares = np.zeros(s.n)
                for m in np.unique(month[lo:hi]):
                    msk = month == m
                    shares[msk] = f[msk].mean()
                thr = rolling_quantile_threshold(rv, s, shares)
                with np.errstate(invalid="ignore"):
                    vf = (rv >= thr) & (shares > 0)
                vf[:lo] = False
                vh = caught(vf, onsets, hz)
                row["volatility_same_alert_time"] = {
                    "caught_before_onset": int(vh.sum()),
                    "alert_share": round(float(vf[lo:hi].mean()), 4),
                    "ci95": boot_ci(vh.astype(float)),
                }
                row["beats_random_shift"] = bool(row["p_value"] < 0.05)
                row["beats_volatility"] = bool(hits.sum() > vh.sum())
            out.append(row)
    extra: dict[str, Any] = {"notes": notes}
    if snaps is not None:
        extra["levels"] = hold_rates(s, snaps.nearest)
        if snaps.context:
            fuel = np.array([x[2] for x in snaps.context])
            extra["support_context"] = {
                "samples": len(snaps.context),
                "median_long_usd_below_nearest_support": round(float(np.median(fuel)), 0),
                "note": "estimated, from "
                + ("open interest" if oi_usd is not None else "a volume proxy: relative only"),
            }
    return out, extra


# ---------------------------------------------------------------------------------------------
# The liquidation map and the cascade against liquidations that happened (CoinGlass files)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def cascade_calibration(s: Series) -> dict[str, Any] | None:
    """On a file with CoinGlass's Binance long liquidations and Binance's stablecoin-margined
    open interest (in the coin): the map built walk-forward from that open interest against the
    long liquidations of each bar (the map's longs between the bar's low and the close before);
    its scale fit on the first half and checked on the second; and, for the largest falls, the
    square-root-law impact of the liquidations that really happened against the fall."""
    from risk.indicators import daily_sigma, daily_volume_notional
    from risk.liqmap import build_liqmap

    liq = s.extra.get("long_liquidation_usd")
    oi_key = next((k for k in s.extra if k.startswith("oi_binance_stablecoin_")), None)
    if liq is None or oi_key is None:
        return None
    c = s.c
    cc = Candles(c.symbol, c.timeframe, c.ts_ms, c.open, c.high, c.low, c.close, c.volume,
                 s.extra[oi_key], None)  # fmt: skip
    warm = round(45 * 24 / s.bar_h)
    week = round(7 * 24 / s.bar_h)
    rows = []
    for t in range(warm, s.n):
        if not np.isfinite(liq[t]):
            continue
        lm = build_liqmap(cc.slice(0, t))
        prev = float(c.close[t - 1])
        low = float(c.low[t])
        pred = lm.long_between(low, prev) if low < prev else 0.0
        cut = cc.slice(max(0, t - week), t)
        sigma, volume = daily_sigma(cut), daily_volume_notional(cut)
        impact = 0.7 * sigma * math.sqrt(liq[t] / volume) if volume > 0 else math.nan
        rows.append((t, pred, float(liq[t]), 1.0 - low / prev, impact))
    if len(rows) < 50:
        return None
    a = np.asarray(rows)
    t, pred, act, drop, impact = a.T
    half = a.shape[0] // 2
    first, second = slice(0, half), slice(half, None)
    both = (pred > 0) & (act > 0)
    scale = float(np.median(act[first][both[first]] / pred[first][both[first]]))
    big = np.argsort(-drop)[:10]
    need_y = 0.7 * drop[big] / np.maximum(impact[big], 1e-12)
    return {
        "bars": int(a.shape[0]),
        "from": fmt_ts(int(c.ts_ms[int(t[0])])),
        "to": fmt_ts(int(c.ts_ms[int(t[-1])])),
        "open_interest": oi_key,
        "spearman_map_vs_liquidations": round(spearman(pred, act), 3),
        "spearman_fall_vs_liquidations": round(spearman(drop, act), 3),
        "map_total_usd": round(float(pred.sum()), 0),
        "liquidations_total_usd": round(float(act.sum()), 0),
        "scale_fit_first_half": round(scale, 3),
        "second_half": {
            "scaled_map_total_usd": round(float(pred[second].sum() * scale), 0),
            "liquidations_total_usd": round(float(act[second].sum()), 0),
            "spearman_map_vs_liquidations": round(spearman(pred[second], act[second]), 3),
        },
        "largest_falls": [
            {
                "bar": fmt_ts(int(c.ts_ms[int(t[i])])),
                "fall": round(float(drop[i]), 4),
                "long_liquidations_usd": round(float(act[i]), 0),
                "sqrt_law_impact_of_them": round(float(impact[i]), 5),
            }
            for i in big
        ],
        "median_share_of_fall_explained": round(float(np.median(impact[big] / drop[big])), 4),
        "y_needed_median": round(float(np.median(need_y)), 1),
        "note": (
            "Binance's own long liquidations sold into Binance's own volume: the square-root law "
            "(Y = 0.7) moves the price by the share of each fall given; producing the fall from "
            "them alone needs Y of the median given (the literature: 0.5-1), i.e. a book that "
            "many times thinner than the day's volume implies."
        ),
    }


def own_oi(s: Series) -> np.ndarray | None:
    """The candle file's own open interest column (USD, as in the CoinGlass files)."""
    oi = s.c.open_interest
    return None if oi is None or not np.isfinite(oi).any() else oi


def load_oi(path: Path, s: Series) -> np.ndarray:
    """Open interest in USD from a CSV, forward-filled onto the bars of ``s`` (a value at a
    timestamp is known from that bar on)."""
    f = load_oi_file(path)
    ts, oi = f
    idx = np.searchsorted(ts, s.c.ts_ms, side="right") - 1
    out = np.where(idx >= 0, oi[np.maximum(idx, 0)], np.nan)
    if not np.isfinite(out).any():
        raise DataError(f"{path}: its open interest does not overlap {s.name}")
    return out


def load_oi_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import csv

    from benchmarks.datafiles import parse_ts

    if not path.exists():
        raise DataError(f"{path}: no such file")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip().lower() for h in next(reader, [])]
        rows = [r for r in reader if r]
    if "timestamp" not in header:
        raise DataError(f"{path}: no 'timestamp' column")
    cols = [i for i, h in enumerate(header) if h == "open_interest"]
    if not cols:
        cols = [i for i, h in enumerate(header) if h.startswith("oi_") and h.endswith("_usd")]
    if not cols:
        raise DataError(f"{path}: no open_interest or oi_*_usd column")
    it = header.index("timestamp")
    ts = np.array([parse_ts(r[it]) for r in rows], dtype=np.int64)
    vals = np.array(
        [sum(float(r[i]) for i in cols if i < len(r) and r[i].strip()) or math.nan for r in rows]
    )
    return ts, vals


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--csv", type=Path, required=True, help="candle CSV (1 h or 4 h bars)")
    ap.add_argument("--oi", type=Path, default=None, help="open interest CSV (USD)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--train", type=Path, action="append", default=[], help="earlier data")
    ap.add_argument("--step", type=int, default=0, help="bars between cascade snapshots")
    ap.add_argument("--no-cascade", action="store_true", help="skip the cascade rule (slow)")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    target = prepare(load_candles(args.csv))
    train = [prepare(load_candles(p)) for p in args.train]
    c = target.c
    out: dict[str, Any] = {
        "data": {
            "file": args.csv.name,
            "first": fmt_ts(int(c.ts_ms[0])),
            "last": fmt_ts(int(c.ts_ms[-1])),
            "bars": len(c),
            "timeframe": c.timeframe,
            "train": [p.name for p in args.train],
        }
    }
    out["user_level"] = user_summary(user_level(target, train))
    oi = load_oi(args.oi, target) if args.oi else own_oi(target)
    rows, extra = market_rules(target, oi, args.step, not args.no_cascade)
    out["market_rules"] = rows
    out["alarm_rules"] = alarm_rules()
    out.update(extra)
    calibration = cascade_calibration(target)
    if calibration is not None:
        out["cascade_calibration"] = calibration
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
