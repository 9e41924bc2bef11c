"""The job bodies: poll an account, refresh a symbol's market data, recompute levels, the
liquidation map and the cascade, evaluate the warnings, prune storage.

Every job runs on a scheduler worker thread, talks to connectors and storage, and reports
through the callbacks; none of them touches Qt. ``Jobs`` holds what they share; the schedule
itself lives in ``monitor.service``.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

import alerts
from alerts.account_rules import undecided_symbols
from alerts.state import AccountState, Crowding, LeaderMarket, MarketState
from alerts.vocabulary import (
    HEALTH_RULES,
    MARKET_RULES,
    NO_ACCOUNT,
    STORAGE_RULES,
    Condition,
    WarningRule,
)
from connectors.mismatches import log_mismatches
from connectors.types import Capability, ConnectorError, ErrorKind
from monitor.alerts import AlertManager
from monitor.calendar import Calendar
from monitor.events import CHART_TIMEFRAMES, MarketUpdate, MonitorCallbacks, WarningEvent, Watch
from monitor.health import health_conditions, storage_conditions
from monitor.ports import LiveSource, MonitorStore, OpenInterestHistory
from monitor.state import AccountSlot, MarketSlot
from monitor.writes import Kind
from resources import event_moves, move_model
from risk.cascade import Cascade, cascades
from risk.indicators import atr_last, daily_sigma, daily_volume_notional, timeframe_ms, zscore
from risk.levels import Levels, find_levels
from risk.liqmap import LiqMap, build_liqmap
from risk.probability import EventMoves, MoveModel, hourly_sigma, refresh
from risk.report import AccountReport, build_report, default_leader
from risk.types import Account, Candles, ContractType, ForcedClose, OrderBook

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000

V = TypeVar("V")

CANDLE_LIMIT = 1000
"""1h bars per refresh (about 6 weeks; OKX gives 300 per request, the others 1,000+)."""
FOUR_HOUR_LIMIT = 500
DAILY_LIMIT = 400
"""Daily bars: the 200-day average needs 200; the beta uses the last BETA_DAYS."""
HIGHER_TIMEFRAMES_EVERY_MS = 15 * 60_000
BOOK_DEPTH = 100
OI_HISTORY_LIMIT = 500
"""Hourly open-interest snapshots per refresh (Binance serves at most 500, from the last 30
days): the liquidation map's vintages. Without them the map falls back to a volume proxy."""
CHART_LIMIT = 1000
"""Bars of the chart's own bar length, fetched for the symbol the window shows."""
BETA_DAYS = 90
RECORD_SLACK_MS = 60_000
"""The exchange's record of liquidations is read from this long before the positions were
last seen held: clocks differ, and a record's time is when the engine took the position."""
MIN_FUNDING_SAMPLES = 1440
"""Funding z-scores need at least a day of one-minute samples (or the connector's history)."""


class Jobs:
    """What the jobs share: storage, callbacks, alerts, calendar, the slots and the clock."""

    def __init__(
        self,
        db: MonitorStore,
        callbacks: MonitorCallbacks,
        alerts: AlertManager,
        calendar: Calendar,
        clock: Callable[[], float],
    ) -> None:
        self.db = db
        self.callbacks = callbacks
        self.alerts = alerts
        self.writes = alerts.writes
        """What the jobs write waits here and is written after the warnings are out."""
        self.calendar = calendar
        self.clock = clock
        self.accounts: dict[int, AccountSlot] = {}
        self.markets: dict[str, MarketSlot] = {}
        self.moves: MoveModel = move_model()
        """The move distribution the chance of liquidation is read from: the shipped fit,
        refreshed with the candles this monitor fetches (``refresh_moves``)."""
        self.event_moves: dict[str, EventMoves] = event_moves()
        self._markets_lock = threading.Lock()
        self.stopping = threading.Event()
        self._watch = Watch()
        self._watch_lock = threading.Lock()
        self._sources: dict[str, int] = {}
        """The account whose exchange last served a watched symbol no account holds."""
        self.live: LiveSource | None = None
        """The streams, when the service runs them (monitor.live.LiveFeed)."""

    def set_watch(self, watch: Watch) -> bool:
        """What the window shows (fetched whether or not a position is open); True when the
        chart's symbol or bar length changed (its bars are then worth fetching at once)."""
        with self._watch_lock:
            old, self._watch = self._watch, watch
        before = (old.chart_symbol, old.chart_timeframe)
        return before != (watch.chart_symbol, watch.chart_timeframe)

    @property
    def watch(self) -> Watch:
        with self._watch_lock:
            return self._watch

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # --- accounts -----------------------------------------------------------------------------

    def poll_account(self, account_id: int, *, force: bool = False) -> None:
        """Read the account, build its report, report it, evaluate its warnings; then store
        (the snapshot and the warnings are written after the callbacks: ``monitor.writes``)."""
        slot = self.accounts.get(account_id)
        if slot is None or self.stopping.is_set():
            return
        started = time.perf_counter()
        now = self.now_ms()
        with slot.lock:
            forced = force or slot.force_next
            slot.force_next = False
            if not forced and slot.error_kind is None and slot.streams_cover(now):
                # the streams carry it: each tick recomputes, reports and evaluates (a failed
                # read is still retried on its backoff: only a good read clears its error)
                return
            due = forced or now >= slot.next_attempt_ms
        if due:
            self._fetch(slot)
        now = self.now_ms()
        with slot.lock:
            update = slot.update(now)
        self.emit(self.callbacks.on_account, update)
        self.evaluate(slot, now)
        self.check_storage(now)
        logger.debug("poll %s took %.0f ms", account_id, (time.perf_counter() - started) * 1000)

    def _fetch(self, slot: AccountSlot) -> None:
        cfg = slot.config
        if slot.connector is None:
            return  # it could not be built: the slot keeps the reason as its error
        try:
            account = slot.connector.fetch_account()
        except Exception as exc:
            kind, message, retry_after = describe_error(exc)
            with slot.lock:
                repeated = slot.error_kind is kind
                slot.record_failure(self.now_ms(), kind, message, retry_after)
                failures = slot.failures
            # The message is the connector's scrubbed sentence; tracebacks are never logged
            # (a chained ccxt exception may carry a signed URL).
            logger.log(
                logging.DEBUG if repeated else logging.WARNING,
                "poll %s (%s) failed (%d in a row): %s [%s]",
                cfg.label,
                cfg.exchange,
                failures,
                message,
                kind.value,
            )
            return
        report = self.build_report(account)
        mismatched = frozenset(p.symbol for p in report.mismatches)
        if mismatched - slot.mismatched:
            log_mismatches(report, cfg.exchange, cfg.label, mismatched - slot.mismatched)
        now = self.now_ms()
        with slot.lock:
            slot.mismatched = mismatched
            slot.record_read(account, report, now)
            slot.clock_note = next((n for n in account.notes if "clock" in n.lower()), None)
            kinds, since = slot.liquidation_record_wanted(), slot.changed_after_ms
        if kinds and since is not None and Capability.LIQUIDATIONS in slot.connector.capabilities:
            self._read_liquidation_record(slot, since, kinds)
        self._ensure_markets(account.symbols)
        if self.live is not None:
            self.live.after_read(cfg.account_id)
        if not slot.permissions_checked:
            self._check_permissions(slot)
        self.save_snapshot(slot, report, now)

    def save_snapshot(self, slot: AccountSlot, report: AccountReport, now_ms: int) -> None:
        """Queue the snapshot: written after this poll's warnings are out (the alert manager
        flushes the writes)."""
        self.writes.submit(
            Kind.SNAPSHOT,
            functools.partial(self.db.snapshots.save, slot.config.account_id, report, now_ms),
        )

    def sigma_daily(self, symbol: str) -> float | None:
        """A symbol's daily volatility from its candles (None before the first refresh)."""
        m = self.markets.get(symbol)
        if m is None:
            return None
        with m.lock:
            return m.sigma_daily

    def _read_liquidation_record(
        self, slot: AccountSlot, since_ms: int, kinds: frozenset[ContractType]
    ) -> None:
        """Positions vanished: ask the exchange whether its liquidation engine took them (one
        request per kind of contract; never on a poll where nothing vanished)."""
        conn = slot.connector
        if conn is None:
            return
        closes: tuple[ForcedClose, ...] | None
        try:
            closes = conn.fetch_liquidations(since_ms - RECORD_SLACK_MS, kinds)
        except Exception as exc:
            closes = None
            logger.info(
                "the liquidation record of %s could not be read: %s",
                slot.config.label,
                describe_error(exc)[1],
            )
        with slot.lock:
            slot.add_liquidation_record(closes)

    def _check_permissions(self, slot: AccountSlot) -> None:
        """Read the key's permissions once per connection (one request; none on Hyperliquid)."""
        slot.permissions_checked = True
        conn = slot.connector
        if conn is None or Capability.KEY_PERMISSIONS not in conn.capabilities:
            return
        try:
            permissions = conn.key_permissions()
        except Exception as exc:
            logger.info(
                "key permissions of %s unknown: %s", slot.config.label, describe_error(exc)[1]
            )
            return
        with slot.lock:
            slot.permissions = permissions

    def build_report(self, account: Account) -> AccountReport:
        """The risk report with this monitor's betas and volatilities."""
        leader = default_leader(account)
        betas: dict[str, float] = {}
        sigmas: dict[str, float] = {}
        hourly: dict[str, float] = {}
        for sym in account.symbols:
            m = self.markets.get(sym)
            if m is None:
                continue
            if m.beta is not None:
                betas[sym] = m.beta
            if m.sigma_daily:
                sigmas[sym] = m.sigma_daily
            if m.sigma_hourly:
                hourly[sym] = m.sigma_hourly
        return build_report(
            account,
            leader=leader,
            betas=betas,
            sigma_daily=sigmas,
            moves=self.moves,
            sigma_hourly=hourly,
        )

    def evaluate(self, slot: AccountSlot, now_ms: int) -> list[WarningEvent]:
        """The loop's health rules, and on a fresh report the market rules (``alerts``), for
        one account; the alert manager turns the conditions into warning changes. On a failed
        poll the market rules resolve nothing and fire nothing."""
        cfg = slot.config
        with slot.lock:
            status = slot.connection_status(now_ms)
            report, account, before = slot.report, slot.account, slot.before_change
            reads, closes = slot.reads_since_change, slot.forced_closes
            # a failed poll judges nothing, unless the streams carry the account meanwhile
            fresh = not slot.is_stale(now_ms) and (
                slot.error_kind is None or slot.streams_cover(now_ms)
            )
        conds: list[Condition] = health_conditions(status, cfg.account_id, cfg.label)
        evaluated: set[WarningRule] = set(HEALTH_RULES)
        held: set[str] | None = None
        undecided: tuple[str, ...] = ()
        if fresh and report is not None and account is not None:
            held = set(account.symbols)
            state = AccountState(cfg.account_id, account, report, before, reads, closes)
            undecided = undecided_symbols(state)
            active = self.alerts.active_keys(cfg.account_id)
            try:
                market = self.market_state(account, report, now_ms, cfg.account_id)
                conds += alerts.evaluate(state, market, cfg.thresholds, active, now_ms)
                evaluated |= MARKET_RULES
                if not judged_odds(report):
                    evaluated.discard(WarningRule.LIQUIDATION_PROBABILITY)
            except Exception:
                logger.exception("the market rules failed for %s", cfg.label)
        return self.alerts.update(cfg.account_id, conds, evaluated, now_ms, held, undecided)

    def check_storage(self, now_ms: int) -> list[WarningEvent]:
        """Raise, keep or resolve the warning that the database cannot be written (from what
        the last writes met)."""
        conds = storage_conditions(self.writes.trouble())
        return self.alerts.update(NO_ACCOUNT, conds, STORAGE_RULES, now_ms)

    def market_state(
        self, account: Account, report: AccountReport, now_ms: int, account_id: int | None = None
    ) -> MarketState:
        """The market around an account, read once from the symbols' slots (and the streams'
        liquidation flows of the symbols it holds)."""
        leader: LeaderMarket | None = None
        jm = report.joint_move
        if jm is not None and (m := self.markets.get(jm.leader)) is not None:
            leader = _locked(m, leader_market)
        betas = {s: m.beta for s, m in list(self.markets.items()) if m.beta is not None}
        crowd = {
            sym: _locked(m, crowding_of)
            for sym in account.symbols
            if (m := self.markets.get(sym)) is not None
        }
        known = self.calendar.known_until_ms(now_ms)
        flows = (
            self.live.liquidation_flows(account_id, account)
            if self.live is not None and account_id is not None
            else {}
        )
        return MarketState(
            leader,
            betas,
            crowd,
            self.calendar.near(now_ms),
            self.moves,
            self.event_moves,
            0.0 if known is None else (known - now_ms) / DAY_MS,
            liquidations=flows,
        )

    # --- markets ------------------------------------------------------------------------------

    def _ensure_markets(self, symbols: Iterable[str]) -> None:
        with self._markets_lock:
            for sym in symbols:
                if sym not in self.markets:
                    self.markets[sym] = MarketSlot(sym)

    def held_symbols(self) -> dict[str, AccountSlot]:
        """Each symbol held by some account, with one account whose exchange can serve it."""
        out: dict[str, AccountSlot] = {}
        for slot in list(self.accounts.values()):
            with slot.lock:
                account = slot.account
            if account is None:
                continue
            for sym in account.symbols:
                out.setdefault(sym, slot)
        return out

    def market_sources(self) -> dict[str, list[AccountSlot]]:
        """Every symbol to refresh (held, and watched by the window) with the accounts whose
        exchange may serve it, best first: the one holding it, else the one that served it
        last, then the others."""
        held = self.held_symbols()
        out = {sym: [slot] for sym, slot in held.items()}
        watch = self.watch
        wanted = set(watch.symbols) | ({watch.chart_symbol} if watch.chart_symbol else set())
        slots = [s for s in list(self.accounts.values()) if s.connector is not None]
        for sym in sorted(wanted - set(held)):
            last = self._sources.get(sym)
            out[sym] = sorted(slots, key=lambda s: s.config.account_id != last)
        return out

    def refresh_markets(self) -> None:
        """Candles, funding, open interest and the order book for every symbol held or
        watched; then recompute the symbols that got a new candle. The chart's symbol also
        gets its bars at the chart's bar length, and is reported after every refresh (the
        chart follows the market whether or not a position is open)."""
        sources = self.market_sources()
        self._ensure_markets(sources)
        chart = self.watch.chart_symbol
        for sym, slots in sources.items():
            if self.stopping.is_set():
                return
            for slot in slots:
                new_candle = self.refresh_market(sym, slot)
                if new_candle is None:
                    continue
                self._sources[sym] = slot.config.account_id
                if sym == chart:
                    self._fetch_chart(sym, slot)
                if new_candle:
                    self.recompute(sym)
                elif sym == chart:
                    self.report_market(sym)
                break

    def refresh_chart(self) -> None:
        """The chart's bars at its bar length, at once (the window changed what it shows)."""
        chart = self.watch.chart_symbol
        if chart is None:
            return
        self._ensure_markets([chart])
        m = self.markets[chart]
        for slot in self.market_sources().get(chart, []):
            with m.lock:
                fetched = m.candles is not None
            if not fetched:  # a symbol new to the monitor: its market picture first
                new_candle = self.refresh_market(chart, slot)
                if new_candle is None:
                    continue
                self._sources[chart] = slot.config.account_id
                if new_candle:
                    self.recompute(chart)
            if self._fetch_chart(chart, slot):
                self.report_market(chart)
                return

    def _fetch_chart(self, symbol: str, slot: AccountSlot) -> bool:
        """Fetch the chart's bar length for ``symbol`` (1h is the refresh's own); a bar length
        the exchange does not serve is no longer offered for it."""
        tf = self.watch.chart_timeframe
        m = self.markets[symbol]
        conn = slot.market_connector or slot.connector
        if tf == "1h" or tf not in CHART_TIMEFRAMES or conn is None:
            return tf == "1h"
        try:
            bars = conn.fetch_candles(symbol, tf, limit=CHART_LIMIT)
        except Exception as exc:
            kind, message, _ = describe_error(exc)
            logger.info("%s bars of %s failed: %s [%s]", tf, symbol, message, kind.value)
            if kind is ErrorKind.NOT_SUPPORTED:
                with m.lock:
                    m.unavailable.add(tf)
            return False
        with m.lock:
            m.chart = bars
        return True

    def refresh_market(self, symbol: str, slot: AccountSlot) -> bool | None:
        """Fetch one symbol's market data; True when a new candle arrived, None when the
        account's exchange could not serve it."""
        m = self.markets[symbol]
        conn = slot.market_connector or slot.connector
        if conn is None:
            return None
        try:
            candles = conn.fetch_candles(symbol, "1h", limit=CANDLE_LIMIT)
            stats = conn.fetch_market(symbol)
        except Exception as exc:
            kind, message, _ = describe_error(exc)
            with m.lock:
                repeated, m.failing = m.failing, True
            logger.log(
                logging.DEBUG if repeated else logging.WARNING,
                "market data for %s failed: %s [%s]",
                symbol,
                message,
                kind.value,
            )
            return None
        daily = four_hour = None
        with m.lock:
            higher_due = self.now_ms() - m.higher_fetched_ms >= HIGHER_TIMEFRAMES_EVERY_MS
        if higher_due:
            try:
                daily = conn.fetch_candles(symbol, "1d", limit=DAILY_LIMIT)
                four_hour = conn.fetch_candles(symbol, "4h", limit=FOUR_HOUR_LIMIT)
            except Exception as exc:
                logger.debug("4h/1d candles for %s failed: %s", symbol, describe_error(exc)[1])
        book = None
        try:
            book = conn.fetch_order_book(symbol, BOOK_DEPTH)
        except Exception as exc:
            logger.debug("order book for %s failed: %s", symbol, describe_error(exc)[1])
        oi_history: OpenInterestHistory | None = None
        if Capability.OPEN_INTEREST_HISTORY in conn.capabilities:
            try:
                oi_history = conn.fetch_open_interest_history(symbol, "1h", OI_HISTORY_LIMIT)
            except Exception as exc:
                logger.debug("open interest for %s failed: %s", symbol, describe_error(exc)[1])
        funding_history: list[float] | None = None
        with m.lock:
            want_funding = not m.funding
        if Capability.FUNDING_HISTORY in conn.capabilities and want_funding:
            try:
                funding_history = [float(x) for x in conn.fetch_funding_history(symbol)]
            except Exception as exc:
                logger.debug("funding history for %s failed: %s", symbol, describe_error(exc)[1])
        with m.lock:
            m.failing = False
            m.candles = candles
            m.stats = stats
            m.book = book
            if oi_history is not None and len(oi_history[0]):
                m.oi_history = oi_history
            if daily is not None and four_hour is not None and len(daily) and len(four_hour):
                m.daily, m.four_hour = daily, four_hour
                m.higher_fetched_ms = self.now_ms()
            m.as_of_ms = self.now_ms()
            if funding_history:
                m.funding.extend(funding_history)
            if stats is not None and stats.funding_rate is not None:
                m.funding.append(float(stats.funding_rate.value))
            if stats is not None and stats.open_interest is not None:
                m.open_interest.append(float(stats.open_interest.value))
            last = int(candles.ts_ms[-1]) if len(candles) else None
            new_candle = last != m.computed_candle_ms
            m.last_candle_ms = last
        if new_candle:
            self.writes.submit(
                Kind.MARKET,
                functools.partial(self.db.candles.save, candles),
                replaces=("candles", symbol, candles.timeframe),
            )
            self.writes.flush(self.now_ms())
        return new_candle

    def recompute_all(self) -> None:
        for sym in list(self.markets):
            if self.stopping.is_set():
                return
            self.recompute(sym)
        self.refresh_moves()

    def refresh_moves(self) -> None:
        """Pool the windows of the fetched 1h candles that start after the distribution's last
        fitted window into it (``risk.probability.refresh``: unchanged until they add a few
        hundred). The refreshed distribution lives as long as the monitor."""
        series = []
        for m in list(self.markets.values()):
            with m.lock:
                if m.candles is not None and len(m.candles) > 1:
                    series.append(m.candles)
        if not series:
            return
        day = time.strftime("%Y-%m-%d", time.gmtime(self.now_ms() / 1000))
        try:
            self.moves = refresh(self.moves, series, fitted=day)
        except Exception:
            logger.exception("could not refresh the move distribution")

    def recompute(self, symbol: str) -> None:
        """Volatility, ATR, beta to the leader, support levels, the liquidation map and the
        cascade for one symbol; then report the market picture."""
        m = self.markets.get(symbol)
        if m is None:
            return
        with m.lock:
            candles = m.candles
            daily = m.daily
            four_hour = m.four_hour
            book = m.book
            oi_history = m.oi_history
            stats = m.stats
        if candles is None or len(candles) < 2:
            return
        leader = self._leader_daily(symbol)
        sigma = _finite(daily_sigma(candles))
        sigma_h = _finite(hourly_sigma(candles))
        atr = _finite(atr_last(candles))
        beta: float | None = 1.0
        if leader is not None and daily is not None:
            beta = beta_between(daily, leader, bars=BETA_DAYS)
        levels = liqmap = cascade = None
        try:
            levels = find_levels(
                candles,
                candles_4h=four_hour,
                candles_1d=daily,
                books=(book,) if book is not None else (),
            )
        except Exception:
            logger.exception("levels for %s failed", symbol)
        try:
            current_oi = stats.open_interest if stats is not None else None
            liqmap = build_liqmap(
                with_open_interest(
                    candles, oi_history, None if current_oi is None else current_oi.value
                )
            )
        except Exception:
            logger.exception("liquidation map for %s failed", symbol)
        if levels is not None and liqmap is not None:
            cascade = market_cascades(candles, levels, liqmap, book, sigma)
        with m.lock:
            m.sigma_daily = sigma
            m.sigma_hourly = sigma_h
            m.atr = atr
            m.beta = beta
            m.levels, m.liqmap, m.cascade = levels, liqmap, cascade
            m.computed_candle_ms = m.last_candle_ms
            update = self._market_update(m)
        self.emit(self.callbacks.on_market, update)

    def report_market(self, symbol: str) -> None:
        """Report a symbol's market picture as it stands (its newest bars)."""
        m = self.markets.get(symbol)
        if m is None:
            return
        with m.lock:
            if m.candles is None:
                return
            update = self._market_update(m)
        self.emit(self.callbacks.on_market, update)

    def _market_update(self, m: MarketSlot) -> MarketUpdate:
        """The slot as the window sees it (call under its lock): the 1h bars, the 4h and
        daily ones, the chart's own when it shows this symbol, and what it can fetch."""
        series: dict[str, Candles] = {}
        for c in (m.four_hour, m.daily):
            if c is not None and len(c):
                series[c.timeframe] = c
        watch = self.watch
        chart = m.chart
        if chart is not None and (watch.chart_symbol, watch.chart_timeframe) == (
            m.symbol,
            chart.timeframe,
        ):
            series[chart.timeframe] = chart
        return MarketUpdate(
            symbol=m.symbol,
            as_of_ms=m.as_of_ms or self.now_ms(),
            candles=m.candles,
            levels=m.levels,
            liqmap=m.liqmap,
            cascade=m.cascade,
            betas={m.symbol: m.beta} if m.beta is not None else {},
            series=series,
            timeframes=tuple(tf for tf in CHART_TIMEFRAMES if tf not in m.unavailable),
            mark=m.stats.mark_price.value if m.stats and m.stats.mark_price else None,
        )

    def _leader_daily(self, symbol: str) -> Candles | None:
        """The leader's (BTC's) daily candles, for a symbol's beta; None for BTC itself."""
        if symbol.upper().startswith("BTC"):
            return None
        for sym, m in list(self.markets.items()):
            if sym.upper().startswith("BTC"):
                with m.lock:
                    return m.daily
        return None

    # --- housekeeping -------------------------------------------------------------------------

    def prune(self) -> None:
        """Storage retention; the database works in time-bounded steps, so call until done.
        Not while the database refuses writes (the pending writes come first)."""
        for _ in range(20):
            if self.stopping.is_set() or self.writes.trouble() is not None:
                return
            try:
                if self.db.prune(self.now_ms()).done:
                    return
            except Exception as exc:
                problem = self.writes.diagnose(exc)
                if problem is None:
                    raise
                logger.warning("storage: pruning is put off: %s", problem.text)
                return

    def emit(self, fn: Callable[[V], None], value: V) -> None:
        try:
            fn(value)
        except Exception:
            logger.exception("monitor callback failed")


def judged_odds(report: AccountReport) -> bool:
    """Whether the report carries the chance of liquidation of what it holds. Without the
    volatility (the market data is not read yet, as after a start) it cannot: the
    chance-of-liquidation warnings then neither fire nor resolve, so a restart does not end
    (and then repeat) one that holds, nor a snooze on it."""
    return not report.positions or report.odds is not None or any(p.odds for p in report.positions)


def with_open_interest(
    candles: Candles,
    history: OpenInterestHistory | None,
    current: float | None = None,
) -> Candles:
    """``candles`` with ``open_interest`` filled from the exchange's snapshots: a snapshot at
    time τ is the open interest at the close of the bar that ends at τ; the bar still open
    takes ``current`` (the latest reading). Bars without a snapshot stay NaN (the map forward-
    fills them, so they open and close nothing). Unchanged when there is no history."""
    if history is None or len(history[0]) == 0 or len(candles) == 0:
        return candles
    if candles.open_interest is not None and np.isfinite(candles.open_interest).any():
        return candles
    ts, values = history
    bar_ms = timeframe_ms(candles.timeframe)
    ends = candles.ts_ms + bar_ms
    idx = np.searchsorted(ts, ends)
    hit = idx < ts.shape[0]
    hit[hit] = ts[idx[hit]] == ends[hit]
    oi = np.full(len(candles), np.nan)
    oi[hit] = values[idx[hit]]
    if current is not None and math.isfinite(current) and current > 0:
        oi[-1] = current
    if not np.isfinite(oi).any():
        return candles
    return Candles(
        candles.symbol,
        candles.timeframe,
        candles.ts_ms,
        candles.open,
        candles.high,
        candles.low,
        candles.close,
        candles.volume,
        oi,
        candles.taker_buy_volume,
    )


def describe_error(exc: BaseException) -> tuple[ErrorKind, str, float | None]:
    """(kind, trader-readable message, retry-after seconds) for any exception a connector
    raises; ConnectorError carries all three."""
    if isinstance(exc, ConnectorError):
        retry = exc.retry_after
        return exc.kind, exc.message or str(exc), None if retry is None else float(retry)
    from storage.errors import SecretStoreError

    if isinstance(exc, SecretStoreError):
        # its message names the store and what to do (a wrong passphrase: try again)
        return ErrorKind.AUTH, f"the API key could not be read: {exc}", None
    if isinstance(exc, OSError):
        return ErrorKind.NETWORK, f"network error ({type(exc).__name__})", None
    logger.debug("unexpected %s from a connector", type(exc).__name__)
    return ErrorKind.MALFORMED, f"unexpected error ({type(exc).__name__})", None


def _locked(m: MarketSlot, read: Callable[[MarketSlot], V]) -> V:
    with m.lock:
        return read(m)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) and x > 0 else None


def beta_between(candles: Candles, leader: Candles, bars: int = 90) -> float | None:
    """OLS beta of a symbol's log returns on the leader's, over shared bar times. Daily bars:
    hourly returns carry microstructure noise and understate how alts follow BTC in a move."""
    ts, a_idx, b_idx = np.intersect1d(candles.ts_ms, leader.ts_ms, return_indices=True)
    if ts.shape[0] < 30:
        return None
    a = np.log(np.asarray(candles.close, dtype=float)[a_idx][-bars:])
    b = np.log(np.asarray(leader.close, dtype=float)[b_idx][-bars:])
    ra, rb = np.diff(a), np.diff(b)
    ok = np.isfinite(ra) & np.isfinite(rb)
    ra, rb = ra[ok], rb[ok]
    var = float(np.var(rb))
    if ra.shape[0] < 20 or var <= 0:
        return None
    beta = float(np.cov(ra, rb, bias=True)[0, 1] / var)
    return beta if math.isfinite(beta) else None


def crowding_of(m: MarketSlot) -> Crowding:
    """Funding and open-interest z-scores of a symbol over 30 days (call under its lock)."""
    funding = m.stats.funding_rate.value if m.stats and m.stats.funding_rate else None
    fz = zscore(list(m.funding)) if len(m.funding) >= MIN_FUNDING_SAMPLES else None
    oz = None
    c = m.candles
    if c is not None and c.open_interest is not None and len(c) >= 24 * 7:
        oi = np.asarray(c.open_interest, dtype=float)[-24 * 30 :]
        oz = zscore(oi)
    elif len(m.open_interest) >= MIN_FUNDING_SAMPLES:
        oz = zscore(list(m.open_interest))
    return Crowding(m.symbol, funding, fz, oz)


def leader_market(m: MarketSlot) -> LeaderMarket | None:
    """The leader's picture as the cascade rule reads it (call under its lock)."""
    c = m.candles
    if c is None or len(c) == 0:
        return None
    return LeaderMarket(
        m.symbol,
        float(c.close[-1]),
        m.levels,
        m.liqmap,
        m.book,
        m.sigma_daily,
        daily_volume_notional(c),
        m.atr,
    )


def market_cascades(
    candles: Candles,
    levels: Levels,
    liqmap: LiqMap,
    book: OrderBook | None,
    sigma: float | None,
) -> tuple[Cascade, ...] | None:
    """The cascades from the nearest supports of a symbol (``risk.cascade.cascades``)."""
    if sigma is None:
        return None
    try:
        v_daily = daily_volume_notional(candles)
        return cascades(levels, liqmap, sigma, v_daily, book=book)
    except Exception:
        logger.exception("cascade for %s failed", candles.symbol)
        return None
