"""A push channel: one apprise URL and what it should receive.

``Channel`` holds the URL (a secret: excluded from repr, never stored outside the secret
store) and its preferences; ``ChannelPrefs`` is the part that may be stored in the database
and shown (the masked URL included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import time

from alerts.vocabulary import Severity
from connectors.redaction import register_secrets
from notify.urls import log_secrets, mask_url, secret_parts

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local clock times between which WARNINGs are held (a CRITICAL always goes through).
    ``start`` after ``end`` spans midnight (22:00–07:00); equal times mean never quiet."""

    start: time
    end: time

    def holds(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """From "HH:MM-HH:MM"; ValueError with one line otherwise."""
        start, sep, end = text.replace("–", "-").partition("-")
        if not sep:
            raise ValueError(f"quiet hours must look like 22:00-07:00, not {text.strip()!r}")
        return cls(_parse_time(start), _parse_time(end))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def _parse_time(text: str) -> time:
    m = _HHMM.match(text.strip())
    if m is None:
        raise ValueError(f"{text.strip()!r} is not a time of day (HH:MM)")
    return time(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True, slots=True)
class ChannelPrefs:
    """What a channel receives; everything here may be stored and shown."""

    id: str
    label: str
    """The masked URL (``tgram://…/…``) or a name the trader gave."""
    enabled: bool = True
    min_severity: Severity = Severity.WARNING
    quiet: QuietHours | None = None
    send_resolved: bool = False

    def to_mapping(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "enabled": self.enabled,
            "min_severity": self.min_severity.label,
            "quiet": str(self.quiet) if self.quiet else "",
            "send_resolved": self.send_resolved,
        }

    @classmethod
    def from_mapping(cls, data: dict[str, object]) -> ChannelPrefs:
        quiet = str(data.get("quiet") or "")
        try:
            severity = Severity.parse(str(data.get("min_severity", "warning")))
        except ValueError:
            severity = Severity.WARNING
        return cls(
            id=str(data["id"]),
            label=str(data.get("label", "")),
            enabled=bool(data.get("enabled", True)),
            min_severity=severity,
            quiet=QuietHours.parse(quiet) if quiet else None,
            send_resolved=bool(data.get("send_resolved", False)),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel ready to send: its preferences and its URL (kept out of repr, registered with
    the log's redaction as it is made)."""

    prefs: ChannelPrefs
    url: str = field(repr=False)

    def __post_init__(self) -> None:
        # like an API key: masked in every log line from the moment it exists
        register_secrets(log_secrets(self.url))

    @property
    def id(self) -> str:
        return self.prefs.id

    @property
    def label(self) -> str:
        return self.prefs.label

    @property
    def secrets(self) -> tuple[str, ...]:
        return secret_parts(self.url)

    def with_prefs(self, **changes: object) -> Channel:
        return Channel(replace(self.prefs, **changes), self.url)  # type: ignore[arg-type]

    @classmethod
    def from_url(
        cls,
        channel_id: str,
        url: str,
        *,
        min_severity: Severity = Severity.WARNING,
        quiet: QuietHours | None = None,
        send_resolved: bool = False,
        enabled: bool = True,
    ) -> Channel:
        return cls(
            ChannelPrefs(
                id=channel_id,
                label=mask_url(url),
                enabled=enabled,
                min_severity=min_severity,
                quiet=quiet,
                send_resolved=send_resolved,
            ),
            url,
        )


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    """A channel's state for the push-channel warning (``monitor.health``): ``ok`` False
    once the sender's ``FAIL_AFTER`` deliveries in a row failed (``since_ms``: the first of
    them; ``reason``: the last one's, one line, no secret), True again at the first success."""

    channel_id: str
    label: str
    ok: bool
    failures: int
    since_ms: int
    reason: str = ""
