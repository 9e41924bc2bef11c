"""The window's own state in an INI file inside the data directory (ui.ini): its geometry,
splitters, chart symbol and timeframe, the demo's scenario and speed, and the theme it was last
drawn with (read before any widget exists; the theme setting itself lives with the other
settings, in the database).

An explicit path (not the platform's default QSettings location) keeps every file of a data
directory together and lets tests run against a temporary one.

Before settings moved to the database, ui.ini also held the preferences (``prefs/*``);
``legacy_values`` reads them once so the window can hand them to the database.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from settings import registry as reg

SETTINGS_NAME = "ui.ini"
THEME_HINT = "window/theme"
LEGACY_PREFIX = "prefs/"
LEGACY_KEYS: dict[str, tuple[reg.AnySetting, float | None]] = {
    "amber_pct": (reg.DISTANCE_WARNING, 0.01),
    "red_pct": (reg.DISTANCE_CRITICAL, 0.01),
    "joint_warning_pct": (reg.JOINT_MOVE_WARNING, 0.01),
    "joint_critical_pct": (reg.JOINT_MOVE_CRITICAL, 0.01),
    "account_poll_s": (reg.POLL_INTERVAL_S, 1),
    "sound": (reg.SOUND, None),
    "tray": (reg.TRAY, None),
    "theme": (reg.THEME, None),
}
"""ui.ini's old preference names: their setting and the factor from the old unit."""


class WindowLayout:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SETTINGS_NAME
        self.qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, key: str, default: object = None) -> object:
        return self.qs.value(key, default)

    def set(self, key: str, value: object) -> None:
        self.qs.setValue(key, value)

    def get_bytes(self, key: str) -> QByteArray | None:
        v = self.qs.value(key)
        return v if isinstance(v, QByteArray) else None

    def sync(self) -> None:
        self.qs.sync()

    def theme_hint(self) -> str:
        """The theme to draw the window with before the stored settings are read."""
        for key in (THEME_HINT, LEGACY_PREFIX + "theme"):
            value = self.qs.value(key)
            if isinstance(value, str) and value in reg.THEME.choices:
                return value
        return reg.THEME.default

    def set_theme_hint(self, name: str) -> None:
        self.qs.setValue(THEME_HINT, name)
        self.qs.sync()

    def legacy_values(self) -> tuple[dict[str, object], list[tuple[int, str]]] | None:
        """The preferences an earlier version kept here, as setting values and the user's
        calendar entries (UTC ms, name); None when there are none. Values that do not parse
        are left out."""
        keys = [k for k in self.qs.allKeys() if k.startswith(LEGACY_PREFIX)]
        if not keys:
            return None
        values: dict[str, object] = {}
        for name, (setting, factor) in LEGACY_KEYS.items():
            raw = self.qs.value(LEGACY_PREFIX + name)
            if raw is None:
                continue
            try:
                values[setting.key] = setting.parse(_legacy(raw, setting.default, factor))
            except (TypeError, ValueError):
                continue
        events: list[tuple[int, str]] = []
        raw_events = self.qs.value(LEGACY_PREFIX + "events")
        try:
            rows = json.loads(raw_events) if isinstance(raw_events, str) else []
            for row in rows:
                when = datetime.strptime(row["when"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
                events.append((int(when.timestamp() * 1000), str(row["name"])))
        except (TypeError, ValueError, KeyError):
            events = []
        return values, events

    def forget_legacy_values(self) -> None:
        """Remove the old preferences (the theme stays, as the hint)."""
        self.qs.setValue(THEME_HINT, self.theme_hint())
        for key in self.qs.allKeys():
            if key.startswith(LEGACY_PREFIX):
                self.qs.remove(key)
        self.qs.sync()


def _legacy(raw: object, default: object, factor: float | None) -> object:
    """An INI string (QSettings gives text back) as the setting's type."""
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if isinstance(default, str):
        return str(raw)
    x = float(str(raw))
    if factor is not None:
        x *= factor
    return round(x) if isinstance(default, int) else x
