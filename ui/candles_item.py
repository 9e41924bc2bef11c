"""Candlesticks as one pyqtgraph GraphicsObject that stays smooth with 50,000+ bars.

Each paint draws only the bars in view (clip to view); when bars get narrower than a few pixels,
neighbouring bars are merged into one OHLC bar per group (downsampling, with groups aligned to
fixed indices so panning does not shimmer). Wicks and bodies are built as QPainterPaths from
NumPy arrays (pg.arrayToQPath), never bar by bar in Python, and cached until the view or the
data changes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter, QPainterPath, QPen

from ui import theme

MIN_BAR_PX = 3.0


class CandlesItem(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped (Any)
    def __init__(self) -> None:
        super().__init__()
        self.x = np.zeros(0)
        self.o = self.h = self.l = self.c = np.zeros(0)
        self.bar_width = 60.0
        self._bounds = QRectF()
        self._version = 0
        self._cache_key: tuple[int, int, int, int] | None = None
        self._paths: tuple[QPainterPath, QPainterPath, QPainterPath, QPainterPath] | None = None
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def setData(
        self,
        x: np.ndarray,
        o: np.ndarray,
        h: np.ndarray,
        low: np.ndarray,
        c: np.ndarray,
        bar_width: float | None = None,
    ) -> None:
        """x is each bar's open time (any unit; the chart uses seconds), oldest first. The
        item keeps its own highs, lows and closes (``set_last`` moves the last bar)."""
        self.x = np.asarray(x, dtype=float)
        self.o, self.h = np.asarray(o, float), np.array(h, float)
        self.l, self.c = np.array(low, float), np.array(c, float)
        if bar_width is None:
            bar_width = float(np.median(np.diff(self.x[-50:]))) if len(self.x) > 1 else 60.0
        self.bar_width = bar_width
        self.prepareGeometryChange()
        if len(self.x):
            self._bounds = QRectF(
                float(self.x[0]),
                float(self.l.min()),
                float(self.x[-1] - self.x[0] + self.bar_width),
                float(self.h.max() - self.l.min()),
            )
        else:
            self._bounds = QRectF()
        self._version += 1
        self._cache_key = None
        self.informViewBoundsChanged()
        self.update()

    def set_last(self, high: float, low: float, close: float) -> None:
        """Move the last bar (a live price between two candle updates): only the paths of
        the bars in view are rebuilt."""
        if not len(self.x):
            return
        self.h[-1], self.l[-1], self.c[-1] = high, low, close
        b = self._bounds
        if low < b.top() or high > b.bottom():
            self.prepareGeometryChange()
            top, bottom = min(b.top(), low), max(b.bottom(), high)
            self._bounds = QRectF(b.left(), top, b.width(), bottom - top)
            self.informViewBoundsChanged()
        self._version += 1
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def dataBounds(
        self, ax: int, frac: float = 1.0, orthoRange: tuple[float, float] | None = None
    ) -> tuple[float, float] | None:
        """Lets the ViewBox fit the y range to the bars in the visible x range."""
        if not len(self.x):
            return None
        if ax == 0:
            return float(self.x[0]), float(self.x[-1] + self.bar_width)
        i0, i1 = 0, len(self.x)
        if orthoRange is not None:
            i0 = max(0, int(np.searchsorted(self.x, orthoRange[0] - self.bar_width)))
            i1 = int(np.searchsorted(self.x, orthoRange[1], side="right"))
        if i1 <= i0:
            return None
        return float(self.l[i0:i1].min()), float(self.h[i0:i1].max())

    def paint(self, p: QPainter, *args: object) -> None:
        n = len(self.x)
        if not n:
            return
        view = self.viewRect()
        if view is None:
            return
        i0 = max(0, int(np.searchsorted(self.x, view.left() - self.bar_width)) - 1)
        i1 = min(n, int(np.searchsorted(self.x, view.right(), side="right")) + 1)
        if i1 <= i0:
            return
        px = self.pixelWidth() or 1.0
        group = max(1, int(np.ceil(MIN_BAR_PX * px / self.bar_width)))
        i0 -= i0 % group
        key = (i0, i1, group, self._version)
        if key != self._cache_key or self._paths is None:
            self._paths = self._build(i0, i1, group)
            self._cache_key = key
        wicks_up, wicks_down, up, down = self._paths
        t = theme.current()
        up_c, down_c = theme.qcolor(t.up), theme.qcolor(t.down)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(up_c)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.drawPath(wicks_up)
        pen.setColor(down_c)
        p.setPen(pen)
        p.drawPath(wicks_down)
        p.setPen(pg.mkPen(None))
        p.fillPath(up, up_c)
        p.fillPath(down, down_c)

    def _build(
        self, i0: int, i1: int, group: int
    ) -> tuple[QPainterPath, QPainterPath, QPainterPath, QPainterPath]:
        x, o, h, lo, c = self.x[i0:i1], self.o[i0:i1], self.h[i0:i1], self.l[i0:i1], self.c[i0:i1]
        width = self.bar_width
        if group > 1:
            starts = np.arange(0, len(x), group)
            ends = np.minimum(starts + group, len(x)) - 1
            x = x[starts]
            o = o[starts]
            c = c[ends]
            h = np.maximum.reduceat(h, starts)
            lo = np.minimum.reduceat(lo, starts)
            width = self.bar_width * group
        rising = c >= o
        mid = x + width / 2
        half = width * 0.35
        paths = []
        for mask in (rising, ~rising):
            m = mid[mask]
            xs = np.repeat(m, 2)
            ys = np.empty(len(xs))
            ys[0::2], ys[1::2] = lo[mask], h[mask]
            paths.append(pg.arrayToQPath(xs, ys, connect="pairs"))
        for mask in (rising, ~rising):
            m = mid[mask]
            top = np.maximum(o[mask], c[mask])
            bot = np.minimum(o[mask], c[mask])
            # Keep a flat bar visible: at least a hair of height.
            bot = np.where(top - bot <= 0, bot - 1e-9 * np.abs(bot), bot)
            xs = np.stack([m - half, m + half, m + half, m - half, m - half], axis=1).ravel()
            ys = np.stack([bot, bot, top, top, bot], axis=1).ravel()
            connect = np.ones(len(xs), dtype=np.int32)
            connect[4::5] = 0
            paths.append(pg.arrayToQPath(xs, ys, connect=connect))
        return paths[0], paths[1], paths[2], paths[3]
