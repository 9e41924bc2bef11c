"""The encrypted key file never becomes unreadable with the right passphrase, and a damaged or
hostile header cannot hang the app.

Issue 13 item 3, as found: a store made at scrypt n=2^14, then an account added by a build whose
default was 2^15, left a header naming 2^15 over data encrypted under 2^14; the right passphrase
no longer opened it. Stores are written here as each earlier build wrote them (its parameters in
the header, the data under the key those parameters derive), so no file is read from outside.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from connectors.credentials import Credentials
from storage.errors import SecretStoreCorrupt, WrongPassphrase
from storage.paths import secrets_path
from storage.secrets import (
    FILE_FORMAT,
    PASSPHRASE_ATTEMPTS,
    SCRYPT_N,
    PassphraseAsk,
    SecretStore,
)

PASSPHRASE = "correct horse battery"
ENTRIES = {
    "binance-main": json.dumps(
        Credentials(api_key="bin-key-000001", secret="bin-Secret-000001").to_mapping()
    ),
    "okx-main": json.dumps(
        Credentials(
            api_key="okx-key-000002", secret="okx-Secret-000002", password="okx-Pass-000002"
        ).to_mapping()
    ),
}


def key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
    raw = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


def write_store(
    path: Path,
    *,
    header: tuple[int, int, int],
    data: tuple[int, int, int] | None = None,
    entries: dict[str, str] = ENTRIES,
    salt: bytes | None = None,
) -> None:
    """A secret file as an earlier build wrote it: ``header`` in the header, the data under the
    key of ``data`` (the header's own parameters unless given: the lying header of the bug)."""
    salt = salt or os.urandom(16)
    n, r, p = data or header
    token = key(PASSPHRASE, salt, n, r, p).encrypt(json.dumps(entries).encode())
    doc = {
        "format": FILE_FORMAT,
        "version": 1,
        "cipher": "fernet",
        "kdf": {
            "name": "scrypt",
            "n": header[0],
            "r": header[1],
            "p": header[2],
            "salt": base64.b64encode(salt).decode(),
        },
        "data": token.decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))


def header_of(path: Path) -> dict[str, object]:
    kdf = json.loads(path.read_text())["kdf"]
    assert isinstance(kdf, dict)
    return kdf


def opens_with_its_header(path: Path, passphrase: str = PASSPHRASE) -> dict[str, str]:
    """Decrypt the file by its header alone, as any later build would."""
    doc = json.loads(path.read_text())
    kdf = doc["kdf"]
    salt = base64.b64decode(kdf["salt"])
    plain = key(passphrase, salt, kdf["n"], kdf["r"], kdf["p"]).decrypt(doc["data"].encode())
    entries: dict[str, str] = json.loads(plain)
    return entries


def store(tmp_path: Path, answers: list[str] | None = None, **kwargs: int) -> SecretStore:
    given = list(answers or [PASSPHRASE])

    def provider(ask: PassphraseAsk) -> str:
        return given.pop(0) if len(given) > 1 else given[0]

    return SecretStore.open(tmp_path, provider, backend="file", **kwargs)


# Every parameter set a build of Cascade Watch wrote: the shipped default (2^15, 8, 1) and the
# lower costs tests and early builds passed as scrypt_n.
EARLIER = [(2**15, 8, 1), (2**14, 8, 1), (2**12, 8, 1), (2**10, 8, 1)]


@pytest.mark.parametrize(
    ("n", "r", "p"), EARLIER, ids=[f"n=2^{n.bit_length() - 1}" for n, *_ in EARLIER]
)
def test_stores_made_with_every_earlier_parameter_set_open(
    tmp_path: Path, n: int, r: int, p: int
) -> None:
    path = secrets_path(tmp_path)
    write_store(path, header=(n, r, p))
    s = store(tmp_path)
    assert s.get("okx-main") is not None
    assert s.get("okx-main").password == "okx-Pass-000002"  # type: ignore[union-attr]
    kdf = header_of(path)
    assert kdf["n"] == max(n, SCRYPT_N), "a weaker store is re-encrypted under the default"
    assert opens_with_its_header(path) == ENTRIES


def test_the_reported_case_2_14_then_an_account_added_at_2_15(tmp_path: Path) -> None:
    """As found: made at 2^14, an account added by a store whose default is 2^15. The header
    must name what the data are encrypted under, every time, so the next run opens it."""
    path = secrets_path(tmp_path)
    made = SecretStore.open(tmp_path, lambda ask: PASSPHRASE, backend="file", scrypt_n=2**14)
    made.set("binance-main", Credentials(api_key="bin-key-000001", secret="bin-Secret-000001"))
    assert header_of(path)["n"] == 2**14
    later = SecretStore.open(tmp_path, lambda ask: PASSPHRASE, backend="file", scrypt_n=2**15)
    later.set("okx-main", Credentials(api_key="k-000002", secret="s-000002", password="pw-0002"))
    assert header_of(path)["n"] == 2**15
    assert set(opens_with_its_header(path)) == {"binance-main", "okx-main"}
    again = store(tmp_path)
    assert again.get("binance-main") is not None and again.get("okx-main") is not None


def test_a_store_the_bug_already_damaged_opens_and_is_repaired(tmp_path: Path) -> None:
    """The file the old code left behind: header 2^15, data under 2^14. The right passphrase
    opens it (the earlier costs are tried with its salt) and the header is made true."""
    path = secrets_path(tmp_path)
    write_store(path, header=(2**15, 8, 1), data=(2**14, 8, 1))
    with pytest.raises(Exception):  # noqa: B017 - the header's own key does not open it
        opens_with_its_header(path)
    s = store(tmp_path)
    assert s.get("binance-main") is not None
    assert header_of(path)["n"] == SCRYPT_N
    assert opens_with_its_header(path) == ENTRIES
    assert not list(tmp_path.glob("*.tmp"))


def test_raising_the_default_re_encrypts_atomically(tmp_path: Path) -> None:
    path = secrets_path(tmp_path)
    write_store(path, header=(2**12, 8, 1))
    old_salt = header_of(path)["salt"]
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        replaced.append((str(src), str(dst)))
        real_replace(src, dst)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", spy)
        assert store(tmp_path, scrypt_n=2**14).get("binance-main") is not None
    assert len(replaced) == 1 and Path(replaced[0][1]) == path
    assert Path(replaced[0][0]).parent == path.parent
    kdf = header_of(path)
    assert kdf["n"] == 2**14 and kdf["salt"] != old_salt
    assert opens_with_its_header(path) == ENTRIES
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_stronger_store_is_never_weakened(tmp_path: Path) -> None:
    path = secrets_path(tmp_path)
    write_store(path, header=(2**15, 8, 1))
    s = store(tmp_path, scrypt_n=2**10)
    s.set("bybit-main", Credentials(api_key="by-key-0003", secret="by-Secret-0003"))
    assert header_of(path)["n"] == 2**15
    assert set(opens_with_its_header(path)) == {*ENTRIES, "bybit-main"}


def test_a_crash_while_upgrading_leaves_the_old_file(tmp_path: Path) -> None:
    path = secrets_path(tmp_path)
    write_store(path, header=(2**12, 8, 1))
    before = path.read_bytes()
    with pytest.MonkeyPatch.context() as mp:

        def boom(src: str, dst: str) -> None:
            raise OSError(28, "No space left on device")

        mp.setattr(os, "replace", boom)
        with pytest.raises(OSError):
            store(tmp_path, scrypt_n=2**14).get("binance-main")
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert store(tmp_path).get("binance-main") is not None


HOSTILE = [
    ({"n": 2**40}, "power of two|memory"),
    ({"n": 2**24}, "memory"),
    ({"r": 2**20}, "memory"),
    ({"p": 2**30}, "too much work"),
    ({"n": 2**14, "p": 2**12}, "too much work"),
    ({"n": 1000}, "not a power of two"),
    ({"n": 0}, "not a power of two"),
    ({"r": 0}, "not positive"),
    ({"p": -1}, "not positive"),
    ({"n": "lots"}, "header is damaged"),
    ({"n": 1e400}, "header is damaged"),
    ({"salt": ""}, "salt is 0 bytes"),
    ({"salt": base64.b64encode(b"x" * 4096).decode()}, "salt is 4096 bytes"),
    ({"name": "argon2"}, "header is damaged"),
]


@pytest.mark.parametrize(("change", "reason"), HOSTILE, ids=[str(c) for c, _ in HOSTILE])
def test_a_damaged_or_hostile_header_fails_at_once(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    path = secrets_path(tmp_path)
    write_store(path, header=(2**10, 8, 1))
    doc = json.loads(path.read_text())
    doc["kdf"].update(change)
    path.write_text(json.dumps(doc))
    asked: list[PassphraseAsk] = []

    def provider(ask: PassphraseAsk) -> str:
        asked.append(ask)
        return PASSPHRASE

    s = SecretStore.open(tmp_path, provider, backend="file")
    started = time.perf_counter()
    with pytest.raises(SecretStoreCorrupt, match=reason) as info:
        s.get("binance-main")
    assert time.perf_counter() - started < 1.0
    assert asked == [], "no passphrase is asked for a file that cannot be opened"
    assert "\n" not in str(info.value) and "move it aside" in str(info.value)


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = secrets_path(tmp_path)
    with open(path, "wb") as f:
        f.truncate(64 * 2**20)
    with pytest.raises(SecretStoreCorrupt, match="far too large"):
        store(tmp_path).get("a")


def test_a_wrong_passphrase_is_asked_once_per_run_not_once_per_account(tmp_path: Path) -> None:
    """Ten accounts read concurrently with a wrong passphrase: the user is asked
    PASSPHRASE_ATTEMPTS times in all (the retries say the previous one was wrong), then every
    account reports the store locked without asking again."""
    write_store(secrets_path(tmp_path), header=(2**10, 8, 1))
    asked: list[PassphraseAsk] = []

    def provider(ask: PassphraseAsk) -> str:
        asked.append(ask)
        return "wrong"

    s = SecretStore.open(tmp_path, provider, backend="file")
    errors: list[BaseException] = []

    def read(name: str) -> None:
        try:
            s.get(name)
        except WrongPassphrase as e:
            errors.append(e)

    threads = [threading.Thread(target=read, args=(f"account-{i}",)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert asked == [PassphraseAsk.OPEN] + [PassphraseAsk.AGAIN] * (PASSPHRASE_ATTEMPTS - 1)
    assert len(errors) == 10
    assert all(getattr(e, "final", False) for e in errors)
    assert "restart Cascade Watch" in str(errors[0])


def test_a_cancelled_prompt_is_not_asked_again(tmp_path: Path) -> None:
    write_store(secrets_path(tmp_path), header=(2**10, 8, 1))
    asked: list[PassphraseAsk] = []

    def provider(ask: PassphraseAsk) -> str:
        asked.append(ask)
        return ""

    s = SecretStore.open(tmp_path, provider, backend="file")
    for name in ENTRIES:
        with pytest.raises(WrongPassphrase):
            s.get(name)
    assert asked == [PassphraseAsk.OPEN]
