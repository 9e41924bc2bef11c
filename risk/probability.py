"""The chance of being liquidated within 4 h and 24 h, from the data's own moves.

Volatility now: σ, the hourly standard deviation of log price, as an exponentially weighted
mean of each bar's Parkinson variance (ln(high/low))² / (4 ln 2) per hour (half-life 48 h). It
reads the bar's range, so a crash hour counts in full even when it closes where it opened.

The move: over the next H hours, the furthest the price goes below (above) the current close,
in log terms and in units of σ·√H,

    Z↓ = −ln(min low / close) / (σ·√H)        Z↑ = ln(max high / close) / (σ·√H).

These are running extremes, not end points, so S(z) = P(Z ≥ z) is the probability that a level
z·σ·√H away is *touched* within H hours: a first-passage probability. S is the empirical
survival of Z measured on real candles (fit walk-forward; the shipped fit's sources and date
travel with it), not a Gaussian's: the Gaussian reflection formula under-predicts exactly where
warnings live. Above the largest 0.5 % of the observations the tail is exponential, its rate the
maximum-likelihood fit to their excess over that threshold (peaks over a threshold).

An account's probability: a cross account is liquidated when the leader's path touches the
joint-move distance below (or above) the mark; an isolated position when its own price touches
its liquidation price. Both directions add (the chance of touching both within one horizon is
negligible where a warning matters, and the sum can only overstate).

Pure: NumPy and the standard library, no I/O, no clock. The fit date is given, never read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from risk.indicators import HOUR_MS, timeframe_ms
from risk.liquidation import JointMove
from risk.types import Candles

FloatArray = npt.NDArray[np.float64]

HORIZONS_H: tuple[float, ...] = (4.0, 24.0)
VOL_HALF_LIFE_H = 48.0
"""Half-life of the volatility estimate. Chosen on Bitstamp 2018–22 (first half fit, second
half scored): 48–96 h gave the best Brier and log scores of touching 1–20 % within 24 h."""
WARMUP_H = 168.0
"""Hours after a series starts (or resumes after a gap) before its volatility is trusted."""
MAX_WICK = 0.5
"""A bar whose high is more than 50 % above max(open, close) (or whose low is more than a third
below min(open, close)) is a bad print, not a move: its wick is cut to its body. Real hours have
ranged 40 % (2020-03-13); the ETHUSDT perpetual's 2020-03-13 02:00 high of 323 against a close of
111 is the one such print in the shared data (its data card says to cap it)."""
TAIL_SHARE = 0.005
MIN_TAIL_COUNT = 30
_LN4LN2 = 4.0 * math.log(2.0)
_GRID: FloatArray = np.asarray(
    np.round(
        np.r_[np.arange(0.0, 3.0, 0.05), np.arange(3.0, 8.0, 0.1), np.arange(8.0, 20.01, 0.25)], 4
    ),
    dtype=np.float64,
)


# ---------------------------------------------------------------------------------------------
# Volatility


def clean_bars(
    open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(high, low) with bad-print wicks cut to the body (see MAX_WICK)."""
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    h = np.where(high > top * (1.0 + MAX_WICK), top, high)
    lo = np.where(low < bottom / (1.0 + MAX_WICK), bottom, low)
    return h, lo


def valid_bars(c: Candles) -> npt.NDArray[np.bool_]:
    """Bars that traded: positive prices, high ≥ low, and not a flat zero-volume placeholder."""
    ok: npt.NDArray[np.bool_] = (
        np.isfinite(c.high) & np.isfinite(c.low) & np.isfinite(c.close) & (c.low > 0)
    )
    ok &= c.high >= c.low
    flat = (c.high == c.low) & ~(c.volume > 0)
    out: npt.NDArray[np.bool_] = ok & ~flat
    return out


def segment_starts(ts_ms: npt.NDArray[np.int64], bar_ms: int) -> npt.NDArray[np.bool_]:
    """True at the first bar and at every bar that follows a gap in the timestamps."""
    starts = np.ones(ts_ms.shape[0], dtype=bool)
    starts[1:] = np.diff(ts_ms) != bar_ms
    return starts


def sigma_series(
    c: Candles, half_life_h: float = VOL_HALF_LIFE_H, valid: npt.NDArray[np.bool_] | None = None
) -> FloatArray:
    """σ per hour at the close of every bar, from that bar and the ones before it only.

    NaN during the warm-up after the series starts or resumes after a gap (WARMUP_H).
    """
    bar_ms = timeframe_ms(c.timeframe)
    bar_h = bar_ms / HOUR_MS
    ok = valid_bars(c) if valid is None else valid
    h, lo = clean_bars(c.open, c.high, c.low, c.close)
    with np.errstate(divide="ignore", invalid="ignore"):
        park = np.log(h / lo) ** 2 / _LN4LN2 / bar_h
    park = np.where(ok & np.isfinite(park), park, np.nan)
    alpha = 1.0 - 0.5 ** (bar_h / half_life_h)
    starts = segment_starts(c.ts_ms, bar_ms)
    warm = max(1, math.ceil(WARMUP_H / bar_h))
    out = np.full(park.shape[0], np.nan)
    var = math.nan
    since = 0
    for i in range(park.shape[0]):
        if starts[i]:
            var, since = math.nan, 0
        x = park[i]
        if x == x:  # not NaN
            var = x if var != var else (1.0 - alpha) * var + alpha * x
        since += 1
        if since > warm and var == var and var > 0:
            out[i] = math.sqrt(var)
    return out


def hourly_sigma(c: Candles, half_life_h: float = VOL_HALF_LIFE_H) -> float | None:
    """σ per hour at the last bar of ``c`` (None when the candles are too few or too flat).

    The live figure: unlike ``sigma_series`` it does not wait out a warm-up, it starts from the
    mean of the first day's bars, so the app has a figure from a few hundred bars on."""
    if len(c) < 2:
        return None
    bar_h = timeframe_ms(c.timeframe) / HOUR_MS
    ok = valid_bars(c)
    h, lo = clean_bars(c.open, c.high, c.low, c.close)
    with np.errstate(divide="ignore", invalid="ignore"):
        park = np.log(h / lo) ** 2 / _LN4LN2 / bar_h
    park = park[ok & np.isfinite(park)]
    if park.shape[0] < 2:
        return None
    alpha = 1.0 - 0.5 ** (bar_h / half_life_h)
    k = park.shape[0]
    weights = (1.0 - alpha) ** np.arange(k - 1, -1, -1, dtype=float)
    first = max(1, int(24 / bar_h))
    start = float(np.mean(park[:first]))
    var = float(start * (1.0 - alpha) ** k + alpha * np.dot(weights, park))
    return math.sqrt(var) if var > 0 else None


# ---------------------------------------------------------------------------------------------
# The empirical survival of standardized extremes


@dataclass(frozen=True, slots=True, eq=False)
class Survival:
    """S(z) = P(Z ≥ z) on a grid of z, with an exponential tail beyond the data.

    ``log_s`` holds ln S at ``z`` (S(0) = 1); between grid points ln S is interpolated linearly,
    beyond the last point it falls at ``tail_rate`` per unit of z. ``count`` observations.
    """

    z: FloatArray
    log_s: FloatArray
    tail_rate: float
    count: int

    def __call__(self, z: npt.ArrayLike) -> FloatArray:
        zz = np.asarray(z, dtype=float)
        inside = np.interp(zz, self.z, self.log_s)
        beyond = self.log_s[-1] - self.tail_rate * (zz - self.z[-1])
        log_p = np.where(zz > self.z[-1], beyond, inside)
        out: FloatArray = np.where(zz <= 0, 1.0, np.exp(log_p))
        return out

    def z_at(self, probability: float) -> float:
        """The z where S(z) = probability (the smallest such z; 0 for probability ≥ 1)."""
        if probability >= 1.0:
            return 0.0
        if probability <= 0.0:
            return math.inf
        target = math.log(probability)
        if target < self.log_s[-1]:
            return float(self.z[-1] + (self.log_s[-1] - target) / self.tail_rate)
        # log_s is non-increasing: the first grid point at or below the target bounds it.
        i = int(np.argmax(self.log_s <= target))
        if i == 0:
            return 0.0
        z0, z1 = float(self.z[i - 1]), float(self.z[i])
        s0, s1 = float(self.log_s[i - 1]), float(self.log_s[i])
        if s1 == s0:
            return z0
        return z0 + (target - s0) * (z1 - z0) / (s1 - s0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "z": [float(x) for x in self.z],
            "survival": [float(f"{math.exp(x):.6g}") for x in self.log_s],
            "tail_rate": round(self.tail_rate, 6),
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Survival:
        z = np.asarray(d["z"], dtype=float)
        s = np.asarray(d["survival"], dtype=float)
        if z.ndim != 1 or z.shape != s.shape or z.shape[0] < 2:
            raise ValueError("a survival table needs matching 'z' and 'survival' lists")
        if np.any(np.diff(z) <= 0) or np.any(np.diff(s) > 0) or s[0] != 1.0 or s[-1] <= 0:
            raise ValueError("a survival table must rise in z and fall from 1 to above 0")
        rate = float(d["tail_rate"])
        if not rate > 0:
            raise ValueError("a survival table's tail_rate must be positive")
        return cls(z, np.log(s), rate, int(d["count"]))


def survival_from(samples: npt.ArrayLike, grid: FloatArray = _GRID) -> Survival:
    """The empirical survival of ``samples`` (finite, ≥ 0) on ``grid``, its tail beyond the
    largest TAIL_SHARE of them exponential (a maximum-likelihood rate above their threshold)."""
    x = np.sort(np.asarray(samples, dtype=float))
    x = x[np.isfinite(x)]
    n = x.shape[0]
    if n < 10 * MIN_TAIL_COUNT:
        raise ValueError(f"too few observations to fit a distribution ({n})")
    above = n - np.searchsorted(x, grid, side="left")
    k = max(MIN_TAIL_COUNT, int(TAIL_SHARE * n))
    u = float(x[n - k])
    excess = x[n - k :] - u
    rate = 1.0 / max(float(excess.mean()), 1e-6)
    s = above / n
    # Above the threshold the fitted exponential takes over (peaks over a threshold).
    tail = (k / n) * np.exp(-rate * (grid - u))
    s = np.where(grid >= u, tail, s)
    s = np.minimum.accumulate(np.maximum(s, 1e-12))
    s[0] = 1.0
    return Survival(grid.astype(float), np.log(s), rate, n)


def merge_survivals(a: Survival, b: Survival) -> Survival:
    """The survival of two disjoint samples pooled: S = (n_a·S_a + n_b·S_b)/(n_a + n_b)."""
    if not np.array_equal(a.z, b.z):
        raise ValueError("survival tables must share their grid to be merged")
    n = a.count + b.count
    s = (a.count * np.exp(a.log_s) + b.count * np.exp(b.log_s)) / n
    rate = (a.count * a.tail_rate + b.count * b.tail_rate) / n
    return Survival(a.z, np.log(np.minimum.accumulate(s)), rate, n)


# ---------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True, slots=True, eq=False)
class MoveModel:
    """Survival tables of Z↓ and Z↑ for each horizon, with where they came from."""

    horizons_h: tuple[float, ...]
    down: tuple[Survival, ...]
    up: tuple[Survival, ...]
    half_life_h: float = VOL_HALF_LIFE_H
    through_ms: int = 0
    """The last bar any fitted window reached: a refresh adds only later windows."""
    fitted: str = ""
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not (len(self.horizons_h) == len(self.down) == len(self.up)) or not self.horizons_h:
            raise ValueError("a move model needs one down and one up table per horizon")

    def index(self, horizon_h: float) -> int:
        for i, h in enumerate(self.horizons_h):
            if abs(h - horizon_h) < 1e-9:
                return i
        known = ", ".join(f"{h:g} h" for h in self.horizons_h)
        raise ValueError(f"no fitted horizon of {horizon_h:g} h (fitted: {known})")

    def touch(
        self,
        horizon_h: float,
        sigma_hourly: npt.ArrayLike,
        log_down: npt.ArrayLike | None = None,
        log_up: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """P(the price touches a level ``log_down`` below / ``log_up`` above (log distances ≥ 0;
        inf or NaN: no level) within ``horizon_h``), vectorised; both given: their sum, capped
        at 1."""
        i = self.index(horizon_h)
        scale = np.asarray(sigma_hourly, dtype=float) * math.sqrt(horizon_h)
        total = np.zeros(np.broadcast(scale, 0.0).shape)
        for dist, table in ((log_down, self.down[i]), (log_up, self.up[i])):
            if dist is None:
                continue
            d = np.asarray(dist, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(np.isfinite(d), d / scale, np.inf)
            p = np.where(np.isfinite(z), table(np.where(np.isfinite(z), z, 0.0)), 0.0)
            total = total + p
        out: FloatArray = np.clip(total, 0.0, 1.0)
        return out

    def distance_for(self, horizon_h: float, sigma_hourly: float, probability: float) -> float:
        """The log distance below the price whose 24 h (or ``horizon_h``) touch probability is
        ``probability``: the inverse of ``touch`` for a fall."""
        i = self.index(horizon_h)
        return self.down[i].z_at(probability) * sigma_hourly * math.sqrt(horizon_h)

    def distance_up_for(self, horizon_h: float, sigma_hourly: float, probability: float) -> float:
        i = self.index(horizon_h)
        return self.up[i].z_at(probability) * sigma_hourly * math.sqrt(horizon_h)

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": (
                "Empirical survival S(z) = P(Z >= z) of the furthest move below (down) and above "
                "(up) the close within each horizon, in units of sigma*sqrt(H), sigma = the EWMA "
                "(half-life below) of hourly Parkinson variance. risk/probability.py reads it."
            ),
            "fitted": self.fitted,
            "through": self.through_ms,
            "through_utc": _utc(self.through_ms),
            "half_life_h": self.half_life_h,
            "sources": list(self.sources),
            "notes": list(self.notes),
            "horizons": [
                {"hours": h, "down": d.to_dict(), "up": u.to_dict()}
                for h, d, u in zip(self.horizons_h, self.down, self.up, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MoveModel:
        rows = d["horizons"]
        return cls(
            horizons_h=tuple(float(r["hours"]) for r in rows),
            down=tuple(Survival.from_dict(r["down"]) for r in rows),
            up=tuple(Survival.from_dict(r["up"]) for r in rows),
            half_life_h=float(d.get("half_life_h", VOL_HALF_LIFE_H)),
            through_ms=int(d.get("through", 0)),
            fitted=str(d.get("fitted", "")),
            sources=tuple(str(s) for s in d.get("sources", ())),
            notes=tuple(str(s) for s in d.get("notes", ())),
        )


def _utc(ms: int) -> str:
    """ms since the epoch as an ISO date-time (pure arithmetic: no clock, no time zone)."""
    days, rest = divmod(ms // 1000, 86_400)
    # civil-from-days (H. Hinnant), proleptic Gregorian
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y = yoe + era * 400 + (m <= 2)
    return f"{y:04d}-{m:02d}-{d:02d}T{rest // 3600:02d}:{rest % 3600 // 60:02d}:00Z"


def extremes(
    c: Candles,
    horizon_h: float,
    sigma: FloatArray | None = None,
    half_life_h: float = VOL_HALF_LIFE_H,
    after_ms: int | None = None,
) -> tuple[FloatArray, FloatArray]:
    """(Z↓, Z↑) of every bar whose next ``horizon_h`` hours lie inside the series without a gap
    or a bad bar (NaN elsewhere); only windows that start after ``after_ms`` when given."""
    bar_ms = timeframe_ms(c.timeframe)
    bar_h = bar_ms / HOUR_MS
    k = round(horizon_h / bar_h)
    if k < 1 or abs(k * bar_h - horizon_h) > 1e-9:
        raise ValueError(f"a {horizon_h:g} h horizon is not a whole number of {c.timeframe} bars")
    n = len(c)
    down = np.full(n, np.nan)
    up = np.full(n, np.nan)
    if n <= k:
        return down, up
    valid = valid_bars(c)
    sig = sigma_series(c, half_life_h, valid) if sigma is None else sigma
    h, lo = clean_bars(c.open, c.high, c.low, c.close)
    lo = np.where(valid, lo, np.nan)
    h = np.where(valid, h, np.nan)
    fmin = sliding_window_view(lo[1:], k).min(axis=1)
    fmax = sliding_window_view(h[1:], k).max(axis=1)
    # A window is usable when it has no gap: its bars are k consecutive bars after t.
    span = c.ts_ms[k:] - c.ts_ms[: n - k]
    good = (span == k * bar_ms) & valid[: n - k] & np.isfinite(sig[: n - k])
    if after_ms is not None:
        good &= c.ts_ms[: n - k] > after_ms
    scale = sig[: n - k] * math.sqrt(horizon_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        zd = -np.log(fmin / c.close[: n - k]) / scale
        zu = np.log(fmax / c.close[: n - k]) / scale
    down[: n - k] = np.where(good, np.maximum(zd, 0.0), np.nan)
    up[: n - k] = np.where(good, np.maximum(zu, 0.0), np.nan)
    return down, up


def fit_move_model(
    series: Iterable[Candles],
    *,
    fitted: str,
    sources: Sequence[str] = (),
    horizons_h: Sequence[float] = HORIZONS_H,
    half_life_h: float = VOL_HALF_LIFE_H,
    until_ms: int | None = None,
    notes: Sequence[str] = (),
) -> MoveModel:
    """Fit the survival tables on every series pooled. With ``until_ms`` only windows that end
    by then are used (a walk-forward fit sees nothing after its cut)."""
    downs: list[list[FloatArray]] = [[] for _ in horizons_h]
    ups: list[list[FloatArray]] = [[] for _ in horizons_h]
    through = 0
    for c in series:
        if len(c) < 2:
            continue
        bar_ms = timeframe_ms(c.timeframe)
        sig = sigma_series(c, half_life_h)
        for j, hz in enumerate(horizons_h):
            zd, zu = extremes(c, hz, sig, half_life_h)
            keep = np.isfinite(zd)
            if until_ms is not None:
                end = c.ts_ms + int(hz * HOUR_MS) + bar_ms
                keep &= end <= until_ms
            if np.any(keep):
                last = int(np.flatnonzero(keep)[-1])
                through = max(through, int(c.ts_ms[last]) + int(hz * HOUR_MS) + bar_ms)
            downs[j].append(zd[keep])
            ups[j].append(zu[keep])
    down = tuple(survival_from(np.concatenate(d)) for d in downs)
    up = tuple(survival_from(np.concatenate(u)) for u in ups)
    return MoveModel(
        tuple(float(h) for h in horizons_h),
        down,
        up,
        half_life_h,
        through,
        fitted,
        tuple(sources),
        tuple(notes),
    )


def refresh(model: MoveModel, candles: Iterable[Candles], *, fitted: str) -> MoveModel:
    """The model with the windows of ``candles`` that start after its ``through_ms`` pooled in
    (the app's own candles, as they arrive). Unchanged when they add too few windows."""
    series = list(candles)
    downs: list[list[FloatArray]] = [[] for _ in model.horizons_h]
    ups: list[list[FloatArray]] = [[] for _ in model.horizons_h]
    through = model.through_ms
    for c in series:
        if len(c) < 2:
            continue
        bar_ms = timeframe_ms(c.timeframe)
        sig = sigma_series(c, model.half_life_h)
        for j, hz in enumerate(model.horizons_h):
            zd, zu = extremes(c, hz, sig, model.half_life_h, after_ms=model.through_ms)
            keep = np.isfinite(zd)
            if np.any(keep):
                last = int(np.flatnonzero(keep)[-1])
                through = max(through, int(c.ts_ms[last]) + int(hz * HOUR_MS) + bar_ms)
            downs[j].append(zd[keep])
            ups[j].append(zu[keep])
    new_down = [np.concatenate(d) if d else np.empty(0) for d in downs]
    if min(x.shape[0] for x in new_down) < 10 * MIN_TAIL_COUNT:
        return model
    down = tuple(
        merge_survivals(old, survival_from(x)) for old, x in zip(model.down, new_down, strict=True)
    )
    up = tuple(
        merge_survivals(old, survival_from(np.concatenate(u)))
        for old, u in zip(model.up, ups, strict=True)
    )
    return MoveModel(
        model.horizons_h,
        down,
        up,
        model.half_life_h,
        through,
        fitted,
        (*model.sources, "the app's own candles"),
        model.notes,
    )


# ---------------------------------------------------------------------------------------------
# Accounts and positions


@dataclass(frozen=True, slots=True)
class Odds:
    """The chance of liquidation within 4 h and 24 h, and what it rests on."""

    p4: float
    p24: float
    sigma_hourly: float
    down: float | None
    """The fall (a fraction ≤ 0 of the price) that liquidates, None when none does."""
    up: float | None


def _log_down(r: float | None) -> float:
    if r is None or r <= -1.0:
        return math.inf
    return -math.log1p(min(r, 0.0))


def _log_up(r: float | None) -> float:
    if r is None:
        return math.inf
    return math.log1p(max(r, 0.0))


def odds_of_moves(
    model: MoveModel, sigma_hourly: float, down: float | None, up: float | None
) -> Odds:
    """Odds of a liquidation at a fall of ``down`` or a rise of ``up`` (fractions of the price,
    None where no move that way liquidates)."""
    ld, lu = _log_down(down), _log_up(up)
    p4 = float(model.touch(4.0, sigma_hourly, ld, lu))
    p24 = float(model.touch(24.0, sigma_hourly, ld, lu))
    return Odds(p4, max(p4, p24), sigma_hourly, down, up)


def cross_odds(model: MoveModel, joint: JointMove, sigma_hourly: float) -> Odds:
    """A cross account's odds through its joint move (the leader's σ)."""
    return odds_of_moves(model, sigma_hourly, joint.down, joint.up)


def position_odds(model: MoveModel, distance: float | None, sigma_hourly: float) -> Odds:
    """An isolated position's odds through its own price: ``distance`` is liquidation price /
    mark − 1 (negative for a long)."""
    if distance is None:
        return Odds(0.0, 0.0, sigma_hourly, None, None)
    if distance <= 0:
        return odds_of_moves(model, sigma_hourly, distance, None)
    return odds_of_moves(model, sigma_hourly, None, distance)


def touch_many(
    model: MoveModel, horizon_h: float, sigma_hourly: FloatArray, distance: FloatArray
) -> FloatArray:
    """Vectorised ``position_odds`` for one horizon: distance < 0 a fall, > 0 a rise, NaN
    none."""
    d = np.asarray(distance, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ld = np.where(d <= 0, -np.log1p(np.maximum(d, -1.0 + 1e-15)), np.inf)
        lu = np.where(d > 0, np.log1p(np.where(d > 0, d, 0.0)), np.inf)
    ld = np.where(np.isfinite(d), ld, np.inf)
    lu = np.where(np.isfinite(d), lu, np.inf)
    return model.touch(horizon_h, sigma_hourly, ld, lu)


@dataclass(frozen=True, slots=True)
class AccountOdds:
    """An account's odds: the cross account through its joint move (None without cross
    positions or without the leader's σ), and each position through its own price (None
    without its symbol's σ), in the order of the report's positions."""

    cross: Odds | None
    positions: tuple[Odds | None, ...]


def account_odds(
    model: MoveModel,
    joint: JointMove | None,
    distances: Sequence[float | None],
    symbols: Sequence[str],
    sigma_hourly: Mapping[str, float],
) -> AccountOdds:
    """Odds for a whole report at once: ``distances`` and ``symbols`` per position (liquidation
    price / mark − 1, None where none), σ per symbol; one vectorised pass per horizon."""
    sig = np.array([sigma_hourly.get(s, math.nan) for s in symbols], dtype=float)
    d = np.array([math.nan if x is None else x for x in distances], dtype=float)
    usable = np.isfinite(sig) & (sig > 0)
    d_ok = np.where(usable, d, math.nan)
    s_ok = np.where(usable, sig, 1.0)
    p4 = touch_many(model, 4.0, s_ok, d_ok)
    p24 = np.maximum(touch_many(model, 24.0, s_ok, d_ok), p4)
    positions = tuple(
        None
        if not usable[i]
        else Odds(
            float(p4[i]),
            float(p24[i]),
            float(sig[i]),
            None if not (d[i] <= 0) else float(d[i]),
            None if not (d[i] > 0) else float(d[i]),
        )
        for i in range(d.shape[0])
    )
    cross = None
    if joint is not None and (joint.down is not None or joint.up is not None):
        s_lead = sigma_hourly.get(joint.leader)
        if s_lead is not None and s_lead > 0:
            cross = cross_odds(model, joint, s_lead)
    return AccountOdds(cross, positions)


# ---------------------------------------------------------------------------------------------
# Scheduled events


@dataclass(frozen=True, slots=True, eq=False)
class EventMoves:
    """Past releases of one kind (CPI, FOMC): the volatility-scaled furthest moves below and
    above the close before the release bar, within ``hours`` from it — one sample per past
    release and asset, sorted."""

    kind: str
    hours: float
    down: FloatArray
    up: FloatArray

    def touch(
        self, sigma_hourly: float, log_down: float | None = None, log_up: float | None = None
    ) -> float:
        """The share of past releases whose move would have reached a level ``log_down`` below
        (``log_up`` above) the price at today's σ; both given: their sum, capped at 1. With n
        samples the share is (k + ½)/(n + 1) — never a flat 0 from a short history."""
        total = 0.0
        scale = sigma_hourly * math.sqrt(self.hours)
        for dist, sample in ((log_down, self.down), (log_up, self.up)):
            if dist is None or not math.isfinite(dist) or sample.shape[0] == 0:
                continue
            z = dist / scale
            k = sample.shape[0] - int(np.searchsorted(sample, z, side="left"))
            total += (k + 0.5) / (sample.shape[0] + 1)
        return min(1.0, total)

    @classmethod
    def from_dict(cls, kind: str, d: Mapping[str, Any]) -> EventMoves:
        down = np.sort(np.asarray(d["down"], dtype=float))
        up = np.sort(np.asarray(d["up"], dtype=float))
        if down.ndim != 1 or up.ndim != 1 or np.any(down < 0) or np.any(up < 0):
            raise ValueError(f"{kind}: event moves must be lists of non-negative numbers")
        return cls(kind, float(d["hours"]), down, up)
