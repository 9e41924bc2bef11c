"""What the window talks to: the watch service plus the account store (database + secrets).

``create_backend`` wires the real monitor (monitor.service.WatchService on storage.Database),
unless the caller hands it a ``backend_factory`` (the tests and the UI benchmark do: a scripted
feed, tests/ui/ui_feed.py). Every method here may block (database, keyring, scheduler shutdown),
so the window calls them off the GUI thread.

What the window needs of a backend is ``Backend``'s public surface: ``service`` (with
``acknowledge`` and ``snooze``), ``start``, ``stop``, ``set_demo``, ``accounts``,
``add_account``, ``update_account``, ``set_enabled``, ``remove_account`` and
``apply_preferences``; an optional ``title_note`` is shown in the window title.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ui.connect_dialog import AccountForm, default_connector_factory
from ui.settings import Preferences

log = logging.getLogger(__name__)

BackendFactory = Callable[..., Any]
"""``factory(callbacks, *, scenario, speed)`` → an object with ``Backend``'s public methods."""


class Backend:
    """The real monitor. The demo plays on its own database (``demo.db``, as ``main.py watch
    --demo`` does) so its account never mixes with the user's; adding the first real account
    stops the demo and starts the watch on the real database, removing the last one goes back.
    """

    kind = "monitor"

    def __init__(
        self,
        data_dir: Path,
        callbacks: Any,
        db: Any,
        secrets: Any,
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
        self.connector_factory = default_connector_factory
        self._demo_db: Any = None
        self.service = self._make_service()

    def _make_service(self) -> Any:
        from monitor.service import WatchService

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
            )
        return WatchService(self.db, self.secrets, self.callbacks, demo=False)

    def start(self) -> None:
        self.service.start()

    def stop(self, timeout: float = 3.0) -> None:
        try:
            self.service.stop(timeout)
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
        reset = getattr(self.callbacks, "on_reset", None)
        if reset is not None:
            reset(demo)
        self.service = self._make_service()
        self.service.start()
        log.info("now watching %s", "the demo" if demo else "the stored accounts")

    def set_demo(self, scenario: str, speed: float) -> None:
        self.scenario, self.speed = scenario, speed
        if self.demo:
            self.service.set_demo(scenario, speed)

    def accounts(self) -> list[Any]:
        """The user's own accounts (the demo's live in demo.db)."""
        return [r for r in self.db.accounts.all() if not getattr(r, "is_demo", False)]

    def add_account(self, form: AccountForm) -> None:
        from storage.records import AccountRecord

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
                enabled=form.enabled,
                secret_name=secret_name,
            )
        )
        log.info("account added: %s on %s", form.label, form.exchange)
        if self.demo and form.enabled:
            self._switch(demo=False)
        else:
            self.service.reload_accounts()

    def update_account(self, record: Any, form: AccountForm) -> None:
        secret_name = record.secret_name
        if form.credentials is not None and self.secrets is not None:
            secret_name = secret_name or f"{form.exchange}-{uuid.uuid4().hex[:12]}"
            self.secrets.set(secret_name, form.credentials)
        self.db.accounts.update(
            replace(
                record,
                label=form.label,
                base_url=form.base_url,
                enabled=form.enabled,
                secret_name=secret_name,
            )
        )
        self._after_change()

    def set_enabled(self, record: Any, enabled: bool) -> None:
        self.db.accounts.update(replace(record, enabled=enabled))
        self._after_change()

    def remove_account(self, record: Any) -> None:
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

    def apply_preferences(self, prefs: Preferences) -> None:
        """Hand the monitor its thresholds and poll intervals (it reads them as settings)."""
        thresholds = {
            "distance_warning": prefs.amber_pct / 100,
            "distance_critical": prefs.red_pct / 100,
            "joint_move_warning": prefs.joint_warning_pct / 100,
            "joint_move_critical": prefs.joint_critical_pct / 100,
        }
        for db in (self.db, self._demo_db):
            if db is not None:
                db.settings.set("monitor.thresholds", thresholds)
                _sync_user_events(db, prefs.events)
        for rec in self.accounts():
            self.db.settings.set(f"monitor.poll_interval_s.{rec.id}", prefs.account_poll_s)
        self.service.reload_accounts()


def _sync_user_events(db: Any, events: list[dict[str, str]]) -> None:
    """Make the database's user-defined calendar entries those of the settings dialog."""
    from storage.records import EventRecord

    for old in db.events.between(0, 2**62):
        if old.user_defined and old.id is not None:
            db.events.remove(old.id)
    records = []
    for e in events:
        when = datetime.strptime(e["when"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        records.append(
            EventRecord(
                int(when.timestamp() * 1000), e["name"], "user", source="user", user_defined=True
            )
        )
    if records:
        db.events.add_many(records)


def create_backend(
    data_dir: Path,
    callbacks: Any,
    *,
    scenario: str = "2025-11-04",
    speed: float = 60.0,
    force_demo: bool = False,
    passphrase: Any = None,
    backend_factory: BackendFactory | None = None,
    start_fresh: bool = False,
) -> Any:
    """The real watch service, or what ``backend_factory(callbacks, scenario=, speed=)``
    builds when one is given (a ready-made service with the window's backend methods)."""
    if backend_factory is not None:
        return backend_factory(callbacks, scenario=scenario, speed=speed)
    return _monitor_backend(
        data_dir, callbacks, scenario, speed, force_demo, passphrase, start_fresh
    )


def open_secret_store(data_dir: Path, passphrase: Any) -> Any:
    """The secret store (keychain, else an encrypted file asking ``passphrase``), or None when
    it cannot be opened: the demo still runs, and saving a real account says why it cannot."""
    try:
        from storage.secrets import SecretStore

        return SecretStore.open(data_dir, passphrase)
    except Exception as exc:
        log.warning("secret store unavailable: %s", type(exc).__name__)
        return None


def _monitor_backend(
    data_dir: Path,
    callbacks: Any,
    scenario: str,
    speed: float,
    force_demo: bool,
    passphrase: Any,
    start_fresh: bool = False,
) -> Backend:
    from storage.database import open_database

    db = open_database(data_dir, False, start_fresh=start_fresh)
    secrets = open_secret_store(data_dir, passphrase)
    real = [r for r in db.accounts.all() if not getattr(r, "is_demo", False) and r.enabled]
    demo = force_demo or not real
    log.info("watching %s", "the demo" if demo else f"{len(real)} account(s)")
    return Backend(data_dir, callbacks, db, secrets, demo=demo, scenario=scenario, speed=speed)
