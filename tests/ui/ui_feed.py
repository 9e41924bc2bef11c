"""A scripted stand-in for monitor.WatchService, for the UI tests and benchmarks/bench_ui.py.

``ScriptedFeed`` replays a 2025-11-04-style crash on a worker thread, one replay minute every
60/speed seconds, with no network and no database. It speaks the monitor's callback protocol
with the monitor's own types: monitor.events.AccountUpdate / MarketUpdate / WarningEvent
carrying storage.records.WarningRecord, and a market picture (risk.levels.Levels,
risk.liqmap.LiqMap, risk.cascade.Cascade) computed by the real functions from the feed's own
synthetic 1h candles, as monitor.jobs.Jobs.recompute does, so the window and the chart see
real shapes.

``FeedBackend`` is what the window talks to (``ui.backend.Backend``'s shape): the feed plus an
in-memory account list. Build an app on it with ``App(data_dir, backend_factory=feed_backend())``.
"""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from alerts import Change, Severity, WarningRule, WarningState, warning_key
from monitor.events import (
    CHART_TIMEFRAMES,
    AccountStatus,
    AccountUpdate,
    MarketUpdate,
    Replay,
    WarningEvent,
    Watch,
)
from monitor.feeds import SETTINGS_KEY as FEEDS_KEY
from monitor.feeds import FeedStatus, load_specs
from notify.sender import DeliveryResult, PushSender
from notify.store import ChannelStore
from resources import move_model
from risk.cascade import Cascade, cascades
from risk.indicators import HOUR_MS, daily_sigma, daily_volume_notional
from risk.levels import Level, LevelKind, Levels, find_levels
from risk.liqmap import LiqMap, build_liqmap
from risk.report import AccountReport, build_report
from risk.types import Account, Candles, MarginMode, MarginTier, Position, Side
from settings.store import SettingsStore
from storage.database import Database
from storage.records import AccountRecord, WarningChange, WarningRecord
from ui.app import App
from ui.backend import send_channel_test, sync_user_events, user_events
from ui.connect_dialog import AccountForm
from ui.ports import BackendFactory, BackendPort, Preferences, ResettableCallbacks

LEADER = "BTC/USDT:USDT"
BETAS = {LEADER: 1.0, "ETH/USDT:USDT": 1.35, "SOL/USDT:USDT": 1.6}
START_PRICES = {LEADER: 107_400.0, "ETH/USDT:USDT": 3_610.0, "SOL/USDT:USDT": 168.4}
MINUTE_MS = 60_000
SCENARIO_START_MS = 1_762_214_400_000  # 2025-11-04 00:00 UTC
HOURLY_BARS = 720
"""30 days of 1h bars behind the replay: what the levels, the map and the cascade read."""
DEMO_ID = 1
"""The demo account's id."""
POLL_MS = 60_000
"""The feed publishes once a replay minute."""
STALE_AFTER_MS = 3 * POLL_MS

# The leader's 1h history, (hours from its start, price): a range whose floor at ~104k was
# tested three times, above October's ~100.3k low. The crash breaks that floor.
BTC_ANCHORS = (
    (0, 102_500),
    (40, 100_300),
    (100, 106_000),
    (170, 111_200),
    (230, 104_000),
    (300, 109_800),
    (380, 103_950),
    (450, 108_600),
    (520, 104_050),
    (600, 110_400),
    (660, 106_500),
    (HOURLY_BARS, 107_400),
)


def _seed(symbol: str, salt: int = 0) -> int:
    """A seed stable across processes (``hash`` of a str is not)."""
    return zlib.crc32(symbol.encode()) + salt


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
    path: np.ndarray = shape + rng.normal(0, 0.0008, steps)
    return path


def history_candles(symbol: str, end_ms: int, n: int, last_close: float) -> Candles:
    """n one-minute bars ending at end_ms whose last close is last_close (a seeded walk)."""
    rng = np.random.default_rng(_seed(symbol))
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


def hourly_candles(symbol: str, end_ms: int, last_close: float, n: int = HOURLY_BARS) -> Candles:
    """n closed 1h bars, the last one closing at end_ms at last_close: the leader's range
    (``BTC_ANCHORS``), followed by the others at their beta, with seeded noise."""
    rng = np.random.default_rng(_seed(symbol, 1))
    hours, prices = zip(*BTC_ANCHORS, strict=True)
    t = np.linspace(0, HOURLY_BARS, n)
    btc = np.interp(t, hours, prices) / BTC_ANCHORS[-1][1]
    close = last_close * (1 + BETAS.get(symbol, 1.0) * (btc - 1))
    swell = np.convolve(rng.normal(0, 0.02, n + 47), np.ones(48) / 48, mode="valid")[:n]
    close = close * (1 + swell + rng.normal(0, 0.0003, n))
    close[-1] = last_close
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0, 0.0012, n)) * close
    high = np.maximum(open_, close) + wick
    low = np.minimum(open_, close) - wick
    ts = end_ms - HOUR_MS * np.arange(n, 0, -1, dtype=np.int64)
    move = np.abs(close / open_ - 1)
    vol = 6_000.0 * (1 + move / 0.002) * np.abs(rng.normal(1, 0.2, n))
    return Candles(symbol, "1h", ts, open_, high, low, close, vol)


def close_hour(hourly: Candles, minutes: Candles, hour_ms: int) -> Candles:
    """``hourly`` with the 1h bar opening at hour_ms built from ``minutes`` appended (its
    length kept: the oldest bar goes)."""
    sel = (minutes.ts_ms >= hour_ms) & (minutes.ts_ms < hour_ms + HOUR_MS)
    if not sel.any():
        return hourly
    o, c = float(minutes.open[sel][0]), float(minutes.close[sel][-1])
    return Candles(
        hourly.symbol,
        hourly.timeframe,
        np.append(hourly.ts_ms[1:], hour_ms),
        np.append(hourly.open[1:], o),
        np.append(hourly.high[1:], float(minutes.high[sel].max())),
        np.append(hourly.low[1:], float(minutes.low[sel].min())),
        np.append(hourly.close[1:], c),
        np.append(hourly.volume[1:], float(minutes.volume[sel].sum())),
    )


@dataclass(frozen=True)
class MarketPicture:
    """What monitor.jobs.Jobs.recompute derives from a symbol's 1h candles."""

    levels: Levels
    liqmap: LiqMap
    cascade: tuple[Cascade, ...] | None


def market_picture(hourly: Candles) -> MarketPicture:
    """Support levels, the liquidation map and the cascades, by the monitor's functions."""
    levels = find_levels(hourly)
    liqmap = build_liqmap(hourly)
    sigma = daily_sigma(hourly)
    cascade = None
    if sigma > 0:
        cascade = cascades(levels, liqmap, sigma, daily_volume_notional(hourly))
    return MarketPicture(levels, liqmap, cascade)


def watched_cascade(
    hourly: Candles, picture: MarketPicture, within: float = 0.05
) -> Cascade | None:
    """The cascade from the best-scored support less than ``within`` below the price: the
    break the feed's support warning watches for."""
    price = picture.levels.price
    near = [z for z in picture.levels.supports if z.high >= price * (1 - within)]
    sigma = daily_sigma(hourly)
    if not near or sigma <= 0:
        return None
    best = max(z.score for z in near)
    found = cascades(
        picture.levels,
        picture.liqmap,
        sigma,
        daily_volume_notional(hourly),
        count=1,
        min_score=best,
    )
    return found[0] if found else None


def level(low: float, high: float, score: float, reasons: tuple[str, ...] = ()) -> Level:
    """A support or resistance zone as risk.levels builds them (for hand-made pictures)."""
    return Level(low, high, (low + high) / 2, score, LevelKind.NONE, 0, reasons)


def levels_of(symbol: str, price: float, zones: list[Level] | tuple[Level, ...]) -> Levels:
    """A risk.levels.Levels around price: the zones split into supports and resistances,
    nearest first, as find_levels orders them."""
    supports = sorted((z for z in zones if z.mid <= price), key=lambda z: -z.mid)
    resistances = sorted((z for z in zones if z.mid > price), key=lambda z: z.mid)
    return Levels(symbol, price, None, 0.004 * price, tuple(supports), tuple(resistances))


def liqmap_of(
    symbol: str,
    price: float,
    bucket_low: np.ndarray,
    long_notional: np.ndarray,
    short_notional: np.ndarray,
) -> LiqMap:
    """A risk.liqmap.LiqMap with the given buckets (evenly spaced lower edges, ascending)."""
    bucket_low = np.asarray(bucket_low, dtype=float)
    longs = np.asarray(long_notional, dtype=float)
    shorts = np.asarray(short_notional, dtype=float)
    step = float(bucket_low[1] - bucket_low[0]) if len(bucket_low) > 1 else 1.0
    return LiqMap(
        symbol=symbol,
        price=price,
        as_of_ms=None,
        step=step,
        bucket_low=bucket_low,
        long_notional=longs,
        short_notional=shorts,
        long_prices=bucket_low.copy(),
        long_cum=np.r_[0.0, np.cumsum(longs)],
        short_prices=bucket_low.copy(),
        short_cum=np.r_[0.0, np.cumsum(shorts)],
        opened_long=float(longs.sum()),
        opened_short=float(shorts.sum()),
        consumed_long=0.0,
        consumed_short=0.0,
        is_proxy=True,
        method="hand-made (tests)",
    )


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


def _connecting(account_id: int, label: str, exchange: str, is_demo: bool) -> AccountUpdate:
    return AccountUpdate(
        account_id,
        label,
        exchange,
        is_demo,
        None,
        None,
        AccountStatus.CONNECTING,
        None,
        None,
        None,
        None,
        STALE_AFTER_MS,
    )


def _ok(
    account_id: int, is_demo: bool, account: Account, report: AccountReport, now_ms: int
) -> AccountUpdate:
    return AccountUpdate(
        account_id,
        report.label,
        report.exchange,
        is_demo,
        account,
        report,
        AccountStatus.OK,
        None,
        None,
        now_ms,
        0,
        STALE_AFTER_MS,
    )


class ScriptedFeed:
    """Replays the crash: one replay minute every 60/speed seconds of wall time. The same
    methods as monitor.service.WatchService (start, stop, acknowledge, snooze, set_demo,
    reload_accounts, poll_now)."""

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
        self._warnings: dict[str, WarningRecord] = {}
        self._watched: Cascade | None = None
        self.pictures: dict[str, MarketPicture] = {}
        self.step = 0
        self.now_ms = SCENARIO_START_MS

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scripted-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def acknowledge(self, key: str) -> None:
        self._change(
            key, Change.ACKNOWLEDGED, state=WarningState.ACKNOWLEDGED, acknowledged_ms=self.now_ms
        )

    def snooze(self, key: str, duration: timedelta) -> None:
        until_ms = self.now_ms + int(duration.total_seconds() * 1000)
        self._change(key, Change.SNOOZED, state=WarningState.SNOOZED, snoozed_until_ms=until_ms)

    def open_warnings(self) -> tuple[WarningRecord, ...]:
        with self._lock:
            return tuple(w for w in self._warnings.values() if w.state is not WarningState.RESOLVED)

    def warning_history(self, limit: int = 500) -> list[WarningChange]:
        """The feed keeps no history beyond what it reports live."""
        return []

    def reload_accounts(self) -> None:
        pass

    def poll_now(self, account_id: int) -> None:
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

    def _change(self, key: str, change: Change, **kw: Any) -> None:
        with self._lock:
            w = self._warnings.get(key)
            if w is None:
                return
            w = replace(w, **kw)
            self._warnings[key] = w
        self.callbacks.on_warning(WarningEvent(change, w))

    def _run(self) -> None:
        path = crash_path(400, self.scenario)
        t0 = SCENARIO_START_MS + 15 * 60 * MINUTE_MS
        hour = t0 - t0 % HOUR_MS
        candles = {s: history_candles(s, t0, self.history, p) for s, p in START_PRICES.items()}
        hourly = {s: hourly_candles(s, hour, p) for s, p in START_PRICES.items()}
        self.pictures = {s: market_picture(c) for s, c in hourly.items()}
        self._watched = watched_cascade(hourly[LEADER], self.pictures[LEADER])
        self.callbacks.on_account(_connecting(DEMO_ID, "Demo cross", "binanceusdm", True))
        for i in range(self.extra_accounts):
            self.callbacks.on_account(
                _connecting(DEMO_ID + 1 + i, f"Account {i + 1}", "bybit", False)
            )
        while not self._stop.is_set():
            now_ms = t0 + (self.step + 1) * MINUTE_MS
            r = float(path[min(self.step, len(path) - 1)])
            marks = {s: p * (1 + BETAS[s] * r) for s, p in START_PRICES.items()}
            candles = {s: _append(c, now_ms, marks[s]) for s, c in candles.items()}
            if now_ms - now_ms % HOUR_MS > hour:
                # A new 1h bar: the monitor recomputes its market picture on each new candle.
                hourly = {s: close_hour(h, candles[s], hour) for s, h in hourly.items()}
                hour = now_ms - now_ms % HOUR_MS
                self.pictures = {s: market_picture(c) for s, c in hourly.items()}
            self.now_ms = now_ms
            self._publish(now_ms, marks, candles, hourly)
            self.step += 1
            if self._stop.wait(60.0 / max(self.speed, 0.1)):
                break

    def _publish(
        self,
        now_ms: int,
        marks: dict[str, float],
        candles: dict[str, Candles],
        hourly: dict[str, Candles],
    ) -> None:
        """One poll: the account, then each symbol's market as the monitor sends it (1h bars,
        and the one-minute bars the chart can show)."""
        account = demo_account(marks, now_ms)
        report = build_report(
            account,
            leader=LEADER,
            betas=BETAS,
            sigma_daily={s: 0.03 * BETAS[s] for s in BETAS},
            moves=move_model(),
            sigma_hourly={s: 0.03 * BETAS[s] / 24**0.5 for s in BETAS},
        )
        self.callbacks.on_account(_ok(DEMO_ID, True, account, report, now_ms))
        for i in range(self.extra_accounts):
            if self.poll_delay_s:
                time.sleep(self.poll_delay_s)
            acc = replace(account, label=f"Account {i + 1}", exchange="bybit")
            rep = build_report(acc, leader=LEADER, betas=BETAS)
            self.callbacks.on_account(_ok(DEMO_ID + 1 + i, False, acc, rep, now_ms))
        for s, c in candles.items():
            pic = self.pictures[s]
            self.callbacks.on_market(
                MarketUpdate(
                    s,
                    now_ms,
                    hourly[s],
                    pic.levels,
                    pic.liqmap,
                    pic.cascade,
                    {s: BETAS[s]},
                    series={"1m": c},
                    timeframes=CHART_TIMEFRAMES,
                )
            )
        self._rules(now_ms, report, marks[LEADER])

    def _rules(self, now_ms: int, report: AccountReport, btc: float) -> None:
        jm = report.joint_move.nearest if report.joint_move else None
        wanted: dict[str, tuple[WarningRule, Severity, str]] = {}
        watched = self._watched
        if watched is not None and btc < watched.support.low:
            z = watched.support
            wanted[warning_key(WarningRule.CASCADE_SUPPORT, DEMO_ID, (LEADER,))] = (
                WarningRule.CASCADE_SUPPORT,
                Severity.WARNING,
                f"BTC broke the {z.low:,.0f}–{z.high:,.0f} support; next stop "
                f"~{watched.stop_price:,.0f} (cascade estimate)",
            )
        if jm is not None and abs(jm) < 0.05:
            sev = Severity.CRITICAL if abs(jm) < 0.03 else Severity.WARNING
            wanted[warning_key(WarningRule.JOINT_MOVE, DEMO_ID, (LEADER,))] = (
                WarningRule.JOINT_MOVE,
                sev,
                f"Demo cross: a BTC move of {jm * 100:+.1f} % (alts following) liquidates it",
            )
        events: list[WarningEvent] = []
        active = WarningState.ACTIVE
        with self._lock:
            for key, (rule, sev, msg) in wanted.items():
                old = self._warnings.get(key)
                if old is None:
                    w = WarningRecord(key, rule, sev, msg, DEMO_ID, (LEADER,), now_ms, now_ms)
                    self._warnings[key] = w
                    events.append(WarningEvent(Change.FIRED, w))
                elif old.state is WarningState.RESOLVED:
                    w = replace(
                        old,
                        severity=sev,
                        message=msg,
                        state=active,
                        last_seen_ms=now_ms,
                        resolved_ms=None,
                    )
                    self._warnings[key] = w
                    events.append(WarningEvent(Change.FIRED, w))
                elif old.severity != sev and sev is Severity.CRITICAL:
                    w = replace(old, severity=sev, message=msg, last_seen_ms=now_ms, state=active)
                    self._warnings[key] = w
                    events.append(WarningEvent(Change.ESCALATED, w))
                else:
                    w = replace(old, message=msg, last_seen_ms=now_ms)
                    self._warnings[key] = w
                    if msg != old.message:  # as the monitor publishes each poll's figures
                        events.append(WarningEvent(Change.UPDATED, w))
            for key, old in list(self._warnings.items()):
                if key not in wanted and old.state is not WarningState.RESOLVED:
                    w = replace(
                        old, state=WarningState.RESOLVED, last_seen_ms=now_ms, resolved_ms=now_ms
                    )
                    self._warnings[key] = w
                    events.append(WarningEvent(Change.RESOLVED, w))
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


class MemorySecrets:
    """The channels' URLs in memory (``notify.store.TextSecrets``), as the feed keeps no
    keyring."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def get_text(self, name: str) -> str | None:
        return self.texts.get(name)

    def set_text(self, name: str, value: str) -> None:
        self.texts[name] = value

    def delete(self, name: str) -> None:
        self.texts.pop(name, None)


class FeedBackend:
    """The window's backend (``ui.ports.BackendPort``) on a scripted feed: the accounts the
    user adds live in memory as storage.records.AccountRecord (no keyring); the settings and
    the user's calendar in a real database file in the data directory (``feed.db``), so they
    persist across restarts as the real backend's do; the push channels' preferences there too,
    their URLs in memory, and a real sender for "Send test" (the scripted warnings are not
    pushed)."""

    title_note = "built-in demo feed"

    def __init__(self, service: ScriptedFeed, data_dir: Path) -> None:
        self.service = service
        self.db = Database.open(data_dir / "feed.db")
        self.settings = SettingsStore(self.db.settings)
        self.secrets = MemorySecrets()
        self.channels = ChannelStore(self.db.settings, self.secrets)
        self.push = PushSender()
        self._accounts: list[AccountRecord] = []
        self._lock = threading.Lock()
        self.watched = Watch()

    def start(self) -> None:
        self.push.start()
        self.service.start()

    def stop(self, timeout: float = 3.0) -> None:
        try:
            self.service.stop(timeout)
            self.push.stop(1.0)
        finally:
            self.db.close()

    def set_demo(self, scenario: str, speed: float) -> None:
        self.service.set_demo(scenario, speed)

    def replay(self) -> Replay | None:
        """The feed's replay: the minutes from 2025-11-04 00:15, one every 60/speed s."""
        feed = self.service
        start = SCENARIO_START_MS + 15 * MINUTE_MS
        return Replay(feed.scenario, "A scripted crash (tests)", start, start + 400 * MINUTE_MS,
                      feed.speed, feed.now_ms, time.time())  # fmt: skip

    def watch(self, watch: Watch) -> None:
        """The feed publishes every symbol it has; it remembers what the window watches."""
        self.watched = watch

    def accounts(self) -> list[AccountRecord]:
        with self._lock:
            return list(self._accounts)

    def add_account(self, form: AccountForm) -> None:
        secret = None if form.credentials is None else f"{form.exchange}-{uuid.uuid4().hex[:12]}"
        with self._lock:
            self._accounts.append(
                AccountRecord(
                    form.exchange,
                    form.label,
                    form.base_url,
                    form.enabled,
                    secret_name=secret,
                    id=max((a.id or 0 for a in self._accounts), default=0) + 1,
                )
            )

    def _replace(self, record: AccountRecord, **changes: Any) -> None:
        with self._lock:
            self._accounts = [
                replace(a, **changes) if a.id == record.id else a for a in self._accounts
            ]

    def update_account(self, record: AccountRecord, form: AccountForm) -> None:
        self._replace(record, label=form.label, base_url=form.base_url, enabled=form.enabled)

    def set_enabled(self, record: AccountRecord, enabled: bool) -> None:
        self._replace(record, enabled=enabled)

    def remove_account(self, record: AccountRecord) -> None:
        with self._lock:
            self._accounts = [a for a in self._accounts if a.id != record.id]

    def load_preferences(self) -> Preferences:
        return Preferences(
            self.settings.values(),
            user_events(self.db.events.between(0, 2**62)),
            load_specs(self.db.settings.get(FEEDS_KEY)),
            channels=tuple(self.channels.prefs()),
        )

    def apply_preferences(self, prefs: Preferences) -> None:
        self.settings.save(prefs.values)
        sync_user_events(self.db, prefs.events)
        self.db.settings.set(FEEDS_KEY, [spec.to_json() for spec in prefs.feeds])
        if prefs.channels is not None:
            self.channels.save(prefs.channels, prefs.channel_urls, known=prefs.channels_known)
        self.push.set_channels(self.channels.load())

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        """The scripted feed fetches no calendar feed."""
        return ()

    def test_channel(self, channel_id: str, url: str | None) -> DeliveryResult:
        return send_channel_test(self.push, self.channels, channel_id, url)


def feed_backend(**feed_options: Any) -> BackendFactory:
    """A ``backend_factory`` for ui.app.App: a FeedBackend on a ScriptedFeed. The app's demo
    scenario and speed apply unless ``feed_options`` set demo_scenario / demo_speed."""

    def make(
        callbacks: ResettableCallbacks, *, data_dir: Path, scenario: str, speed: float
    ) -> BackendPort:
        options = {"demo_scenario": scenario, "demo_speed": speed, **feed_options}
        return FeedBackend(ScriptedFeed(callbacks, **options), data_dir)

    return make


def settled(app: App, timeout_s: float = 20.0) -> None:
    """Wait until the window's backend commands so far ran off the GUI thread (the stored
    settings were read, a change was stored) and their answers reached the window."""
    app.window._commands.submit(lambda: None).result(timeout=timeout_s)
    app.qapp.processEvents()
