"""The app's preferences and window layout, in an INI file inside the data directory.

An explicit path (not the platform's default QSettings location) keeps every file of a data
directory together and lets tests run against a temporary one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

SETTINGS_NAME = "ui.ini"


@dataclass
class Preferences:
    theme: str = "dark"
    sound: bool = True
    tray: bool = True
    amber_pct: float = 10.0
    red_pct: float = 5.0
    joint_warning_pct: float = 10.0
    joint_critical_pct: float = 5.0
    stale_after_s: int = 90
    account_poll_s: int = 5
    events: list[dict[str, str]] = field(default_factory=list)
    """The user's own calendar entries: {"when": "YYYY-MM-DD HH:MM", "name": "..."} (UTC)."""


class AppSettings:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / SETTINGS_NAME
        self.qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def load_preferences(self) -> Preferences:
        prefs = Preferences()
        for f in fields(Preferences):
            raw = self.qs.value(f"prefs/{f.name}")
            if raw is None:
                continue
            default = getattr(prefs, f.name)
            try:
                setattr(prefs, f.name, _coerce(raw, default))
            except (TypeError, ValueError):
                continue
        return prefs

    def save_preferences(self, prefs: Preferences) -> None:
        for key, value in asdict(prefs).items():
            self.qs.setValue(
                f"prefs/{key}", json.dumps(value) if isinstance(value, list) else value
            )
        self.qs.sync()

    def get(self, key: str, default: Any = None) -> Any:
        return self.qs.value(key, default)

    def set(self, key: str, value: Any) -> None:
        self.qs.setValue(key, value)

    def get_bytes(self, key: str) -> QByteArray | None:
        v = self.qs.value(key)
        return v if isinstance(v, QByteArray) else None

    def sync(self) -> None:
        self.qs.sync()


def _coerce(raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        return raw if isinstance(raw, bool) else str(raw).lower() in ("true", "1", "yes")
    if isinstance(default, int):
        return int(float(raw))
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):
        value = json.loads(raw) if isinstance(raw, str) else raw
        return list(value)
    return str(raw)
