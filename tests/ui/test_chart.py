"""The candle item and the chart with many bars: clip to view, downsampling, paced redraws."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

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
