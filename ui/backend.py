"""What the window talks to: the watch service plus the account store (database + secrets),
the settings and the push channels (their sender lives as long as the backend: the demo and
the stored accounts' watch both hand it their warnings).

``create_backend`` wires the real monitor (monitor.service.WatchService on storage.Database),
unless the caller hands it a ``backend_factory`` (the tests and the UI benchmark do: a scripted
feed, tests/ui/ui_feed.py). What the window needs of a backend is ``ui.ports.BackendPort``.
Every method here may block (database, keyring, scheduler shutdown), so the window calls them
off the GUI thread.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.events import Replay, Watch
from monitor.feeds import SETTINGS_KEY as FEEDS_KEY
from monitor.feeds import FeedSpec, FeedStatus, load_specs
from monitor.service import WatchService
from notify.channel import Channel
from notify.sender import DeliveryResult, PushSender
from notify.store import ChannelStore
from settings.registry import REMINDER_MIN
from settings.store import SettingsStore
from storage.records import AccountRecord, EventRecord
from ui.connect_dialog import AccountForm
from ui.ports import BackendFactory, BackendPort, Preferences, ResettableCallbacks, UserEvent

if TYPE_CHECKING:  # opened when the backend is built, off the GUI thread
    from storage.database import Database
    from storage.secrets import PassphraseAsk, PassphraseProvider, SecretStore

log = logging.getLogger(__name__)


class Backend:
    """The real monitor. The demo plays on its own database (``demo.db``, as ``main.py watch
    --demo`` does) so its account never mixes with the user's; adding the first real account
    stops the demo and starts the watch on the real database, removing the last one goes back.
    """

    title_note: str | None = None

    def __init__(
        self,
        data_dir: Path,
        callbacks: ResettableCallbacks,
        db: Database,
        secrets: SecretStore | None,
        *,
        demo: bool,
        scenario: str,
        speed: float,
    ) -> None:
        self.data_dir = data_dir
        self.callbacks = callbacks
        self.db = db
        self.secrets = secrets
        self.demo = demo
        self.scenario = scenario
        self.speed = speed
        self.settings = SettingsStore(db.settings)
        """The one settings store: the user's database, for the demo's watch too."""
        self.channels = ChannelStore(db.settings, secrets)
        self.push = PushSender()
        self._demo_db: Database | None = None
        self._watch = Watch()
        self.service = self._make_service()

    def _make_service(self) -> WatchService:
        if self.demo:
            from storage.database import open_database

            # demo data is replayed, never precious: an unreadable demo.db is set aside
            self._demo_db = open_database(self.data_dir, True, start_fresh=True)
            return WatchService(
                self._demo_db,
                None,
                self.callbacks,
                demo=True,
                demo_scenario=self.scenario,
                demo_speed=self.speed,
                settings=self.settings,
                feed_specs=self.feed_specs,
                push=self.push,
            )
        return WatchService(
            self.db,
            self.secrets,
            self.callbacks,
            demo=False,
            feed_specs=self.feed_specs,
            push=self.push,
        )

    def start(self) -> None:
        self._load_channels()
        self.push.start()
        self.service.start()

    def _load_channels(self) -> None:
        """The stored channels and the reminder interval, to the sender."""
        self.push.set_channels(self.channels.load())
        self.push.set_reminder(60.0 * self.settings.get(REMINDER_MIN))

    def stop(self, timeout: float = 3.0) -> None:
        try:
            self.service.stop(timeout)
            self.push.stop(min(timeout, 2.0))
        finally:
            for db in (self._demo_db, self.db):
                if db is not None:
                    db.close()
            self._demo_db = None

    def _switch(self, demo: bool) -> None:
        """Stop the current watch and start the other one (the window clears its rows)."""
        self.service.stop(3.0)
        if self._demo_db is not None:
            self._demo_db.close()
            self._demo_db = None
        self.demo = demo
        self.callbacks.on_reset(demo)
        self.service = self._make_service()
        self.service.set_watch(self._watch)
        self.service.start()
        log.info("now watching %s", "the demo" if demo else "the stored accounts")

    def set_demo(self, scenario: str, speed: float) -> None:
        self.scenario, self.speed = scenario, speed
        if self.demo:
            self.service.set_demo(scenario, speed)

    def replay(self) -> Replay | None:
        return self.service.replay() if self.demo else None

    def watch(self, watch: Watch) -> None:
        self._watch = watch
        self.service.set_watch(watch)

    def accounts(self) -> list[AccountRecord]:
        """The user's own accounts (the demo's live in demo.db)."""
        return [r for r in self.db.accounts.all() if not r.is_demo]

    def add_account(self, form: AccountForm) -> None:
        secret_name = None
        if form.credentials is not None:
            if self.secrets is None:
                raise RuntimeError("the secret store is not available: the key cannot be kept")
            secret_name = f"{form.exchange}-{uuid.uuid4().hex[:12]}"
            self.secrets.set(secret_name, form.credentials)
        self.db.accounts.add(
            AccountRecord(
                exchange=form.exchange,
                label=form.label,
                base_url=form.base_url,
                ws_url=form.ws_url,
                enabled=form.enabled,
                secret_name=secret_name,
            )
        )
        log.info("account added: %s on %s", form.label, form.exchange)
        if self.demo and form.enabled:
            self._switch(demo=False)
        else:
            self.service.reload_accounts()

    def update_account(self, record: AccountRecord, form: AccountForm) -> None:
        secret_name = record.secret_name
        if form.credentials is not None and self.secrets is not None:
            secret_name = secret_name or f"{form.exchange}-{uuid.uuid4().hex[:12]}"
            self.secrets.set(secret_name, form.credentials)
        self.db.accounts.update(
            replace(
                record,
                label=form.label,
                base_url=form.base_url,
                ws_url=form.ws_url,
                enabled=form.enabled,
                secret_name=secret_name,
            )
        )
        self._after_change()

    def set_enabled(self, record: AccountRecord, enabled: bool) -> None:
        self.db.accounts.update(replace(record, enabled=enabled))
        self._after_change()

    def remove_account(self, record: AccountRecord) -> None:
        if record.id is not None:
            self.db.accounts.remove(record.id)
        if record.secret_name and self.secrets is not None:
            try:
                self.secrets.delete(record.secret_name)
            except Exception as exc:
                log.warning("could not delete the stored key: %s", type(exc).__name__)
        self._after_change()

    def _after_change(self) -> None:
        any_enabled = any(r.enabled for r in self.accounts())
        if self.demo and any_enabled:
            self._switch(demo=False)
        elif not self.demo and not any_enabled:
            self._switch(demo=True)
        else:
            self.service.reload_accounts()

    def load_preferences(self) -> Preferences:
        return Preferences(
            self.settings.values(),
            user_events(self.db.events.between(0, 2**62)),
            self.feed_specs(),
            channels=tuple(self.channels.prefs()),
        )

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        return self.service.feeds.statuses()

    def feed_specs(self) -> tuple[FeedSpec, ...]:
        """The subscribed calendar feeds: kept in the user's database, for the demo's watch
        too (as the settings are)."""
        return load_specs(self.db.settings.get(FEEDS_KEY))

    def apply_preferences(self, prefs: Preferences) -> None:
        """Store the settings, the user's calendar, the calendar feeds and the channels (new
        URLs to the secret store first); the watch and the sender re-read them (new feeds are
        fetched on its worker thread)."""
        self.settings.save(prefs.values)
        sync_user_events(self.db, prefs.events)
        self.db.settings.set(FEEDS_KEY, [spec.to_json() for spec in prefs.feeds])
        if prefs.channels is not None:
            self.channels.save(prefs.channels, prefs.channel_urls, known=prefs.channels_known)
        self._load_channels()
        self.service.reload_accounts()
        self.service.reload_feeds()

    def test_channel(self, channel_id: str, url: str | None) -> DeliveryResult:
        return send_channel_test(self.push, self.channels, channel_id, url)


def send_channel_test(
    push: PushSender, channels: ChannelStore, channel_id: str, url: str | None
) -> DeliveryResult:
    """The test message to a new channel (``url``) or a stored one (its URL read here, off the
    GUI thread: the secret store may ask for its passphrase)."""
    url = url or channels.url(channel_id)
    if url is None:
        return DeliveryResult(False, "its URL is not in the secret store; remove it and add it")
    prefs = next((p for p in channels.prefs() if p.id == channel_id), None)
    channel = Channel(prefs, url) if prefs is not None else Channel.from_url(channel_id, url)
    return push.send_test(channel).result(3 * push.timeout_s)


def user_events(records: Iterable[EventRecord]) -> tuple[UserEvent, ...]:
    return tuple(UserEvent(r.ts_ms, r.name) for r in records if r.user_defined)


def sync_user_events(db: Database, events: Iterable[UserEvent]) -> None:
    """Make the database's user-defined calendar entries ``events``."""
    for old in db.events.between(0, 2**62):
        if old.user_defined and old.id is not None:
            db.events.remove(old.id)
    records = [
        EventRecord(e.at_ms, e.name, "user", source="user", user_defined=True) for e in events
    ]
    if records:
        db.events.add_many(records)


def create_backend(
    data_dir: Path,
    callbacks: ResettableCallbacks,
    *,
    scenario: str = "2025-11-04",
    speed: float = 60.0,
    force_demo: bool = False,
    passphrase: PassphraseProvider | None = None,
    backend_factory: BackendFactory | None = None,
    start_fresh: bool = False,
) -> BackendPort:
    """The real watch service, or what ``backend_factory(callbacks, data_dir=, scenario=,
    speed=)`` builds when one is given."""
    if backend_factory is not None:
        return backend_factory(callbacks, data_dir=data_dir, scenario=scenario, speed=speed)
    return _monitor_backend(
        data_dir, callbacks, scenario, speed, force_demo, passphrase, start_fresh
    )


def open_secret_store(data_dir: Path, passphrase: PassphraseProvider | None) -> SecretStore | None:
    """The secret store (keychain, else an encrypted file asking ``passphrase``), or None when
    it cannot be opened: the demo still runs, and saving a real account says why it cannot."""
    try:
        from storage.secrets import SecretStore

        return SecretStore.open(data_dir, passphrase or _no_passphrase)
    except Exception as exc:
        log.warning("secret store unavailable: %s", type(exc).__name__)
        return None


def _monitor_backend(
    data_dir: Path,
    callbacks: ResettableCallbacks,
    scenario: str,
    speed: float,
    force_demo: bool,
    passphrase: PassphraseProvider | None,
    start_fresh: bool = False,
) -> Backend:
    from storage.database import open_database

    db = open_database(data_dir, False, start_fresh=start_fresh)
    secrets = open_secret_store(data_dir, passphrase)
    real = [r for r in db.accounts.all() if not r.is_demo and r.enabled]
    demo = force_demo or not real
    log.info("watching %s", "the demo" if demo else f"{len(real)} account(s)")
    return Backend(data_dir, callbacks, db, secrets, demo=demo, scenario=scenario, speed=speed)


def _no_passphrase(ask: PassphraseAsk) -> str:
    """For a caller that can ask no one: the encrypted-file store then cannot be opened."""
    raise RuntimeError("no passphrase can be asked here")
