"""The secret store: API keys and secrets, by name, in the OS keychain or an encrypted file.

    store = SecretStore.open(data_dir, passphrase_provider=ask)   # ask(is_new: bool) -> str
    store.backend_name   # "Secret Service", "encrypted file (~/…/secrets.enc)", ...
    store.set("bybit-main", Credentials(api_key=..., secret=...))
    store.get("bybit-main")   # Credentials | None
    store.delete("bybit-main")
    store.set_text("notify-channel-1", "tgram://…")   # a secret that is one string

The keychain (``keyring``, service "CascadeWatch", one entry per name holding the credentials
as JSON) is used when the system has a usable one. Where it does not — headless Linux, where
keyring falls back to its fail backend — or when forced (``backend="file"`` or
CASCADE_SECRET_BACKEND=file), the secrets go to ``secrets.enc`` in the data directory:
Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the user's passphrase with scrypt
(random salt, stored in the file). The passphrase is asked through the ``passphrase_provider``
the UI or the terminal supplies, only when a secret is needed, and once per run: a wrong one is
asked again (the prompt says so) up to ``PASSPHRASE_ATTEMPTS`` times in all, shared by every
account; after that, or when the user gives none, every read raises ``WrongPassphrase`` without
asking until the next run.

The header's scrypt parameters are always those the data are encrypted under. A file written
with weaker parameters than the current default is re-encrypted under the default as soon as it
is opened (new salt; temporary file, fsync, rename: the old file or the new one, never a mix).
What a header may ask for is bounded (``check_kdf``: scrypt memory and work), so a damaged or
hostile header fails at once with a clear error instead of exhausting memory or time. A file
whose header names other parameters than its data were encrypted with (written by versions
before this rule) is opened by trying the parameter sets Cascade Watch has used, then repaired.

A wrong passphrase raises ``WrongPassphrase`` and the file is never rewritten with another key.
Secrets never appear in a log line or an exception message: only names and paths do.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from connectors.credentials import Credentials
from storage.errors import SecretStoreCorrupt, SecretStoreError, WrongPassphrase
from storage.paths import secrets_path

log = logging.getLogger(__name__)

SERVICE = "CascadeWatch"
BACKEND_ENV = "CASCADE_SECRET_BACKEND"
FILE_FORMAT = "cascade-watch-secrets"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
PASSPHRASE_ATTEMPTS = 3
"""Passphrase prompts per run, shared by every account (the first and two retries)."""

MAX_SCRYPT_MEMORY = 256 * 2**20
"""Bytes scrypt may use to open a file (128·n·r); the default needs 32 MiB."""
MAX_SCRYPT_WORK = 2**22
"""n·r·p a header may ask for: 16 times the default's (about a second on a laptop)."""
SALT_BYTES = (8, 64)
MAX_FILE_BYTES = 16 * 2**20
EARLIER_N = (2**15, 2**14, 2**12, 2**10)
"""scrypt costs stores have been written with (the shipped default, and the lower ones the
tests and early builds passed), tried with the header's salt, r and p when the header's own n
does not open the data: files written before the header was kept true."""


class PassphraseAsk(Enum):
    """Why the passphrase provider is called."""

    NEW = "new"
    """The file is about to be created: ask twice, say the passphrase cannot be recovered."""
    OPEN = "open"
    """An existing file must be opened."""
    AGAIN = "again"
    """The previous answer did not open the file: say so and ask again."""


PassphraseProvider = Callable[[PassphraseAsk], str]

_KEYRING_NAMES = {
    "keyring.backends.macOS": "macOS Keychain",
    "keyring.backends.SecretService": "Secret Service",
    "keyring.backends.libsecret": "Secret Service (libsecret)",
    "keyring.backends.Windows": "Windows Credential Locker",
    "keyring.backends.kwallet": "KWallet",
}


class SecretBackend(Protocol):
    name: str

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


def _describe_keyring(kr: object) -> str:
    from keyring.backends.chainer import ChainerBackend

    if isinstance(kr, ChainerBackend):
        return " + ".join(_describe_keyring(b) for b in kr.backends)
    module = type(kr).__module__
    return _KEYRING_NAMES.get(module) or str(getattr(kr, "name", type(kr).__name__))


def usable_keyring() -> object | None:
    """The system keyring when it can really keep secrets; None for keyring's fail backend,
    a chainer with nothing to chain, or a plaintext file keyring."""
    import keyring
    from keyring.backends import fail
    from keyring.backends.chainer import ChainerBackend

    try:
        kr = keyring.get_keyring()
    except Exception:
        log.warning("the system keyring could not be loaded", exc_info=True)
        return None
    if isinstance(kr, fail.Keyring) or type(kr).__module__.startswith("keyring.backends.null"):
        return None
    if isinstance(kr, ChainerBackend) and not kr.backends:
        return None
    if "plaintext" in type(kr).__name__.lower():
        return None
    return kr


class KeyringBackend:
    """The OS keychain through ``keyring``."""

    def __init__(self, kr: object) -> None:
        self._kr = kr
        self.name = _describe_keyring(kr)

    def get(self, name: str) -> str | None:
        from keyring.errors import KeyringError

        try:
            return self._kr.get_password(SERVICE, name)  # type: ignore[attr-defined,no-any-return]
        except KeyringError as e:
            raise SecretStoreError(
                f"the {self.name} refused to read {name!r}: {type(e).__name__}"
            ) from None

    def set(self, name: str, value: str) -> None:
        from keyring.errors import KeyringError

        try:
            self._kr.set_password(SERVICE, name, value)  # type: ignore[attr-defined]
        except KeyringError as e:
            raise SecretStoreError(
                f"the {self.name} refused to store {name!r}: {type(e).__name__}"
            ) from None

    def delete(self, name: str) -> None:
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            self._kr.delete_password(SERVICE, name)  # type: ignore[attr-defined]
        except PasswordDeleteError:
            pass
        except KeyringError as e:
            raise SecretStoreError(
                f"the {self.name} refused to delete {name!r}: {type(e).__name__}"
            ) from None


def _short(path: Path) -> str:
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


@dataclass(frozen=True, slots=True)
class KdfParams:
    """scrypt's cost parameters and salt, as the file's header holds them."""

    n: int
    r: int
    p: int
    salt: bytes

    def header(self) -> dict[str, object]:
        return {
            "name": "scrypt",
            "n": self.n,
            "r": self.r,
            "p": self.p,
            "salt": base64.b64encode(self.salt).decode("ascii"),
        }

    def weaker_than(self, n: int) -> bool:
        return self.n < n


def check_kdf(n: int, r: int, p: int, salt: bytes) -> str | None:
    """Why a header's scrypt parameters cannot be used (None when they can): n a power of two
    >= 2, r and p >= 1, memory and work within MAX_SCRYPT_MEMORY and MAX_SCRYPT_WORK."""
    if n < 2 or n & (n - 1):
        return f"its scrypt cost n={n} is not a power of two"
    if r < 1 or p < 1:
        return f"its scrypt parameters r={r}, p={p} are not positive"
    if 128 * n * r > MAX_SCRYPT_MEMORY:
        return (
            f"its scrypt parameters (n={n}, r={r}) ask for {128 * n * r // 2**20} MiB of memory, "
            f"more than the {MAX_SCRYPT_MEMORY // 2**20} MiB allowed"
        )
    if n * r * p > MAX_SCRYPT_WORK:
        return f"its scrypt parameters (n={n}, r={r}, p={p}) ask for too much work"
    if not SALT_BYTES[0] <= len(salt) <= SALT_BYTES[1]:
        return f"its salt is {len(salt)} bytes long"
    return None


class EncryptedFileBackend:
    """A JSON file holding scrypt parameters, the salt and one Fernet token of all entries."""

    def __init__(
        self,
        path: Path,
        passphrase_provider: PassphraseProvider,
        scrypt_n: int = SCRYPT_N,
    ) -> None:
        self.path = Path(path)
        self.name = f"encrypted file ({_short(self.path)})"
        self._provider = passphrase_provider
        self._scrypt_n = scrypt_n
        self._fernet: Fernet | None = None
        self._kdf: KdfParams | None = None
        """The parameters ``_fernet`` was derived with: the only ones ever written."""
        self._attempts = 0
        self._given_up = False
        self._lock = threading.RLock()

    @staticmethod
    def _derive(passphrase: str, kdf: KdfParams) -> Fernet:
        key = Scrypt(salt=kdf.salt, length=32, n=kdf.n, r=kdf.r, p=kdf.p).derive(
            passphrase.encode("utf-8")
        )
        return Fernet(base64.urlsafe_b64encode(key))

    def _read_file(self) -> dict[str, object] | None:
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise SecretStoreCorrupt(self.path, f"it is {size // 2**20} MiB, far too large")
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise SecretStoreError(
                f"cannot read the secret store at {self.path}: {e.strerror}"
            ) from None
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise SecretStoreCorrupt(self.path, "not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
            raise SecretStoreCorrupt(self.path, "not a Cascade Watch secret store")
        return doc

    def _header(self, doc: dict[str, object]) -> tuple[KdfParams, bytes]:
        try:
            kdf = doc["kdf"]
            if not isinstance(kdf, dict) or kdf.get("name", "scrypt") != "scrypt":
                raise TypeError
            params = KdfParams(
                int(kdf["n"]),
                int(kdf["r"]),
                int(kdf["p"]),
                base64.b64decode(str(kdf["salt"]), validate=True),
            )
            token = str(doc["data"]).encode("ascii")
        except (KeyError, TypeError, ValueError, OverflowError, binascii.Error):
            raise SecretStoreCorrupt(self.path, "its header is damaged") from None
        problem = check_kdf(params.n, params.r, params.p, params.salt)
        if problem:
            raise SecretStoreCorrupt(self.path, f"its header is damaged: {problem}")
        return params, token

    def _load(self) -> dict[str, str]:
        """Decrypt the whole store; asks for the passphrase the first time in this run."""
        doc = self._read_file()
        if doc is None:
            return {}
        kdf, token = self._header(doc)
        if self._fernet is None or self._kdf != kdf:
            return self._unlock(kdf, token)
        try:
            return self._entries(self._fernet.decrypt(token))
        except InvalidToken:
            # the file changed under us (another process re-encrypted it): ask again
            self._fernet = self._kdf = None
            return self._unlock(kdf, token)

    def _unlock(self, kdf: KdfParams, token: bytes) -> dict[str, str]:
        """Ask for the passphrase (again, after a wrong one, while attempts remain) and open
        the file; re-encrypt it when its parameters are weaker than the default or its header
        did not name the ones its data were encrypted with."""
        if self._given_up:
            raise WrongPassphrase(self.path, final=True)
        while True:
            ask = PassphraseAsk.AGAIN if self._attempts else PassphraseAsk.OPEN
            passphrase = self._provider(ask)
            self._attempts += 1
            opened = self._open_with(passphrase, kdf, token) if passphrase else None
            if opened is not None:
                break
            if not passphrase or self._attempts >= PASSPHRASE_ATTEMPTS:
                self._given_up = True
                raise WrongPassphrase(self.path, final=True)
        self._attempts = 0
        used, plain = opened
        entries = self._entries(plain)
        if used != kdf or used.weaker_than(self._scrypt_n):
            strong = KdfParams(max(self._scrypt_n, used.n), SCRYPT_R, SCRYPT_P, os.urandom(16))
            fernet = self._derive(passphrase, strong)
            self._write(strong, fernet, entries)
            log.info(
                "re-encrypted the secret store under scrypt n=%d (it was n=%d)",
                strong.n,
                used.n,
            )
            used = strong
        else:
            fernet = self._derive(passphrase, used)
        self._fernet, self._kdf = fernet, used
        return entries

    def _open_with(
        self, passphrase: str, kdf: KdfParams, token: bytes
    ) -> tuple[KdfParams, bytes] | None:
        """(the parameters that opened the token, the plaintext), or None: the header's own
        parameters first, then the earlier costs with the header's salt, r and p."""
        candidates = [kdf] + [KdfParams(n, kdf.r, kdf.p, kdf.salt) for n in EARLIER_N if n != kdf.n]
        for params in candidates:
            if check_kdf(params.n, params.r, params.p, params.salt):
                continue
            try:
                return params, self._derive(passphrase, params).decrypt(token)
            except InvalidToken:
                continue
        return None

    def _entries(self, plain: bytes) -> dict[str, str]:
        try:
            entries = json.loads(plain)
            if not isinstance(entries, dict):
                raise TypeError
        except (ValueError, TypeError, RecursionError):
            raise SecretStoreCorrupt(self.path, "its content is damaged") from None
        return {str(k): str(v) for k, v in entries.items()}

    def _save(self, entries: dict[str, str]) -> None:
        if self._fernet is None or self._kdf is None:
            passphrase = self._provider(PassphraseAsk.NEW)
            if not passphrase:
                raise SecretStoreError(
                    "the secret store needs a passphrase; an empty one was given"
                )
            self._kdf = KdfParams(self._scrypt_n, SCRYPT_R, SCRYPT_P, os.urandom(16))
            self._fernet = self._derive(passphrase, self._kdf)
        self._write(self._kdf, self._fernet, entries)

    def _write(self, kdf: KdfParams, fernet: Fernet, entries: dict[str, str]) -> None:
        """The header always names ``kdf``, the parameters ``fernet`` was derived with."""
        doc = {
            "format": FILE_FORMAT,
            "version": 1,
            "cipher": "fernet",
            "kdf": kdf.header(),
            "data": fernet.encrypt(json.dumps(entries).encode("utf-8")).decode("ascii"),
        }
        _atomic_write(self.path, json.dumps(doc, indent=1).encode("utf-8"))

    def get(self, name: str) -> str | None:
        with self._lock:
            return self._load().get(name)

    def set(self, name: str, value: str) -> None:
        with self._lock:
            entries = self._load()
            entries[name] = value
            self._save(entries)

    def delete(self, name: str) -> None:
        with self._lock:
            if not self.path.exists():
                return
            entries = self._load()
            if entries.pop(name, None) is not None:
                self._save(entries)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, rename over ``path``, fsync the
    folder: a crash leaves the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


class SecretStore:
    """Credentials by name. See the module docstring."""

    def __init__(self, backend: SecretBackend) -> None:
        self._backend = backend

    @classmethod
    def open(
        cls,
        data_dir: Path,
        passphrase_provider: PassphraseProvider,
        *,
        backend: str | None = None,
        scrypt_n: int = SCRYPT_N,
    ) -> SecretStore:
        """``backend``: "keyring", "file" or None (CASCADE_SECRET_BACKEND, else the keychain
        when usable, else the encrypted file)."""
        choice = (backend or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
        if choice not in ("auto", "keyring", "file"):
            raise ValueError(f"secret backend must be 'keyring', 'file' or 'auto', not {choice!r}")
        if choice != "file":
            kr = usable_keyring()
            if kr is not None:
                store = cls(KeyringBackend(kr))
                log.info("secrets are kept in the %s", store.backend_name)
                return store
            if choice == "keyring":
                raise SecretStoreError("no usable system keyring was found")
        file_backend = EncryptedFileBackend(
            secrets_path(Path(data_dir)), passphrase_provider, scrypt_n
        )
        log.info("secrets are kept in an %s", file_backend.name)
        return cls(file_backend)

    @property
    def backend_name(self) -> str:
        return self._backend.name

    def set(self, name: str, credentials: Credentials) -> None:
        self._backend.set(name, json.dumps(credentials.to_mapping()))
        log.info("stored the credentials named %r", name)

    def get(self, name: str) -> Credentials | None:
        text = self._backend.get(name)
        if text is None:
            return None
        try:
            return Credentials.from_mapping(json.loads(text))
        except (ValueError, AttributeError):
            raise SecretStoreError(f"the credentials named {name!r} are damaged") from None

    def set_text(self, name: str, value: str) -> None:
        """Keep a secret that is one string (a notification channel's URL)."""
        self._backend.set(name, json.dumps({"text": value}))
        log.info("stored the secret named %r", name)

    def get_text(self, name: str) -> str | None:
        text = self._backend.get(name)
        if text is None:
            return None
        try:
            return str(json.loads(text)["text"])
        except (ValueError, KeyError, TypeError):
            raise SecretStoreError(f"the secret named {name!r} is damaged") from None

    def delete(self, name: str) -> None:
        self._backend.delete(name)
        log.info("deleted the secret named %r", name)
