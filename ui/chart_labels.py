"""The chart's text labels, laid out so they never overlap each other or hide under candles.

Every label belongs to a price (a liquidation line, a support's top, the cascade's reach, the
mark). Labels sit in two columns, at the plot's left edge (the lines' descriptions) and at its
right edge (the mark's price tag), drawn above the candles on a filled background. Within a
column, labels are placed as near their price as they can be without touching: ``spread``
pushes crowded ones apart (and the least important go when a column cannot hold them all). A
label too wide for the plot beside the price tag takes its shorter wording. The layout is
redone whenever the view moves or the labels change; it costs a few item moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF

from ui import theme

LABEL_Z = 50
"""Above the candles (0), the lines (default) and the zones (negative)."""
GAP_PX = 2.0
MARGIN_PX = 6.0


class Side(Enum):
    LEFT = 0
    RIGHT = 1


@dataclass(frozen=True, slots=True)
class Label:
    """A label at ``price``; ``priority`` decides which go first when a column is full."""

    price: float
    text: str
    colour: str
    side: Side = Side.LEFT
    priority: int = 1
    shorter: tuple[str, ...] = ()
    """Shorter wordings, longest first, for a narrow plot."""

    @property
    def wordings(self) -> tuple[str, ...]:
        return (self.text, *self.shorter)


def spread(wanted: Sequence[float], height: float, top: float, bottom: float) -> list[float]:
    """Top edges (pixels, growing downward) for labels of ``height`` that want to start at
    ``wanted`` (sorted ascending), each at least ``height + GAP_PX`` below the previous one,
    kept within [top, bottom − height] when they fit, as near their wish as possible."""
    step = height + GAP_PX
    ys = list(wanted)
    for i in range(len(ys)):
        low = top if i == 0 else ys[i - 1] + step
        ys[i] = max(ys[i], low)
    limit = bottom - height
    for i in range(len(ys) - 1, -1, -1):
        high = limit if i == len(ys) - 1 else ys[i + 1] - step
        ys[i] = min(ys[i], high)
    return ys


def fits(count: int, height: float, top: float, bottom: float) -> bool:
    return count * (height + GAP_PX) - GAP_PX <= bottom - top


class ChartLabels:
    """The labels of one plot (a pyqtgraph PlotItem); ``set`` them, the layout follows."""

    def __init__(self, plot: Any) -> None:
        self.plot = plot
        self.vb = plot.getViewBox()
        self.labels: list[Label] = []
        self.items: list[Any] = []
        self.shown: list[bool] = []
        self._widths: dict[str, float] = {}
        self._metrics: QFontMetricsF | None = None
        self.vb.sigRangeChanged.connect(self.layout)
        self.vb.sigResized.connect(self.layout)

    def set(self, labels: Sequence[Label]) -> None:
        labels = list(labels)
        if labels == self.labels:
            return
        self.labels = labels
        t = theme.current()
        while len(self.items) > len(labels):
            self.plot.removeItem(self.items.pop())
        for i, label in enumerate(labels):
            anchor = (0.0, 0.5) if label.side is Side.LEFT else (1.0, 0.5)
            if i < len(self.items):
                item = self.items[i]
                if item.color.name() != label.colour:
                    item.setColor(label.colour)
                    item.border = pg.mkPen(theme.qcolor(label.colour, 110))
                if tuple(item.anchor) != anchor:
                    item.setAnchor(anchor)
                continue
            item = pg.TextItem(
                label.text,
                color=label.colour,
                anchor=anchor,
                fill=theme.qcolor(t.base, 225),
                border=pg.mkPen(theme.qcolor(label.colour, 110)),
            )
            item.setZValue(LABEL_Z)
            self.plot.addItem(item, ignoreBounds=True)
            self.items.append(item)
        self.layout()

    def texts(self) -> list[str]:
        """The labels on screen (those a full column left out are not)."""
        return [
            item.toPlainText()
            for item, shown in zip(self.items, self.shown, strict=True)
            if shown and item.isVisible()
        ]

    def scene_rects(self) -> list[QRectF]:
        """Where the visible labels are drawn, in scene pixels."""
        return [
            item.sceneBoundingRect()
            for item, shown in zip(self.items, self.shown, strict=True)
            if shown and item.isVisible()
        ]

    def _width(self, item: Any, text: str) -> float:
        """The width ``text`` takes in a label (every label has the same font)."""
        width = self._widths.get(text)
        if width is None:
            if self._metrics is None:
                self._metrics = QFontMetricsF(item.textItem.font())
            margin = float(item.textItem.document().documentMargin())
            width = self._metrics.horizontalAdvance(text) + 2 * margin
            if len(self._widths) > 2000:
                self._widths.clear()
            self._widths[text] = width
        return width

    def _word(self, i: int, room: float) -> None:
        """Give label ``i`` the longest wording that fits ``room`` pixels; on a plot too narrow
        even for the shortest, that one cut with "…" (it never runs under the price tag)."""
        item, label = self.items[i], self.labels[i]
        text = next((t for t in label.wordings if self._width(item, t) <= room), None)
        if text is None:
            margin = float(item.textItem.document().documentMargin())
            metrics = self._metrics or QFontMetricsF(item.textItem.font())
            text = metrics.elidedText(
                label.wordings[-1], Qt.TextElideMode.ElideRight, max(0.0, room - 2 * margin)
            )
        if item.toPlainText() != text:
            item.setPlainText(text)

    def layout(self, *_: object) -> None:
        """Place each column's labels near their prices without overlaps."""
        self.shown = [False] * len(self.items)
        if not self.items:
            return
        rect = self.vb.sceneBoundingRect()
        if rect.height() <= 0:
            return
        right = [i for i, lab in enumerate(self.labels) if lab.side is Side.RIGHT]
        for i in right:
            self._word(i, rect.width() - 2 * MARGIN_PX)
        tag = max((self.items[i].boundingRect().width() for i in right), default=0.0)
        room = rect.width() - 2 * MARGIN_PX - (tag + MARGIN_PX if tag else 0.0)
        for i, lab in enumerate(self.labels):
            if lab.side is Side.LEFT:
                self._word(i, room)
        for side in Side:
            members = [i for i, lab in enumerate(self.labels) if lab.side is side]
            if members:
                self._layout_column(side, members, rect)
        for item, shown in zip(self.items, self.shown, strict=True):
            if item.isVisible() != shown:
                item.setVisible(shown)

    def _layout_column(self, side: Side, members: list[int], rect: QRectF) -> None:
        height = max(self.items[i].boundingRect().height() for i in members)
        top, bottom = rect.top() + 1.0, rect.bottom() - 1.0
        x_scene = rect.left() + MARGIN_PX if side is Side.LEFT else rect.right() - MARGIN_PX
        centre = {
            i: self.vb.mapViewToScene(QPointF(0.0, self.labels[i].price)).y() for i in members
        }
        inside = [i for i in members if top - height <= centre[i] <= bottom + height]
        # the least important go first when the column cannot hold every label
        inside.sort(key=lambda i: (-self.labels[i].priority, centre[i]))
        while inside and not fits(len(inside), height, top, bottom):
            inside.pop()
        inside.sort(key=lambda i: centre[i])
        tops = spread([centre[i] - height / 2 for i in inside], height, top, bottom)
        for i, y in zip(inside, tops, strict=True):
            pos = self.vb.mapSceneToView(QPointF(x_scene, y + height / 2))
            item = self.items[i]
            if item.pos() != pos:  # moving a pyqtgraph item costs: only when it moved
                item.setPos(pos)
            self.shown[i] = True
