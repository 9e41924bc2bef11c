"""At 1280×720 and 1024×700 nothing important is cut or elided: the window keeps the size
asked for, every column header and cell of the tables shows whole (no "…", no column pushed
out of view), the key labels have the room their text needs, and the chart's labels stay
inside the plot without touching each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QAbstractButton, QLabel, QTableView

from tests.ui.ui_feed import feed_backend
from ui.app import App
from ui.columns import header_width

WAIT_MS = 20_000


def cut_columns(view: QTableView) -> list[str]:
    """The columns whose header or a visible cell would be cut or elided."""
    model, header = view.model(), view.horizontalHeader()
    out = []
    for c in range(model.columnCount()):
        if view.isColumnHidden(c):
            continue
        need = max(header_width(view, c), view.sizeHintForColumn(c))
        if header.sectionSize(c) < need:
            out.append(
                f"{model.headerData(c, header.orientation())}: {header.sectionSize(c)} < {need}"
            )
    if view.horizontalScrollBar().maximum() > 0:
        out.append("columns pushed out of view")
    return out


def squeezed(widget: QLabel | QAbstractButton) -> str | None:
    """Why the widget's text does not show whole, if it does not."""
    if isinstance(widget, QLabel) and widget.wordWrap():
        need = widget.heightForWidth(widget.width())
        return None if widget.height() >= need else f"{widget.text()!r}: {widget.height()} < {need}"
    need = widget.sizeHint().width()
    return None if widget.width() >= need else f"{widget.text()!r}: {widget.width()} < {need}"


@pytest.mark.parametrize("size", [(1280, 720), (1024, 700)])
def test_nothing_important_is_cut(
    qapp: object, tmp_path: Path, qtbot, size: tuple[int, int]
) -> None:
    app = App(tmp_path, speed=3000.0, crash_dialog=False, backend_factory=feed_backend())
    window = app.window
    try:
        window.resize(*size)
        app.start()
        qtbot.waitUntil(lambda: window.proxy.rowCount() == 3, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: len(window.chart.label_texts()) >= 3, timeout=WAIT_MS)
        app.backend.stop(3.0)  # hold the figures still
        qtbot.wait(1700)  # changed figures refit the columns at most every 1.5 s
        window.grab().save(str(tmp_path / f"window-{size[0]}x{size[1]}.png"))
        assert (window.width(), window.height()) == size, "a minimum size overrode the window's"

        problems = []
        for name, view in (
            ("positions", window.table),
            ("scenario", window.scenario.table),
            ("betas", window.scenario.beta_table),
        ):
            problems += [f"{name} {p}" for p in cut_columns(view)]
        assert window.table.verticalScrollBar().maximum() == 0, "a position row is out of view"
        labels = [
            window.summary,
            window.banner.label,
            window.chart.mark_label,
            window.scenario.move_label,
            window.scenario.summary,
            window.clock_label,
            *window.status_labels.values(),
            window.add_button,
            window.settings_button,
            window.ack_all_button,
            window.warnings.ack_button,
            window.warnings.snooze_button,
        ]
        problems += [p for w in labels if (p := squeezed(w)) is not None]
        assert not problems, problems

        chart = window.chart
        plot = chart.plot.getViewBox().sceneBoundingRect()
        rects = chart.labels.scene_rects()
        assert len(rects) == len(chart.label_texts()) >= 3
        for text, r in zip(chart.label_texts(), rects, strict=True):
            assert plot.contains(r), f"{text!r} is cut at the plot's edge"
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                assert not a.intersects(b), "two chart labels overlap"
    finally:
        app.shutdown()
        app.window.deleteLater()
