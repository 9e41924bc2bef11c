"""The secret store: keychain through keyring, or the encrypted file where none exists."""

from __future__ import annotations

import json
import os
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from connectors.credentials import Credentials
from storage.errors import SecretStoreCorrupt, SecretStoreError, WrongPassphrase
from storage.paths import move_aside, secrets_path
from storage.secrets import BACKEND_ENV, SERVICE, PassphraseAsk, SecretStore, usable_keyring

FAST_N = 2**12
CREDS = Credentials(api_key="key-123456", secret="s3cret-Value-XYZ", password="pass-Phrase-9")
# Long enough that the ciphertext's random base64 cannot contain them by chance (a two-letter
# secret turns up in a Fernet token about one run in fifteen).
OKX2 = Credentials(api_key="okx-key-0002", secret="okx-Secret-0002", password="okx-Pass-0002")


NEW, OPEN, AGAIN = PassphraseAsk.NEW, PassphraseAsk.OPEN, PassphraseAsk.AGAIN


class Provider:
    """Records why the passphrase is asked each time."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[PassphraseAsk] = []

    def __call__(self, ask: PassphraseAsk) -> str:
        self.calls.append(ask)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def file_store(tmp_path: Path, provider: Provider) -> SecretStore:
    return SecretStore.open(tmp_path, provider, backend="file", scrypt_n=FAST_N)


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.data:
            raise PasswordDeleteError(username)
        del self.data[(service, username)]


@pytest.fixture
def restore_keyring():
    before = keyring.get_keyring()
    yield
    keyring.set_keyring(before)


def test_file_roundtrip_asks_once(tmp_path: Path) -> None:
    provider = Provider("correct horse")
    store = file_store(tmp_path, provider)
    assert store.backend_name.startswith("encrypted file (") and "secrets.enc" in store.backend_name
    assert store.get("none") is None and provider.calls == []
    store.set("bybit-main", CREDS)
    store.set("okx-2", OKX2)
    assert store.get("bybit-main") == CREDS
    assert provider.calls == [NEW]
    again = file_store(tmp_path, Provider("correct horse"))
    assert again.get("okx-2") == OKX2
    again.delete("okx-2")
    again.delete("never-there")
    assert again.get("okx-2") is None and again.get("bybit-main") == CREDS
    raw = secrets_path(tmp_path).read_bytes()
    for value in (*CREDS.secret_values(), CREDS.api_key, *OKX2.secret_values()):
        assert value.encode() not in raw
    assert oct(secrets_path(tmp_path).stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob("*.tmp"))


def test_a_wrong_passphrase_is_asked_again_saying_so(tmp_path: Path) -> None:
    file_store(tmp_path, Provider("right")).set("a", CREDS)
    provider = Provider("wrong", "right")
    store = file_store(tmp_path, provider)
    store.set("b", OKX2)
    assert provider.calls == [OPEN, AGAIN]
    assert store.get("a") == CREDS and store.get("b") == OKX2
    assert provider.calls == [OPEN, AGAIN]


def test_wrong_passphrase_is_clear_and_never_overwrites(tmp_path: Path) -> None:
    file_store(tmp_path, Provider("right")).set("a", CREDS)
    before = secrets_path(tmp_path).read_bytes()
    provider = Provider("wrong")
    store = file_store(tmp_path, provider)
    with pytest.raises(WrongPassphrase) as info:
        store.set("b", CREDS)
    assert str(info.value) == (
        f"the passphrase does not open the secret store at {secrets_path(tmp_path)}; "
        "restart Cascade Watch to enter it again"
    )
    assert secrets_path(tmp_path).read_bytes() == before
    assert provider.calls == [OPEN, AGAIN, AGAIN]


def test_corrupt_file_is_reported_not_replaced(tmp_path: Path) -> None:
    path = secrets_path(tmp_path)
    path.write_bytes(os.urandom(300))
    store = file_store(tmp_path, Provider("x"))
    with pytest.raises(SecretStoreCorrupt, match="move it aside"):
        store.set("a", CREDS)
    doc = {"format": "cascade-watch-secrets", "kdf": {"salt": "!!"}, "data": "x"}
    path.write_text(json.dumps(doc))
    with pytest.raises(SecretStoreCorrupt, match="header is damaged"):
        store.get("a")
    moved = move_aside(path)
    assert moved.exists() and not path.exists()
    store.set("a", CREDS)
    assert store.get("a") == CREDS


def test_empty_passphrase_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError, match="empty"):
        file_store(tmp_path, Provider("")).set("a", CREDS)
    assert not secrets_path(tmp_path).exists()


def test_environment_forces_file(tmp_path: Path, monkeypatch, restore_keyring) -> None:
    keyring.set_keyring(MemoryKeyring())
    monkeypatch.setenv(BACKEND_ENV, "file")
    store = SecretStore.open(tmp_path, Provider("p"), scrypt_n=FAST_N)
    assert store.backend_name.startswith("encrypted file")
    monkeypatch.delenv(BACKEND_ENV)
    assert "MemoryKeyring" in SecretStore.open(tmp_path, Provider("p")).backend_name


def test_fail_keyring_falls_back_to_file(tmp_path: Path, restore_keyring) -> None:
    keyring.set_keyring(fail.Keyring())
    assert usable_keyring() is None
    store = SecretStore.open(tmp_path, Provider("p"), scrypt_n=FAST_N)
    assert store.backend_name.startswith("encrypted file")
    with pytest.raises(SecretStoreError, match="no usable system keyring"):
        SecretStore.open(tmp_path, Provider("p"), backend="keyring")


def test_keyring_backend_roundtrip(tmp_path: Path, restore_keyring) -> None:
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    provider = Provider("unused")
    store = SecretStore.open(tmp_path, provider)
    store.set("bybit-main", CREDS)
    assert store.get("bybit-main") == CREDS
    assert (SERVICE, "bybit-main") in memory.data
    store.delete("bybit-main")
    store.delete("bybit-main")
    assert store.get("bybit-main") is None
    assert provider.calls == [] and not secrets_path(tmp_path).exists()


def test_errors_and_reprs_carry_no_secret(tmp_path: Path) -> None:
    store = file_store(tmp_path, Provider("right"))
    store.set("a", CREDS)
    texts = [repr(CREDS), str(CREDS), repr(store.get("a"))]
    try:
        file_store(tmp_path, Provider("wrong")).get("a")
    except WrongPassphrase as e:
        texts.append(str(e))
        texts.append(repr(e))
    for text in texts:
        for value in CREDS.secret_values():
            assert value not in text
