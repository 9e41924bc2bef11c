"""How often the chance-of-liquidation warning is announced on the 2025-11-04 demo, at the
pace a trader lives it; prints its figures.

1. The real monitor watches the demo account on the local exchange (the replay of the real
   Binance candles of 3-4 November 2025) from 3 Nov 20:00 to its liquidation, one poll per
   scenario minute (``--speed`` 240: a poll every 0.25 s), and records each poll's P(24 h)
   from the report it built (``AccountUpdate.report.odds``: the figure the warning reads).
2. That series is replayed through the warning lifecycle (``monitor.alerts.AlertManager``, a
   real database) in scenario time — one minute per poll, as a trader watching that day live
   would have polled — with the shipped rule's thresholds and hysteresis (10 % warning, 35 %
   critical, 10 % hysteresis), for several settings of the hold before a fall
   (``alerts.deescalate_after_min``) and the window within which a return to a severity is
   not announced again (``alerts.reannounce_after_min``). Each line prints the announcements
   (fired / escalated: a banner, a sound, a push).

The live run's own announcements are in real time (its hold and window then span hours of the
sped-up scenario), so only the replay says what a trader would get.

    python benchmarks/eval_flapping.py [--speed 240]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts import Condition, Thresholds, WarningRule, warning_key
from alerts.probability_rule import _severity as probability_severity
from monitor.alerts import AlertManager
from monitor.events import AccountUpdate, NullCallbacks, WarningEvent
from monitor.service import WatchService
from settings.registry import DEESCALATE_AFTER_MIN, REANNOUNCE_AFTER_MIN
from storage.database import Database
from storage.records import AccountRecord

SYMBOLS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
SETTINGS = [(0, 0), (10, 0), (30, 0), (0, 60), (10, 60), (10, 120)]
"""(hold, window) in minutes; (0, 0) is the lifecycle before either."""


class Series(NullCallbacks):
    def __init__(self) -> None:
        self.lx = None
        self.points: list[tuple[int, float]] = []
        self.live: list[WarningEvent] = []
        self.lock = threading.Lock()

    def on_account(self, u: AccountUpdate) -> None:
        r = u.report
        if self.lx is None or r is None or r.odds is None or not r.positions:
            return
        with self.lock:
            self.points.append((self.lx.scenario_time_ms(), r.odds.p24))

    def on_warning(self, e: WarningEvent) -> None:
        with self.lock:
            self.live.append(e)


def record(speed: float, folder: Path) -> tuple[list[tuple[int, float]], int, list[WarningEvent]]:
    rec = Series()
    db = Database.open(folder / "live.db")
    svc = WatchService(
        db,
        None,
        rec,
        demo=True,
        demo_speed=speed,
        poll_interval_s=60.0 / speed,
        market_interval_s=max(3.0, 3600.0 / speed / 4),
    )
    svc.start()
    try:
        lx = svc.demo_exchange
        assert lx is not None
        rec.lx = lx
        lx.seek(20 * 3600)  # 3 Nov 20:00
        deadline = time.monotonic() + 30 * 3600 / speed + 120
        while time.monotonic() < deadline:
            done = next((e for e in lx.liquidations if e.exchange == "binanceusdm"), None)
            if done is not None:
                break
            time.sleep(0.5)
        else:
            raise SystemExit("the demo account was never liquidated")
    finally:
        svc.stop(timeout=5.0)
        db.close()
    return rec.points, done.time_ms, rec.live


def replay(
    points: list[tuple[int, float]], hold_min: int, window_min: int, folder: Path
) -> list[WarningEvent]:
    db = Database.open(folder / f"replay-{hold_min}-{window_min}.db")
    db.accounts.add(AccountRecord("binanceusdm", "Demo"))
    seen: list[WarningEvent] = []
    am = AlertManager(
        db.warnings, seen.append, hold_ms=hold_min * 60_000, reannounce_ms=window_min * 60_000
    )
    key = warning_key(WarningRule.LIQUIDATION_PROBABILITY, 1, SYMBOLS)
    thresholds = Thresholds()
    for ts, p in points:
        severity = probability_severity(p, key, thresholds, am.active_keys(1))
        conds = (
            []
            if severity is None
            else [
                Condition(WarningRule.LIQUIDATION_PROBABILITY, severity, 1, SYMBOLS, f"{p:.3f}", p)
            ]
        )
        am.update(1, conds, (WarningRule.LIQUIDATION_PROBABILITY,), ts)
    db.close()
    return [e for e in seen if e.change.is_new]


def hhmm(ms: int) -> str:
    return time.strftime("%d %b %H:%M", time.gmtime(ms / 1000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=240.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        points, liquidated_ms, live = record(args.speed, folder)
        print(
            f"P(24 h) at {len(points)} polls, {hhmm(points[0][0])} .. {hhmm(points[-1][0])}; "
            f"liquidated {hhmm(liquidated_ms)} UTC"
        )
        above = sum(1 for _, p in points if p >= Thresholds().probability_critical)
        print(f"polls at or above the critical line (35 %): {above}")
        shipped = (DEESCALATE_AFTER_MIN.default, REANNOUNCE_AFTER_MIN.default)
        print("replayed at the trader's pace (one poll a scenario minute):")
        for hold, window in SETTINGS:
            news = replay(points, hold, window, folder)
            escalations = [e for e in news if e.change.value == "escalated"]
            mark = "  <- shipped" if (hold, window) == shipped else ""
            print(
                f"  hold {hold:>2} min, window {window:>3} min: {len(escalations)} escalation(s) "
                f"to CRITICAL, {len(news)} announcement(s){mark}"
            )
            print(
                "      "
                + ", ".join(
                    f"{hhmm(e.at_ms or 0)} {e.change.value} {e.warning.severity.label}"
                    for e in news
                )
            )
        rule = WarningRule.LIQUIDATION_PROBABILITY
        live_news = [e for e in live if e.warning.rule is rule and e.change.is_new]
        print(
            f"the live run itself (real-time settings at {args.speed:g}x): "
            f"{sum(e.change.value == 'escalated' for e in live_news)} escalation(s)"
        )


if __name__ == "__main__":
    main()
