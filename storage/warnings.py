"""Warnings as the monitor last left them (``db.warnings``), so a restart neither repeats nor
forgets one. The store keeps each warning's severity history itself, and a log of every
change in each warning's life (``log``, ``changes``) for the window's history.

The record's enums are stored as their values (the severity as its label: "warning"), which are
the strings earlier versions stored, so their databases read as before. A warning on no account
(``alerts.NO_ACCOUNT``: a push channel failing, the database that cannot be written) has no
account id in the tables (NULL), as the column refers to the accounts."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from alerts.vocabulary import NO_ACCOUNT, Change, ResolveReason, Severity, WarningRule, WarningState
from storage.connection import Connections
from storage.records import WarningChange, WarningRecord

log = logging.getLogger(__name__)

LOG_KEPT = 10_000
"""Changes kept in the log (a busy year of warnings; older ones go)."""


def _account_stored(account_id: int) -> int | None:
    """The table's account id: NULL for a warning on no account (the column refers to the
    accounts)."""
    return None if account_id == NO_ACCOUNT else account_id


def _account_read(value: int | None) -> int:
    return NO_ACCOUNT if value is None else int(value)


def _record(r: Mapping[str, Any]) -> WarningRecord | None:
    """A stored warning, its enums read back from their values; None (logged) for a row this
    version cannot read (a rule it does not know)."""
    try:
        return WarningRecord(
            key=r["key"],
            rule=WarningRule(r["rule"]),
            severity=Severity.parse(r["severity"]),
            message=r["message"],
            account_id=_account_read(r["account_id"]),
            symbols=tuple(json.loads(r["symbols"])),
            first_seen_ms=r["first_seen_ms"],
            last_seen_ms=r["last_seen_ms"],
            state=WarningState(r["state"]),
            snoozed_until_ms=r["snoozed_until_ms"],
            resolved_ms=r["resolved_ms"],
            acknowledged_ms=r["acknowledged_ms"],
            severity_history=tuple(
                (int(t), Severity.parse(str(s))) for t, s in json.loads(r["severity_history"])
            ),
        )
    except (TypeError, ValueError) as exc:
        log.warning("warning %r left out: %s", r["key"], exc)
        return None


def _change(r: Mapping[str, Any]) -> WarningChange | None:
    """A logged change, its enums read back; None (logged) for one this version cannot read."""
    try:
        return WarningChange(
            ts_ms=int(r["ts_ms"]),
            key=r["key"],
            change=Change(r["change"]),
            severity=Severity.parse(r["severity"]),
            account_id=_account_read(r["account_id"]),
            message=r["message"],
            reason=None if r["reason"] is None else ResolveReason(r["reason"]),
        )
    except (TypeError, ValueError) as exc:
        log.warning("a change of warning %r left out: %s", r["key"], exc)
        return None


MAX_SEVERITY_CHANGES = 200
"""A warning's severity history keeps its last 200 changes (and none older than 90 days:
storage/retention.py), so a warning that flickers for weeks does not grow without bound."""


class WarningRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def upsert(self, record: WarningRecord) -> WarningRecord:
        """Insert or update the warning with ``record.key``; the severity history gains an
        entry whenever the severity differs from the last one recorded. Returns the record
        as stored (with that history)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT severity_history FROM warnings WHERE key = ?", (record.key,)
            ).fetchone()
            history = [(int(t), str(s)) for t, s in json.loads(row[0])] if row else []
            if not history or history[-1][1] != record.severity.label:
                history.append((record.last_seen_ms, record.severity.label))
                history = history[-MAX_SEVERITY_CHANGES:]
            conn.execute(
                """INSERT INTO warnings (key, rule, severity, message, account_id, symbols,
                   first_seen_ms, last_seen_ms, state, snoozed_until_ms, resolved_ms,
                   acknowledged_ms, severity_history)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (key) DO UPDATE SET rule = excluded.rule,
                   severity = excluded.severity, message = excluded.message,
                   account_id = excluded.account_id, symbols = excluded.symbols,
                   first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
                   state = excluded.state, snoozed_until_ms = excluded.snoozed_until_ms,
                   resolved_ms = excluded.resolved_ms, acknowledged_ms = excluded.acknowledged_ms,
                   severity_history = excluded.severity_history""",
                (
                    record.key,
                    record.rule.value,
                    record.severity.label,
                    record.message,
                    _account_stored(record.account_id),
                    json.dumps(list(record.symbols)),
                    record.first_seen_ms,
                    record.last_seen_ms,
                    record.state.value,
                    record.snoozed_until_ms,
                    record.resolved_ms,
                    record.acknowledged_ms,
                    json.dumps(history),
                ),
            )
        return replace(
            record,
            symbols=tuple(record.symbols),
            severity_history=tuple((t, Severity.parse(s)) for t, s in history),
        )

    def all(self, active_only: bool = False) -> list[WarningRecord]:
        """Newest first. ``active_only`` leaves out resolved warnings (acknowledged and snoozed
        ones are still open)."""
        sql = "SELECT * FROM warnings"
        if active_only:
            sql += " WHERE state != 'resolved'"
        rows = self._db.query(sql + " ORDER BY last_seen_ms DESC")
        return [rec for rec in map(_record, rows) if rec is not None]

    def get(self, key: str) -> WarningRecord | None:
        rows = self._db.query("SELECT * FROM warnings WHERE key = ?", (key,))
        return _record(rows[0]) if rows else None

    def log(self, change: WarningChange) -> None:
        """Keep one change in a warning's life for the history (the newest ``LOG_KEPT``)."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                """INSERT INTO warning_changes
                   (ts_ms, key, change, severity, account_id, message, reason)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    change.ts_ms,
                    change.key,
                    change.change.value,
                    change.severity.label,
                    _account_stored(change.account_id),
                    change.message,
                    None if change.reason is None else change.reason.value,
                ),
            )
            if cursor.lastrowid is not None and cursor.lastrowid % 100 == 0:
                conn.execute(
                    "DELETE FROM warning_changes WHERE id <= ?", (cursor.lastrowid - LOG_KEPT,)
                )

    def changes(self, limit: int = 500) -> list[WarningChange]:
        """The newest ``limit`` changes, newest first."""
        rows = self._db.query(
            "SELECT * FROM warning_changes ORDER BY ts_ms DESC, id DESC LIMIT ?", (int(limit),)
        )
        return [c for c in map(_change, rows) if c is not None]
