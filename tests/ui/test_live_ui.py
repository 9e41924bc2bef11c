"""The streams on screen, on the real demo (the local exchange's WebSocket side and the
monitor's streams): the market's liquidations drawn under the chart per bar on a USD scale, and
each account's stream state and mark sources in the status bar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from ui.app import App
from ui.liqflow_item import per_bar


def test_liquidation_bars_and_live_status_on_the_demo(
    qapp: object, tmp_path: Path, qtbot: QtBot
) -> None:
    app = App(tmp_path, speed=60.0, crash_dialog=False)
    try:
        app.start()
        window = app.window
        chart = window.chart
        qtbot.waitUntil(lambda: chart.symbol is not None, timeout=30_000)
        # the bars under the chart: Binance's liquidations of the chart's asset, the minutes
        # summed per bar of the chart (hourly candles: an hour)
        qtbot.waitUntil(lambda: chart.bar_seconds == 3600, timeout=60_000)
        qtbot.waitUntil(
            lambda: bool(chart.flow.bars[1].sum() > 0 and np.all(chart.flow.bars[0] % 3600 == 0)),
            timeout=60_000,
        )
        x, longs, shorts = chart.flow.bars
        assert np.all(longs >= 0) and np.all(shorts >= 0) and np.all(x % 3600 == 0)
        text = chart.flow.label.textItem.toPlainText()
        assert "liquidated per 1.0 h · Binance · live" in text
        axis = chart.flow.plot.getAxis("right")
        assert axis.tickStrings([-2_000_000.0, 0.0, 150_000.0], 1.0, 1.0) == [
            "$2.0 M",
            "0",
            "$150 k",
        ]
        # the status bar: the account is streamed, and its marks say where they came from
        qtbot.waitUntil(
            lambda: any("· live ·" in lbl.text() for lbl in window.status_labels.values()),
            timeout=30_000,
        )
        label = next(lbl for lbl in window.status_labels.values() if "· live ·" in lbl.text())
        qtbot.waitUntil(lambda: "· stream ·" in label.toolTip(), timeout=10_000)
        # a coarser timeframe from the View menu sums the minutes into its bars
        view = next(a for a in window.menuBar().actions() if a.text() == "&View").menu()
        assert isinstance(view, QMenu)
        timeframes = next(a for a in view.actions() if a.text() == "&Timeframe").menu()
        assert isinstance(timeframes, QMenu)
        four = next(a for a in timeframes.actions() if a.text() == "4h")
        assert isinstance(four, QAction)
        total = longs.sum() + shorts.sum()
        four.trigger()
        qtbot.waitUntil(lambda: chart.bar_seconds == 14_400, timeout=10_000)
        qtbot.waitUntil(
            lambda: "per 4.0 h" in chart.flow.label.textItem.toPlainText(), timeout=10_000
        )
        assert np.all(chart.flow.bars[0] % 14_400 == 0)
        assert chart.flow.bars[1].sum() + chart.flow.bars[2].sum() >= total
    finally:
        app.shutdown()
        app.window.deleteLater()


def test_per_bar_sums_minutes_into_the_charts_bars() -> None:
    minutes = np.array([0, 60_000, 120_000, 900_000, 960_000], dtype=np.int64)
    usd = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    x, total = per_bar(minutes, usd, 900)
    assert list(x) == [0.0, 900.0] and list(total) == [7.0, 24.0]
    x, total = per_bar(minutes, usd, 60)
    assert list(total) == list(usd)
