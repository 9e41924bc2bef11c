"""Column widths that show every header and cell whole: each column gets what its header and
its visible cells need, and the room left over is shared out evenly.

Qt's own modes do not do this: Stretch gives every column the same width (a long cell is cut
with "…" while a short one has room to spare), and ResizeToContents measures every row on
every change. ``ColumnFitter`` measures the visible rows (Qt's ``sizeHintForColumn``) at
most a few times a second, and on every resize and sort.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QHeaderView, QStyle, QTableView

HEADER_SLACK = 6
"""Pixels a header needs beside its text and the style's margins (Fusion's frame)."""


def header_width(view: QTableView, column: int) -> int:
    """The width at which column ``column``'s header shows its whole title (and the sort
    arrow, on the sorted column)."""
    header = view.horizontalHeader()
    model = view.model()
    style = view.style()
    text = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
    margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    width = header.fontMetrics().horizontalAdvance(text) + 2 * margin + HEADER_SLACK
    if header.isSortIndicatorShown() and header.sortIndicatorSection() == column:
        width += style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header) + margin
    return width


def needed_widths(view: QTableView) -> list[int]:
    """What each column needs: its header, and its widest visible cell."""
    out = []
    for column in range(view.model().columnCount()):
        if view.isColumnHidden(column):
            out.append(0)
            continue
        out.append(max(header_width(view, column), view.sizeHintForColumn(column)))
    return out


def fit_columns(view: QTableView) -> None:
    """Give each column what it needs and share the rest of the width out evenly."""
    widths = needed_widths(view)
    shown = [i for i, w in enumerate(widths) if w > 0]
    if not shown:
        return
    spare = max(0, view.viewport().width() - sum(widths))
    header = view.horizontalHeader()
    for n, column in enumerate(shown):
        extra = spare // len(shown) + (1 if n < spare % len(shown) else 0)
        width = widths[column] + extra
        if header.sectionSize(column) != width:
            header.resizeSection(column, width)


class ColumnFitter(QObject):
    """Keeps a table's columns fitted: on resize, sort and new rows at once, after changed
    figures at most every ``interval_ms`` (a figure one digit longer waits that long for its
    room)."""

    def __init__(self, view: QTableView, interval_ms: int = 1500) -> None:
        super().__init__(view)
        self.view = view
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        view.horizontalHeader().setStretchLastSection(False)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.fit)
        self.next_turn = QTimer(self)
        self.next_turn.setSingleShot(True)
        self.next_turn.setInterval(0)
        self.next_turn.timeout.connect(self.fit)
        view.viewport().installEventFilter(self)
        view.horizontalHeader().sortIndicatorChanged.connect(lambda *_: self.fit())
        model = view.model()
        # a sort proxy re-sorts (layoutChanged) on every data change: both are throttled
        model.dataChanged.connect(self.soon)
        model.layoutChanged.connect(self.soon)
        # rows coming or going are rare: fitted once the view has laid them out
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved):
            signal.connect(self.now)

    def soon(self, *_: object) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def now(self, *_: object) -> None:
        """At the next turn of the event loop (a burst of changes costs one fit)."""
        if not self.next_turn.isActive():
            self.next_turn.start()

    def fit(self) -> None:
        fit_columns(self.view)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False
