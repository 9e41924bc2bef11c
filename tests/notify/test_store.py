"""Channels are stored in two halves: preferences in the database, the URL in the secret
store; the URL's secret appears nowhere else in the data folder."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from alerts.vocabulary import Severity
from notify.channel import QuietHours
from notify.store import ChannelStore, secret_name
from notify.urls import ChannelURLError
from storage.database import open_database
from storage.secrets import SecretStore

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_add_load_update_remove(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    secrets = SecretStore.open(tmp_path, lambda _new: "pass phrase", backend="file", scrypt_n=2**10)
    store = ChannelStore(db.settings, secrets)
    ch = store.add(
        f"tgram://{TOKEN}/987654321",
        min_severity=Severity.CRITICAL,
        quiet=QuietHours.parse("22:00-07:00"),
    )
    assert ch.label == "tgram://…/…"
    assert TOKEN not in repr(ch)
    loaded = store.load()
    assert [(c.id, c.url, c.prefs.min_severity) for c in loaded] == [
        (ch.id, f"tgram://{TOKEN}/987654321", Severity.CRITICAL)
    ]
    store.update(ch.with_prefs(enabled=False).prefs)
    assert store.prefs()[0].enabled is False
    with pytest.raises(ChannelURLError, match="unknown notification scheme"):
        store.add("nope://x")
    assert len(store.prefs()) == 1
    assert store.remove(ch.id) and not store.remove(ch.id)
    assert store.prefs() == [] and secrets.get_text(secret_name(ch.id)) is None
    db.close()


def test_an_editor_s_save_keeps_what_another_process_changed_meanwhile(tmp_path: Path) -> None:
    """The app's Settings started from [A, B]; meanwhile ``channels add`` stored C and
    ``channels remove`` took B away. OK with A edited and B still listed keeps C (its URL
    too) and does not bring B back."""
    db = open_database(tmp_path)
    secrets = SecretStore.open(tmp_path, lambda _new: "pass phrase", backend="file", scrypt_n=2**10)
    app = ChannelStore(db.settings, secrets)
    a = app.add("json://127.0.0.1:9/a/")
    b = app.add("json://127.0.0.1:9/b/")
    known = tuple(p.id for p in app.prefs())
    cli = ChannelStore(open_database(tmp_path).settings, secrets)
    c = cli.add("json://127.0.0.1:9/c/")
    assert cli.remove(b.id)
    edited = a.with_prefs(min_severity=Severity.CRITICAL).prefs
    app.save([edited, b.prefs], known=known)
    assert [(p.id, p.min_severity) for p in app.prefs()] == [
        (a.id, Severity.CRITICAL),
        (c.id, Severity.WARNING),
    ]
    assert [ch.url for ch in app.load()] == ["json://127.0.0.1:9/a/", "json://127.0.0.1:9/c/"]
    app.save([], known=known)  # the trader removed A and B: C stays
    assert [p.id for p in app.prefs()] == [c.id]
    assert secrets.get_text(secret_name(a.id)) is None
    db.close()


def test_the_url_secret_is_nowhere_in_the_data_folder(tmp_path: Path) -> None:
    db = open_database(tmp_path)
    secrets = SecretStore.open(tmp_path, lambda _new: "pass phrase", backend="file", scrypt_n=2**10)
    store = ChannelStore(db.settings, secrets)
    store.add(f"tgram://{TOKEN}/987654321")
    store.add("json://user:hunter2-pw@127.0.0.1:8080/hookTokenABC/")
    db.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "secrets.enc" for p in files)
    for p in files:
        data = p.read_bytes()
        for secret in (TOKEN.encode(), b"AAHdqTcvCH1v", b"hunter2-pw", b"hookTokenABC"):
            assert secret not in data, f"{secret!r} found in {p.name}"
    db = open_database(tmp_path)
    labels = [c.label for c in ChannelStore(db.settings, secrets).load()]
    assert labels == ["tgram://…/…", "json://user:…@127.0.0.1:8080/…"]
    db.close()


def test_a_channel_url_is_masked_in_every_log_line_once_made(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.redaction import install_redaction

    token = "wh-7Hq2LmZp0secret"
    url = f"json://127.0.0.1:9/{token}/"
    db = open_database(tmp_path)
    secrets = SecretStore.open(tmp_path, lambda _new: "pass phrase", backend="file", scrypt_n=2**10)
    ChannelStore(db.settings, secrets).add(url)
    db.close()
    install_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("POST %s failed; token=%s", url, token)
    assert "POST *** failed" in caplog.text
    assert token not in caplog.text
