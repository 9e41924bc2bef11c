"""The secret store for the commands (``watch``, ``accounts``, ``channels``).

Where no keychain exists (a headless Linux server, a Raspberry Pi) the API keys and channel
URLs are in the encrypted file, and its passphrase is asked on the terminal. A service cannot
type it: ``CASCADE_PASSPHRASE_FILE`` names a file holding it instead. The file must be readable
by its owner only (``chmod 600``); one that others may read is refused, saying so. It protects
the secrets only as well as its permissions do — like an SSH key without a passphrase — so it
belongs on a machine only you use (docs/always-on.md). A passphrase from the file that does
not open the store is not asked again: the keys stay locked and the command says why.
"""

from __future__ import annotations

import getpass
import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from storage.errors import SecretStoreError

if TYPE_CHECKING:
    from storage.secrets import PassphraseAsk, PassphraseProvider, SecretStore

logger = logging.getLogger(__name__)

PASSPHRASE_FILE_ENV = "CASCADE_PASSPHRASE_FILE"
PASSPHRASE_PROMPTS = {
    "new": "New passphrase for the secret file: ",
    "open": "Secret file passphrase: ",
    "again": "That passphrase did not open the secret file. Secret file passphrase: ",
}


def read_passphrase_file(path: Path) -> str:
    """The passphrase in ``path`` (one trailing newline dropped); ``SecretStoreError`` with one
    line when the file is missing, empty, or readable by anyone but its owner."""
    where = f"{PASSPHRASE_FILE_ENV} ({path})"
    try:
        info = path.stat()
        if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretStoreError(
                f"{where} may be read by other users; make it private: chmod 600 {path}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SecretStoreError(f"{where} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise SecretStoreError(f"{where} cannot be read: {reason}") from None
    passphrase = text[:-1] if text.endswith("\n") else text
    passphrase = passphrase[:-1] if passphrase.endswith("\r") else passphrase
    if not passphrase:
        raise SecretStoreError(f"{where} is empty")
    return passphrase


def terminal_passphrase(ask: PassphraseAsk) -> str:
    """The secret file's passphrase: from ``CASCADE_PASSPHRASE_FILE`` when it is set, else
    asked on the terminal (a wrong one is asked again, a few times per run)."""
    path = os.environ.get(PASSPHRASE_FILE_ENV, "").strip()
    if path:
        if ask.value == "again":
            raise SecretStoreError(
                f"the passphrase in {PASSPHRASE_FILE_ENV} ({path}) does not open the secret file"
            )
        return read_passphrase_file(Path(path).expanduser())
    return getpass.getpass(PASSPHRASE_PROMPTS[ask.value])


def open_secrets(
    data_dir: Path, passphrase_provider: PassphraseProvider = terminal_passphrase
) -> SecretStore | None:
    """The secret store, or None when it cannot be opened (accounts then fail to connect, and
    stored push channels are off; both say so). The passphrase (for the encrypted-file
    store) is asked through ``passphrase_provider`` only when a secret is read or kept."""
    try:
        from storage.secrets import SecretStore

        return SecretStore.open(data_dir, passphrase_provider)
    except Exception as exc:
        logger.warning("secret store unavailable: %s", type(exc).__name__)
        return None
