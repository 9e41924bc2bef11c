"""An estimate of where the market's leveraged positions would be liquidated (the "OI-vintage"
model of the research notes, §2.2).

Each bar's rise in open interest opens positions at the bar's typical price (h+l+c)/3, split
long/short by the taker-buy share (or, when missing, tilted by the candle's body), spread over
leverage buckets and liquidated at the isolated-margin price
    long  E·(1 − 1/L)/(1 − mmr)        short  E·(1 + 1/L)/(1 + mmr).
A block is consumed once a later bar trades through its price; a fall in open interest closes
every open block proportionally; every block decays with a half-life (voluntary closes,
top-ups). Without open interest (plain OHLCV files) the opened notional is a fixed fraction of
each bar's traded notional — a proxy, flagged ``is_proxy``; its amounts are only relative.

Everything is vectorised over blocks: one pass of reverse cumulative minima finds which blocks
a later bar has crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from risk.indicators import DAY_MS, nice_step, timeframe_ms
from risk.types import Candles

ESTIMATE_LABEL = "estimate"


@dataclass(frozen=True, slots=True)
class LeverageMix:
    """Leverage buckets and the share of new notional opened at each."""

    leverages: tuple[float, ...] = (5.0, 10.0, 25.0, 50.0, 100.0)
    weights: tuple[float, ...] = (0.15, 0.30, 0.25, 0.20, 0.10)

    def __post_init__(self) -> None:
        if len(self.leverages) != len(self.weights) or not self.leverages:
            raise ValueError("leverages and weights must be non-empty and of equal length")
        if any(lev <= 1 for lev in self.leverages) or any(w < 0 for w in self.weights):
            raise ValueError("leverages must exceed 1 and weights must be non-negative")
        if abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError(f"leverage weights must sum to 1, got {sum(self.weights)}")


@dataclass(frozen=True, slots=True)
class LiqMapParams:
    mix: LeverageMix = LeverageMix()
    mmr: float = 0.004
    """Maintenance-margin rate (Binance BTCUSDT tier 1 ≈ 0.4 %)."""
    half_life_hours: float = 168.0
    lookback_days: float = 45.0
    """Blocks older than this are dropped (after 45 days at a one-week half-life, ~1 % is left)."""
    bucket_fraction: float = 0.001
    proxy_volume_fraction: float = 0.1
    """Without open interest: notional opened per bar = this × the bar's traded notional
    (perpetual OI changes by roughly a tenth of hourly volume per hour)."""
    direction_tilt: float = 0.25
    """Without taker-buy volume: long share = 0.5 + tilt × (close − open)/(high − low)."""


def long_liquidation_price(
    entry: np.ndarray | float, leverage: np.ndarray | float, mmr: float
) -> np.ndarray:
    """Isolated-margin liquidation price of a long: E·(1 − 1/L)/(1 − mmr)."""
    return np.asarray(entry * (1.0 - 1.0 / np.asarray(leverage)) / (1.0 - mmr), dtype=float)


def short_liquidation_price(
    entry: np.ndarray | float, leverage: np.ndarray | float, mmr: float
) -> np.ndarray:
    """Isolated-margin liquidation price of a short: E·(1 + 1/L)/(1 + mmr)."""
    return np.asarray(entry * (1.0 + 1.0 / np.asarray(leverage)) / (1.0 + mmr), dtype=float)


@dataclass(frozen=True, slots=True, eq=False)
class LiqMap:
    """Estimated liquidation notional (quote currency) by price, at the last bar's close.

    ``bucket_low`` are bucket lower edges ``step`` apart; ``long_notional``/``short_notional``
    the amounts per bucket. ``long_prices`` are the surviving blocks' prices, sorted, and
    ``long_cum`` their running notional with a leading zero (likewise for shorts), for exact
    range sums. ``opened_*`` and ``consumed_*`` are totals over the window at their opening
    size (before decay and closes): what the bars opened, and what later bars traded through.
    Always an estimate (``estimate=True``, ``label="estimate"``); ``is_proxy`` when open
    interest was missing, and ``method`` says how the map was built.
    """

    symbol: str
    price: float
    as_of_ms: int | None
    step: float
    bucket_low: np.ndarray
    long_notional: np.ndarray
    short_notional: np.ndarray
    long_prices: np.ndarray
    long_cum: np.ndarray
    short_prices: np.ndarray
    short_cum: np.ndarray
    opened_long: float
    opened_short: float
    consumed_long: float
    consumed_short: float
    is_proxy: bool
    method: str
    estimate: bool = True
    label: str = ESTIMATE_LABEL

    def long_between(self, low: float, high: float) -> float:
        """Long liquidation notional with a price in [low, high)."""
        return _range_sum(self.long_prices, self.long_cum, low, high)

    def cumulative_long(self, lower: float) -> float:
        """Long notional liquidated if price falls from the current price to ``lower``."""
        return self.long_between(lower, self.price) if lower < self.price else 0.0

    def cumulative_long_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(bucket lower edges below the price, descending; cumulative long notional from the
        current price down to each edge) — the curve the chart draws."""
        below = self.bucket_low < self.price
        edges = self.bucket_low[below][::-1]
        return edges, np.cumsum(self.long_notional[below][::-1])


def _range_sum(prices: np.ndarray, cum: np.ndarray, low: float, high: float) -> float:
    """Sum of the amounts whose price is in [low, high); ``cum`` is their running total with a
    leading zero."""
    if high <= low or prices.shape[0] == 0:
        return 0.0
    a = int(np.searchsorted(prices, low, side="left"))
    b = int(np.searchsorted(prices, high, side="left"))
    return float(cum[b] - cum[a])


def _forward_filled(a: np.ndarray) -> np.ndarray:
    """Missing values take the last known one (leading ones the first known), so a gap in the
    open-interest feed opens or closes nothing."""
    ok = np.isfinite(a)
    idx = np.where(ok, np.arange(a.shape[0]), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[: first + 1] = first
    out: np.ndarray = a[idx]
    return out


def build_liqmap(
    candles: Candles, params: LiqMapParams | None = None, at_ms: int | None = None
) -> LiqMap:
    """The liquidation map at the close of the last bar of ``candles`` (closed bars only), or of
    the last bar that opened at or before ``at_ms``."""
    p = params or LiqMapParams()
    if at_ms is not None:
        candles = candles.upto(at_ms)
    if len(candles) == 0:
        raise ValueError("build_liqmap needs at least one candle")
    bar_ms = timeframe_ms(candles.timeframe)
    k = max(2, int(p.lookback_days * DAY_MS / bar_ms))
    c = candles.slice(max(0, len(candles) - k), len(candles))
    n = len(c)
    price = float(c.close[-1])
    entry = (c.high + c.low + c.close) / 3.0
    oi_raw = c.open_interest
    if oi_raw is not None and not np.isfinite(oi_raw).any():
        oi_raw = None
    is_proxy = oi_raw is None
    if oi_raw is None:
        opened = p.proxy_volume_fraction * c.volume * entry
        close_log = np.zeros(n)
        method = (
            f"proxy: no open interest; opened notional = {p.proxy_volume_fraction:g} × "
            "traded notional per bar, closed only by decay"
        )
    else:
        oi = _forward_filled(oi_raw.astype(float))
        d_oi = np.r_[0.0, np.diff(oi)]
        opened = np.maximum(d_oi, 0.0) * entry
        prev = np.r_[oi[:1], oi[:-1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where((d_oi < 0) & (prev > 0), -d_oi / prev, 0.0)
        close_log = np.log1p(-np.clip(frac, 0.0, 1.0 - 1e-12))
        method = "open-interest vintages"
    if c.taker_buy_volume is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(c.volume > 0, c.taker_buy_volume / c.volume, 0.5)
        method += "; long/short by taker-buy share"
    else:
        rng = c.high - c.low
        with np.errstate(divide="ignore", invalid="ignore"):
            body = np.where(rng > 0, (c.close - c.open) / rng, 0.0)
        share = 0.5 + p.direction_tilt * body
        method += "; long/short by candle direction"
    share = np.clip(np.nan_to_num(share, nan=0.5), 0.0, 1.0)

    # Survival to the last bar: age decay × proportional closes after the opening bar.
    age_h = (n - 1 - np.arange(n)) * (bar_ms / 3_600_000)
    c_log = np.cumsum(close_log)
    survive = np.power(0.5, age_h / p.half_life_hours) * np.exp(c_log[-1] - c_log)
    # Lowest low / highest high strictly after each bar.
    after_low = np.r_[np.minimum.accumulate(c.low[::-1])[::-1][1:], np.inf]
    after_high = np.r_[np.maximum.accumulate(c.high[::-1])[::-1][1:], -np.inf]

    lev = np.asarray(p.mix.leverages, dtype=float)
    w = np.asarray(p.mix.weights, dtype=float)
    long_px = long_liquidation_price(entry[:, None], lev[None, :], p.mmr)
    short_px = short_liquidation_price(entry[:, None], lev[None, :], p.mmr)
    long_open = (opened * share)[:, None] * w[None, :]
    short_open = (opened * (1.0 - share))[:, None] * w[None, :]
    long_hit = after_low[:, None] <= long_px
    short_hit = after_high[:, None] >= short_px
    long_left = np.where(long_hit, 0.0, long_open * survive[:, None]).ravel()
    short_left = np.where(short_hit, 0.0, short_open * survive[:, None]).ravel()

    step = nice_step(price * p.bucket_fraction)
    lp, sp = long_px.ravel(), short_px.ravel()
    lmask, smask = long_left > 0, short_left > 0
    lp, la = lp[lmask], long_left[lmask]
    sp, sa = sp[smask], short_left[smask]
    lo_edge = min(float(lp.min()) if lp.size else price, float(sp.min()) if sp.size else price)
    hi_edge = max(float(lp.max()) if lp.size else price, float(sp.max()) if sp.size else price)
    base = int(np.floor(min(lo_edge, price) / step))
    nb = int(np.floor(max(hi_edge, price) / step)) - base + 1
    long_b = np.bincount(np.floor(lp / step).astype(np.int64) - base, la, minlength=nb)
    short_b = np.bincount(np.floor(sp / step).astype(np.int64) - base, sa, minlength=nb)
    lo_order = np.argsort(lp, kind="stable")
    so_order = np.argsort(sp, kind="stable")
    return LiqMap(
        symbol=candles.symbol,
        price=price,
        as_of_ms=int(c.ts_ms[-1]) + bar_ms,
        step=step,
        bucket_low=(np.arange(nb) + base) * step,
        long_notional=long_b,
        short_notional=short_b,
        long_prices=lp[lo_order],
        long_cum=np.r_[0.0, np.cumsum(la[lo_order])],
        short_prices=sp[so_order],
        short_cum=np.r_[0.0, np.cumsum(sa[so_order])],
        opened_long=float(long_open.sum()),
        opened_short=float(short_open.sum()),
        consumed_long=float(long_open[long_hit].sum()),
        consumed_short=float(short_open[short_hit].sum()),
        is_proxy=is_proxy,
        method=method,
    )
