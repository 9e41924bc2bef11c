"""The price chart: candles, the live mark, support zones, the user's liquidation lines, the
market's estimated liquidation map beside the price axis, and the cascade's reach.

Market updates only store the newest data; a QTimer applies it at a fixed rate (default 12 Hz),
so a burst of ticks costs one redraw, not one per tick. The labels are laid out by
``ui.chart_labels`` (never overlapping, above the candles). The liquidation map is drawn by
``LiqMapPanel`` beside the price axis, with its own USD scale and a hover readout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

import formatting as fmt
from monitor.events import CHART_TIMEFRAMES, LiquidationUpdate, MarketUpdate
from risk.cascade import SCENARIO_LABEL, Cascade, SupportContext, support_context
from risk.levels import Level, Levels
from risk.liqmap import LiqMap
from risk.types import Candles
from ui import keys, theme
from ui.candles_item import CandlesItem
from ui.chart_labels import ChartLabels, Label, Side
from ui.chart_lines import ChartLine
from ui.keys import described
from ui.liqflow_item import LiquidationFlowPlot

log = logging.getLogger(__name__)

TIMEFRAMES = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}
assert tuple(TIMEFRAMES) == CHART_TIMEFRAMES


def base_seconds(c: Candles) -> int:
    """The bar length of the candles, in seconds (their timeframe, else their spacing)."""
    if c.timeframe in TIMEFRAMES:
        return TIMEFRAMES[c.timeframe]
    if len(c) > 1:
        return int(np.median(np.diff(c.ts_ms[-50:]))) // 1000
    return 60


def resample(c: Candles, seconds: int) -> tuple[np.ndarray, ...]:
    """(x_s, open, high, low, close) at the given bar length, from finer bars."""
    ts = c.ts_ms.astype(np.int64) // 1000
    if len(ts) == 0:
        return ts.astype(float), c.open, c.high, c.low, c.close
    if seconds <= base_seconds(c):
        return ts.astype(float), c.open, c.high, c.low, c.close
    bucket = ts // seconds
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1
    return (
        (bucket[starts] * seconds).astype(float),
        c.open[starts],
        np.maximum.reduceat(c.high, starts),
        np.minimum.reduceat(c.low, starts),
        c.close[ends],
    )


def series_for(update: MarketUpdate, timeframe: str) -> Candles | None:
    """The candles to draw ``timeframe`` from: that series when the monitor has it, else the
    finest series it can be resampled from (bars that divide it); None when neither."""
    held = [c for c in (update.candles, *update.series.values()) if c is not None and len(c)]
    exact = [c for c in held if c.timeframe == timeframe]
    if exact:
        return max(exact, key=len)
    want = TIMEFRAMES[timeframe]
    finer = [c for c in held if want % base_seconds(c) == 0 and base_seconds(c) < want]
    return min(finer, key=base_seconds) if finer else None


def offered_timeframes(update: MarketUpdate | None) -> list[str]:
    """The bar lengths the chart can show for a symbol: those the monitor can fetch, and those
    it can resample from what it has."""
    if update is None:
        return []
    return [
        tf for tf in TIMEFRAMES if tf in update.timeframes or series_for(update, tf) is not None
    ]


def support_zones(levels: Levels | None, mark: float | None, limit: int = 3) -> list[Level]:
    """The supports worth drawing (a risk.levels.Levels' supports), within 15 % of the mark,
    the best-scored few."""
    zones = list(levels.supports) if levels is not None else []
    if mark:
        zones = [z for z in zones if z.low <= mark * 1.005 and z.high >= mark * 0.88]
    zones.sort(key=lambda z: -float(z.score))
    return zones[:limit]


def support_label(z: Level, ctx: SupportContext | None) -> str:
    """The zone's label, e.g. "support · scenario, not a forecast: ≈ 45 M USD of longs
    liquidated below, to 102,600" (relative sizes only without open-interest history). A
    support's confluence is not shown: it does not say whether the level will hold
    (risk/levels.py)."""
    if ctx is None:
        return "support"
    if ctx.calibrated:
        amount = f"≈ {fmt.compact_money(ctx.long_usd_below)} USD of longs liquidated"
    else:
        amount = "longs liquidated (relative: no open-interest history)"
    return f"support · {SCENARIO_LABEL}: {amount} below, to {fmt.price(ctx.down_to)}"


def support_short(z: Level, ctx: SupportContext | None) -> str:
    """The support's label for a narrow chart: the amount without the explanation."""
    if ctx is None or not ctx.calibrated:
        return f"support {fmt.price(z.high)}"
    return f"support · ≈ {fmt.compact_money(ctx.long_usd_below)} USD of longs below"


def _distinct(wordings: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(wordings))


def nearest_cascade(cascades: Iterable[Cascade] | None, mark: float | None) -> Cascade | None:
    """The cascade (risk.cascade.Cascade) from the nearest support below the mark."""
    items = list(cascades or ())
    if not items:
        return None
    below = [c for c in items if mark is None or c.start_price <= mark]
    return max(below or items, key=lambda c: c.start_price)


def price_decimals(spacing: float) -> int:
    """Decimals a price axis needs for ticks ``spacing`` apart."""
    if not spacing > 0:
        return 0
    return max(0, int(np.ceil(-np.log10(spacing))))


class PriceAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped (Any)
    """The price axis with thousands separators (112,000 rather than 112000)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        places = price_decimals(spacing * scale)
        return [fmt.grouped(v * scale, places) for v in values]


class AmountAxis(pg.AxisItem):  # type: ignore[misc]
    """An axis of amounts in few characters (250 M, 1.2 B)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [fmt.compact_money(v * scale) for v in values]


def nice_step(x: float) -> float:
    """The round number (1, 2 or 5 × a power of ten) at or just above ``x``."""
    if not x > 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(x))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= x))


class TimeAxis(pg.DateAxisItem):  # type: ignore[misc]
    """Dates in the display zone (``formatting.set_display_zone``); see ``follow_zone``."""

    shown_offset: int | None = None

    def follow_zone(self, at_ms: int) -> None:
        """Use the display zone's offset at ``at_ms`` (pyqtgraph takes one fixed offset, in
        seconds west of UTC)."""
        offset = -fmt.utc_offset_s(at_ms)
        if offset != self.shown_offset:
            self.shown_offset = offset
            self.utcOffset = offset
            self.picture = None
            self.update()


def liqmap_bins(lm: LiqMap, lo: float, hi: float, bins: int = 80) -> tuple[np.ndarray, ...]:
    """(centres, long, short) of the liquidation map re-binned to ``bins`` buckets in [lo, hi]."""
    centres = np.asarray(lm.bucket_low, float) + float(lm.step) / 2
    longs = np.asarray(lm.long_notional, float)
    shorts = np.asarray(lm.short_notional, float)
    edges = np.linspace(lo, hi, bins + 1)
    long_b, _ = np.histogram(centres, bins=edges, weights=longs)
    short_b, _ = np.histogram(centres, bins=edges, weights=shorts)
    return (edges[:-1] + edges[1:]) / 2, long_b, short_b


class LiqMapPanel:
    """The market's estimated liquidation map beside the price axis: long and short amounts
    per price bucket as horizontal bars on a USD scale (a relative one when the map is the
    volume proxy), with a readout of the bucket under the mouse."""

    BINS = 80

    def __init__(self, glw: Any, price_plot: Any) -> None:
        t = theme.current()
        self.axis = AmountAxis("bottom")
        self.plot: Any = glw.addPlot(row=0, col=1, axisItems={"bottom": self.axis})
        self.plot.setMaximumWidth(140)
        self.plot.hideAxis("left")
        self.axis.setPen(pg.mkPen(t.grid))
        self.axis.setTextPen(pg.mkPen(t.muted))
        self.axis.setStyle(maxTickLevel=0)
        self.plot.setYLink(price_plot)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMenuEnabled(False)
        self.long_bars = pg.BarGraphItem(
            x0=[], y=[], height=[], width=[], brush=theme.qcolor(t.liq_long, 170), pen=None
        )
        self.short_bars = pg.BarGraphItem(
            x0=[], y=[], height=[], width=[], brush=theme.qcolor(t.liq_short, 170), pen=None
        )
        self.plot.addItem(self.long_bars)
        self.plot.addItem(self.short_bars)
        self.map: LiqMap | None = None
        self.bins: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.step = 0.0
        self._title(proxy=False)

    def _title(self, proxy: bool) -> None:
        t = theme.current()
        what = "liquidations, relative" if proxy else "est. liquidations, USD"
        self.plot.setTitle(
            f"<span style='color:{t.muted};font-size:8pt'>{what}<br>"
            f"<span style='color:{t.liq_long}'>■ longs</span> "
            f"<span style='color:{t.liq_short}'>■ shorts</span></span>"
        )

    def clear(self) -> None:
        if self.map is None:
            return
        self.long_bars.setOpts(x0=[], y=[], height=[], width=[])
        self.short_bars.setOpts(x0=[], y=[], height=[], width=[])
        self.map, self.bins = None, None

    def draw(self, lm: LiqMap, mark: float) -> None:
        """Bars for ±20 % around the mark; amounts in USD (the map's notional), or as shares
        of the largest bucket when the map is the proxy."""
        if lm is self.map:
            return
        self.map = lm
        centres, longs, shorts = liqmap_bins(lm, mark * 0.8, mark * 1.2, self.BINS)
        if lm.is_proxy:
            scale = max(1e-12, float(max(longs.max(initial=0), shorts.max(initial=0))))
            longs, shorts = longs / scale * 100, shorts / scale * 100
        self.bins = (centres, longs, shorts)
        self.step = float(centres[1] - centres[0]) if len(centres) > 1 else 1.0
        zeros = np.zeros(len(centres))
        height = self.step * 0.9
        self.long_bars.setOpts(x0=zeros, y=centres, height=height, width=longs)
        self.short_bars.setOpts(x0=zeros, y=centres, height=height, width=shorts)
        top = float(max(longs.max(initial=0), shorts.max(initial=0))) or 1.0
        self.plot.setXRange(0, top * 1.05, padding=0)
        step = nice_step(top / 2)  # two or three ticks: the panel is narrow
        ticks = np.arange(step, top * 1.05, step)
        label = (lambda v: f"{v:.0f} %") if lm.is_proxy else fmt.compact_money
        self.axis.setTicks([[(float(v), label(float(v))) for v in ticks]])
        self._title(lm.is_proxy)

    def readout(self, price: float) -> str | None:
        """The bucket at ``price``: its range and the longs and shorts liquidated in it."""
        if self.bins is None or self.map is None:
            return None
        centres, longs, shorts = self.bins
        i = int(np.argmin(np.abs(centres - price)))
        if abs(centres[i] - price) > self.step:
            return None
        lo, hi = centres[i] - self.step / 2, centres[i] + self.step / 2
        if self.map.is_proxy:
            amounts = f"longs {longs[i]:.0f} %, shorts {shorts[i]:.0f} % of the largest bucket"
        else:
            amounts = (
                f"longs {fmt.compact_money(float(longs[i]))} USD, "
                f"shorts {fmt.compact_money(float(shorts[i]))} USD"
            )
        return f"liquidations {fmt.price(lo)}–{fmt.price(hi)}: {amounts} (estimate)"


class PriceChart(QWidget):
    """One symbol at a time; feed it with set_market(), set_mark() and set_liquidations()."""

    sigSymbolRequested = Signal(str)
    sigWatchChanged = Signal()
    """The symbol or the bar length changed: the monitor should fetch what is now shown."""

    def __init__(self, redraw_hz: float = 12.0) -> None:
        super().__init__()
        t = theme.current()
        self.symbol: str | None = None
        self.timeframe = "1h"
        self._market: dict[str, MarketUpdate] = {}
        self._marks: dict[str, tuple[float, int]] = {}
        self.bar_seconds = 3600
        self._dirty = False
        self._levels_key: Any = None
        self._liq_lines: list[ChartLine] = []
        self._static_labels: list[Label] = []
        self.frames = 0
        self._fit_pending = True
        self._last_x: float | None = None
        self._y_dirty = False
        self._reach_prices: list[float] = []
        self._liq_lines_key: Any = None
        self._context: tuple[object, dict[tuple[float, float], SupportContext]] = (None, {})
        self._offered: list[str] = list(TIMEFRAMES)
        self._drawn: tuple[Candles, int, tuple[np.ndarray, ...]] | None = None
        """The bars drawn (their source, bar length and resampled arrays)."""

        self.symbol_box = QComboBox()
        self.symbol_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.symbol_box.setMinimumContentsLength(11)
        self.symbol_box.currentTextChanged.connect(self._on_symbol_box)
        described(self.symbol_box, "Chart symbol", "The symbol the chart shows")
        self.tf_box = QComboBox()
        self.tf_box.addItems(list(TIMEFRAMES))
        self.tf_box.setCurrentText(self.timeframe)
        self.tf_box.currentTextChanged.connect(self.set_timeframe)
        described(
            self.tf_box,
            "Chart timeframe",
            "The candles' length: "
            + ", ".join(f"{tf} ({key})" for tf, key in keys.TIMEFRAMES.items()),
        )
        self.readout = QLabel("")
        self.readout.setStyleSheet(f"color: {t.muted}; font-family: monospace;")
        self.mark_label = QLabel("")
        self.mark_label.setStyleSheet("font-size: 13pt; font-weight: 600;")
        self.note = QLabel("")
        self.note.setStyleSheet(f"color: {t.amber};")
        top = QHBoxLayout()
        top.addWidget(self.symbol_box)
        top.addWidget(self.tf_box)
        top.addSpacing(12)
        top.addWidget(self.mark_label)
        top.addWidget(self.note)
        top.addStretch(1)

        self.glw = pg.GraphicsLayoutWidget()
        self.glw.ci.setSpacing(0)
        # The plot takes no keys: it is read, not operated, so the Tab key passes it by.
        self.glw.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        described(
            self.glw,
            "Price chart",
            "Candles with support zones, your liquidation prices, the market's estimated "
            "liquidation map and the cascade reach",
        )
        self.time_axis = TimeAxis(orientation="bottom", utcOffset=0)
        self.price_axis = PriceAxis("right")
        self.plot: pg.PlotItem = self.glw.addPlot(
            row=0, col=0, axisItems={"bottom": self.time_axis, "right": self.price_axis}
        )
        self.plot.hideAxis("left")
        self.plot.showAxis("right")
        # No grid: pyqtgraph draws it through the axes' QPicture, ~8 ms a frame in the raster
        # engine against < 1 ms for everything else; the price axis and labels suffice.
        for name in ("right", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(t.grid))
            axis.setTextPen(pg.mkPen(t.muted))
        self.plot.setClipToView(True)
        self.plot.setDownsampling(mode="peak")
        self.plot.setMenuEnabled(False)
        vb = self.plot.getViewBox()
        vb.disableAutoRange()
        vb.sigXRangeChanged.connect(self._on_x_range)
        vb.setMouseMode(pg.ViewBox.PanMode)
        self.price_axis.setWidth(78)

        self.liqmap = LiqMapPanel(self.glw, self.plot)
        self.heat = self.liqmap.plot
        self.glw.ci.layout.setColumnStretchFactor(0, 8)
        self.glw.ci.layout.setColumnStretchFactor(1, 1)
        self.flow = LiquidationFlowPlot()
        self.glw.addItem(self.flow.plot, row=1, col=0)
        self.flow.plot.setXLink(self.plot)
        self._flow_dirty = False

        self.candles = CandlesItem()
        self.plot.addItem(self.candles)
        self.mark_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(t.accent, width=1))
        self.plot.addItem(self.mark_line, ignoreBounds=True)
        self.labels = ChartLabels(self.plot)
        self.v_cross = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen(t.muted, style=Qt.PenStyle.DotLine)
        )
        self.h_cross = pg.InfiniteLine(
            angle=0, movable=False, pen=pg.mkPen(t.muted, style=Qt.PenStyle.DotLine)
        )
        self.plot.addItem(self.v_cross, ignoreBounds=True)
        self.plot.addItem(self.h_cross, ignoreBounds=True)
        self.v_cross.hide()
        self.h_cross.hide()
        self._zone_items: list[Any] = []
        self._cascade_items: list[Any] = []
        self._liq_items: list[Any] = []
        self._mouse = pg.SignalProxy(
            self.plot.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse
        )

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.readout)
        layout.addWidget(self.glw, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / redraw_hz))
        self.timer.timeout.connect(self._apply)
        self.timer.start()

    # -- inputs (cheap: store and mark dirty) -------------------------------------------------
    def set_market(self, update: MarketUpdate) -> None:
        self._market[update.symbol] = update
        if self.symbol_box.findText(update.symbol) < 0:
            self.symbol_box.addItem(update.symbol)
        if self.symbol is None:
            self.set_symbol(update.symbol)
        if update.symbol == self.symbol:
            self._dirty = True

    def set_mark(self, symbol: str, price: float, as_of_ms: int) -> None:
        """A live mark (from an account poll), read at ``as_of_ms``: it moves the last bar
        until candles newer than it arrive."""
        if self._marks.get(symbol) != (price, as_of_ms):
            self._marks[symbol] = (price, as_of_ms)
            if symbol == self.symbol:
                self._dirty = True

    def keep_marks(self, symbols: Iterable[str]) -> None:
        """Forget the marks of symbols no position holds any more (a closed or liquidated
        position's last mark must not stand in for the market)."""
        keep = set(symbols)
        for symbol in [s for s in self._marks if s not in keep]:
            del self._marks[symbol]
            if symbol == self.symbol:
                self._dirty = True

    def set_liquidations(self, lines: Sequence[tuple[float, str, str] | ChartLine]) -> None:
        """The user's lines on this symbol (``ui.chart_lines.ChartLine``, or (price, text,
        colour)); each text is drawn as given."""
        chart_lines = [ChartLine(*line) for line in lines]
        if chart_lines != self._liq_lines:
            self._liq_lines = chart_lines
            self._dirty = True

    def set_liquidation_flow(self, update: LiquidationUpdate) -> None:
        """The market's liquidations per minute on one venue (ui/liqflow_item.py)."""
        self.flow.set_flow(update)
        self._flow_dirty = True

    def set_symbol(self, symbol: str) -> None:
        if symbol == self.symbol:
            return
        self.symbol = symbol
        if self.symbol_box.findText(symbol) < 0:
            self.symbol_box.addItem(symbol)
        self.symbol_box.setCurrentText(symbol)
        self._levels_key = None
        self.liqmap.clear()
        self._dirty = True
        self._fit_pending = True
        self._drawn = None
        self._apply()
        self.sigSymbolRequested.emit(symbol)
        self.sigWatchChanged.emit()

    def set_timeframe(self, tf: str) -> None:
        if tf not in TIMEFRAMES or (tf == self.timeframe and self.tf_box.currentText() == tf):
            return
        self.timeframe = tf
        self.tf_box.blockSignals(True)
        self.tf_box.setCurrentText(tf)
        self.tf_box.blockSignals(False)
        self._dirty = True
        self._fit_pending = True
        self._drawn = None
        self._apply()
        self.sigWatchChanged.emit()

    def redraw_now(self) -> None:
        """Apply what changed at once (the window's redraw of a poll), not at the next tick."""
        self._apply()

    def timeframe_enabled(self, tf: str) -> bool:
        """Whether ``tf`` can be shown for the symbol shown (``offered_timeframes``)."""
        return tf in self._offered

    def zone_changed(self) -> None:
        """The display zone changed: redraw the time axis in it."""
        self.time_axis.shown_offset = None
        self._dirty = True

    def offered_timeframes(self) -> list[str]:
        """What the timeframe menus offer for the shown symbol (all until its first update)."""
        return list(self._offered)

    def _offer(self, offered: list[str]) -> None:
        """Keep the bar-length box to what works for the symbol shown."""
        if offered == self._offered:
            return
        self._offered = offered
        self.tf_box.blockSignals(True)
        self.tf_box.clear()
        self.tf_box.addItems(offered)
        self.tf_box.setCurrentText(self.timeframe)
        self.tf_box.blockSignals(False)

    def _on_symbol_box(self, text: str) -> None:
        if text:
            self.set_symbol(text)

    # -- the paced redraw ---------------------------------------------------------------------
    def _apply(self) -> None:
        if self._y_dirty:
            self._fit_y()
        if self._flow_dirty or self._dirty:
            self._flow_dirty = False
            self.flow.draw(self.symbol, self.bar_seconds)
        if not self._dirty or self.symbol is None:
            return
        self._dirty = False
        self.frames += 1
        update = self._market.get(self.symbol)
        if update is None:
            self._draw_liq_lines()
            return
        self._offer(offered_timeframes(update) or list(TIMEFRAMES))
        c = series_for(update, self.timeframe)
        if c is None:
            self.note.setText(f"{self.timeframe} bars are loading…")
            c = update.candles
        else:
            self.note.setText("")
        if c is not None and len(c):
            bar = max(TIMEFRAMES[self.timeframe], base_seconds(c))
            drawn = self._drawn
            if drawn is not None and drawn[0] is c and drawn[1] == bar:
                x, o, h, lo, cl = drawn[2]  # the same bars: only the last one moves
            else:
                self.bar_seconds = bar
                x, o, h, lo, cl = resample(c, bar)
                self._drawn = (c, bar, (x, o, h, lo, cl))
                self.candles.setData(x, o, h, lo, cl, bar_width=float(bar))
                self.time_axis.follow_zone(int(x[-1] * 1000))
                self._follow(x)
            mark, what = self._newest_price(update, float(cl[-1]))
            # the newest price moves the last bar until newer bars come
            self.candles.set_last(max(h[-1], mark), min(lo[-1], mark), mark)
            self.mark_line.setValue(mark)
            self.mark_label.setText(f"{self.symbol.split(':')[0]}  {what} {fmt.price(mark)}")
        self._draw_levels(update)
        self._draw_liqmap(update)
        self._draw_liq_lines()
        self._fit_y()

    def _newest_price(self, update: MarketUpdate, close: float) -> tuple[float, str]:
        """The newest price: an account poll's mark, or the market's (its mark when the
        exchange gives one, else the last bar's close), whichever was read later; on a tie
        the poll's mark."""
        assert self.symbol is not None
        market = (update.mark, "mark") if update.mark is not None else (close, "last")
        polled = self._marks.get(self.symbol)
        if polled is not None and polled[1] >= update.as_of_ms:
            return polled[0], "mark"
        return market

    def _on_x_range(self, *_: object) -> None:
        self._y_dirty = True

    def _fit_y(self) -> None:
        """Fit the price axis to the bars in view, stretched to show the nearest liquidation
        lines and the cascade's reach when they are within reach (≤ 15 % from the mark)."""
        self._y_dirty = False
        vb = self.plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        bounds = self.candles.dataBounds(1, orthoRange=(x0, x1))
        if bounds is None:
            return
        lo, hi = bounds
        mark = float(self.mark_line.value())
        extra = [line.price for line in self._liq_lines]
        extra += self._reach_prices
        for price in extra:
            if mark and abs(price / mark - 1) <= 0.15:
                lo, hi = min(lo, price), max(hi, price)
        self.plot.setYRange(lo, hi, padding=0.04)

    def _follow(self, x: np.ndarray) -> None:
        """Keep the newest bar in view unless the user panned back in history."""
        bar = self.bar_seconds
        (x0, x1), _ = self.plot.getViewBox().viewRange()
        last = float(x[-1])
        if self._fit_pending:
            self._fit_pending = False
            self.plot.setXRange(last - bar * 150, last + bar * 10, padding=0)
        elif self._last_x is not None and x1 >= self._last_x and last > self._last_x:
            shift = last - self._last_x
            self.plot.setXRange(x0 + shift, x1 + shift, padding=0)
        self._last_x = last

    def _draw_levels(self, update: MarketUpdate) -> None:
        mark = float(self.mark_line.value()) or None
        zones = support_zones(update.levels, mark)
        cascade = nearest_cascade(update.cascade, mark)
        reach = None
        if cascade is not None:
            reach = tuple(
                round(float(v), 6)
                for v in (cascade.start_price, cascade.stop_price, cascade.domino_ratio)
            )
        context = self._support_context(update)
        amounts = tuple(round(c.long_usd_below, -5) for c in context.values())
        key = (self.symbol, tuple((z.low, z.high, z.score) for z in zones), reach, amounts)
        if key == self._levels_key:
            return
        self._levels_key = key
        t = theme.current()
        for item in self._zone_items + self._cascade_items:
            self.plot.removeItem(item)
        self._zone_items, self._cascade_items = [], []
        self._reach_prices = []
        labels: list[Label] = []
        for z in zones:
            region = pg.LinearRegionItem(
                values=(z.low, z.high),
                orientation="horizontal",
                movable=False,
                brush=theme.qcolor(t.support, 55),
                pen=pg.mkPen(theme.qcolor(t.support, 140)),
            )
            region.setZValue(-10)
            full = support_label(z, context.get((z.low, z.high)))
            short = _distinct([support_short(z, context.get((z.low, z.high))), "support"])
            labels.append(Label(z.high, full, t.support, shorter=short))
            self.plot.addItem(region, ignoreBounds=True)
            self._zone_items.append(region)
        if cascade is not None:
            top, stop = cascade.start_price, cascade.stop_price
            self._reach_prices = [float(stop)]
            region = pg.LinearRegionItem(
                values=(min(top, stop), max(top, stop)),
                orientation="horizontal",
                movable=False,
                brush=theme.qcolor(t.cascade, 35),
                pen=pg.mkPen(None),
            )
            region.setZValue(-20)
            text = (
                f"{SCENARIO_LABEL}: forced selling alone, if it breaks → {fmt.price(stop)}"
                f" · domino ×{cascade.domino_ratio:.1f}"
            )
            short = (
                f"{SCENARIO_LABEL}: if it breaks → {fmt.price(stop)}",
                f"if it breaks → {fmt.price(stop)} (scenario)",
                f"breaks → {fmt.price(stop)}",
            )
            labels.append(Label(stop, text, t.cascade, priority=2, shorter=short))
            self.plot.addItem(region, ignoreBounds=True)
            self._cascade_items.append(region)
        self._static_labels = labels
        self._liq_lines_key = None  # the labels are laid out together

    def _support_context(self, update: MarketUpdate) -> dict[tuple[float, float], SupportContext]:
        """Each support's liquidation context, worked out once per market picture."""
        key = (id(update.levels), id(update.liqmap))
        if key != self._context[0]:
            context: dict[tuple[float, float], SupportContext] = {}
            if update.levels is not None and update.liqmap is not None:
                context = {
                    (c.support.low, c.support.high): c
                    for c in support_context(update.levels, update.liqmap)
                }
            self._context = (key, context)
        return self._context[1]

    def _draw_liqmap(self, update: MarketUpdate) -> None:
        mark = float(self.mark_line.value())
        if update.liqmap is None or not mark:
            self.liqmap.clear()
            return
        self.liqmap.draw(update.liqmap, mark)

    def _draw_liq_lines(self) -> None:
        """Lines are reused: a price that moves each poll only moves its line; the labels
        (these, the supports', the cascade's and the mark's) are laid out together."""
        mark = float(self.mark_line.value())
        key = (self.symbol, tuple(self._liq_lines), mark, id(self._static_labels))
        if key == self._liq_lines_key:
            return
        self._liq_lines_key = key
        while len(self._liq_items) > len(self._liq_lines):
            self.plot.removeItem(self._liq_items.pop())
        labels = list(self._static_labels)
        for i, (price, text, colour, shorter) in enumerate(self._liq_lines):
            pen = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)
            if i < len(self._liq_items):
                line = self._liq_items[i]
                if line.pen.color().name() != pg.mkColor(colour).name():
                    line.setPen(pen)
                line.setValue(price)
            else:
                line = pg.InfiniteLine(pos=price, angle=0, movable=False, pen=pen)
                self.plot.addItem(line, ignoreBounds=True)
                self._liq_items.append(line)
            labels.append(Label(price, text, colour, priority=3, shorter=shorter))
        if mark:
            labels.append(Label(mark, fmt.price(mark), theme.current().accent, Side.RIGHT, 4))
        self.labels.set(labels)

    def label_texts(self) -> list[str]:
        """The chart's labels as drawn now."""
        return self.labels.texts()

    def _on_mouse(self, evt: tuple[QPointF]) -> None:
        pos = evt[0]
        if self.heat.sceneBoundingRect().contains(pos):
            price = self.heat.getViewBox().mapSceneToView(pos).y()
            self.readout.setText(self.liqmap.readout(price) or "")
            return
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        self.v_cross.show()
        self.h_cross.show()
        self.v_cross.setPos(p.x())
        self.h_cross.setPos(p.y())
        mark = float(self.mark_line.value()) or 1.0
        when = fmt.moment(int(p.x() * 1000))
        self.readout.setText(
            f"{when}   {fmt.price(p.y())}   ({fmt.pct(p.y() / mark - 1, decimals=2)} vs mark)"
        )
