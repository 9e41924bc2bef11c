"""Every user setting, declared once: its key, type, default, range and label.

The database's settings table holds the values (``settings.store``), so the desktop app and the
headless ``watch`` command share them; the settings dialog builds its fields from these
declarations. The warning thresholds' defaults are ``alerts.Thresholds``'s own (declared there
once). What is not a setting: the window's layout (ui.ini), the user's own calendar entries
(the database's events table), and the push channels (a list: their preferences under
``notify.channels`` in the same table, their URLs in the secret store; ``notify.store``).
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar, cast

from alerts.thresholds import Thresholds

T = TypeVar("T")


class SettingError(ValueError):
    """A value a setting does not take; the message names the setting and the problem."""


class Unit(Enum):
    """How a value is shown and typed: a fraction as a percentage, seconds, polls, or as is."""

    NONE = ""
    PERCENT = " %"
    SECONDS = " s"
    MINUTES = " min"
    POLLS = " polls"


class Group(Enum):
    """The settings dialog's boxes, in order."""

    PROBABILITY = "Warn on the chance of liquidation within 24 h"
    THRESHOLDS = "Warn when the liquidation is within"
    POLLING = "Polling"
    LOOK = "Alerts and look"
    NOTIFICATIONS = "Push notifications (phone, chat, e-mail)"


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One setting. ``threshold`` names the ``alerts.Thresholds`` field it sets, if any."""

    key: str
    default: T
    label: str
    group: Group
    minimum: float | None = None
    maximum: float | None = None
    unit: Unit = Unit.NONE
    choices: tuple[str, ...] = ()
    threshold: str | None = None
    options: Callable[[], tuple[str, ...]] | None = None
    """Choices read when needed (a long list, such as the time zones), instead of
    ``choices``; ``options_text`` says what they are in an error."""
    options_text: str = ""

    def allowed(self) -> tuple[str, ...]:
        """The values a text setting takes (empty: any text)."""
        return self.options() if self.options is not None else self.choices

    def parse(self, raw: object) -> T:
        """``raw`` as this setting's type, within its range or choices; SettingError saying
        what is wrong otherwise."""
        return cast(T, _parse(self, raw))

    def show(self, value: object) -> str:
        """A value as the user types it (a fraction as a percentage)."""
        if self.unit is Unit.PERCENT and isinstance(value, int | float):
            return f"{value * 100:g}{self.unit.value}"
        return f"{value}{self.unit.value}"


def _parse(s: Setting[Any], raw: object) -> object:
    kind = type(s.default)
    if kind is bool:
        if not isinstance(raw, bool):
            raise SettingError(f"{s.key}: {raw!r} is not true or false")
        return raw
    if kind is str:
        allowed = s.allowed()
        if not isinstance(raw, str) or (allowed and raw not in allowed):
            expected = s.options_text or (f"one of {', '.join(allowed)}" if allowed else "text")
            raise SettingError(f"{s.key}: {raw!r} is not {expected}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SettingError(f"{s.key}: {raw!r} is not a number")
    if kind is int and raw != int(raw):
        raise SettingError(f"{s.key}: {raw!r} is not a whole number")
    value = int(raw) if kind is int else float(raw)
    low = -float("inf") if s.minimum is None else s.minimum
    high = float("inf") if s.maximum is None else s.maximum
    if not low <= value <= high:
        raise SettingError(f"{s.key}: {s.show(value)} is outside {s.show(low)} to {s.show(high)}")
    return value


_T = Thresholds()

PROBABILITY_WARNING = Setting(
    "alerts.probability_warning",
    _T.probability_warning,
    "Warning at",
    Group.PROBABILITY,
    0.01,
    0.9,
    Unit.PERCENT,
    threshold="probability_warning",
)
PROBABILITY_CRITICAL = Setting(
    "alerts.probability_critical",
    _T.probability_critical,
    "Critical at",
    Group.PROBABILITY,
    0.01,
    0.99,
    Unit.PERCENT,
    threshold="probability_critical",
)
FIXED_PERCENT = Setting(
    "alerts.fixed_percent",
    _T.fixed_percent,
    "Also warn at the fixed distances below",
    Group.THRESHOLDS,
    threshold="fixed_percent",
)
FLOW_ALERTS = Setting(
    "alerts.flow_alerts",
    _T.flow_alerts,
    "Warn when a cascade is under way (the market's liquidations, streamed)",
    Group.THRESHOLDS,
    threshold="flow_alerts",
)
DISTANCE_WARNING = Setting(
    "alerts.distance_warning",
    _T.distance_warning,
    "Position distance: amber",
    Group.THRESHOLDS,
    0.005,
    0.5,
    Unit.PERCENT,
    threshold="distance_warning",
)
DISTANCE_CRITICAL = Setting(
    "alerts.distance_critical",
    _T.distance_critical,
    "Position distance: red",
    Group.THRESHOLDS,
    0.005,
    0.5,
    Unit.PERCENT,
    threshold="distance_critical",
)
JOINT_MOVE_WARNING = Setting(
    "alerts.joint_move_warning",
    _T.joint_move_warning,
    "Joint BTC move: warning",
    Group.THRESHOLDS,
    0.005,
    0.5,
    Unit.PERCENT,
    threshold="joint_move_warning",
)
JOINT_MOVE_CRITICAL = Setting(
    "alerts.joint_move_critical",
    _T.joint_move_critical,
    "Joint BTC move: critical",
    Group.THRESHOLDS,
    0.005,
    0.5,
    Unit.PERCENT,
    threshold="joint_move_critical",
)
POLL_INTERVAL_S = Setting(
    "monitor.poll_interval_s",
    5,
    "Poll each account every",
    Group.POLLING,
    1,
    3600,
    Unit.SECONDS,
)
"""Never faster than the exchange's rate limit allows (the monitor raises it to that)."""
STALE_POLLS = Setting(
    "monitor.stale_polls",
    3,
    "Data is STALE after",
    Group.POLLING,
    2,
    20,
    Unit.POLLS,
)
"""Figures older than this many polls are stale (``monitor.health.is_stale``)."""
SOUND = Setting(
    "ui.sound", True, "Play a sound on a new warning when the window is not in front", Group.LOOK
)
SOUND_VOLUME = Setting("ui.sound_volume", 80, "Sound volume (0–100)", Group.LOOK, 0, 100)
"""Applied to the bundled sound's samples (notify.sound), so every player plays it alike."""
TRAY = Setting("ui.tray", True, "Desktop notification on a new warning", Group.LOOK)
"""The platform's notification service; the tray balloon only where there is none."""
CLOSE_ASK, CLOSE_HIDE, CLOSE_QUIT = "ask", "keep watching in the tray", "quit"
CLOSE_TO_TRAY = Setting(
    "ui.close_to_tray",
    CLOSE_ASK,
    "Closing the window",
    Group.LOOK,
    choices=(CLOSE_ASK, CLOSE_HIDE, CLOSE_QUIT),
)
"""Where a system tray exists; "ask" asks once and stores the answer."""
START_AT_LOGIN = Setting(
    "ui.start_at_login", False, "Start Cascade Watch when I log in", Group.LOOK
)
"""Applied by the window to the platform's login items (ui.autostart) when it changes."""
DEESCALATE_AFTER_MIN = Setting(
    "alerts.deescalate_after_min",
    10,
    "Lower a warning's severity once it has stayed lower for",
    Group.LOOK,
    0,
    240,
    Unit.MINUTES,
)
"""A rise is shown at once; a fall waits this long, so a figure that wobbles about a line is
one alarm, not a new escalation each time it crosses (monitor.alerts). 0: at once."""
REANNOUNCE_AFTER_MIN = Setting(
    "alerts.reannounce_after_min",
    60,
    "Announce a return to a severity only if the warning has not had it for",
    Group.LOOK,
    0,
    24 * 60,
    Unit.MINUTES,
)
"""Within this, a warning that rises back to a severity it had is shown (the table, the
warning's row) but not announced again (no banner, sound or push): it is the same alarm
(monitor.alerts). A severity it has not had lately is always announced at once."""
THEME = Setting(
    "ui.theme", "dark", "Theme (applies on restart)", Group.LOOK, choices=("dark", "light")
)
REMINDER_MIN = Setting(
    "notify.reminder_min",
    15,
    "Send an unacknowledged CRITICAL again every (0: never)",
    Group.NOTIFICATIONS,
    0,
    24 * 60,
    Unit.MINUTES,
)
"""To every push channel it went to, while it stays open and is not acknowledged or snoozed
(notify.policy). The channels themselves (URL, least severity, quiet hours, resolutions) are a
list the settings dialog edits with a widget of its own; notify.store keeps them."""


@functools.cache
def time_zones() -> tuple[str, ...]:
    """``local`` (the computer's own zone), ``UTC``, then every zone of the time-zone
    database by name."""
    names = sorted(z for z in zoneinfo.available_timezones() if "/" in z and z != "UTC")
    return ("local", "UTC", *names)


TIME_ZONE = Setting(
    "ui.time_zone",
    "local",
    "Show times in",
    Group.LOOK,
    options=time_zones,
    options_text="a time zone (local, UTC, or a name such as Europe/Berlin)",
)
"""The window shows times in this zone, UTC beside them in a tooltip; ``watch`` keeps UTC."""

AnySetting = Setting[Any]

SETTINGS: tuple[AnySetting, ...] = (
    PROBABILITY_WARNING,
    PROBABILITY_CRITICAL,
    FIXED_PERCENT,
    FLOW_ALERTS,
    DISTANCE_WARNING,
    DISTANCE_CRITICAL,
    JOINT_MOVE_WARNING,
    JOINT_MOVE_CRITICAL,
    POLL_INTERVAL_S,
    STALE_POLLS,
    SOUND,
    SOUND_VOLUME,
    TRAY,
    CLOSE_TO_TRAY,
    START_AT_LOGIN,
    DEESCALATE_AFTER_MIN,
    REANNOUNCE_AFTER_MIN,
    THEME,
    REMINDER_MIN,
    TIME_ZONE,
)
BY_KEY: Mapping[str, AnySetting] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True, slots=True)
class Values:
    """A snapshot of every setting's value (defaults where none is stored)."""

    by_key: Mapping[str, object]

    @classmethod
    def defaults(cls) -> Values:
        return cls({s.key: s.default for s in SETTINGS})

    def get(self, setting: Setting[T]) -> T:
        value = self.by_key.get(setting.key, setting.default)
        return value if type(value) is type(setting.default) else setting.default

    def replace(self, changes: Mapping[str, object]) -> Values:
        """A copy with ``changes`` (each checked by its setting; SettingError otherwise)."""
        checked = {key: _declared(key).parse(value) for key, value in changes.items()}
        return Values({**self.by_key, **checked})

    def thresholds(self, base: Thresholds | None = None) -> Thresholds:
        """The warning thresholds these values set (the others keep their defaults)."""
        overrides = {s.threshold: self.get(s) for s in SETTINGS if s.threshold is not None}
        return (base or Thresholds()).with_overrides(overrides)


def _declared(key: str) -> AnySetting:
    try:
        return BY_KEY[key]
    except KeyError:
        raise SettingError(f"unknown setting {key!r}") from None
