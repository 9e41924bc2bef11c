"""The warning lifecycle: fire once, escalate, update, resolve, acknowledge, snooze.

The rules (``risk.warnings``) say which conditions hold now; ``AlertManager.update`` turns them
into warnings with a memory, persisted through the database so a restart neither repeats nor
forgets one:

- a condition that starts to hold fires a warning once; it stays active while the condition
  holds (the rules add hysteresis: an active condition clears only 10 % past its threshold);
- a rise in severity escalates it, which also ends an acknowledgement or a snooze;
- it resolves after ``clear_after`` consecutive evaluations without the condition; rules that
  were not evaluated (an account whose poll failed) resolve nothing;
- an acknowledged warning stays listed but silent; a snoozed one is silent until its time ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from monitor.events import (
    REASON_ACCOUNT_REMOVED,
    REASON_ALL_CLOSED,
    REASON_CLEARED,
    REASON_CLOSED,
    WarningEvent,
)
from risk.warnings import Condition, Severity
from storage.records import WarningRecord, WarningState, warning_key

logger = logging.getLogger(__name__)

UPDATE_EVERY_MS = 1_000
"""A still-active warning whose message changed is re-published at most this often: about
once a poll, so the figures in a warning never lag the positions table."""


class WarningStore(Protocol):
    def upsert(self, record: WarningRecord) -> WarningRecord: ...

    def all(self, active_only: bool = ...) -> Sequence[WarningRecord]: ...


def severity_of(record: WarningRecord) -> Severity:
    try:
        return Severity.parse(record.severity)
    except KeyError:
        return Severity.WARNING


def record_account(account_id: str) -> int | None:
    """The database's account id (an int) from the monitor's (a str)."""
    return int(account_id) if account_id.lstrip("-").isdigit() else None


def condition_key(cond: Condition) -> str:
    return warning_key(cond.rule, record_account(cond.account_id), cond.symbols)


class AlertManager:
    """Keeps the open warnings in memory, mirrors every change to the store, and reports each
    change through ``on_event``. Thread-safe: jobs for different accounts may call ``update``
    concurrently."""

    def __init__(
        self,
        store: WarningStore,
        on_event: Callable[[WarningEvent], None],
        *,
        clear_after: int = 2,
        update_every_ms: int = UPDATE_EVERY_MS,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._clear_after = max(1, clear_after)
        self._update_every_ms = update_every_ms
        self._lock = threading.RLock()
        self._open: dict[str, WarningRecord] = {}
        self._clear_counts: dict[str, int] = {}
        self._published_ms: dict[str, int] = {}
        for rec in store.all(active_only=True):
            if rec.state is not WarningState.RESOLVED:
                self._open[rec.key] = rec

    def open_warnings(self) -> tuple[WarningRecord, ...]:
        """Every warning not resolved, most severe first."""
        with self._lock:
            recs = list(self._open.values())
        return tuple(sorted(recs, key=lambda r: (-severity_of(r), r.first_seen_ms)))

    def active_keys(self, account_id: str) -> dict[str, Severity]:
        """The open warnings of an account, in the rules' key format, with their severity now
        (the rules relax a threshold only for a warning already at that severity)."""
        acc = record_account(account_id)
        with self._lock:
            return {
                _rule_key(r.key, account_id): severity_of(r)
                for r in self._open.values()
                if r.account_id == acc
            }

    def update(
        self,
        account_id: str,
        conditions: Iterable[Condition],
        evaluated_rules: Collection[str],
        now_ms: int,
        held_symbols: Collection[str] | None = None,
    ) -> list[WarningEvent]:
        """Apply one evaluation of ``evaluated_rules`` for an account; return (and report) the
        changes it made. ``held_symbols`` (the account's positions now) lets a resolved
        warning say that its position was closed rather than that its condition cleared."""
        events: list[WarningEvent] = []
        acc = record_account(account_id)
        with self._lock:
            seen: set[str] = set()
            for cond in conditions:
                key = condition_key(cond)
                seen.add(key)
                event = self._apply(key, cond, acc, now_ms)
                if event is not None:
                    events.append(event)
            for key, rec in list(self._open.items()):
                if rec.account_id != acc or rec.rule not in evaluated_rules or key in seen:
                    continue
                count = self._clear_counts.get(key, 0) + 1
                self._clear_counts[key] = count
                if count >= self._clear_after:
                    events.append(self._resolve(rec, now_ms, _clear_reason(rec, held_symbols)))
        for event in events:
            self._publish(event)
        return events

    def resolve_account(self, account_id: str, now_ms: int) -> list[WarningEvent]:
        """Resolve every open warning of an account (it was removed or disabled)."""
        acc = record_account(account_id)
        with self._lock:
            events = [
                self._resolve(r, now_ms, REASON_ACCOUNT_REMOVED)
                for r in list(self._open.values())
                if r.account_id == acc
            ]
        for event in events:
            self._publish(event)
        return events

    def acknowledge(self, key: str, now_ms: int) -> WarningEvent | None:
        with self._lock:
            rec = self._open.get(key)
            if rec is None:
                return None
            rec = replace(rec, state=WarningState.ACKNOWLEDGED, acknowledged_ms=now_ms)
            event = self._save(rec, "acknowledged")
        self._publish(event)
        return event

    def snooze(self, key: str, until_ms: int, now_ms: int) -> WarningEvent | None:
        with self._lock:
            rec = self._open.get(key)
            if rec is None or until_ms <= now_ms:
                return None
            rec = replace(rec, state=WarningState.SNOOZED, snoozed_until_ms=until_ms)
            event = self._save(rec, "snoozed")
        self._publish(event)
        return event

    def _apply(
        self, key: str, cond: Condition, acc: int | None, now_ms: int
    ) -> WarningEvent | None:
        self._clear_counts.pop(key, None)
        rec = self._open.get(key)
        if rec is None:
            rec = WarningRecord(
                key=key,
                rule=cond.rule,
                severity=cond.severity.label,
                message=cond.message,
                account_id=acc,
                symbols=tuple(cond.symbols),
                first_seen_ms=now_ms,
                last_seen_ms=now_ms,
            )
            self._published_ms[key] = now_ms
            return self._save(rec, "fired")
        old = severity_of(rec)
        if cond.severity > old:
            rec = replace(
                rec,
                severity=cond.severity.label,
                message=cond.message,
                last_seen_ms=now_ms,
                state=WarningState.ACTIVE,
                snoozed_until_ms=None,
                acknowledged_ms=None,
            )
            self._published_ms[key] = now_ms
            return self._save(rec, "escalated")
        change: str | None = None
        if rec.state is WarningState.SNOOZED and (rec.snoozed_until_ms or 0) <= now_ms:
            rec = replace(rec, state=WarningState.ACTIVE, snoozed_until_ms=None)
            change = "updated"
        if cond.severity < old or (
            cond.message != rec.message
            and (now_ms - self._published_ms.get(key, 0) >= self._update_every_ms)
        ):
            change = "updated"
        if change is None:
            rec = replace(rec, last_seen_ms=now_ms)
            self._open[key] = rec
            self._store.upsert(rec)
            return None
        rec = replace(rec, severity=cond.severity.label, message=cond.message, last_seen_ms=now_ms)
        self._published_ms[key] = now_ms
        return self._save(rec, change)

    def _resolve(self, rec: WarningRecord, now_ms: int, reason: str) -> WarningEvent:
        rec = replace(rec, state=WarningState.RESOLVED, resolved_ms=now_ms)
        self._clear_counts.pop(rec.key, None)
        self._published_ms.pop(rec.key, None)
        return self._save(rec, "resolved", reason)

    def _save(self, rec: WarningRecord, change: str, reason: str = "") -> WarningEvent:
        self._store.upsert(rec)
        if rec.state is WarningState.RESOLVED:
            self._open.pop(rec.key, None)
        else:
            self._open[rec.key] = rec
        logger.info("warning %s: %s %s", change, rec.key, rec.severity)
        return WarningEvent(change, rec, reason)

    def _publish(self, event: WarningEvent) -> None:
        try:
            self._on_event(event)
        except Exception:
            logger.exception("warning callback failed")


def _clear_reason(rec: WarningRecord, held_symbols: Collection[str] | None) -> str:
    if held_symbols is not None and rec.symbols and not set(rec.symbols) <= set(held_symbols):
        return REASON_CLOSED if len(rec.symbols) == 1 else REASON_ALL_CLOSED
    return REASON_CLEARED


def _rule_key(key: str, account_id: str) -> str:
    """The rules' key (``risk.warnings.warning_key``) for a stored key: same format, the
    account part as the monitor's string id."""
    rule, _, rest = key.partition("|")
    _, _, symbols = rest.partition("|")
    return f"{rule}|{account_id}|{symbols}"
