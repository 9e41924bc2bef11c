"""The price chart: candles, the live mark, support zones, the user's liquidation lines, the
market's estimated liquidation map beside the price axis, and the cascade's reach.

Market updates only store the newest data; a QTimer applies it at a fixed rate (default 15 Hz),
so a burst of ticks costs one redraw, not one per tick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

import formatting as fmt
from monitor.events import MarketUpdate
from risk.cascade import SCENARIO_LABEL, Cascade, SupportContext, support_context
from risk.levels import Level, Levels
from risk.liqmap import LiqMap
from risk.types import Candles
from ui import keys, theme
from ui.candles_item import CandlesItem
from ui.keys import described

log = logging.getLogger(__name__)

TIMEFRAMES = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14_400, "1d": 86_400}


LABEL_GAP = 0.006
"""Support labels closer than this fraction of the price would overlap: one is drawn."""


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


def nearest_cascade(cascades: Iterable[Cascade] | None, mark: float | None) -> Cascade | None:
    """The cascade (risk.cascade.Cascade) from the nearest support below the mark."""
    items = list(cascades or ())
    if not items:
        return None
    below = [c for c in items if mark is None or c.start_price <= mark]
    return max(below or items, key=lambda c: c.start_price)


def liqmap_bins(lm: LiqMap, lo: float, hi: float, bins: int = 80) -> tuple[np.ndarray, ...]:
    """(centres, long, short) of the liquidation map re-binned to ``bins`` buckets in [lo, hi]."""
    centres = np.asarray(lm.bucket_low, float) + float(lm.step) / 2
    longs = np.asarray(lm.long_notional, float)
    shorts = np.asarray(lm.short_notional, float)
    edges = np.linspace(lo, hi, bins + 1)
    long_b, _ = np.histogram(centres, bins=edges, weights=longs)
    short_b, _ = np.histogram(centres, bins=edges, weights=shorts)
    return (edges[:-1] + edges[1:]) / 2, long_b, short_b


class PriceChart(QWidget):
    """One symbol at a time; feed it with set_market() and set_liquidations()."""

    sigSymbolRequested = Signal(str)

    def __init__(self, redraw_hz: float = 12.0) -> None:
        super().__init__()
        t = theme.current()
        self.symbol: str | None = None
        self.timeframe = "1m"
        self._market: dict[str, MarketUpdate] = {}
        self._marks: dict[str, float] = {}
        self.bar_seconds = 60
        self._base_seconds = 0
        self._dirty = False
        self._levels_key: Any = None
        self._liq_key: Any = None
        self._liq_lines: list[tuple[float, str, str]] = []
        self.frames = 0
        self._fit_pending = True
        self._last_x: float | None = None
        self._y_dirty = False
        self._reach_prices: list[float] = []
        self._liq_lines_key: Any = None

        self.symbol_box = QComboBox()
        self.symbol_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.symbol_box.setMinimumContentsLength(14)
        self.symbol_box.currentTextChanged.connect(self._on_symbol_box)
        described(self.symbol_box, "Chart symbol", "The symbol the chart shows")
        self.tf_box = QComboBox()
        self.tf_box.addItems(list(TIMEFRAMES))
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
        self.mark_label.setStyleSheet("font-size: 15pt; font-weight: 600;")
        top = QHBoxLayout()
        top.addWidget(self.symbol_box)
        top.addWidget(self.tf_box)
        top.addSpacing(12)
        top.addWidget(self.mark_label)
        top.addStretch(1)
        top.addWidget(self.readout)

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
        date_axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.plot: pg.PlotItem = self.glw.addPlot(row=0, col=0, axisItems={"bottom": date_axis})
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
        self.plot.getAxis("right").setWidth(72)

        self.heat: pg.PlotItem = self.glw.addPlot(row=0, col=1)
        self.heat.setMaximumWidth(150)
        self.heat.hideAxis("left")
        self.heat.hideAxis("bottom")
        self.heat.setYLink(self.plot)
        self.heat.setMouseEnabled(x=False, y=False)
        self.heat.setMenuEnabled(False)
        self.heat.setTitle(
            f"<span style='color:{t.muted};font-size:9pt'>liquidations (estimate)<br>"
            f"<span style='color:{t.liq_long}'>■ longs</span> "
            f"<span style='color:{t.liq_short}'>■ shorts</span></span>"
        )
        self.heat_long = pg.BarGraphItem(
            x0=[], y=[], height=[], width=[], brush=theme.qcolor(t.liq_long, 170), pen=None
        )
        self.heat_short = pg.BarGraphItem(
            x0=[], y=[], height=[], width=[], brush=theme.qcolor(t.liq_short, 170), pen=None
        )
        self.heat.addItem(self.heat_long)
        self.heat.addItem(self.heat_short)
        self.glw.ci.layout.setColumnStretchFactor(0, 8)
        self.glw.ci.layout.setColumnStretchFactor(1, 1)

        self.candles = CandlesItem()
        self.plot.addItem(self.candles)
        self.mark_line = pg.InfiniteLine(
            angle=0,
            movable=False,
            pen=pg.mkPen(t.accent, width=1),
            label="{value:,.1f}",
            labelOpts={"position": 0.93, "color": t.accent, "fill": theme.qcolor(t.base, 220)},
        )
        self.plot.addItem(self.mark_line, ignoreBounds=True)
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

    def set_mark(self, symbol: str, price: float) -> None:
        """The live mark (from the account polls, more often than the candles)."""
        if self._marks.get(symbol) != price:
            self._marks[symbol] = price
            if symbol == self.symbol:
                self._dirty = True

    def set_liquidations(self, lines: Sequence[tuple[float, str, str]]) -> None:
        """(price, label, colour) for each of the user's liquidation lines on this symbol."""
        lines = list(lines)
        if lines != self._liq_lines:
            self._liq_lines = lines
            self._dirty = True

    def set_symbol(self, symbol: str) -> None:
        if symbol == self.symbol:
            return
        self.symbol = symbol
        if self.symbol_box.findText(symbol) < 0:
            self.symbol_box.addItem(symbol)
        self.symbol_box.setCurrentText(symbol)
        self._levels_key = None
        self._liq_key = None
        self._dirty = True
        self._fit_pending = True
        self._apply()
        self.sigSymbolRequested.emit(symbol)

    def set_timeframe(self, tf: str) -> None:
        if tf not in TIMEFRAMES or (tf == self.timeframe and self.tf_box.currentText() == tf):
            return
        self.timeframe = tf
        self.tf_box.setCurrentText(tf)
        self._dirty = True
        self._fit_pending = True
        self._apply()

    def timeframe_enabled(self, tf: str) -> bool:
        """Whether ``tf`` can be shown (no shorter than the candles' own length)."""
        return tf in TIMEFRAMES and TIMEFRAMES[tf] >= self._base_seconds

    def _enable_timeframes(self, base: int) -> None:
        """Only timeframes at least as long as the candles' own can be shown."""
        if base == self._base_seconds:
            return
        self._base_seconds = base
        model = self.tf_box.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        for i, seconds in enumerate(TIMEFRAMES.values()):
            entry = model.item(i)
            if entry is not None:
                entry.setEnabled(seconds >= base)
        if TIMEFRAMES[self.tf_box.currentText()] < base:
            shown = next(n for n, s in TIMEFRAMES.items() if s >= base)
            self.tf_box.blockSignals(True)
            self.tf_box.setCurrentText(shown)
            self.tf_box.blockSignals(False)

    def _on_symbol_box(self, text: str) -> None:
        if text:
            self.set_symbol(text)

    # -- the paced redraw ---------------------------------------------------------------------
    def _apply(self) -> None:
        if self._y_dirty:
            self._fit_y()
        if not self._dirty or self.symbol is None:
            return
        self._dirty = False
        self.frames += 1
        update = self._market.get(self.symbol)
        if update is None:
            self._draw_liq_lines()
            return
        c: Candles | None = update.candles
        if c is not None and len(c):
            base = base_seconds(c)
            self._enable_timeframes(base)
            self.bar_seconds = max(TIMEFRAMES[self.timeframe], base)
            x, o, h, lo, cl = resample(c, self.bar_seconds)
            mark = self._marks.get(self.symbol, float(cl[-1]))
            if mark != cl[-1]:
                # The live mark moves the last bar between candle refreshes.
                h, lo, cl = h.copy(), lo.copy(), cl.copy()
                cl[-1] = mark
                h[-1], lo[-1] = max(h[-1], mark), min(lo[-1], mark)
            self.candles.setData(x, o, h, lo, cl, bar_width=float(self.bar_seconds))
            self.mark_line.setValue(mark)
            self.mark_label.setText(f"{self.symbol.split(':')[0]}  {fmt.price(mark)}")
            self._follow(x)
        self._draw_levels(update)
        self._draw_liqmap(update)
        self._draw_liq_lines()
        self._fit_y()

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
        extra = [price for price, _label, _c in self._liq_lines]
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
        context: dict[tuple[float, float], SupportContext] = {}
        if update.levels is not None and update.liqmap is not None:
            context = {
                (c.support.low, c.support.high): c
                for c in support_context(update.levels, update.liqmap)
            }
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
        labelled: list[float] = []
        for z in zones:
            region = pg.LinearRegionItem(
                values=(z.low, z.high),
                orientation="horizontal",
                movable=False,
                brush=theme.qcolor(t.support, 55),
                pen=pg.mkPen(theme.qcolor(t.support, 140)),
            )
            region.setZValue(-10)
            # zones closer than LABEL_GAP of the price share one label (the stronger first)
            if not mark or all(abs(z.high - y) > LABEL_GAP * mark for y in labelled):
                labelled.append(z.high)
                pg.InfLineLabel(
                    region.lines[1],
                    text=support_label(z, context.get((z.low, z.high))),
                    position=0.03,
                    anchors=[(0, 1), (0, 1)],
                    color=t.support,
                )
            self.plot.addItem(region, ignoreBounds=True)
            self._zone_items.append(region)
        if cascade is None:
            return
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
        pg.InfLineLabel(
            region.lines[0], text=text, position=0.03, anchors=[(0, 0), (0, 0)], color=t.cascade
        )
        self.plot.addItem(region, ignoreBounds=True)
        self._cascade_items.append(region)

    def _draw_liqmap(self, update: MarketUpdate) -> None:
        lm = update.liqmap
        mark = float(self.mark_line.value())
        if lm is None or not mark:
            if self._liq_key is not None:
                self.heat_long.setOpts(x0=[], y=[], height=[], width=[])
                self.heat_short.setOpts(x0=[], y=[], height=[], width=[])
                self._liq_key = None
            return
        if lm is self._liq_key:
            return
        self._liq_key = lm
        centres, longs, shorts = liqmap_bins(lm, mark * 0.8, mark * 1.2)
        step = float(centres[1] - centres[0]) * 0.9
        scale = max(1.0, float(max(longs.max(initial=0), shorts.max(initial=0))))
        zeros = np.zeros(len(centres))
        self.heat_long.setOpts(x0=zeros, y=centres, height=step, width=longs / scale)
        self.heat_short.setOpts(x0=zeros, y=centres, height=step, width=shorts / scale)
        self.heat.setXRange(0, 1.05, padding=0)

    def _draw_liq_lines(self) -> None:
        """Lines are reused: a price that moves each poll only moves its line and label."""
        key = (self.symbol, tuple(self._liq_lines))
        if key == self._liq_lines_key:
            return
        self._liq_lines_key = key
        t = theme.current()
        while len(self._liq_items) > len(self._liq_lines):
            self.plot.removeItem(self._liq_items.pop())
        for i, (price, label, colour) in enumerate(self._liq_lines):
            text = f"{label}  {fmt.price(price)}"
            if i < len(self._liq_items):
                line = self._liq_items[i]
                if line.label.format != text:
                    line.label.setFormat(text)
                if line.pen.color().name() != pg.mkColor(colour).name():
                    line.setPen(pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
                    line.label.setColor(colour)
                line.setValue(price)
                continue
            line = pg.InfiniteLine(
                pos=price,
                angle=0,
                movable=False,
                pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                label=text,
                labelOpts={
                    "position": 0.3 + 0.3 * (i % 2),
                    "color": colour,
                    "fill": theme.qcolor(t.base, 200),
                },
            )
            self.plot.addItem(line, ignoreBounds=True)
            self._liq_items.append(line)

    def _on_mouse(self, evt: tuple[QPointF]) -> None:
        pos = evt[0]
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        p = self.plot.getViewBox().mapSceneToView(pos)
        self.v_cross.show()
        self.h_cross.show()
        self.v_cross.setPos(p.x())
        self.h_cross.setPos(p.y())
        mark = float(self.mark_line.value()) or 1.0
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(p.x()))
        self.readout.setText(
            f"{when} UTC   {fmt.price(p.y())}   ({fmt.pct(p.y() / mark - 1, decimals=2)} vs mark)"
        )
