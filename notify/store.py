"""Where the channels live: preferences in the database's settings table, URLs in the secret
store.

The settings table holds ``notify.channels``: a list of ``ChannelPrefs`` mappings (the masked
label, never the URL), beside the declared settings (``settings.registry``; a list of
channels is the one preference the registry does not declare, and the settings dialog edits it
with a widget of its own). Each channel's URL is the secret named ``notify-channel-<id>``,
kept like an API key (the OS keychain, or the encrypted file).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Protocol

from alerts.vocabulary import Severity
from notify.channel import Channel, ChannelPrefs, QuietHours
from notify.services import check_url
from storage.errors import SecretStoreError

logger = logging.getLogger(__name__)

SETTING = "notify.channels"
SECRET_PREFIX = "notify-channel-"


class KeyValues(Protocol):
    """The database's settings table (``db.settings``; ``settings.store.KeyValues``)."""

    def get(self, key: str, default: object = None) -> object: ...

    def set(self, key: str, value: object) -> None: ...


class TextSecrets(Protocol):
    """What the channels need of the secret store (``storage.secrets.SecretStore``)."""

    def get_text(self, name: str) -> str | None: ...

    def set_text(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


def secret_name(channel_id: str) -> str:
    return SECRET_PREFIX + channel_id


def new_channel_id() -> str:
    return uuid.uuid4().hex[:12]


class ChannelStore:
    """The stored channels. Every method may block (database, keychain, passphrase)."""

    def __init__(self, table: KeyValues, secrets: TextSecrets | None) -> None:
        self.table = table
        self.secrets = secrets

    def prefs(self) -> list[ChannelPrefs]:
        """The channels' preferences (no secret store needed); a damaged entry is skipped and
        said so in the log."""
        raw = self.table.get(SETTING, [])
        out: list[ChannelPrefs] = []
        for item in raw if isinstance(raw, list) else []:
            try:
                out.append(ChannelPrefs.from_mapping(dict(item)))
            except (KeyError, TypeError, ValueError):
                logger.warning("a stored push channel is damaged and was skipped")
        return out

    def load(self) -> list[Channel]:
        """The stored channels with their URLs. One whose URL is missing from the secret store
        is skipped (said in the log, by its label); when the store cannot be read (locked, no
        passphrase) there are none, and the log says why."""
        prefs = self.prefs()
        if not prefs:
            return []
        if self.secrets is None:
            logger.warning("push channels are off: no secret store is open to read their URLs")
            return []
        out: list[Channel] = []
        for p in prefs:
            try:
                url = self.secrets.get_text(secret_name(p.id))
            except SecretStoreError as exc:
                logger.warning("push channels are off: %s", exc)
                return []
            if url is None:
                logger.warning("push channel %s: its URL is not in the secret store", p.label)
                continue
            out.append(Channel(p, url))
        return out

    def url(self, channel_id: str) -> str | None:
        """One stored channel's URL (for "Send test" on a saved channel)."""
        if self.secrets is None:
            raise SecretStoreError("no secret store is open: the channel's URL cannot be read")
        return self.secrets.get_text(secret_name(channel_id))

    def add(
        self,
        url: str,
        *,
        min_severity: Severity = Severity.WARNING,
        quiet: QuietHours | None = None,
        send_resolved: bool = False,
    ) -> Channel:
        """Check the URL (``ChannelURLError`` when apprise cannot use it), keep it in the
        secret store, then the preferences in the settings."""
        channel = Channel.from_url(
            new_channel_id(),
            check_url(url),
            min_severity=min_severity,
            quiet=quiet,
            send_resolved=send_resolved,
        )
        self.save([*self.prefs(), channel.prefs], {channel.id: channel.url})
        logger.info("push channel %s added", channel.label)
        return channel

    def update(self, prefs: ChannelPrefs) -> None:
        self.save([prefs if p.id == prefs.id else p for p in self.prefs()])

    def remove(self, channel_id: str) -> bool:
        """Forget a channel and its URL; False when there is no such channel."""
        kept = [p for p in self.prefs() if p.id != channel_id]
        if len(kept) == len(self.prefs()):
            return False
        self.save(kept)
        return True

    def save(
        self,
        prefs: Iterable[ChannelPrefs],
        new_urls: Mapping[str, str] = {},
        *,
        known: Collection[str] | None = None,
    ) -> None:
        """Make the stored channels ``prefs``: the URLs of new ones (``new_urls``, by id) go to
        the secret store first, then the list; the URLs of channels no longer listed are
        deleted last. Nothing is stored when a new URL cannot be kept.

        With ``known``, the ids of the channels an editor started from (the app's Settings),
        the list is merged with what is stored now: a channel added meanwhile elsewhere
        (``cascade-watch channels add`` while the app runs) is kept, and one removed meanwhile
        stays removed."""
        prefs = list(prefs)
        if known is not None:
            stored = self.prefs()
            stored_ids = {p.id for p in stored}
            listed = {p.id for p in prefs}
            prefs = [
                p for p in prefs if p.id in stored_ids or p.id in new_urls or p.id not in known
            ]
            prefs += [p for p in stored if p.id not in known and p.id not in listed]
        if new_urls:
            if self.secrets is None:
                raise SecretStoreError("no secret store is open: a channel URL cannot be kept")
            for channel_id, url in new_urls.items():
                self.secrets.set_text(secret_name(channel_id), url)
        gone = {p.id for p in self.prefs()} - {p.id for p in prefs}
        self.table.set(SETTING, [p.to_mapping() for p in prefs])
        if self.secrets is not None:
            for channel_id in gone:
                try:
                    self.secrets.delete(secret_name(channel_id))
                except SecretStoreError as exc:
                    logger.warning("a removed channel's URL could not be deleted: %s", exc)
