"""The settings' one store: the database's settings table, read and written through the
declarations (``settings.registry``), so every value that comes back is of its type and range.

A stored value a setting does not take (edited by hand, or written by another version) is
logged and read as the default: the watch never stops over a setting. Keys of earlier
versions (``monitor.thresholds``, a dict of threshold names; ``monitor.poll_interval_s.<id>``,
one per account, all set alike by the window) are moved to their settings on the first read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

from settings.registry import POLL_INTERVAL_S, SETTINGS, Setting, SettingError, T, Values

logger = logging.getLogger(__name__)

OLD_THRESHOLDS = "monitor.thresholds"
OLD_POLL_PREFIX = "monitor.poll_interval_s."


class KeyValues(Protocol):
    """A table of JSON values by key (the database's settings)."""

    def get(self, key: str, default: object = None) -> object: ...

    def set(self, key: str, value: object) -> None: ...

    def delete(self, key: str) -> None: ...

    def all(self) -> Mapping[str, object]: ...


class SettingsStore:
    """Typed reads and checked writes of the settings in a ``KeyValues`` table."""

    def __init__(self, table: KeyValues) -> None:
        self._table = table

    def values(self) -> Values:
        """Every setting's value now (its default where none is stored or the stored one is
        not valid)."""
        stored = self._table.all()
        if _has_old_keys(stored):
            self._migrate(stored)
            stored = self._table.all()
        out: dict[str, object] = {}
        for s in SETTINGS:
            raw = stored.get(s.key)
            if raw is None:
                out[s.key] = s.default
                continue
            try:
                out[s.key] = s.parse(raw)
            except SettingError as exc:
                logger.warning("setting ignored, the default applies: %s", exc)
                out[s.key] = s.default
        return Values(out)

    def get(self, setting: Setting[T]) -> T:
        return self.values().get(setting)

    def set(self, setting: Setting[T], value: object) -> None:
        """Store one value (SettingError, nothing stored, when the setting does not take it)."""
        self._table.set(setting.key, setting.parse(value))

    def save(self, values: Values) -> None:
        """Store every setting's value of ``values``."""
        for s in SETTINGS:
            self._table.set(s.key, s.parse(values.get(s)))

    def _migrate(self, stored: Mapping[str, object]) -> None:
        old = stored.get(OLD_THRESHOLDS)
        if isinstance(old, Mapping):
            by_field = {s.threshold: s for s in SETTINGS if s.threshold is not None}
            for name, value in old.items():
                setting = by_field.get(str(name))
                if setting is None:
                    logger.warning("old threshold %s is not a setting any more; dropped", name)
                    continue
                self._adopt(setting, value)
        polls = sorted(k for k in stored if k.startswith(OLD_POLL_PREFIX))
        if polls and POLL_INTERVAL_S.key not in stored:
            self._adopt(POLL_INTERVAL_S, stored[polls[0]])
        for key in stored:
            if _has_old_keys({key: None}):
                self._table.delete(key)
        logger.info("settings of an earlier version moved to their declared keys")

    def _adopt(self, setting: Setting[T], value: object) -> None:
        try:
            self.set(setting, value)
        except SettingError as exc:
            logger.warning("old setting dropped: %s", exc)


def _has_old_keys(stored: Mapping[str, object]) -> bool:
    return any(
        k == OLD_THRESHOLDS or k.startswith((OLD_POLL_PREFIX, OLD_THRESHOLDS + ".")) for k in stored
    )
