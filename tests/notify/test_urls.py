"""Channel URLs: apprise checks them, the UI shows them masked, errors are one clean line."""

from __future__ import annotations

import pytest

from alerts.vocabulary import Severity
from notify.channel import ChannelPrefs, QuietHours
from notify.services import check_url
from notify.urls import ChannelURLError, mask_url, redact, secret_parts

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"tgram://{TOKEN}/987654321", "tgram://…/…"),
        ("json://127.0.0.1:8080/", "json://127.0.0.1:8080/"),
        ("json://user:hunter22@hooks.example.com/abc/def", "json://user:…@hooks.example.com/…/…"),
        ("mailto://trader:app-password@gmail.com", "mailto://trader:…@gmail.com"),
        ("ntfy://my-secret-topic", "ntfy://…"),
        ("pover://userkey123@apptoken456", "pover://…"),
        ("discord://1234567/abcdefghij", "discord://…/…"),
        ("not a url", "…"),
    ],
)
def test_mask_hides_every_secret_part(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    for part in secret_parts(url):
        if part != url:
            assert part not in shown


def test_secret_parts_cover_token_password_and_path() -> None:
    parts = secret_parts(f"tgram://{TOKEN}/987654321")
    assert TOKEN in parts and "987654321" in parts
    parts = secret_parts("json://user:hunter22@hooks.example.com/abc/def?token=zzz999")
    assert {"hunter22", "abc", "def", "zzz999"} <= set(parts)
    assert "hooks.example.com" not in parts
    assert (
        redact(f"failed for tgram://{TOKEN}/987654321", secret_parts(f"tgram://{TOKEN}/987654321"))
        == "failed for …"
    )


def test_check_accepts_real_services() -> None:
    assert check_url(f"  tgram://{TOKEN}/987654321 ") == f"tgram://{TOKEN}/987654321"
    assert check_url("json://127.0.0.1:9/") == "json://127.0.0.1:9/"
    assert check_url("ntfys://ntfy.sh/my-topic")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "the channel URL is empty"),
        ("hunter22-secret", "the channel URL has no scheme"),
        ("foo://hunter22-secret", "unknown notification scheme foo://"),
        ("tgram://hunter22-secret", "the tgram:// URL is malformed"),
    ],
)
def test_bad_url_is_one_line_without_the_secret(url: str, message: str) -> None:
    with pytest.raises(ChannelURLError) as info:
        check_url(url)
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert "hunter22" not in text


def test_quiet_hours_span_midnight() -> None:
    from datetime import time

    q = QuietHours.parse("22:00-07:00")
    assert q.holds(time(23, 30)) and q.holds(time(3, 0)) and q.holds(time(22, 0))
    assert not q.holds(time(7, 0)) and not q.holds(time(12, 0))
    day = QuietHours.parse("09:00–17:30")
    assert day.holds(time(12, 0)) and not day.holds(time(18, 0))
    assert str(day) == "09:00-17:30"
    assert not QuietHours.parse("10:00-10:00").holds(time(10, 0))
    with pytest.raises(ValueError, match="not a time of day"):
        QuietHours.parse("25:00-07:00")
    with pytest.raises(ValueError, match="must look like"):
        QuietHours.parse("night")


def test_prefs_round_trip_without_the_url() -> None:
    prefs = ChannelPrefs(
        id="c1",
        label="tgram://…/…",
        min_severity=Severity.CRITICAL,
        quiet=QuietHours.parse("22:00-07:00"),
        send_resolved=True,
    )
    mapping = prefs.to_mapping()
    assert ChannelPrefs.from_mapping(mapping) == prefs
    assert mapping["min_severity"] == "critical" and mapping["quiet"] == "22:00-07:00"
