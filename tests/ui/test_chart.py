"""The candle item and the chart with many bars: clip to view, downsampling, paced redraws."""

from __future__ import annotations

import dataclasses

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter

from monitor.events import MarketUpdate
from risk.types import Candles
from tests.ui.ui_feed import history_candles, level, levels_of, liqmap_of
from ui.candles_item import CandlesItem
from ui.chart import PriceChart, liqmap_bins, resample, support_zones


def make_candles(n: int) -> Candles:
    return history_candles("BTC/USDT:USDT", 1_762_214_400_000, n, 100_000.0)


def test_resample_merges_bars() -> None:
    c = make_candles(600)
    x, o, h, lo, cl = resample(c, 300)
    assert len(x) in (120, 121)
    assert np.all(h >= np.maximum(o, cl)) and np.all(lo <= np.minimum(o, cl))
    assert cl[-1] == c.close[-1]


def test_candles_item_draws_only_the_visible_bars(qtbot) -> None:
    item = CandlesItem()
    c = make_candles(50_000)
    x = c.ts_ms / 1000.0
    item.setData(x, c.open, c.high, c.low, c.close, bar_width=60.0)
    lo, hi = item.dataBounds(1, orthoRange=(x[-100], x[-1]))
    assert lo <= c.low[-100:].min() and hi >= c.high[-100:].max()
    assert hi <= c.high.max()
    paths = item._build(49_000, 50_000, 10)
    # 1,000 bars merged 10 by 10: about 100 wicks, rising and falling together.
    assert 80 <= paths[0].elementCount() // 2 + paths[1].elementCount() // 2 <= 110
    assert item.boundingRect() != QRectF()


def test_chart_holds_50k_candles_and_redraws_on_its_timer(qtbot) -> None:
    chart = PriceChart(redraw_hz=20)
    qtbot.addWidget(chart)
    chart.resize(1000, 600)
    chart.show()
    qtbot.waitExposed(chart)
    c = make_candles(50_000)
    mark = float(c.close[-1])
    zones = levels_of("BTC/USDT:USDT", mark, [level(99_000, 99_400, 2.5, ("9 touches",))])
    prices = np.linspace(90_000, 110_000, 200)
    lm = liqmap_of("BTC/USDT:USDT", mark, prices, np.full(200, 1e6), np.full(200, 2e6))
    frames = chart.frames
    for _ in range(50):  # a burst of ticks costs one redraw
        chart.set_market(MarketUpdate("BTC/USDT:USDT", 0, c, zones, lm, None, {}))
    assert chart.frames == frames + 1  # the first symbol applies at once
    chart.set_liquidations([(95_000.0, "LIQ long", "#ff0000")])
    qtbot.waitUntil(lambda: len(chart._liq_items) == 1, timeout=5_000)
    assert len(chart._zone_items) == 1
    chart.plot.setXRange(float(c.ts_ms[0] / 1000), float(c.ts_ms[-1] / 1000), padding=0)
    chart.glw.grab()  # paints every candle in view (downsampled) without error


def test_support_zones_keep_the_near_ones() -> None:
    zones = levels_of(
        "BTC/USDT:USDT",
        100_000.0,
        [
            level(99_000, 99_500, 1.0),
            level(60_000, 61_000, 9.0),
            level(98_000, 98_500, 3.0),
            level(120_000, 121_000, 5.0),
        ],
    )
    kept = support_zones(zones, 100_000.0)
    assert [z.score for z in kept] == [3.0, 1.0]


def test_liqmap_rebinned_keeps_the_total() -> None:
    prices = np.linspace(95_000, 105_000, 1000)
    lm = liqmap_of("BTC/USDT:USDT", 100_000.0, prices, np.ones(1000), np.zeros(1000))
    centres, longs, shorts = liqmap_bins(lm, 90_000, 110_000, bins=40)
    assert len(centres) == 40 and longs.sum() == 1000 and shorts.sum() == 0


def shown_chart(qtbot, lm_proxy: bool = False) -> tuple[PriceChart, Candles]:
    """A chart on screen with 600 one-minute bars, two supports close together, the cascade
    label's price near them, two liquidation lines 0.1 % apart and a liquidation map."""
    chart = PriceChart(redraw_hz=20)
    qtbot.addWidget(chart)
    chart.resize(900, 600)
    chart.show()
    qtbot.waitExposed(chart)
    c = make_candles(600)
    mark = float(c.close[-1])
    zones = levels_of(
        "BTC/USDT:USDT",
        mark,
        [level(mark * 0.985, mark * 0.987, 2.5), level(mark * 0.982, mark * 0.984, 1.5)],
    )
    prices = np.linspace(mark * 0.85, mark * 1.15, 300)
    lm = liqmap_of("BTC/USDT:USDT", mark, prices, np.full(300, 2e6), np.full(300, 1e6))
    lm = dataclasses.replace(lm, is_proxy=lm_proxy)
    chart.set_market(MarketUpdate("BTC/USDT:USDT", 0, c, zones, lm, None, {}))
    chart.set_liquidations(
        [(mark * 0.975, "LIQ long  97,500.0", "#ff8800"), (mark * 0.974, "LIQ joint", "#ff0000")]
    )
    chart.redraw_now()
    qtbot.waitUntil(lambda: len(chart.label_texts()) >= 5, timeout=5_000)
    return chart, c


def test_labels_never_overlap_and_sit_above_the_candles(qtbot) -> None:
    chart, _ = shown_chart(qtbot)
    chart.glw.grab()  # painted: the labels' places are final
    rects = chart.labels.scene_rects()
    assert len(rects) == len(chart.label_texts()) >= 5
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not a.intersects(b), chart.label_texts()
    plot = chart.plot.getViewBox().sceneBoundingRect()
    assert all(plot.contains(r) for r in rects)
    assert all(item.zValue() > chart.candles.zValue() for item in chart.labels.items)
    assert all(item.fill.style() != Qt.BrushStyle.NoBrush for item in chart.labels.items)
    # the lines themselves are at their prices, whatever the labels' places
    assert [round(line.value(), 6) for line in chart._liq_items] == [
        round(line.price, 6) for line in chart._liq_lines
    ]


def test_the_price_axis_groups_thousands(qtbot) -> None:
    chart, _ = shown_chart(qtbot)
    axis = chart.price_axis
    image = QImage(200, 600, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    drawn = [text for _rect, _flags, text in texts]
    assert drawn and all("," in t for t in drawn), drawn  # 99,800 rather than 99800


def test_the_liquidation_map_has_a_usd_scale_and_a_hover_readout(qtbot) -> None:
    chart, c = shown_chart(qtbot)
    heat = chart.heat
    ticks = heat.getAxis("bottom")._tickLevels[0]
    assert ticks and all(text.endswith(" M") for _v, text in ticks), ticks
    assert "USD" in heat.titleLabel.text
    vb = heat.getViewBox()
    price = float(c.close[-1]) * 0.99  # within the price range in view
    point = vb.mapViewToScene(QPointF(1e6, price))
    qtbot.mouseMove(chart.glw.viewport(), chart.glw.mapFromScene(point))
    qtbot.waitUntil(lambda: chart.readout.text().startswith("liquidations "), timeout=3_000)
    text = chart.readout.text()
    assert "USD" in text and "longs" in text and "(estimate)" in text


def test_a_proxy_map_says_its_amounts_are_relative(qtbot) -> None:
    chart, _ = shown_chart(qtbot, lm_proxy=True)
    assert "relative" in chart.heat.titleLabel.text
    ticks = chart.heat.getAxis("bottom")._tickLevels[0]
    assert ticks and all(text.endswith(" %") for _v, text in ticks), ticks
