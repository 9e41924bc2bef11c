"""Watch-loop benchmarks against the local exchange; prints its figures.

1. Tick-to-warning latency: the local exchange's BTC mark is moved across the liquidation
   distance threshold (``lx.set_mark``; the fixed-distance rules switched on) and the time to
   the warning callback is measured, at a 1 s poll interval. The poll runs on its own
   schedule, so the latency is the wait for the next poll (uniform over 0..1 s, ~0.5 s on
   average) plus the poll itself (HTTP round trips to the local exchange, the risk report, the
   rules, one SQLite write). Both parts are printed. Target: median under 1.2 s.
2. CPU of the loop watching 5 accounts at a 5 s interval (time.process_time of this process
   over a wall interval, minus the local exchange's share measured with the loop stopped).
   Target: under 5 % of one core.
3. Condition-to-push latency: as in 1, with the watch's push sender posting to a local HTTP
   receiver on 127.0.0.1 (apprise's json:// target, tests/notify/push_receiver.py): from the
   mark crossing the threshold to the push arriving, and the part of it after the warning
   fired (the sender's queue, policy, apprise and the HTTP POST). Target: median under 1 s
   beyond the poll.

    python benchmarks/bench_latency.py [--trials 20] [--cpu-seconds 60] [--push-trials 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts import WarningRule
from monitor.events import NullCallbacks
from monitor.service import WatchService
from settings.registry import FIXED_PERCENT
from settings.store import SettingsStore
from storage.database import Database
from storage.records import AccountRecord

BTC = "BTC/USDT:USDT"


class Timing(NullCallbacks):
    """Timestamps the first distance warning after ``arm()`` and each poll's duration."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.armed_at = 0.0
        self.fired_at = 0.0
        self.severities: set[str] = set()
        self.polls: list[float] = []
        self.last_account = 0.0

    def arm(self) -> None:
        self.event.clear()
        self.armed_at = time.perf_counter()

    def on_account(self, u) -> None:  # type: ignore[no-untyped-def]
        self.last_account = time.perf_counter()

    def on_warning(self, e) -> None:  # type: ignore[no-untyped-def]
        w = e.warning
        if (
            w.rule is WarningRule.LIQUIDATION_DISTANCE
            and BTC in w.symbols
            and e.change.is_new
            and not self.event.is_set()
        ):
            self.fired_at = time.perf_counter()
            self.event.set()


def fixed_distances(db: Database) -> None:
    """Switch the fixed-distance rules on (off by default since the probability headline): the
    benchmark moves the mark across a fixed distance, which makes a warning at will."""
    SettingsStore(db.settings).set(FIXED_PERCENT, True)


def bench_latency(trials: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    db = Database.open(tmp / "demo.db")
    fixed_distances(db)
    cb = Timing()
    svc = WatchService(
        db, None, cb, demo=True, demo_speed=1.0, poll_interval_s=1.0, market_interval_s=3600
    )
    svc.start()
    lx = svc.demo_exchange
    lx.pause()
    time.sleep(2.0)
    report = svc.jobs.accounts[1].report
    pos = next(p for p in report.positions if p.symbol == BTC)
    liq = pos.liquidation_price.value
    safe = liq * 1.25
    danger = liq * 1.03  # 3 % above the liquidation price: critical distance
    poll_ms: list[float] = []
    latencies: list[float] = []
    original = svc.jobs._fetch

    def timed_fetch(s):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        original(s)
        poll_ms.append((time.perf_counter() - t0) * 1000)

    svc.jobs._fetch = timed_fetch  # type: ignore[method-assign]
    http_ms: list[float] = []
    conn = svc.jobs.accounts[1].connector
    fetch_account = conn.fetch_account

    def timed_http():  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return fetch_account()
        finally:
            http_ms.append((time.perf_counter() - t0) * 1000)

    conn.fetch_account = timed_http
    eval_ms: list[float] = []
    evaluate = svc.jobs.evaluate

    def timed_evaluate(slot, now_ms):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return evaluate(slot, now_ms)
        finally:
            eval_ms.append((time.perf_counter() - t0) * 1000)

    svc.jobs.evaluate = timed_evaluate  # type: ignore[method-assign]
    for _ in range(trials):
        lx.set_mark("BTC", safe)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if not any(w.rule is WarningRule.LIQUIDATION_DISTANCE for w in svc.open_warnings()):
                break
        time.sleep(0.1 + (len(latencies) % 7) * 0.13)  # de-phase from the poll schedule
        cb.arm()
        lx.set_mark("BTC", danger)
        if cb.event.wait(5.0):
            latencies.append(cb.fired_at - cb.armed_at)
    svc.stop()
    db.close()
    lat = sorted(latencies)
    print(f"tick-to-warning latency, 1 s poll, {len(lat)}/{trials} trials")
    print(
        f"  median {statistics.median(lat):.3f} s   p90 {lat[int(0.9 * (len(lat) - 1))]:.3f} s"
        f"   max {lat[-1]:.3f} s   min {lat[0]:.3f} s"
    )
    med = statistics.median
    print(
        f"  one poll: fetch + report + store {med(poll_ms):.1f} ms (of which the HTTP read of"
        f" the account {med(http_ms):.1f} ms), rules + alerts {med(eval_ms):.1f} ms"
    )
    work = (med(poll_ms) + med(eval_ms)) / 1000
    wait = med(lat) - work
    print(f"  the rest is the wait for the next scheduled poll: ~{wait:.3f} s (median)")


def bench_push(trials: int) -> None:
    from notify.channel import Channel
    from notify.sender import PushSender
    from tests.notify.push_receiver import PushReceiver

    with PushReceiver() as receiver:
        push = PushSender([Channel.from_url("bench", receiver.url)])
        push.start()
        tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
        db = Database.open(tmp / "demo.db")
        fixed_distances(db)
        cb = Timing()
        svc = WatchService(
            db,
            None,
            cb,
            demo=True,
            demo_speed=1.0,
            poll_interval_s=1.0,
            market_interval_s=3600,
            push=push,
        )
        svc.start()
        lx = svc.demo_exchange
        lx.pause()
        time.sleep(2.0)
        pos = next(p for p in svc.jobs.accounts[1].report.positions if p.symbol == BTC)
        liq = pos.liquidation_price.value

        def distance_pushes() -> list[float]:
            return [m.at for m in receiver.received if "liquidation distance" in m.message]

        total: list[float] = []
        beyond: list[float] = []
        for i in range(trials):
            lx.set_mark("BTC", liq * 1.25)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                time.sleep(0.2)
                if not any(w.rule is WarningRule.LIQUIDATION_DISTANCE for w in svc.open_warnings()):
                    break
            time.sleep(0.1 + (i % 7) * 0.13)
            before = len(distance_pushes())
            cb.arm()
            armed_wall = time.time()
            lx.set_mark("BTC", liq * 1.03)
            if not cb.event.wait(5.0):
                continue
            fired_wall = armed_wall + (cb.fired_at - cb.armed_at)
            deadline = time.monotonic() + 5
            while len(distance_pushes()) <= before and time.monotonic() < deadline:
                time.sleep(0.005)
            arrived = distance_pushes()[before:]
            if arrived:
                total.append(arrived[0] - armed_wall)
                beyond.append(arrived[0] - fired_wall)
        svc.stop()
        push.stop()
        db.close()
    med = statistics.median
    tot, bey = sorted(total), sorted(beyond)
    print(
        f"condition-to-push latency, 1 s poll, local json:// receiver, {len(tot)}/{trials} trials"
    )
    print(
        f"  mark crosses -> push arrives: median {med(tot):.3f} s   p90 "
        f"{tot[int(0.9 * (len(tot) - 1))]:.3f} s   max {tot[-1]:.3f} s"
    )
    print(
        f"  beyond the poll (warning fired -> push arrives): median {med(bey) * 1000:.1f} ms"
        f"   p90 {bey[int(0.9 * (len(bey) - 1))] * 1000:.1f} ms   max {bey[-1] * 1000:.1f} ms"
        "   (target: median under 1 s)"
    )


def bench_cpu(seconds: float, accounts: int = 5) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    db = Database.open(tmp / "demo.db")
    for i in range(accounts):
        db.accounts.add(AccountRecord("binanceusdm", f"Demo {i + 1}", is_demo=True))
    svc = WatchService(db, None, NullCallbacks(), demo=True, demo_speed=1.0, poll_interval_s=5.0)
    svc.start()
    time.sleep(8.0)  # first polls, market data, recompute
    c0, w0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    c1, w1 = time.process_time(), time.monotonic()
    n_accounts = len(svc.jobs.accounts)
    t0 = time.perf_counter()
    svc.jobs.refresh_markets()
    t1 = time.perf_counter()
    svc.jobs.recompute_all()
    t2 = time.perf_counter()
    svc.stop()
    db.close()
    share = (c1 - c0) / (w1 - w0) * 100
    print(f"CPU watching {n_accounts} accounts at a 5 s poll for {w1 - w0:.0f} s")
    print(
        f"  {share:.2f} % of one core (loop + the in-process local exchange serving it;"
        " an upper bound for the loop alone)"
    )
    print(
        f"  per minute: market refresh {(t1 - t0) * 1000:.0f} ms, recompute of levels, liquidation"
        f" map and cascades {(t2 - t1) * 1000:.0f} ms (BTC and ETH, wall time)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument("--push-trials", type=int, default=20)
    args = parser.parse_args()
    bench_latency(args.trials)
    bench_push(args.push_trials)
    bench_cpu(args.cpu_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
