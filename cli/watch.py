"""``python main.py watch``: the watch loop in a terminal, one line per warning change.

Runs on the stored accounts, or with ``--demo`` on the local exchange replaying a crash (its
data kept in a separate database file, ``demo.db``, beside the real one). Prints each warning
as it fires, escalates or resolves, until Ctrl-C (or SIGTERM); then stops the scheduler,
prints "stopped" and exits 0. A second Ctrl-C during the stop exits at once with status 130
(cli/shutdown.py). A database that cannot be opened, or is found damaged, is one line on
stderr naming the file and the way out (--start-fresh), exit status 1.

The warnings also go to the stored push channels (``channels add``; not in the demo) and to
each ``--notify URL`` of this run. Accounts and channels added or removed from another
terminal (``accounts add``, ``channels add``) are picked up within 10 s, without a restart.
A URL apprise cannot use is one line and exit status 2 before anything starts; a channel that
fails while the watch runs raises the push-channel warning, printed like the others.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from alerts.vocabulary import NO_ACCOUNT, Change
from cli import arguments
from cli.render import Column, line
from cli.secrets import open_secrets
from cli.shutdown import StopSignals
from connectors.localexchange.scenario import scenario_names
from formatting import safe_text
from monitor.events import (
    AccountStatus,
    AccountUpdate,
    LiquidationUpdate,
    LiveState,
    MarketUpdate,
    WarningEvent,
)
from monitor.push import WATCH_NAME
from storage.records import WarningRecord

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.service import WatchService
    from notify.channel import Channel
    from notify.sender import PushSender
    from settings.store import KeyValues
    from storage.database import Database
    from storage.secrets import SecretStore

logger = logging.getLogger(__name__)

PRINTED_CHANGES = frozenset({Change.FIRED, Change.ESCALATED, Change.RETURNED, Change.RESOLVED})

EVENT_COLUMNS = (
    Column("time"),
    Column("severity", width=8),
    Column("change", width=9),
    Column("warning"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--demo",
        action="store_true",
        help="watch the demo account on the local exchange replaying a crash",
    )
    parser.add_argument(
        "--scenario",
        default="2025-11-04",
        choices=scenario_names(),
        help="demo scenario (default: %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=arguments.speed,
        default=60.0,
        help="demo pace: scenario seconds per wall second (default: %(default)s)",
    )
    parser.add_argument("--data-dir", default=None, help="where the database lives")
    parser.add_argument(
        "--poll",
        type=arguments.between(0.1, 86_400, "seconds"),
        default=None,
        help="poll interval in seconds for every account",
    )
    parser.add_argument(
        "--accounts", action="store_true", help="also print each account's status changes"
    )
    parser.add_argument(
        "--notify",
        action="append",
        default=[],
        metavar="URL",
        help="also send the warnings to this apprise URL, for this run only (repeatable; e.g. "
        "ntfys://ntfy.sh/TOPIC, tgram://BOT_TOKEN/CHAT_ID, json://HOST:PORT/PATH). Stored "
        "channels (`channels add`) are used too, except in the demo",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the loop does")
    parser.add_argument(
        "--start-fresh",
        action="store_true",
        help="if the database cannot be opened or is damaged (checked by reading every stored "
        "value), move it aside (nothing is deleted) and start with an empty one",
    )


def format_event(
    event: WarningEvent, account_label: str = "", scenario_ms: int | None = None
) -> str:
    """One line: time, severity, change, rule, account and symbols, message."""
    text = event.warning.message
    if event.change is Change.RESOLVED:
        text = f"{event.why_resolved}; it said: {text}"
    return format_line(event.warning, event.change.value, text, account_label, scenario_ms)


def format_line(
    w: WarningRecord,
    change: str,
    text: str,
    account_label: str = "",
    scenario_ms: int | None = None,
) -> str:
    now = datetime.now(UTC).strftime("%H:%M:%S")
    scen = ""
    if scenario_ms is not None:
        scen = " [" + datetime.fromtimestamp(scenario_ms / 1000, UTC).strftime("%m-%d %H:%M") + "]"
    who = account_label or (WATCH_NAME if w.account_id == NO_ACCOUNT else f"account {w.account_id}")
    symbols = f" {'/'.join(s.split('/')[0] for s in w.symbols)}" if w.symbols else ""
    severity = w.severity.label.upper()
    return line(
        EVENT_COLUMNS,
        (f"{now}{scen}", severity, change, f"{w.rule.value} · {who}{symbols} — {text}"),
    )


class PrintCallbacks:
    """Prints warning changes (and, optionally, account status changes) to a stream."""

    def __init__(self, out: TextIO = sys.stdout, accounts: bool = False) -> None:
        self.out = out
        self.show_accounts = accounts
        self.labels: dict[int, str] = {}
        self.status: dict[int, AccountStatus] = {}
        self.live: dict[int, LiveState] = {}
        self.scenario_ms: Callable[[], int] | None = None
        self._lock = threading.Lock()

    def _print(self, line: str) -> None:
        with self._lock:
            print(line, file=self.out, flush=True)

    def on_account(self, u: AccountUpdate) -> None:
        self.labels[u.account_id] = u.label
        if self.show_accounts and self.status.get(u.account_id) != u.status:
            self.status[u.account_id] = u.status
            detail = f": {u.error}" if u.error else ""
            self._print(
                f"{datetime.now(UTC):%H:%M:%S} account {u.label} is {u.status.value}{detail}"
            )
        live = u.live
        if self.show_accounts and live is not None and self.live.get(u.account_id) != live.state:
            self.live[u.account_id] = live.state
            why = f": {live.reason}" if live.reason else ""
            self._print(
                f"{datetime.now(UTC):%H:%M:%S} account {u.label} streams: {live.state.value}{why}"
            )

    def on_market(self, u: MarketUpdate) -> None:
        return None

    def on_liquidations(self, u: LiquidationUpdate) -> None:
        return None

    def print_open(self, record: WarningRecord) -> None:
        """A warning still open from an earlier run (shown once, as 'open')."""
        label = self.labels.get(record.account_id, "")
        self._print(format_line(record, "open", record.message, label))

    def on_warning(self, e: WarningEvent) -> None:
        if e.change not in PRINTED_CHANGES:
            return
        label = self.labels.get(e.warning.account_id, "")
        scen = self.scenario_ms() if self.scenario_ms is not None else None
        self._print(format_event(e, label, scen))


def run_channels(urls: list[str]) -> list[Channel] | str:
    """The ``--notify`` channels of this run, or one line saying which URL cannot be used and
    why (never the URL itself beyond its scheme)."""
    from notify.channel import Channel
    from notify.services import check_url
    from notify.urls import ChannelURLError

    channels: list[Channel] = []
    for i, url in enumerate(urls, 1):
        try:
            channels.append(Channel.from_url(f"notify-{i}", check_url(url)))
        except ChannelURLError as exc:
            which = f"--notify #{i}" if len(urls) > 1 else "--notify"
            return f"{which}: {exc}"
    return channels


def start_push(
    channels: list[Channel], table: KeyValues, secrets: SecretStore | None
) -> PushSender | None:
    """The push sender for this run: the stored channels (when a secret store is open) and
    ``channels``; None when there are none and none can be added while it runs (no secret
    store: the demo)."""
    from notify.sender import PushSender
    from notify.store import ChannelStore
    from settings.registry import REMINDER_MIN
    from settings.store import SettingsStore

    stored = ChannelStore(table, secrets).load() if secrets is not None else []
    every = stored + channels
    if not every and secrets is None:
        return None
    push = PushSender(every, reminder_s=60.0 * SettingsStore(table).get(REMINDER_MIN))
    push.start()
    if every:
        names = ", ".join(c.label for c in every)
        print(f"push: the warnings also go to {len(every)} channel(s): {names}", flush=True)
    return push


FOLLOW_S = 10.0
"""How often a running watch looks for accounts and channels that other commands changed."""


class StoredSetup:
    """The accounts and push channels as stored, to notice what ``accounts add|remove`` and
    ``channels add|remove`` (or the app, before it) changed while this watch runs."""

    def __init__(self, db: Database, secrets: SecretStore) -> None:
        from notify.store import ChannelStore

        self.db = db
        self.channels = ChannelStore(db.settings, secrets)
        self._accounts = self.db.accounts.all()
        self._channels = self.channels.prefs()

    def accounts_changed(self) -> bool:
        now = self.db.accounts.all()
        changed, self._accounts = now != self._accounts, now
        return changed

    def channels_changed(self) -> bool:
        now = self.channels.prefs()
        changed, self._channels = now != self._channels, now
        return changed


def follow_stored(
    setup: StoredSetup,
    service: WatchService,
    push: PushSender | None,
    run_channels: list[Channel],
    callbacks: PrintCallbacks,
) -> None:
    """Watch the accounts and channels stored now (a service's watch picks up what was added
    from another terminal without a restart)."""
    if setup.accounts_changed():
        service.reload_accounts()
        for account_id, slot in service.jobs.accounts.items():
            callbacks.labels[account_id] = slot.config.label
        print(f"the stored accounts changed: watching {len(service.jobs.accounts)}", flush=True)
    if push is not None and setup.channels_changed():
        every = setup.channels.load() + run_channels
        push.set_channels(every)
        names = ", ".join(c.label for c in every) or "none"
        print(f"the stored channels changed: the warnings go to {names}", flush=True)


def run(args: argparse.Namespace) -> int:
    from cli.logs import setup
    from storage.errors import StorageError
    from storage.lock import FolderLock
    from storage.paths import resolve_data_dir

    log_file = setup(console_level=logging.INFO if args.verbose else logging.WARNING)
    data_dir = resolve_data_dir(args.data_dir)
    notify_channels = run_channels(args.notify)
    if isinstance(notify_channels, str):
        print(f"cascade-watch watch: {notify_channels}", file=sys.stderr)
        return 2
    lock = FolderLock(data_dir, "watch")
    try:
        held = lock.acquire()
    except OSError as exc:  # a file in the folder's place, no permission
        print(
            f"cascade-watch watch: cannot use the data folder {safe_text(data_dir)}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 1
    if not held:
        print(
            f"cascade-watch watch: {lock.describe_holder()} is already watching {data_dir}; "
            "stop it first, or use another --data-dir",
            file=sys.stderr,
        )
        return 1
    try:
        with StopSignals() as stop:
            try:
                _watch_locked(args, data_dir, notify_channels, log_file, stop)
            except (StorageError, OSError) as exc:
                # the database cannot be opened or turns out damaged while the watch starts,
                # or the demo's exchange cannot listen: one line, naming the way out
                print(f"cascade-watch watch: {exc}", file=sys.stderr)
                return 1
    finally:
        lock.release()
    print("stopped", flush=True)
    return 0


def _watch_locked(
    args: argparse.Namespace,
    data_dir: Path,
    notify_channels: list[Channel],
    log_file: Path,
    stop: StopSignals,
) -> None:
    """``run`` once the data folder is this watch's: open the database, start the loop, print
    until a stop is asked, stop the loop."""
    from monitor.service import WatchService
    from storage.database import open_database

    db = open_database(data_dir, args.demo, start_fresh=args.start_fresh)
    service: WatchService | None = None
    push: PushSender | None = None
    try:
        secrets = None if args.demo else open_secrets(data_dir)
        callbacks = PrintCallbacks(accounts=args.accounts)
        push = start_push(notify_channels, db.settings, secrets)
        service = WatchService(
            db,
            secrets,
            callbacks,
            demo=args.demo,
            demo_scenario=args.scenario,
            demo_speed=args.speed,
            poll_interval_s=args.poll,
            push=push,
        )
        service.start()
        if service.demo_exchange is not None:
            callbacks.scenario_ms = service.demo_exchange.scenario_time_ms
        n = len(service.jobs.accounts)
        where = f"demo {args.scenario} at {args.speed:g}×" if args.demo else str(data_dir)
        print(f"watching {n} account(s) ({where}); Ctrl-C to stop", flush=True)
        print(f"the log: {log_file}", flush=True)
        if n == 0:
            print(
                "no account is stored: add one with `accounts add` or in the app, or try --demo",
                flush=True,
            )
        elif secrets is not None:
            print(f"API keys are read from the {secrets.backend_name}", flush=True)
        for account_id, slot in service.jobs.accounts.items():
            callbacks.labels[account_id] = slot.config.label
        for rec in service.open_warnings():
            callbacks.print_open(rec)
        setup = None if secrets is None else StoredSetup(db, secrets)
        while not stop.wait(None if setup is None else FOLLOW_S):
            if setup is not None:
                try:
                    follow_stored(setup, service, push, notify_channels, callbacks)
                except Exception:
                    logger.exception("could not re-read the stored accounts and channels")
    finally:
        if service is not None:
            service.stop(timeout=5.0)
        if push is not None:
            push.stop(timeout=3.0)
        db.close()
