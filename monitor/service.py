"""The watch loop: an APScheduler ``BackgroundScheduler`` running the monitor's jobs.

Jobs (all ``max_instances=1, coalesce=True``; a job never runs twice at once and missed runs
collapse into one):

- ``poll:<account>``  every account's poll interval (default 5 s, per-account setting, never
  faster than the exchange's rate limit allows); evaluates the warnings after each poll. A
  failed poll keeps the last report (marked stale once older than three polls) and the next
  tries wait out an exponential backoff, never shorter than the exchange's Retry-After.
- ``market``          every minute: candles, funding, open interest and the order book of the
  symbols held and of those the window watches (``set_watch``: the chart's symbol and the
  leader, whether or not a position is open); a symbol with a new candle is recomputed at
  once, and the chart's symbol is reported after every refresh with its bars at the chart's
  bar length.
- ``chart``           once, when the window shows another symbol or bar length.
- ``recompute``       every minute: volatility, betas, levels, the liquidation map, cascades.
- ``prune``           90 s after start, then every 10 minutes: storage retention (so a short
                      session compacts too, and the raw rows waiting never exceed ~20 minutes).
- ``feeds``           hourly: the subscribed calendar feeds not fetched for a day are fetched
  (monitor.feeds; network I/O, so never on the GUI thread). How far ahead events are known
  goes to the rules with each account's market (``alerts``' calendar-coverage INFO).
- ``channels``        every 2 s: the push channels' health, as the push-channel warning.

Why not APScheduler's QtScheduler: it only uses the Qt loop to wake up; its jobs still run on
a thread pool, so it buys nothing for thread safety, and under PySide6 it does not keep its
QTimer handle (the timer can be collected), which loses wake-ups. The monitor must also run
without Qt (``python main.py watch``). So: BackgroundScheduler, and callbacks that the UI's
bridge turns into queued Qt signals.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

# APScheduler 3 ships no type information (no stubs, no py.typed)
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]

from alerts.vocabulary import NO_ACCOUNT, WATCH_RULES
from connectors.credentials import Credentials
from monitor.alerts import AlertManager
from monitor.calendar import Calendar, builtin_events
from monitor.events import MonitorCallbacks, Replay, WarningEvent, Watch
from monitor.feeds import CACHE_FOLDER, SETTINGS_KEY, CalendarFeeds, FeedSpec, load_specs
from monitor.health import channel_conditions
from monitor.jobs import Jobs, describe_error
from monitor.live import LiveFeed
from monitor.ports import Connector, MonitorStore, PushPort, SecretSource
from monitor.push import notice_of
from monitor.state import AccountConfig, AccountSlot
from monitor.writes import Writes
from settings.registry import (
    DEESCALATE_AFTER_MIN,
    POLL_INTERVAL_S,
    REANNOUNCE_AFTER_MIN,
    STALE_POLLS,
    Values,
)
from settings.store import SettingsStore
from storage.failures import diagnose
from storage.records import WarningChange, WarningRecord

if TYPE_CHECKING:  # the local exchange is imported only when the demo starts
    from connectors.localexchange.service import LocalExchange

logger = logging.getLogger(__name__)

MARKET_INTERVAL_S = 60.0
RECOMPUTE_INTERVAL_S = 60.0
PRUNE_FIRST_S = 90.0
PRUNE_INTERVAL_S = 600.0
FEEDS_INTERVAL_S = 3600.0
FEEDS_FIRST_S = 5.0
CHANNELS_INTERVAL_S = 2.0
"""How often the push channels' health is read (a dictionary copy) for the channel warning."""
STOP_FLUSH_S = 2.0
"""On stop, how long the writes still waiting may take."""
FALLBACK_RATE_LIMIT_MS = {"binanceusdm": 50, "bybit": 20, "okx": 110, "hyperliquid": 50}
DEMO_EXCHANGES = ("binanceusdm",)
DEMO_POLL_S = 1.0

ConnectorFactory = Callable[[AccountConfig, Credentials, Callable[[], float]], Connector]
"""Builds an account's connector from its configuration, credentials and the clock."""


def default_connector(
    config: AccountConfig, credentials: Credentials, clock: Callable[[], float]
) -> Connector:
    from connectors.exchange import ExchangeConnector

    return ExchangeConnector(
        config.exchange, credentials, api_url=config.base_url, label=config.label, clock=clock
    )


@functools.cache
def min_poll_interval_s(exchange: str) -> float:
    """The shortest poll interval the exchange's rate limit allows (ccxt's ``rateLimit``, ms
    per request, times the requests of one poll)."""
    rate_ms: float | None = None
    try:
        import ccxt  # type: ignore[import-untyped]  # ccxt ships no stubs and no py.typed

        rate_ms = float(getattr(ccxt, exchange)().rateLimit)
    except Exception:
        rate_ms = FALLBACK_RATE_LIMIT_MS.get(exchange, 100)
    from connectors.venues import REQUESTS_PER_POLL

    return rate_ms * REQUESTS_PER_POLL.get(exchange, 3) / 1000.0


class WatchService:
    """Owns the scheduler, the accounts' connectors and the warning lifecycle.

    ``start()`` loads the accounts and schedules the jobs; ``stop(timeout)`` stops scheduling,
    waits up to ``timeout`` seconds for the jobs in flight and closes the connectors;
    ``start()`` after ``stop()`` builds a fresh scheduler (no job runs twice, none is lost:
    warnings live in storage). ``acknowledge``/``snooze`` may be called from any thread.
    """

    def __init__(
        self,
        db: MonitorStore,
        secrets: SecretSource | None,
        callbacks: MonitorCallbacks,
        *,
        clock: Callable[[], float] = time.time,
        demo: bool = False,
        demo_scenario: str = "2025-11-04",
        demo_speed: float = 60.0,
        connector_factory: ConnectorFactory | None = None,
        poll_interval_s: float | None = None,
        max_workers: int = 8,
        calendar: Calendar | None = None,
        clear_after: int = 2,
        market_interval_s: float | None = None,
        settings: SettingsStore | None = None,
        feeds: CalendarFeeds | None = None,
        feed_specs: Callable[[], tuple[FeedSpec, ...]] | None = None,
        push: PushPort | None = None,
        streams: bool | None = None,
    ) -> None:
        self.db = db
        self.push = push
        self.settings = settings or SettingsStore(db.settings)
        self.secrets = secrets
        self.callbacks = callbacks
        self.clock = clock
        self.demo = demo
        self.demo_scenario = demo_scenario
        self.demo_speed = demo_speed
        self._factory = connector_factory or default_connector
        self.streams = connector_factory is None if streams is None else streams
        """Whether accounts stream (by default with the real connectors: a test's fake
        connector has no venue to stream from)."""
        self.live: LiveFeed | None = None
        self._poll_override = poll_interval_s
        self._max_workers = max_workers
        self._market_interval = market_interval_s
        self._lock = threading.RLock()
        self._scheduler: BackgroundScheduler | None = None
        self._lx: LocalExchange | None = None
        self._inflight = 0
        self._idle = threading.Condition()
        writes = Writes(functools.partial(diagnose, database=db.path))
        # every poll's message is published: the banner and the table show one poll's figures
        self.alerts = AlertManager(
            db.warnings,
            self._on_warning,
            clear_after=clear_after,
            update_every_ms=0,
            writes=writes,
        )
        builtin = builtin_events()
        self._feed_specs = feed_specs or (lambda: load_specs(db.settings.get(SETTINGS_KEY)))
        self.feeds = feeds or CalendarFeeds(db.path.parent / CACHE_FOLDER, builtin, clock=clock)
        calendar = calendar or Calendar(db.events.between, builtin, self.feeds.events)
        self.calendar = calendar
        self.jobs = Jobs(db, callbacks, self.alerts, calendar, clock)

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def demo_exchange(self) -> LocalExchange | None:
        """The local exchange the demo plays on (None outside the demo)."""
        return self._lx

    def start(self) -> None:
        with self._lock:
            if self._scheduler is not None:
                return
            self.jobs.stopping.clear()
            if self.demo and self._lx is None:
                self._start_demo_exchange()
            scheduler = BackgroundScheduler(
                executors={"default": ThreadPoolExecutor(self._max_workers)},
                job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
                timezone="UTC",
            )
            self._scheduler = scheduler
            if self.streams:
                self.live = LiveFeed(
                    self.jobs,
                    self.callbacks,
                    self.poll_now,
                    self.db.liquidations,
                    clock=self.clock,
                    keep_liquidations=lambda e: e.api_url is None or self.demo,
                )
                self.jobs.live = self.live
                self.live.start()
            self._load_accounts()
            market_s = self._market_interval_s()
            soon = datetime.now().astimezone() + timedelta(seconds=min(2.0, market_s))
            self._add("market", self.jobs.refresh_markets, market_s, soon)
            self._add(
                "recompute",
                self.jobs.recompute_all,
                max(market_s, RECOMPUTE_INTERVAL_S),
                soon + timedelta(seconds=max(market_s, RECOMPUTE_INTERVAL_S) / 2),
            )
            self._add(
                "prune",
                self.jobs.prune,
                PRUNE_INTERVAL_S,
                datetime.now().astimezone() + timedelta(seconds=PRUNE_FIRST_S),
            )
            self._configure_feeds()
            self._add(
                "feeds",
                self.refresh_feeds,
                FEEDS_INTERVAL_S,
                datetime.now().astimezone() + timedelta(seconds=FEEDS_FIRST_S),
            )
            self._add("channels", self.check_channels, CHANNELS_INTERVAL_S)
            scheduler.start()
            logger.info("watch loop started: %d account(s)", len(self.jobs.accounts))

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop scheduling, wait up to ``timeout`` s for jobs in flight; True when none was
        left running."""
        with self._lock:
            scheduler, self._scheduler = self._scheduler, None
            self.jobs.stopping.set()
            if scheduler is not None:
                scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._inflight and time.monotonic() < deadline:
                self._idle.wait(max(0.0, deadline - time.monotonic()))
            clean = self._inflight == 0
        if not clean:
            logger.warning("stopped with %d job(s) still running", self._inflight)
        live, self.live = self.live, None
        self.jobs.live = None
        if live is not None:
            live.stop()
        self._save_pending()
        with self._lock:
            for slot in self.jobs.accounts.values():
                _close(slot.connector)
                _close(slot.market_connector)
            self.jobs.accounts.clear()
            if self._lx is not None:
                with contextlib.suppress(Exception):
                    self._lx.stop()
                self._lx = None
        logger.info("watch loop stopped")
        return clean

    def reload_accounts(self) -> None:
        """Re-read the accounts (added, removed, settings changed) and reschedule their polls."""
        with self._lock:
            self._load_accounts()

    def tick(self) -> None:
        """Poll (and evaluate) every account once on the calling thread, without the
        scheduler: for tests under a fake clock and for tools that drive time themselves."""
        with self._lock:
            if not self.jobs.accounts:
                self._load_accounts()
            ids = list(self.jobs.accounts)
        for account_id in ids:
            self.jobs.poll_account(account_id)

    def set_demo(self, scenario: str, speed: float) -> None:
        """Restart the demo on another scenario or at another pace."""
        with self._lock:
            was_running = self._scheduler is not None
            if self._lx is not None and scenario == self.demo_scenario:
                self.demo_speed = speed
                self._lx.set_speed(speed)
                return
        if was_running:
            self.stop()
        self.demo, self.demo_scenario, self.demo_speed = True, scenario, speed
        if was_running:
            self.start()

    def poll_now(self, account_id: int) -> None:
        """Poll an account at once (ignoring its backoff), on a worker thread."""
        with self._lock:
            scheduler = self._scheduler
            slot = self.jobs.accounts.get(account_id)
        if scheduler is None or slot is None:
            return
        with slot.lock:
            slot.force_next = True
        job = scheduler.get_job(f"poll:{account_id}")
        if job is not None:
            job.modify(next_run_time=datetime.now().astimezone())

    def refresh_feeds(self) -> None:
        """Fetch the calendar feeds that are due (the ``feeds`` job; network I/O)."""
        self.feeds.refresh()

    def reload_feeds(self) -> None:
        """Re-read the subscribed feeds (``feed_specs()``; by default the database setting
        ``calendar.feeds``) and fetch the new ones soon, on a worker thread (the caller does
        not wait for the network)."""
        self._configure_feeds()
        with self._lock:
            scheduler = self._scheduler
        job = scheduler.get_job("feeds") if scheduler is not None else None
        if job is not None:
            job.modify(next_run_time=datetime.now().astimezone())

    def _configure_feeds(self) -> None:
        try:
            specs = self._feed_specs()
        except Exception:
            logger.exception("could not read the calendar feeds")
            return
        self.feeds.configure(specs)

    def replay(self) -> Replay | None:
        """What the demo replays and its clock now (None outside the demo)."""
        with self._lock:
            lx = self._lx
        if lx is None:
            return None
        sc = lx.scenario
        end_ms = sc.start_ms + int(sc.duration_hours * 3_600_000)
        return Replay(sc.name, sc.title, sc.start_ms, end_ms, lx.clock.speed,
                      lx.scenario_time_ms(), self.clock())  # fmt: skip

    def set_watch(self, watch: Watch) -> None:
        """What the window shows: its symbols are refreshed whether or not a position is
        open; a new chart symbol or bar length is fetched at once."""
        if not self.jobs.set_watch(watch):
            return
        with self._lock:
            scheduler = self._scheduler
        if scheduler is not None:
            scheduler.add_job(
                self._tracked(self.jobs.refresh_chart, "chart"),
                id="chart",
                name="chart",
                replace_existing=True,
            )

    def acknowledge(self, key: str) -> None:
        self.alerts.acknowledge(key, self.jobs.now_ms())

    def snooze(self, key: str, duration: timedelta) -> None:
        """Quiet a warning for ``duration`` from now (the monitor's clock); it returns when
        the time is up, or sooner if it escalates."""
        now = self.jobs.now_ms()
        self.alerts.snooze(key, now + int(duration.total_seconds() * 1000), now)

    def open_warnings(self) -> tuple[WarningRecord, ...]:
        """Every warning not resolved (for a UI that starts after the loop)."""
        return self.alerts.open_warnings()

    def warning_history(self, limit: int = 500) -> list[WarningChange]:
        """The stored changes of the warnings' lives, newest first (for the window's history
        after a restart). Reads the database: call it off the GUI thread."""
        return list(self.db.warnings.changes(limit))

    # --- internals ----------------------------------------------------------------------------

    def _market_interval_s(self) -> float:
        """Every minute; in a fast demo often enough to see each new hourly candle."""
        if self._market_interval is not None:
            return self._market_interval
        if self.demo and self.demo_speed > 0:
            return max(5.0, min(MARKET_INTERVAL_S, 3600.0 / self.demo_speed / 2))
        return MARKET_INTERVAL_S

    def check_channels(self) -> None:
        """Raise, update or resolve the warning that push channels keep failing (with no
        sender, one left open by an earlier run resolves)."""
        health = self.push.health().values() if self.push is not None else ()
        conditions = channel_conditions(health)
        self.alerts.update(NO_ACCOUNT, conditions, WATCH_RULES, self.jobs.now_ms())

    def _save_pending(self) -> None:
        """A last try at what waits to be written; say what could not be."""
        writes = self.jobs.writes
        if writes.flush(self.jobs.now_ms(), budget_s=STOP_FLUSH_S, retry_now=True):
            return
        trouble = writes.trouble()
        logger.warning(
            "storage: %d write(s) could not be saved before stopping%s",
            writes.pending(),
            f": {trouble.problem.text}" if trouble is not None else "",
        )

    def _on_warning(self, event: WarningEvent) -> None:
        self.callbacks.on_warning(event)
        if self.push is None:
            return
        slot = self.jobs.accounts.get(event.warning.account_id)
        label = slot.config.label if slot is not None else ""
        try:
            self.push.submit(notice_of(event, label, self.jobs.now_ms()))
        except Exception:
            logger.exception("the warning could not be handed to the push channels")

    def _tracked(self, fn: Callable[[], None], name: str) -> Callable[[], None]:
        def run() -> None:
            with self._idle:
                self._inflight += 1
            try:
                if not self.jobs.stopping.is_set():
                    fn()
            except Exception:
                logger.exception("job %s failed", name)
            finally:
                with self._idle:
                    self._inflight -= 1
                    self._idle.notify_all()

        return run

    def _add(
        self, job_id: str, fn: Callable[[], None], seconds: float, first: datetime | None = None
    ) -> None:
        assert self._scheduler is not None
        self._scheduler.add_job(
            self._tracked(fn, job_id),
            "interval",
            seconds=seconds,
            id=job_id,
            name=job_id,
            replace_existing=True,
            next_run_time=first or datetime.now().astimezone() + timedelta(seconds=seconds),
        )

    def _load_accounts(self) -> None:
        values = self._settings()
        self.alerts.hold_ms = int(values.get(DEESCALATE_AFTER_MIN)) * 60_000
        self.alerts.reannounce_ms = int(values.get(REANNOUNCE_AFTER_MIN)) * 60_000
        configs = {c.account_id: c for c in self._account_configs(values)}
        now = self.jobs.now_ms()
        for account_id in list(self.jobs.accounts):
            old = self.jobs.accounts[account_id]
            new = configs.get(account_id)
            if (
                new is None
                or new.exchange != old.config.exchange
                or new.base_url != old.config.base_url
                or new.ws_url != old.config.ws_url
                or new.secret_name != old.config.secret_name
            ):
                self._drop(account_id, resolve=new is None, now_ms=now)
            elif new != old.config:
                with old.lock:
                    old.config = new
                self._schedule_poll(new)
        for account_id, cfg in configs.items():
            if account_id in self.jobs.accounts:
                continue
            slot = AccountSlot(cfg)
            try:
                creds = self._credentials(cfg)
                slot.connector = self._factory(cfg, creds, self.clock)
                slot.market_connector = self._factory(cfg, creds, self.clock)
                if self.live is not None:
                    self.live.add(slot, creds)
            except Exception as exc:
                kind, message, _ = describe_error(exc)
                slot.record_failure(now, kind, message, None)
                slot.next_attempt_ms = now + 10**15
                logger.warning("account %s cannot be watched: %s", cfg.label, message)
            self.jobs.accounts[account_id] = slot
            with slot.lock:
                update = slot.update(now)
            self.jobs.emit(self.callbacks.on_account, update)
            self._schedule_poll(cfg)
        if self.live is not None:
            self.live.sync()

    def _drop(self, account_id: int, *, resolve: bool, now_ms: int) -> None:
        slot = self.jobs.accounts.pop(account_id)
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                self._scheduler.remove_job(f"poll:{account_id}")
        _close(slot.connector)
        _close(slot.market_connector)
        if self.live is not None:
            self.live.drop(account_id)
        if resolve:
            self.alerts.resolve_account(account_id, now_ms)

    def _schedule_poll(self, cfg: AccountConfig) -> None:
        if self._scheduler is None:
            return
        account_id = cfg.account_id

        def poll() -> None:
            self.jobs.poll_account(account_id)

        self._add(
            f"poll:{account_id}",
            poll,
            cfg.poll_interval_s,
            datetime.now().astimezone(),
        )

    def _credentials(self, cfg: AccountConfig) -> Credentials:
        if cfg.is_demo and self._lx is not None:
            return self._lx.credentials(cfg.exchange)
        if cfg.secret_name is None or self.secrets is None:
            return Credentials()
        # a wrong passphrase is asked again by the store itself, once per run for all accounts
        return self.secrets.get(cfg.secret_name) or Credentials()

    def _account_configs(self, values: Values) -> list[AccountConfig]:
        thresholds = values.thresholds()
        out: list[AccountConfig] = []
        for rec in self.db.accounts.all():
            if not rec.enabled or rec.is_demo != self.demo or rec.id is None:
                continue
            base_url, ws_url = rec.base_url, rec.ws_url
            if rec.is_demo and self._lx is not None:
                base_url, ws_url = self._lx.base_url, self._lx.ws_url
            out.append(
                AccountConfig(
                    account_id=rec.id,
                    label=rec.label or rec.exchange,
                    exchange=rec.exchange,
                    is_demo=rec.is_demo,
                    base_url=base_url,
                    ws_url=ws_url,
                    secret_name=rec.secret_name,
                    poll_interval_s=self._poll_interval(values, rec.exchange, rec.is_demo),
                    stale_polls=float(values.get(STALE_POLLS)),
                    thresholds=thresholds,
                )
            )
        return out

    def _settings(self) -> Values:
        try:
            return self.settings.values()
        except Exception:
            logger.exception("the settings could not be read; the defaults apply")
            return Values.defaults()

    def _poll_interval(self, values: Values, exchange: str, is_demo: bool) -> float:
        if self._poll_override is not None:
            chosen = self._poll_override
        elif is_demo:
            chosen = DEMO_POLL_S
        else:
            chosen = float(values.get(POLL_INTERVAL_S))
        return max(chosen, min_poll_interval_s(exchange))

    def _start_demo_exchange(self) -> None:
        from connectors.localexchange.service import LocalExchange

        lx = LocalExchange(scenario=self.demo_scenario, speed=self.demo_speed, clock=self.clock)
        lx.start()
        self._lx = lx
        ensure_demo_accounts(self.db, DEMO_EXCHANGES)
        logger.info("demo exchange playing %s at %g×", self.demo_scenario, self.demo_speed)


def ensure_demo_accounts(db: MonitorStore, exchanges: tuple[str, ...]) -> None:
    """Make sure the (demo) database holds one demo account per demo exchange, named for the
    venue as a trader says it ("Demo Binance")."""
    have = {rec.exchange for rec in db.accounts.all() if rec.is_demo}
    from connectors.errors import EXCHANGE_NAMES
    from storage.records import AccountRecord

    for exchange in exchanges:
        if exchange not in have:
            label = f"Demo {EXCHANGE_NAMES.get(exchange, exchange)}"
            db.accounts.add(AccountRecord(exchange=exchange, label=label, is_demo=True))


def _close(connector: Connector | None) -> None:
    if connector is not None:
        with contextlib.suppress(Exception):
            connector.close()
