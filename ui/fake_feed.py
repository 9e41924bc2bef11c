"""A stand-in for monitor.WatchService: a scripted 2025-11-04-style crash on a worker thread.

Used when the monitor package is not available in this build, and by the UI tests and the
benchmark, which need a deterministic feed that does not touch the network. It speaks the same
callback protocol (on_account / on_market / on_warning) with look-alike event objects.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from risk.report import AccountReport, build_report
from risk.types import Account, Candles, MarginMode, MarginTier, Position, Side

log = logging.getLogger(__name__)

LEADER = "BTC/USDT:USDT"
BETAS = {LEADER: 1.0, "ETH/USDT:USDT": 1.35, "SOL/USDT:USDT": 1.6}
START_PRICES = {LEADER: 107_400.0, "ETH/USDT:USDT": 3_610.0, "SOL/USDT:USDT": 168.4}
MINUTE_MS = 60_000
SCENARIO_START_MS = 1_762_214_400_000  # 2025-11-04 00:00 UTC


@dataclass(frozen=True)
class FakeAccountUpdate:
    account_id: str
    label: str
    exchange: str
    is_demo: bool
    report: AccountReport | None
    status: str
    error: str | None
    last_ok_ms: int | None
    age_ms: int | None
    stale: bool
    permissions: Any = None
    account: Account | None = None


@dataclass(frozen=True)
class FakeZone:
    low: float
    high: float
    score: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class FakeLiqMap:
    prices: np.ndarray
    long_notional: np.ndarray
    short_notional: np.ndarray
    label: str = "estimate"


@dataclass(frozen=True)
class FakeCascade:
    support_low: float
    support_high: float
    stop_price: float
    domino_ratio: float
    sentence: str


@dataclass(frozen=True)
class FakeMarketUpdate:
    symbol: str
    as_of_ms: int
    candles: Candles | None
    levels: tuple[FakeZone, ...] = ()
    liqmap: FakeLiqMap | None = None
    cascade: FakeCascade | None = None
    betas: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FakeWarning:
    key: str
    rule: str
    severity: str
    message: str
    account_id: str | None
    symbols: tuple[str, ...]
    first_seen_ms: int
    last_seen_ms: int
    state: str = "active"
    snoozed_until_ms: int | None = None


@dataclass(frozen=True)
class FakeWarningEvent:
    change: str
    warning: FakeWarning


def crash_path(steps: int, scenario: str = "2025-11-04") -> np.ndarray:
    """The leader's relative move per replay minute: chop, a support break, a cascade, a bounce."""
    rng = np.random.default_rng(7)
    t = np.arange(steps, dtype=float)
    if scenario == "calm":
        return 0.004 * np.sin(t / 9.0) + rng.normal(0, 0.0006, steps).cumsum() * 0.2
    depth = -0.052 if scenario == "2025-11-04" else -0.085
    # 0–12: chop near the top; 12–45: slide through the 104k support; 45–60: flush; then bounce.
    shape = np.interp(
        t,
        [0, 12, 30, 45, 58, 75, 120],
        [0, -0.004, -0.022, -0.035, depth, depth * 0.8, depth * 0.75],
    )
    return shape + rng.normal(0, 0.0008, steps)


def history_candles(symbol: str, end_ms: int, n: int, last_close: float) -> Candles:
    """n one-minute bars ending at end_ms whose last close is last_close (a seeded walk)."""
    rng = np.random.default_rng(abs(hash(symbol)) % 2**32)
    rets = rng.normal(0, 0.0009, n)
    rets[-400:] += 0.00002
    log_close = np.cumsum(rets[::-1])[::-1] * -1
    close = last_close * np.exp(log_close - log_close[-1])
    open_ = np.concatenate([[close[0]], close[:-1]])
    spread = np.abs(rng.normal(0, 0.0007, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    ts = end_ms - MINUTE_MS * np.arange(n - 1, -1, -1, dtype=np.int64)
    vol = np.abs(rng.normal(100, 30, n))
    return Candles(symbol, "1m", ts, open_, high, low, close, vol)


def demo_account(marks: dict[str, float], now_ms: int) -> Account:
    tier = (MarginTier(0.0, 1e12, 0.004, 0.0, 125.0),)
    return Account(
        exchange="binanceusdm",
        wallet_balance=23_000.0,
        label="Demo cross",
        as_of_ms=now_ms,
        positions=(
            Position(
                LEADER,
                Side.LONG,
                1.6,
                106_900.0,
                marks[LEADER],
                tier,
                margin_mode=MarginMode.CROSS,
                leverage=20,
            ),
            Position(
                "ETH/USDT:USDT",
                Side.LONG,
                22.0,
                3_655.0,
                marks["ETH/USDT:USDT"],
                tier,
                margin_mode=MarginMode.CROSS,
                leverage=20,
            ),
            Position(
                "SOL/USDT:USDT",
                Side.LONG,
                310.0,
                171.2,
                marks["SOL/USDT:USDT"],
                tier,
                margin_mode=MarginMode.CROSS,
                leverage=20,
            ),
        ),
    )


class FakeFeed:
    """Replays the crash: one replay minute every 60/speed seconds of wall time."""

    demo_exchange = None

    def __init__(
        self,
        callbacks: Any,
        *,
        demo_scenario: str = "2025-11-04",
        demo_speed: float = 60.0,
        extra_accounts: int = 0,
        history: int = 3_000,
        poll_delay_s: float = 0.0,
    ) -> None:
        self.callbacks = callbacks
        self.scenario = demo_scenario
        self.speed = demo_speed
        self.extra_accounts = extra_accounts
        self.history = history
        self.poll_delay_s = poll_delay_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._warnings: dict[str, FakeWarning] = {}
        self.step = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="fake-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def acknowledge(self, key: str) -> None:
        self._change(key, "acknowledged", state="acknowledged")

    def snooze(self, key: str, until_ms: int) -> None:
        self._change(key, "snoozed", state="snoozed", snoozed_until_ms=until_ms)

    def reload_accounts(self) -> None:
        pass

    def poll_now(self, account_id: str) -> None:
        pass

    def set_demo(self, scenario: str, speed: float) -> None:
        restart = scenario != self.scenario
        self.scenario, self.speed = scenario, speed
        if restart:
            self.stop()
            self.step = 0
            with self._lock:
                self._warnings.clear()
            self.start()

    def _change(self, key: str, change: str, **kw: Any) -> None:
        with self._lock:
            w = self._warnings.get(key)
            if w is None:
                return
            w = replace(w, **kw)
            self._warnings[key] = w
        self.callbacks.on_warning(FakeWarningEvent(change, w))

    def _run(self) -> None:
        path = crash_path(400, self.scenario)
        t0 = SCENARIO_START_MS + 15 * 60 * MINUTE_MS
        candles = {s: history_candles(s, t0, self.history, p) for s, p in START_PRICES.items()}
        self.callbacks.on_account(
            FakeAccountUpdate(
                "demo",
                "Demo cross",
                "binanceusdm",
                True,
                None,
                "connecting",
                None,
                None,
                None,
                False,
            )
        )
        for i in range(self.extra_accounts):
            self.callbacks.on_account(
                FakeAccountUpdate(
                    f"acct{i}",
                    f"Account {i + 1}",
                    "bybit",
                    False,
                    None,
                    "connecting",
                    None,
                    None,
                    None,
                    False,
                )
            )
        while not self._stop.is_set():
            now_ms = t0 + (self.step + 1) * MINUTE_MS
            r = float(path[min(self.step, len(path) - 1)])
            marks = {s: p * (1 + BETAS[s] * r) for s, p in START_PRICES.items()}
            candles = {s: _append(c, now_ms, marks[s]) for s, c in candles.items()}
            self._publish(now_ms, marks, candles)
            self.step += 1
            if self._stop.wait(60.0 / max(self.speed, 0.1)):
                break

    def _publish(self, now_ms: int, marks: dict[str, float], candles: dict[str, Candles]) -> None:
        account = demo_account(marks, now_ms)
        report = build_report(
            account, leader=LEADER, betas=BETAS, sigma_daily={s: 0.03 * BETAS[s] for s in BETAS}
        )
        self.callbacks.on_account(
            FakeAccountUpdate(
                "demo",
                "Demo cross",
                "binanceusdm",
                True,
                report,
                "ok",
                None,
                now_ms,
                0,
                False,
                None,
                account,
            )
        )
        for i in range(self.extra_accounts):
            if self.poll_delay_s:
                time.sleep(self.poll_delay_s)
            acc = replace(account, label=f"Account {i + 1}", exchange="bybit")
            rep = build_report(acc, leader=LEADER, betas=BETAS)
            self.callbacks.on_account(
                FakeAccountUpdate(
                    f"acct{i}",
                    f"Account {i + 1}",
                    "bybit",
                    False,
                    rep,
                    "ok",
                    None,
                    now_ms,
                    0,
                    False,
                    None,
                    acc,
                )
            )
        btc = marks[LEADER]
        zones = (
            FakeZone(103_600, 104_200, 0.82, ("4h swing lows", "volume node")),
            FakeZone(99_800, 100_400, 0.66, ("round number", "Oct lows")),
        )
        prices = np.linspace(96_000, 112_000, 64)
        longs = 4e7 * np.exp(-(((prices - 101_500) / 1_400) ** 2)) * (prices < btc)
        shorts = 3e7 * np.exp(-(((prices - 110_500) / 1_200) ** 2)) * (prices > btc)
        liq = FakeLiqMap(prices, longs, shorts)
        cascade = FakeCascade(
            103_600,
            104_200,
            100_900,
            1.8,
            "If 103,600 breaks, long liquidations may carry BTC to ~100,900.",
        )
        for s, c in candles.items():
            self.callbacks.on_market(
                FakeMarketUpdate(
                    s,
                    now_ms,
                    c,
                    zones if s == LEADER else (),
                    liq if s == LEADER else None,
                    cascade if s == LEADER else None,
                    dict(BETAS),
                )
            )
        self._rules(now_ms, report, btc)

    def _rules(self, now_ms: int, report: AccountReport, btc: float) -> None:
        jm = report.joint_move.nearest if report.joint_move else None
        wanted: dict[str, tuple[str, str, str]] = {}
        if btc < 103_600:
            wanted["support:BTC:103600"] = (
                "support_break",
                "warning",
                "BTC broke the 103,600–104,200 support; next stop ~100,900 (cascade estimate)",
            )
        if jm is not None and abs(jm) < 0.05:
            sev = "critical" if abs(jm) < 0.03 else "warning"
            wanted["headroom:demo"] = (
                "joint_move",
                sev,
                f"Demo cross: a BTC move of {jm * 100:+.1f} % (alts following) liquidates it",
            )
        events: list[FakeWarningEvent] = []
        with self._lock:
            for key, (rule, sev, msg) in wanted.items():
                old = self._warnings.get(key)
                if old is None:
                    w = FakeWarning(key, rule, sev, msg, "demo", (LEADER,), now_ms, now_ms)
                    self._warnings[key] = w
                    events.append(FakeWarningEvent("fired", w))
                elif old.state in ("resolved",):
                    w = replace(old, severity=sev, message=msg, state="active", last_seen_ms=now_ms)
                    self._warnings[key] = w
                    events.append(FakeWarningEvent("fired", w))
                elif old.severity != sev and sev == "critical":
                    w = replace(old, severity=sev, message=msg, last_seen_ms=now_ms, state="active")
                    self._warnings[key] = w
                    events.append(FakeWarningEvent("escalated", w))
                else:
                    w = replace(old, message=msg, last_seen_ms=now_ms)
                    self._warnings[key] = w
            for key, old in list(self._warnings.items()):
                if key not in wanted and old.state != "resolved":
                    w = replace(old, state="resolved", last_seen_ms=now_ms)
                    self._warnings[key] = w
                    events.append(FakeWarningEvent("resolved", w))
        for e in events:
            self.callbacks.on_warning(e)


def _append(c: Candles, ts_ms: int, close: float) -> Candles:
    """One new bar at ts_ms closing at close (keeps the history length fixed)."""
    prev = float(c.close[-1])
    wick = abs(close - prev) * 0.4 + close * 0.0006
    return Candles(
        c.symbol,
        c.timeframe,
        np.append(c.ts_ms[1:], ts_ms),
        np.append(c.open[1:], prev),
        np.append(c.high[1:], max(prev, close) + wick),
        np.append(c.low[1:], min(prev, close) - wick),
        np.append(c.close[1:], close),
        np.append(c.volume[1:], 150.0),
    )
