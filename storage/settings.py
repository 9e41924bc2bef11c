"""Settings as JSON values by key (``db.settings``). Which keys exist, their types and
defaults, is the caller's to declare; this is only where they are kept."""

from __future__ import annotations

import json
from typing import Any

from storage.connection import Connections


class SettingRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value, or ``default`` when the key is not stored."""
        with self._db.read() as conn:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` (anything ``json.dumps`` takes) under ``key``."""
        text = json.dumps(value)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, text),
            )

    def delete(self, key: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))

    def all(self) -> dict[str, Any]:
        """Every stored setting, by key."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}
