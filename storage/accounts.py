"""The exchange accounts the app watches (``db.accounts``).

A record holds the NAME of the account's entry in the secret store, never the secret. Removing
an account removes everything recorded for it (snapshots, blocks and warnings go by
``ON DELETE CASCADE``) and, with a secret store given, its secret too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from storage.connection import Connections
from storage.records import AccountRecord

log = logging.getLogger(__name__)


class SecretDeleter(Protocol):
    """What removing an account needs of the secret store."""

    def delete(self, name: str) -> None: ...


def _record(row: Mapping[str, Any]) -> AccountRecord:
    return AccountRecord(
        exchange=row["exchange"],
        label=row["label"],
        base_url=row["base_url"],
        ws_url=row["ws_url"],
        enabled=bool(row["enabled"]),
        is_demo=bool(row["is_demo"]),
        secret_name=row["secret_name"],
        id=int(row["id"]),
    )


class AccountRepository:
    def __init__(self, connections: Connections, secret_store: SecretDeleter | None = None):
        self._db = connections
        self._secret_store = secret_store

    def all(self) -> list[AccountRecord]:
        """Every account, in the order they were added."""
        return [_record(r) for r in self._db.query("SELECT * FROM accounts ORDER BY id")]

    def get(self, account_id: int) -> AccountRecord | None:
        rows = self._db.query("SELECT * FROM accounts WHERE id = ?", (account_id,))
        return _record(rows[0]) if rows else None

    def add(self, record: AccountRecord) -> AccountRecord:
        """Store a new account; returns it with its id."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                """INSERT INTO accounts
                   (exchange, label, base_url, ws_url, enabled, is_demo, secret_name)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    record.exchange,
                    record.label,
                    record.base_url,
                    record.ws_url,
                    int(record.enabled),
                    int(record.is_demo),
                    record.secret_name,
                ),
            )
        account_id = int(cur.lastrowid or 0)
        log.info("added account %d (%s, %r)", account_id, record.exchange, record.label)
        return replace(record, id=account_id)

    def update(self, record: AccountRecord) -> None:
        """Overwrite the account ``record.id``; KeyError when there is none."""
        if record.id is None:
            raise ValueError("updating an account needs a record with an id")
        with self._db.transaction() as conn:
            cur = conn.execute(
                """UPDATE accounts SET exchange = ?, label = ?, base_url = ?, ws_url = ?,
                   enabled = ?, is_demo = ?, secret_name = ? WHERE id = ?""",
                (
                    record.exchange,
                    record.label,
                    record.base_url,
                    record.ws_url,
                    int(record.enabled),
                    int(record.is_demo),
                    record.secret_name,
                    record.id,
                ),
            )
        if cur.rowcount == 0:
            raise KeyError(f"no account with id {record.id}")

    def remove(self, account_id: int) -> str | None:
        """Delete the account and everything recorded for it; returns its secret's name
        (None when there is no such account). With a secret store given, the secret is
        deleted too, after the rows are gone."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT secret_name FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                """DELETE FROM snapshot_positions WHERE snapshot_id IN
                   (SELECT id FROM snapshots WHERE account_id = ?)""",
                (account_id,),
            )
            conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        name: str | None = row[0]
        if name and self._secret_store is not None:
            self._secret_store.delete(name)
        log.info("removed account %d", account_id)
        return name
