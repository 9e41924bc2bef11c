"""UI performance figures: cold start, GUI-thread stalls under load, pan/zoom frame rate.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui.py [--seconds 10]

Targets: first painted window < 2 s from process start; no GUI-thread gap > 50 ms while 5
accounts poll and the chart holds 50,000 candles; pan and zoom ≥ 30 frames per second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CHILD = r"""
import sys, time, tempfile
sys.path.insert(0, {root!r})
from pathlib import Path
from PySide6.QtCore import QEvent, QObject
from ui.app import App
{feed_import}
class FirstPaint(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint:
            print("PAINTED", time.time(), flush=True)
            app.qapp.quit()
        return False

app = App(Path(tempfile.mkdtemp()), backend_factory={factory}, defer_backend=True)
f = FirstPaint()
app.window.installEventFilter(f)
app.start()
app.qapp.exec()
app.shutdown()
app.dispose()
"""


def cold_start(fake: bool) -> float:
    """Seconds from launching the interpreter to the main window's first paint event; with
    ``fake`` the app runs on the scripted feed of tests/ui/ui_feed.py instead of the monitor."""
    child = CHILD.format(
        root=str(ROOT),
        feed_import="from tests.ui.ui_feed import feed_backend" if fake else "",
        factory="feed_backend()" if fake else "None",
    )
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", child],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    ).stdout
    for line in out.splitlines():
        if line.startswith("PAINTED"):
            return float(line.split()[1]) - t0
    raise RuntimeError("the window never painted:\n" + out)


def gui_gaps(seconds: float, speed: float) -> tuple[float, int, int]:
    """Max gap (ms) between 5 ms heartbeats while 5 accounts poll (speed/60 times a second)
    and the chart holds 50,000 candles per symbol (a fresh 50,000-bar update per symbol per
    poll); also the heartbeats and account updates seen."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    from tests.ui.ui_feed import feed_backend
    from ui.app import App

    app = App(
        Path(tempfile.mkdtemp()),
        crash_dialog=False,
        backend_factory=feed_backend(demo_speed=speed, extra_accounts=4, history=50_000),
    )
    app.window.resize(1560, 960)
    app.start()
    updates = [0]
    app.bridge.sigAccount.connect(lambda _u: updates.__setitem__(0, updates[0] + 1))
    clock = QElapsedTimer()
    max_gap = [0.0]
    beats = [0]
    last = [0.0]

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        if now > 1000:  # the first second is start-up (measured by cold_start)
            max_gap[0] = max(max_gap[0], now - last[0])
        last[0] = now
        beats[0] += 1

    hb = QTimer()
    hb.setInterval(5)
    hb.timeout.connect(beat)
    clock.start()
    hb.start()
    QTimer.singleShot(int(seconds * 1000), app.qapp.quit)
    app.qapp.exec()
    hb.stop()
    n = len(app.window.chart.candles.x)
    app.shutdown()
    app.dispose()
    return max_gap[0], beats[0], updates[0] if n >= 50_000 else -n


def gui_gaps_monitor(seconds: float) -> tuple[float, int, int]:
    """The same heartbeat with the real watch service: 5 accounts (each polled every second)
    on the local exchange, and the chart's BTC candles replaced by 50,000 bars every second."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    from connectors.localexchange import LocalExchange
    from monitor.events import MarketUpdate
    from settings.registry import POLL_INTERVAL_S
    from settings.store import SettingsStore
    from storage.records import AccountRecord
    from tests.ui.ui_feed import history_candles
    from ui.app import App
    from ui.backend import open_secret_store

    data_dir = Path(tempfile.mkdtemp())
    os.environ["CASCADE_SECRET_BACKEND"] = "file"
    lx = LocalExchange(scenario="2025-11-04", speed=60.0).start()
    from storage.database import open_database

    db = open_database(data_dir, False)
    secrets = open_secret_store(data_dir, lambda is_new: "bench passphrase")
    for i in range(5):
        secrets.set(f"bench-{i}", lx.credentials("binanceusdm"))
        db.accounts.add(
            AccountRecord("binanceusdm", f"Account {i + 1}", lx.base_url, secret_name=f"bench-{i}")
        )
    SettingsStore(db.settings).set(POLL_INTERVAL_S, 1)
    db.close()
    from ui import passphrase

    passphrase.PassphrasePrompt.__call__ = lambda self, is_new: "bench passphrase"
    app = App(data_dir, crash_dialog=False)
    app.window.resize(1560, 960)
    app.start()
    updates = [0]
    app.bridge.sigAccount.connect(lambda _u: updates.__setitem__(0, updates[0] + 1))
    big = history_candles("BTC/USDT:USDT", 1_762_214_400_000, 50_000, 107_000.0)

    def inject() -> None:
        app.bridge.on_market(MarketUpdate("BTC/USDT:USDT", 0, big, None, None, None, {}))

    feeder = QTimer()
    feeder.setInterval(1000)
    feeder.timeout.connect(inject)
    clock = QElapsedTimer()
    max_gap = [0.0]
    beats = [0]
    last = [0.0]

    def beat() -> None:
        now = clock.nsecsElapsed() / 1e6
        if now > 2000:
            max_gap[0] = max(max_gap[0], now - last[0])
        last[0] = now
        beats[0] += 1

    hb = QTimer()
    hb.setInterval(5)
    hb.timeout.connect(beat)
    clock.start()
    hb.start()
    feeder.start()
    QTimer.singleShot(int(seconds * 1000), app.qapp.quit)
    app.qapp.exec()
    hb.stop()
    feeder.stop()
    app.shutdown()
    app.dispose()
    lx.stop()
    return max_gap[0], beats[0], updates[0]


def pan_zoom_fps(frames: int = 120) -> tuple[float, float, float]:
    """Frames per second of setXRange + a synchronous repaint: panning 300 bars in view,
    zooming out to all 50,000 bars and back."""
    import numpy as np
    from PySide6.QtWidgets import QApplication

    from monitor.events import MarketUpdate
    from tests.ui.ui_feed import history_candles
    from ui import theme
    from ui.chart import PriceChart

    qapp = QApplication.instance() or QApplication([])
    theme.apply(qapp, "dark")
    chart = PriceChart()
    chart.resize(1100, 650)
    chart.show()
    c = history_candles("BTC/USDT:USDT", 1_762_214_400_000, 50_000, 100_000.0)
    chart.set_market(MarketUpdate("BTC/USDT:USDT", 0, c, None, None, None, {}))
    qapp.processEvents()
    x = c.ts_ms / 1000.0
    view = chart.glw.viewport()

    def run(ranges: list[tuple[float, float]]) -> float:
        t0 = time.perf_counter()
        for a, b in ranges:
            chart.plot.setXRange(a, b, padding=0)
            chart._fit_y()
            view.repaint()
        return len(ranges) / (time.perf_counter() - t0)

    span = 300 * 60.0
    pan = [(x[-1] - span - i * 600, x[-1] - i * 600) for i in range(frames)]
    widths = np.geomspace(span, x[-1] - x[0], frames // 2)
    zoom = [(x[-1] - w, x[-1]) for w in np.concatenate([widths, widths[::-1]])]
    full = [(x[0] + i * 60, x[-1] + i * 60) for i in range(frames // 2)]
    return run(pan), run(zoom), run(full)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    import ui  # noqa: F401  (the PySide6 / Python 3.11 workaround)

    fake_start = cold_start(fake=True)
    print(f"cold start, first paint (scripted feed):      {fake_start:6.2f} s   (target < 2 s)")
    try:
        real_start = cold_start(fake=False)
        print(f"cold start, first paint (monitor + demo):     {real_start:6.2f} s   (target < 2 s)")
    except Exception as exc:
        print(f"cold start with the monitor failed: {exc}")
    pan, zoom, full = pan_zoom_fps()
    print(f"pan, 300 of 50,000 bars in view:            {pan:6.1f} fps (target ≥ 30)")
    print(f"zoom 300 → 50,000 bars and back:             {zoom:6.1f} fps (target ≥ 30)")
    print(f"pan with all 50,000 bars in view:           {full:6.1f} fps (target ≥ 30)")
    for speed in (60.0, 600.0):
        gap, beats, updates = gui_gaps(args.seconds, speed)
        print(
            f"GUI max gap, 5 accounts polling {speed / 60:g}/s, 50k candles: {gap:6.1f} ms "
            f"(target ≤ 50; {beats} beats, {updates} account updates in {args.seconds:g} s)"
        )
    gap, beats, updates = gui_gaps_monitor(args.seconds)
    print(
        f"GUI max gap, real monitor, 5 accounts polled 1/s, 50k candles: {gap:6.1f} ms "
        f"(target ≤ 50; {beats} beats, {updates} account updates in {args.seconds:g} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
