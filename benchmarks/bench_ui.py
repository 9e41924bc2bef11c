"""UI performance figures: cold start, GUI-thread stalls under load, pan/zoom frame rate.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui.py [--seconds 20] [--runs 3] [--stacks]

Targets: first painted window < 2 s from process start; pan and zoom ≥ 30 frames per second;
no GUI-thread gap of 50 ms or more, in every run, while the real watch service polls 5
accounts once and ten times a second each (on the local exchange, run in its own process as a
real exchange is outside the app) and the chart shows 50,000 one-minute bars. ``--stacks``
samples the GUI thread whenever it is 30 ms late and prints where it was; ``--feed`` also runs
the scripted feed of tests/ui/ui_feed.py (the window without the monitor).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if TYPE_CHECKING:
    from ui.ports import BackendFactory, BackendPort

PASSPHRASE = "bench passphrase"

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


def run_queue_ns() -> int | None:
    """How long the calling thread has waited for a CPU so far (Linux's schedstat: runnable
    but not running, because other processes had the cores); None where it is not kept."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


class Heartbeat:
    """A 5 ms timer on the GUI thread: the longest gap between its beats is how long the GUI
    was held. Each gap is also measured without the time the GUI thread waited for a CPU
    (``run_queue_ns``): what is left is the app's own doing (its work, or waiting for the GIL
    held by the monitor's threads), what was taken out is the machine's other load. With
    ``stacks``, a watcher thread samples the GUI thread's stack whenever a beat is 30 ms late,
    so a stall names the code it was in."""

    LATE_S = 0.030

    def __init__(self, warmup_s: float, stacks: bool) -> None:
        from PySide6.QtCore import QTimer

        self.warmup_s = warmup_s
        self.max_gap_ms = 0.0
        self.max_own_ms = 0.0
        self.waited_ms = 0.0
        """In the longest gap, how long the GUI thread waited for a CPU."""
        self._queued = run_queue_ns()
        self.beats = 0
        self.start = time.perf_counter()
        self.last = self.start
        self.samples: Counter[str] = Counter()
        self.gui = threading.get_ident()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.beat)
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True) if stacks else None

    def run(self) -> None:
        self.timer.start()
        if self._watcher is not None:
            self._watcher.start()

    def stop(self) -> None:
        self.timer.stop()
        self._stop.set()

    def beat(self) -> None:
        now = time.perf_counter()
        queued = run_queue_ns()
        if now - self.start > self.warmup_s:
            gap = (now - self.last) * 1000
            waited = 0.0
            if queued is not None and self._queued is not None:
                waited = (queued - self._queued) / 1e6
            if gap > self.max_gap_ms:
                self.max_gap_ms, self.waited_ms = gap, waited
            self.max_own_ms = max(self.max_own_ms, gap - waited)
        self.last = now
        self._queued = queued
        self.beats += 1

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            now = time.perf_counter()
            if now - self.start < self.warmup_s or now - self.last < self.LATE_S:
                continue
            frame = sys._current_frames().get(self.gui)
            if frame is not None:
                self.samples[_where(frame)] += 1


def _where(frame: types.FrameType) -> str:
    """The innermost frames of our own code (and the library call they are in)."""
    stack = traceback.extract_stack(frame)
    ours = [f for f in stack if str(ROOT) in f.filename and "benchmarks" not in f.filename]
    lib = stack[-1]
    tail = " < ".join(f"{Path(f.filename).stem}.{f.name}:{f.lineno}" for f in reversed(ours[-3:]))
    return (
        f"{Path(lib.filename).stem}.{lib.name} < {tail}" if ours else f"{lib.filename}:{lib.name}"
    )


def local_exchange_process() -> tuple[subprocess.Popen[str], dict[str, dict[str, str]]]:
    """The local exchange in its own process, as a real exchange is outside the app: the
    app's GUI thread shares its interpreter only with the monitor."""
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "localexchange", "--json", "--speed", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    text = ""
    for line in proc.stdout:  # one JSON object, over several lines
        text += line
        try:
            return proc, json.loads(text)["exchanges"]
        except json.JSONDecodeError:
            continue
    raise RuntimeError("the local exchange did not start")


def monitor_backend(poll_interval_s: float) -> BackendFactory:
    """A ``backend_factory`` for the real watch service (``ui.backend.Backend``) on the app's
    database, its accounts polled every ``poll_interval_s`` (faster than the settings'
    1 s floor: the exchange's own rate limit still applies)."""
    from monitor.service import WatchService
    from storage.database import open_database
    from ui.backend import Backend, open_secret_store

    class Polled(Backend):
        def _make_service(self) -> WatchService:
            return WatchService(
                self.db, self.secrets, self.callbacks, poll_interval_s=poll_interval_s
            )

    def make(callbacks: Any, *, data_dir: Path, scenario: str, speed: float) -> BackendPort:
        db = open_database(data_dir, False)
        secrets = open_secret_store(data_dir, lambda ask: PASSPHRASE)
        return Polled(data_dir, callbacks, db, secrets, demo=False, scenario=scenario, speed=speed)

    return make


def venue_for(polls_per_s: float) -> str:
    """The venue whose rate limit lets an account be polled this often: Binance (four
    requests a poll, one poll every 0.2 s at most), else Hyperliquid (one request, 0.05 s)."""
    from monitor.service import min_poll_interval_s

    if min_poll_interval_s("binanceusdm") <= 1.0 / polls_per_s:
        return "binanceusdm"
    return "hyperliquid"


def gui_gaps_monitor(
    seconds: float,
    polls_per_s: float,
    venue: dict[str, dict[str, str]],
    accounts: int = 5,
    bars: int = 50_000,
    stacks: bool = False,
) -> tuple[Heartbeat, int, int]:
    """The longest GUI-thread gap (ms) with the real watch service polling ``accounts``
    accounts on the local exchange ``polls_per_s`` times a second each (``venue_for``), while
    the chart shows 50,000 one-minute BTC bars (a fresh 50,000-bar update every second, beside
    the monitor's own); also the beats, the account updates, the bars on the chart at the end
    and, with ``stacks``, where the GUI thread was when it was late (on the heartbeat)."""
    from PySide6.QtCore import QTimer

    from connectors.credentials import Credentials
    from monitor.events import MarketUpdate
    from storage.database import open_database
    from storage.records import AccountRecord
    from tests.ui.ui_feed import history_candles
    from ui.app import App
    from ui.backend import open_secret_store

    data_dir = Path(tempfile.mkdtemp())
    os.environ["CASCADE_SECRET_BACKEND"] = "file"
    exchange = venue_for(polls_per_s)
    where = venue[exchange]
    creds = (
        Credentials(wallet=where["walletAddress"])
        if exchange == "hyperliquid"
        else Credentials(where["apiKey"], where["secret"])
    )
    db = open_database(data_dir, False)
    secrets = open_secret_store(data_dir, lambda ask: PASSPHRASE)
    assert secrets is not None
    for i in range(accounts):
        secrets.set(f"bench-{i}", creds)
        db.accounts.add(
            AccountRecord(exchange, f"Account {i + 1}", where["rest"], secret_name=f"bench-{i}")
        )
    db.close()
    app = App(data_dir, crash_dialog=False, backend_factory=monitor_backend(1.0 / polls_per_s))
    app.window.resize(1560, 960)
    app.window.chart.set_timeframe("1m")
    app.start()
    updates = [0]
    app.bridge.sigAccount.connect(lambda _u: updates.__setitem__(0, updates[0] + 1))
    symbol = "BTC/USDC:USDC" if exchange == "hyperliquid" else "BTC/USDT:USDT"
    big = history_candles(symbol, int(time.time() * 1000) // 60_000 * 60_000, bars, 104_000.0)

    def inject() -> None:
        app.bridge.on_market(MarketUpdate(symbol, int(time.time() * 1000), big, None, None, None))
        app.window.chart.set_symbol(symbol)

    feeder = QTimer()
    feeder.setInterval(1000)
    feeder.timeout.connect(inject)
    heart = Heartbeat(warmup_s=3.0, stacks=stacks)
    heart.run()
    feeder.start()
    QTimer.singleShot(int(seconds * 1000), app.qapp.quit)
    app.qapp.exec()
    heart.stop()
    feeder.stop()
    shown = len(app.window.chart.candles.x)
    app.shutdown()
    app.dispose()
    return heart, updates[0], shown


def gui_gaps_feed(seconds: float, speed: float) -> tuple[float, int, int]:
    """The same heartbeat on the scripted feed (tests/ui/ui_feed.py): 5 accounts, each
    updated speed/60 times a second, and 50,000 one-minute bars per symbol per update."""
    from PySide6.QtCore import QTimer

    from tests.ui.ui_feed import feed_backend
    from ui.app import App

    app = App(
        Path(tempfile.mkdtemp()),
        crash_dialog=False,
        backend_factory=feed_backend(demo_speed=speed, extra_accounts=4, history=50_000),
    )
    app.window.resize(1560, 960)
    app.window.chart.set_timeframe("1m")
    app.start()
    updates = [0]
    app.bridge.sigAccount.connect(lambda _u: updates.__setitem__(0, updates[0] + 1))
    heart = Heartbeat(warmup_s=1.0, stacks=False)
    heart.run()
    QTimer.singleShot(int(seconds * 1000), app.qapp.quit)
    app.qapp.exec()
    heart.stop()
    app.shutdown()
    app.dispose()
    return heart.max_gap_ms, heart.beats, updates[0]


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
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each stall run")
    ap.add_argument("--runs", type=int, default=3, help="stall runs per poll rate")
    ap.add_argument("--stacks", action="store_true", help="say where the GUI thread stalled")
    ap.add_argument("--feed", action="store_true", help="also run on the scripted feed")
    ap.add_argument("--only-gaps", action="store_true", help="skip start-up and pan/zoom")
    args = ap.parse_args()
    import ui  # noqa: F401  (the PySide6 / Python 3.11 workaround)

    # a poll that overruns at 10 a second is skipped by the scheduler: not news here
    logging.getLogger("apscheduler").setLevel(logging.ERROR)

    if not args.only_gaps:
        fake_start = cold_start(fake=True)
        print(f"cold start, first paint (scripted feed):  {fake_start:6.2f} s   (target < 2 s)")
        try:
            real_start = cold_start(fake=False)
            print(f"cold start, first paint (monitor + demo): {real_start:6.2f} s   (target < 2 s)")
        except Exception as exc:
            print(f"cold start with the monitor failed: {exc}")
        pan, zoom, full = pan_zoom_fps()
        print(f"pan, 300 of 50,000 bars in view:          {pan:6.1f} fps (target ≥ 30)")
        print(f"zoom 300 → 50,000 bars and back:           {zoom:6.1f} fps (target ≥ 30)")
        print(f"pan with all 50,000 bars in view:         {full:6.1f} fps (target ≥ 30)")
    proc, venue = local_exchange_process()
    try:
        for rate in (1.0, 10.0):
            for run in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                heart, updates, shown = gui_gaps_monitor(
                    args.seconds, rate, venue, stacks=args.stacks
                )
                print(
                    f"GUI max gap, real monitor, 5 {venue_for(rate)} accounts polled {rate:g}/s "
                    "each, 50k bars, "
                    f"run {run}: {heart.max_gap_ms:6.1f} ms (of which {heart.waited_ms:.1f} ms "
                    f"waiting for a CPU; the app's own longest {heart.max_own_ms:.1f} ms; "
                    f"target < 50) — {heart.beats} beats, {updates} account updates in "
                    f"{args.seconds:g} s, {shown:,} bars shown, load average {load:.1f} "
                    f"on {os.cpu_count()} cores",
                    flush=True,
                )
                for place, n in heart.samples.most_common(5):
                    print(f"    late {n:4d}× in {place}")
    finally:
        proc.terminate()
        proc.wait(10)
    if args.feed:
        for speed in (60.0, 600.0):
            gap, beats, updates = gui_gaps_feed(args.seconds, speed)
            print(
                f"GUI max gap, scripted feed, 5 accounts updated {speed / 60:g}/s, 50k bars: "
                f"{gap:6.1f} ms ({beats} beats, {updates} account updates)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
