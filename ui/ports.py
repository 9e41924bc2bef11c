"""What the window needs of its backend, as Protocols, and the values they exchange.

``ui.backend.Backend`` (the real monitor on the database) and the tests' scripted feed
(tests/ui_feed.py ``FeedBackend``) both satisfy ``BackendPort``; mypy checks both. Every method
may block (database, keyring, scheduler shutdown), so the window calls them off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from monitor.events import MonitorCallbacks, Replay, Watch
from monitor.feeds import FeedSpec, FeedStatus
from notify.channel import ChannelPrefs
from notify.sender import DeliveryResult
from settings.registry import Values
from storage.records import AccountRecord, WarningChange, WarningRecord
from ui.connect_dialog import AccountForm


@dataclass(frozen=True, slots=True)
class UserEvent:
    """One of the user's own calendar entries (a release the shipped calendar lacks)."""

    at_ms: int
    name: str


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the settings dialog edits: every setting's value, the user's calendar, the
    calendar feeds and the push channels. ``channels`` None means not read yet: the backend
    leaves the stored ones as they are. ``channel_urls`` holds the URLs of channels added in
    the dialog, by id, until the backend puts them in the secret store (never shown, never in
    a repr)."""

    values: Values
    events: tuple[UserEvent, ...] = ()
    feeds: tuple[FeedSpec, ...] = ()
    """The subscribed calendar feeds (monitor.feeds)."""
    channels: tuple[ChannelPrefs, ...] | None = None
    channel_urls: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    channels_known: tuple[str, ...] | None = None
    """The ids of the channels the dialog started from: the backend keeps a channel stored
    meanwhile by another process (``cascade-watch channels add``), and drops only those the
    trader removed here."""


class WatchControl(Protocol):
    """The watch service's commands the window gives (``monitor.service.WatchService``)."""

    def acknowledge(self, key: str) -> None: ...

    def snooze(self, key: str, duration: timedelta) -> None: ...

    def open_warnings(self) -> tuple[WarningRecord, ...]: ...

    def warning_history(self, limit: int = ...) -> list[WarningChange]: ...


@dataclass(frozen=True, slots=True)
class StoredWarnings:
    """What the warnings panel shows from before the window opened: the open warnings and
    the history of changes, newest first (read off the GUI thread)."""

    open: tuple[WarningRecord, ...]
    history: list[WarningChange]


class BackendPort(Protocol):
    """The watch service plus the account store and the settings."""

    @property
    def service(self) -> WatchControl: ...

    @property
    def title_note(self) -> str | None:
        """Shown in the window title (the scripted feed says it is one)."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> None: ...

    def set_demo(self, scenario: str, speed: float) -> None: ...

    def replay(self) -> Replay | None:
        """What the demo replays and its clock (None when the watch is not the demo)."""

    def watch(self, watch: Watch) -> None:
        """What the window shows (the chart's symbol and bar length, the leader): the
        monitor fetches it whether or not a position is open, across a switch of watch."""

    def accounts(self) -> list[AccountRecord]: ...

    def add_account(self, form: AccountForm) -> None: ...

    def update_account(self, record: AccountRecord, form: AccountForm) -> None: ...

    def set_enabled(self, record: AccountRecord, enabled: bool) -> None: ...

    def remove_account(self, record: AccountRecord) -> None: ...

    def load_preferences(self) -> Preferences: ...

    def apply_preferences(self, prefs: Preferences) -> None:
        """Store the settings, calendar, feeds and channels, and have the watch apply them."""

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        """The calendar feeds' status lines now: an in-memory snapshot, never I/O (the
        settings dialog reads it on the GUI thread)."""

    def test_channel(self, channel_id: str, url: str | None) -> DeliveryResult:
        """Send the test message to a channel: ``url`` for one not stored yet, else the stored
        channel's URL (read from the secret store). Blocks until it is sent or failed."""


class ResettableCallbacks(MonitorCallbacks, Protocol):
    """The monitor's callbacks plus the window's: the watch switched to or from the demo."""

    def on_reset(self, demo: bool) -> None: ...


class BackendFactory(Protocol):
    """Builds a backend that reports through ``callbacks`` (``ui.backend.create_backend``
    takes one; the tests and the UI benchmark pass the scripted feed's)."""

    def __call__(
        self, callbacks: ResettableCallbacks, *, data_dir: Path, scenario: str, speed: float
    ) -> BackendPort: ...
