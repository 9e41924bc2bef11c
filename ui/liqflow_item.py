"""The market's liquidations under the price chart: USD of longs (down) and shorts (up)
liquidated per bar, as the venues' streams heard them, on a USD scale.

The monitor sends one ``LiquidationUpdate`` per venue and symbol (per-minute sums, the venue's
own time, the newest minute still filling); the chart shows the sum over the venues that
stream the chart's asset, summed again to the chart's bar length, and says which venues they
are and whether their streams are live. A bar missing inside a live span had no liquidation;
before the first span the history is unknown, and the label says "since" when it began.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information

import formatting as fmt
from monitor.events import LiquidationUpdate
from risk.types import base_asset
from ui import theme


class UsdAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """A USD scale that reads both directions as amounts ($2.0 M below zero too)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [fmt.usd(abs(v)) if v else "0" for v in values]


def per_bar(minutes: np.ndarray, values: np.ndarray, bar_s: int) -> tuple[np.ndarray, np.ndarray]:
    """(bar start in seconds, sum) of per-minute values summed to bars of ``bar_s``."""
    if len(minutes) == 0:
        return np.zeros(0), np.zeros(0)
    seconds = minutes.astype(np.int64) // 1000
    bars = seconds - seconds % max(60, bar_s)
    starts, index = np.unique(bars, return_inverse=True)
    return starts.astype(float), np.bincount(index, weights=values)


class LiquidationFlowPlot:
    """The small bar series under the chart; ``set_flow`` stores, ``draw`` paints."""

    def __init__(self) -> None:
        t = theme.current()
        self.plot: Any = pg.PlotItem(axisItems={"right": UsdAxis(orientation="right")})
        self.plot.hideAxis("left")
        self.plot.showAxis("right")
        self.plot.hideAxis("bottom")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setMaximumHeight(110)
        self.plot.getAxis("right").setWidth(72)
        for name in ("right",):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(t.grid))
            axis.setTextPen(pg.mkPen(t.muted))
        self.longs = pg.BarGraphItem(
            x0=[], y0=[], height=[], width=[], brush=theme.qcolor(t.liq_long, 200), pen=None
        )
        self.shorts = pg.BarGraphItem(
            x0=[], y0=[], height=[], width=[], brush=theme.qcolor(t.liq_short, 200), pen=None
        )
        self.plot.addItem(self.longs)
        self.plot.addItem(self.shorts)
        self.label = pg.TextItem("", color=t.muted, anchor=(0, 0))
        self.label.setParentItem(self.plot.getViewBox())
        self.label.setPos(4, 0)
        self._updates: dict[tuple[str, str], LiquidationUpdate] = {}
        self._drawn: Any = None
        self.bars: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0),) * 3
        """(bar start s, long USD, short USD) as drawn, for tests and the benchmark."""

    def set_flow(self, update: LiquidationUpdate) -> None:
        self._updates[(update.exchange, update.symbol)] = update
        self._drawn = None

    def draw(self, symbol: str | None, bar_s: int) -> None:
        key = (symbol, bar_s, tuple(id(u) for u in self._updates.values()))
        if key == self._drawn:
            return
        self._drawn = key
        t = theme.current()
        asset = base_asset(symbol) if symbol else None
        mine = [u for u in self._updates.values() if asset and base_asset(u.symbol) == asset]
        if not mine:
            self._set([], [], [], bar_s)
            self.label.setText("liquidations: not streamed for this symbol")
            return
        minutes = np.concatenate([u.minute_ms for u in mine])
        longs = np.concatenate([u.long_usd for u in mine])
        shorts = np.concatenate([u.short_usd for u in mine])
        x, long_b = per_bar(minutes, longs, bar_s)
        _, short_b = per_bar(minutes, shorts, bar_s)
        self._set(x, long_b, short_b, bar_s)
        venues = ", ".join(sorted({fmt.venue(u.exchange) for u in mine}))
        live = all(u.live for u in mine)
        state = "live" if live else "stream down: bars missing meanwhile"
        span = "minute" if bar_s <= 60 else fmt.age(bar_s * 1000)
        self.label.setHtml(
            f"<span style='color:{t.muted};font-size:8pt'>liquidated per {span} · {venues} · "
            f"{state} · <span style='color:{t.liq_long}'>▼ longs</span> "
            f"<span style='color:{t.liq_short}'>▲ shorts</span></span>"
        )

    def _set(self, x: Any, longs: Any, shorts: Any, bar_s: int) -> None:
        x = np.asarray(x, dtype=float)
        longs = np.asarray(longs, dtype=float)
        shorts = np.asarray(shorts, dtype=float)
        width = float(max(60, bar_s)) * 0.9
        self.bars = (x, longs, shorts)
        self.longs.setOpts(x0=x, y0=-longs, height=longs, width=width)
        self.shorts.setOpts(x0=x, y0=np.zeros(len(x)), height=shorts, width=width)
        top = float(max(longs.max(initial=0.0), shorts.max(initial=0.0), 1.0))
        self.plot.setYRange(-top, top, padding=0.08)
