"""Candle indicators shared by levels, the liquidation map and the cascade: resampling, ATR,
moving averages, confirmed swing pivots and the volatility/volume figures of the impact law.

Everything here reads only the bars it is given, so a caller that passes ``candles.upto(t)`` gets
what was known at t.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from risk.types import Candles

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

_TIMEFRAME_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000}
_TIMEFRAME_MS.update({"1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS, "1d": DAY_MS})


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in a timeframe such as "1h", "4h" or "1d"."""
    tf = timeframe.strip().lower()
    if tf in _TIMEFRAME_MS:
        return _TIMEFRAME_MS[tf]
    unit = {"m": 60_000, "h": HOUR_MS, "d": DAY_MS, "w": 7 * DAY_MS}.get(tf[-1:])
    if unit is None or not tf[:-1].isdigit():
        raise ValueError(f"unknown timeframe {timeframe!r}")
    return int(tf[:-1]) * unit


def resample(candles: Candles, timeframe: str) -> Candles:
    """Aggregate bars into a longer timeframe, aligned to the epoch (UTC days, 4h blocks).

    Only complete groups are kept: a group still forming at the end (or cut at the start) would
    change when later bars arrive, which would leak the future into a backtest.
    """
    src = timeframe_ms(candles.timeframe)
    dst = timeframe_ms(timeframe)
    if dst % src:
        raise ValueError(f"cannot resample {candles.timeframe} into {timeframe}")
    per = dst // src
    if len(candles) == 0:
        return candles.slice(0, 0)
    group = candles.ts_ms // dst
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    counts = np.diff(np.r_[starts, len(candles)])
    keep = counts == per
    idx = starts[keep]
    ends = idx + per - 1

    def agg_sum(a: np.ndarray | None) -> np.ndarray | None:
        if a is None:
            return None
        return np.add.reduceat(a, starts)[keep] if len(starts) else a[:0]

    return Candles(
        candles.symbol,
        timeframe,
        group[idx] * dst,
        candles.open[idx],
        np.maximum.reduceat(candles.high, starts)[keep],
        np.minimum.reduceat(candles.low, starts)[keep],
        candles.close[ends],
        np.add.reduceat(candles.volume, starts)[keep],
        None if candles.open_interest is None else candles.open_interest[ends],
        agg_sum(candles.taker_buy_volume),
    )


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    prev = np.r_[close[:1], close[:-1]]
    tr: np.ndarray = np.maximum(high, prev) - np.minimum(low, prev)
    return tr


def atr_last(candles: Candles, n: int = 14) -> float:
    """Mean true range of the last n bars (0 when there are no bars)."""
    if len(candles) == 0:
        return 0.0
    k = min(n, len(candles))
    tr = true_range(candles.high[-k - 1 :], candles.low[-k - 1 :], candles.close[-k - 1 :])
    return float(np.mean(tr[-k:]))


def sma_last(values: np.ndarray, n: int) -> float | None:
    """Mean of the last n values, None when fewer than n exist."""
    if values.shape[0] < n or n <= 0:
        return None
    return float(np.mean(values[-n:]))


def swing_pivots(values: np.ndarray, n: int, *, lows: bool) -> np.ndarray:
    """Indices i of confirmed n-bar swing lows (or highs).

    values[i] is strictly below the n values before it and at or below the n after it (ties go
    to the first bar). Pivot i is known only once bar i+n has closed, so only indices with
    i + n < len(values) are returned: nothing here needs a bar that has not happened.
    """
    m = values.shape[0]
    if n < 1 or m < 2 * n + 1:
        return np.empty(0, dtype=np.int64)
    v = values if lows else -values
    win = sliding_window_view(v, 2 * n + 1)
    centre = win[:, n]
    before = win[:, :n].min(axis=1)
    after = win[:, n + 1 :].min(axis=1)
    ok = (centre < before) & (centre <= after)
    return np.flatnonzero(ok).astype(np.int64) + n


def log_returns(close: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Bar-to-bar log returns (length len−1); returns touching an invalid bar are NaN."""
    r: np.ndarray = np.diff(np.log(close))
    if valid is not None:
        bad = ~(valid[1:] & valid[:-1])
        r = np.where(bad, np.nan, r)
    return r


def rolling_realized_vol(
    close: np.ndarray, window: int, valid: np.ndarray | None = None
) -> np.ndarray:
    """Realised volatility (root of the sum of squared log returns, rescaled for missing
    returns) over the last ``window`` returns ending at each bar; NaN until enough bars exist."""
    r = log_returns(close, valid)
    ok = np.isfinite(r)
    sq = np.where(ok, r * r, 0.0)
    csq = np.r_[0.0, np.cumsum(sq)]
    cnt = np.r_[0, np.cumsum(ok)]
    out = np.full(close.shape[0], np.nan)
    if r.shape[0] < window:
        return out
    s = csq[window:] - csq[:-window]
    c = cnt[window:] - cnt[:-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        rv = np.sqrt(s * window / c)
    out[window:] = np.where(c >= window // 2, rv, np.nan)
    return out


def daily_sigma(candles: Candles, days: float = 7.0) -> float:
    """Daily standard deviation of log returns, from the bars of the last ``days`` days."""
    bar_ms = timeframe_ms(candles.timeframe)
    k = max(2, int(days * DAY_MS / bar_ms))
    close = candles.close[-k - 1 :]
    if close.shape[0] < 3:
        return 0.0
    r = np.diff(np.log(close))
    return float(np.std(r, ddof=1) * math.sqrt(DAY_MS / bar_ms))


def daily_volume_notional(candles: Candles, days: float = 7.0) -> float:
    """Mean traded notional per day over the last ``days`` days (volume × typical price)."""
    bar_ms = timeframe_ms(candles.timeframe)
    k = max(1, int(days * DAY_MS / bar_ms))
    typical = (candles.high[-k:] + candles.low[-k:] + candles.close[-k:]) / 3.0
    notional = float(np.sum(candles.volume[-k:] * typical))
    n = min(k, len(candles))
    return notional * (DAY_MS / bar_ms) / n if n else 0.0


def nice_step(x: float) -> float:
    """The 1-2-5 × 10^k number nearest to x in log terms (bucket and bin widths)."""
    if not (x > 0 and math.isfinite(x)):
        raise ValueError(f"step must be positive, got {x}")
    k = math.floor(math.log10(x))
    base = 10.0**k
    candidates = [base, 2 * base, 5 * base, 10 * base]
    return min(candidates, key=lambda c: abs(math.log(c / x)))


def zscore(history: Sequence[float] | np.ndarray, value: float | None = None) -> float | None:
    """z-score of ``value`` (default: the last of ``history``) against ``history``; None with
    fewer than 10 finite points or no spread."""
    a = np.asarray(history, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size < 10:
        return None
    x = float(a[-1]) if value is None else float(value)
    sd = float(a.std())
    if sd <= 0 or not math.isfinite(sd):
        return None
    return (x - float(a.mean())) / sd
