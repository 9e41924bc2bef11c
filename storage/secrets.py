"""The secret store: API keys and secrets, by name, in the OS keychain or an encrypted file.

    store = SecretStore.open(data_dir, passphrase_provider=ask)   # ask(is_new: bool) -> str
    store.backend_name   # "Secret Service", "encrypted file (~/…/secrets.enc)", ...
    store.set("bybit-main", Credentials(api_key=..., secret=...))
    store.get("bybit-main")   # Credentials | None
    store.delete("bybit-main")

The keychain (``keyring``, service "CascadeWatch", one entry per name holding the credentials
as JSON) is used when the system has a usable one. Where it does not — headless Linux, where
keyring falls back to its fail backend — or when forced (``backend="file"`` or
CASCADE_SECRET_BACKEND=file), the secrets go to ``secrets.enc`` in the data directory:
Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the user's passphrase with scrypt
(random salt, stored in the file). The passphrase is asked at most once per run, through the
``passphrase_provider`` the UI or the terminal supplies, and only when a secret is needed.

A wrong passphrase raises ``WrongPassphrase`` and the file is never rewritten with another key;
writes go to a temporary file, fsynced, renamed over the old one. Secrets never appear in a
log line or an exception message: only names and paths do.
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

PassphraseProvider = Callable[[bool], str]
"""Called with is_new=True when the file is about to be created (ask twice, explain that the
passphrase cannot be recovered), False when an existing file must be opened."""

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
        self._salt: bytes | None = None
        self._lock = threading.RLock()

    @staticmethod
    def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> Fernet:
        key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
        return Fernet(base64.urlsafe_b64encode(key))

    def _read_file(self) -> dict[str, object] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise SecretStoreError(
                f"cannot read the secret store at {self.path}: {e.strerror}"
            ) from None
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SecretStoreCorrupt(self.path, "not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
            raise SecretStoreCorrupt(self.path, "not a Cascade Watch secret store")
        return doc

    def _load(self) -> dict[str, str]:
        """Decrypt the whole store; asks for the passphrase the first time in this run."""
        doc = self._read_file()
        if doc is None:
            return {}
        try:
            kdf = doc["kdf"]
            assert isinstance(kdf, dict)
            salt = base64.b64decode(str(kdf["salt"]))
            n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
            token = str(doc["data"]).encode("ascii")
        except (KeyError, TypeError, ValueError, AssertionError, binascii.Error):
            raise SecretStoreCorrupt(self.path, "its header is damaged") from None
        if self._fernet is None or self._salt != salt:
            self._fernet = self._derive(self._provider(False), salt, n, r, p)
            self._salt = salt
        try:
            plain = self._fernet.decrypt(token)
        except InvalidToken:
            self._fernet = None
            raise WrongPassphrase(self.path) from None
        try:
            entries = json.loads(plain)
        except ValueError:
            raise SecretStoreCorrupt(self.path, "its content is damaged") from None
        return {str(k): str(v) for k, v in entries.items()}

    def _save(self, entries: dict[str, str]) -> None:
        if self._fernet is None or self._salt is None:
            passphrase = self._provider(True)
            if not passphrase:
                raise SecretStoreError(
                    "the secret store needs a passphrase; an empty one was given"
                )
            self._salt = os.urandom(16)
            self._fernet = self._derive(passphrase, self._salt, self._scrypt_n, SCRYPT_R, SCRYPT_P)
        doc = {
            "format": FILE_FORMAT,
            "version": 1,
            "cipher": "fernet",
            "kdf": {
                "name": "scrypt",
                "n": self._scrypt_n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": base64.b64encode(self._salt).decode("ascii"),
            },
            "data": self._fernet.encrypt(json.dumps(entries).encode("utf-8")).decode("ascii"),
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

    def delete(self, name: str) -> None:
        self._backend.delete(name)
        log.info("deleted the credentials named %r", name)
