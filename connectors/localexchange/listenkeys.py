"""Binance user-data listen keys: ``POST /fapi/v1/listenKey`` issues one per account (the same
key while it lives), ``PUT`` keeps it alive for another 60 minutes, ``DELETE`` closes it; the
user-data stream ``/private/ws?listenKey=K`` is opened with it. Lifetimes run on the real
clock, like request timestamps."""

from __future__ import annotations

import secrets
import threading
import time

from connectors.localexchange.accounts import LocalAccount

LIFETIME_S = 3600.0


class ListenKeys:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, tuple[LocalAccount, float]] = {}

    def issue(self, account: LocalAccount) -> str:
        now = time.time()
        with self._lock:
            for key, (owner, expires) in self._by_key.items():
                if owner is account and expires > now:
                    self._by_key[key] = (account, now + LIFETIME_S)
                    return key
            key = secrets.token_hex(30)
            self._by_key[key] = (account, now + LIFETIME_S)
            return key

    def keep_alive(self, account: LocalAccount) -> str | None:
        """Extend the account's live key; None when it has none."""
        now = time.time()
        with self._lock:
            for key, (owner, expires) in self._by_key.items():
                if owner is account and expires > now:
                    self._by_key[key] = (account, now + LIFETIME_S)
                    return key
        return None

    def close(self, account: LocalAccount) -> None:
        with self._lock:
            for key in [k for k, (owner, _) in self._by_key.items() if owner is account]:
                del self._by_key[key]

    def account(self, key: str) -> LocalAccount | None:
        with self._lock:
            entry = self._by_key.get(key)
        if entry is None or entry[1] <= time.time():
            return None
        return entry[0]
