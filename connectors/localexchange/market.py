"""Market figures derived from a scenario's price paths: marks, candles, books, funding, OI.

Everything is a pure function of scenario time (plus the marks a test has pinned with
``set_mark``), so two servers replaying the same scenario answer the same numbers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from connectors.localexchange.scenario import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    PricePath,
    Scenario,
)

FUNDING_INTERVAL_MS = 8 * HOUR_MS
PRICE_DECIMALS = {"BTC": 1, "ETH": 2}
"""Tick size as decimals, as Binance/Bybit list BTCUSDT (0.1) and ETHUSDT (0.01)."""


def price_decimals(base: str) -> int:
    return PRICE_DECIMALS.get(base, 4)


@dataclass(frozen=True, slots=True)
class Bars:
    """OHLCV bars oldest first; ``ts`` are the bars' open times in ms."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])


@dataclass(frozen=True, slots=True)
class Stats24h:
    open: float
    high: float
    low: float
    volume: float
    quote_volume: float


class Market:
    """The market of one scenario."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.paths = {
            base: PricePath(spec, scenario.start_ms, scenario.seed)
            for base, spec in scenario.symbols.items()
        }
        self.bases: tuple[str, ...] = tuple(scenario.symbols)
        self.history_start_ms = (
            (scenario.start_ms - scenario.history_days * DAY_MS) // DAY_MS * DAY_MS
        )
        self._lock = threading.Lock()
        self._overrides: dict[str, tuple[float, float]] = {}

    # -- prices ---------------------------------------------------------------------------

    def set_mark(self, base: str, price: float, from_ms: float) -> None:
        """Pin ``base`` at ``price`` from scenario time ``from_ms`` on."""
        if base not in self.paths:
            raise ValueError(f"unknown asset {base!r}; the scenario has {', '.join(self.bases)}")
        if not (math.isfinite(price) and price > 0):
            raise ValueError(f"price must be positive, got {price}")
        with self._lock:
            self._overrides[base] = (float(from_ms), float(price))

    def mark(self, base: str, t_ms: float) -> float:
        override = self._overrides.get(base)
        if override is not None and t_ms >= override[0]:
            return override[1]
        return self.paths[base].price(t_ms)

    def marks_at(self, base: str, t_ms: np.ndarray) -> np.ndarray:
        """Vectorised ``mark``."""
        prices = self.paths[base].prices(t_ms)
        override = self._overrides.get(base)
        if override is not None:
            prices = np.where(np.asarray(t_ms) >= override[0], override[1], prices)
        return prices

    def index_price(self, base: str, t_ms: float) -> float:
        """The spot index sits a hair under the mark (a small positive basis)."""
        return self.mark(base, t_ms) * (1 - 0.00012)

    def last_price(self, base: str, t_ms: float) -> float:
        return round(self.mark(base, t_ms) * (1 + 0.00004), price_decimals(base))

    # -- candles --------------------------------------------------------------------------

    def _minute_bars(self, base: str, first: int, count: int) -> tuple[np.ndarray, ...]:
        o, h, low, c, v = self.paths[base].minute_bars(first, count)
        override = self._overrides.get(base)
        if override is not None:
            start = np.arange(first, first + count) * MINUTE_MS
            pinned = start >= override[0]
            if pinned.any():
                o, h, low, c = (np.where(pinned, override[1], a) for a in (o, h, low, c))
        return o, h, low, c, v

    def bars(
        self,
        base: str,
        tf_ms: int,
        now_ms: int,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 500,
    ) -> Bars:
        """Bars of ``tf_ms`` (a multiple of a minute, aligned to the epoch) known at ``now_ms``.

        The last bar is the one still open at ``now_ms``, closed at the current mark. With
        ``since_ms`` the first ``limit`` bars from there; otherwise the last ``limit`` bars up to
        ``until_ms`` (default now). Nothing before the scenario's history or after now.
        """
        if tf_ms % MINUTE_MS or tf_ms <= 0:
            raise ValueError(f"unsupported timeframe of {tf_ms} ms")
        limit = max(1, int(limit))
        first_bar = -(-self.history_start_ms // tf_ms)
        last_bar = now_ms // tf_ms
        if until_ms is not None:
            last_bar = min(last_bar, until_ms // tf_ms)
        if since_ms is not None:
            lo = max(first_bar, -(-since_ms // tf_ms))
            hi = min(last_bar, lo + limit - 1)
        else:
            hi = last_bar
            lo = max(first_bar, hi - limit + 1)
        if hi < lo:
            empty = np.empty(0)
            return Bars(empty.astype(np.int64), empty, empty, empty, empty, empty)
        per_bar = tf_ms // MINUTE_MS
        first_min = lo * per_bar
        now_min = now_ms // MINUTE_MS
        end_min = min((hi + 1) * per_bar, now_min)  # complete minutes only
        count = max(0, end_min - first_min)
        o, h, low, c, v = (
            self._minute_bars(base, first_min, count) if count else ((np.empty(0),) * 5)
        )
        # The minute still open at now: from its open to the current mark.
        open_now = hi * per_bar <= now_min < (hi + 1) * per_bar
        if open_now:
            m_open = self._minute_bars(base, now_min, 1)[0][0]
            mark = self.mark(base, now_ms)
            frac = (now_ms - now_min * MINUTE_MS) / MINUTE_MS
            v_now = self.scenario.symbols[base].volume_per_minute * frac
            o = np.append(o, m_open)
            c = np.append(c, mark)
            h = np.append(h, max(m_open, mark))
            low = np.append(low, min(m_open, mark))
            v = np.append(v, v_now)
        n_bars = hi - lo + 1
        total = n_bars * per_bar
        pad = total - o.shape[0]
        if pad > 0:
            # Bars of the last period are cut at now: pad with NaN and ignore in the reduction.
            o, h, low, c, v = (np.concatenate((a, np.full(pad, np.nan))) for a in (o, h, low, c, v))
        shape = (n_bars, per_bar)
        o2, h2, l2, c2, v2 = (a.reshape(shape) for a in (o, h, low, c, v))
        filled = (~np.isnan(c2)).sum(axis=1)
        keep = filled > 0
        last_idx = np.maximum(filled - 1, 0)
        rows = np.arange(n_bars)
        ts = (np.arange(lo, hi + 1, dtype=np.int64) * tf_ms)[keep]
        return Bars(
            ts,
            o2[:, 0][keep],
            np.nanmax(np.where(np.isnan(h2), -np.inf, h2), axis=1)[keep],
            np.nanmin(np.where(np.isnan(l2), np.inf, l2), axis=1)[keep],
            c2[rows, last_idx][keep],
            np.nansum(v2, axis=1)[keep],
        )

    def stats_24h(self, base: str, now_ms: int) -> Stats24h:
        bars = self.bars(base, HOUR_MS, now_ms, limit=25)
        day = now_ms - DAY_MS
        sel = bars.ts >= (day // HOUR_MS) * HOUR_MS
        o = float(self.mark(base, max(day, self.history_start_ms)))
        hi = float(bars.high[sel].max())
        lo = float(bars.low[sel].min())
        vol = float(bars.volume[sel].sum())
        return Stats24h(o, hi, lo, vol, vol * float(bars.close[sel].mean()))

    # -- derivatives figures --------------------------------------------------------------

    def funding_rate(self, base: str, t_ms: float) -> float:
        """Funding leans with the last eight hours' move: longs pay in a rally, shorts in a fall."""
        spec = self.scenario.symbols[base]
        now = self.mark(base, t_ms)
        before = self.mark(base, t_ms - FUNDING_INTERVAL_MS)
        rate = spec.funding_base + 0.01 * (now / before - 1)
        return float(min(0.003, max(-0.003, rate)))

    def next_funding_ms(self, t_ms: float) -> int:
        return int((t_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS)

    def funding_history(
        self, base: str, now_ms: int, since_ms: int | None, limit: int
    ) -> list[tuple[int, float, float]]:
        """(funding time, rate, mark) of settled fundings, oldest first."""
        last = int(now_ms // FUNDING_INTERVAL_MS)
        first_allowed = -(-self.history_start_ms // FUNDING_INTERVAL_MS)
        if since_ms is not None:
            lo = max(first_allowed, -(-since_ms // FUNDING_INTERVAL_MS))
            hi = min(last, lo + limit - 1)
        else:
            hi, lo = last, max(first_allowed, last - limit + 1)
        out = []
        for k in range(lo, hi + 1):
            t = k * FUNDING_INTERVAL_MS
            out.append((t, self.funding_rate(base, t - 1), self.mark(base, t)))
        return out

    def open_interest(self, base: str, t_ms: float) -> float:
        """Open interest in base units: it shrinks as a fall liquidates longs (and grows in a
        rally), relative to the scenario's opening figure."""
        spec = self.scenario.symbols[base]
        ref = self.paths[base].price(self.scenario.start_ms)
        return float(spec.open_interest * (self.mark(base, t_ms) / ref) ** 1.3)

    def order_book(self, base: str, t_ms: float, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """(bids, asks) as (n, 2) arrays of (price, size in base units) around the mark.

        Levels widen away from the touch and sizes grow with distance, drawn from a generator
        seeded by the scenario, the asset and the second, so a book is stable within a second.
        """
        depth = max(1, min(int(depth), 1000))
        spec = self.scenario.symbols[base]
        mark = self.mark(base, t_ms)
        decimals = price_decimals(base)
        tick = 10.0**-decimals
        half = max(tick, mark * spec.spread_bps / 2e4)
        best_bid = math.floor((mark - half) / tick) * tick
        best_ask = max(best_bid + tick, math.ceil((mark + half) / tick) * tick)
        rng = np.random.default_rng([self.scenario.seed, int(t_ms // 1000) & 0x7FFFFFFF, depth])
        i = np.arange(depth, dtype=float)
        step = np.maximum(tick, np.round(mark * 2e-5 * (1 + i / 25) / tick) * tick)
        offsets = np.concatenate(([0.0], np.cumsum(step[:-1])))
        unit = spec.volume_per_minute / 80
        bid_sizes = unit * rng.lognormal(0, 0.6, depth) * (1 + i / 10)
        ask_sizes = unit * rng.lognormal(0, 0.6, depth) * (1 + i / 10)
        bids = np.column_stack((np.round(best_bid - offsets, decimals), np.round(bid_sizes, 3)))
        asks = np.column_stack((np.round(best_ask + offsets, decimals), np.round(ask_sizes, 3)))
        return bids, asks
