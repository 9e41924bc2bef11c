"""The warning lifecycle: fire once, escalate, update, resolve, acknowledge, snooze.

The rules (``alerts.evaluate`` and ``monitor.health``) say which conditions hold now;
``AlertManager.update`` turns them into warnings with a memory, persisted through the database
so a restart neither repeats nor forgets one:

- a condition that starts to hold fires a warning once; it stays active while the condition
  holds (the rules add hysteresis: an active condition clears only 10 % past its threshold);
- a rise in severity escalates it (unless it is a return to a severity it had lately: see
  below); a rise above the severity the trader acknowledged or snoozed it at also ends the
  acknowledgement or the snooze (a warning that fell and rose back to that severity stays
  quiet);
- it resolves after ``clear_after`` consecutive evaluations without the condition; rules that
  were not evaluated (an account whose poll failed) resolve nothing; a warning about positions
  that are gone resolves as liquidated when a liquidation condition names them, as closed
  otherwise, and waits while the monitor has not yet decided which (``undecided``);
- a figure that wobbles about a line is one alarm, not an escalation at each crossing (the
  remedies alarm-management practice prescribes for chattering alarms, ISA-18.2 / EEMUA 191):
  a fall in severity waits ``hold_ms`` (the setting ``alerts.deescalate_after_min``; an
  off-delay): the warning keeps its severity, with the figures of now in its message, until
  its condition has stayed lower that long; and a rise back to a severity the warning had
  within ``reannounce_ms`` (``alerts.reannounce_after_min``) is shown as an update, not
  announced again. A rise is never delayed, and a severity the warning has not had lately
  is announced at once;
- an acknowledged warning stays listed but silent; a snoozed one is silent until its time ends,
  then returns (``Change.RETURNED``) if its condition still holds.

Every change is reported through ``on_event`` first and written after (``monitor.writes``):
a database that cannot be written never delays or silences a warning.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace

from alerts.vocabulary import (
    Change,
    Condition,
    ResolveReason,
    Severity,
    WarningRule,
    WarningState,
)
from monitor.events import WarningEvent
from monitor.ports import WarningStore
from monitor.writes import Kind, Writes
from settings.registry import DEESCALATE_AFTER_MIN, REANNOUNCE_AFTER_MIN
from storage.failures import diagnose
from storage.records import WarningChange, WarningRecord

logger = logging.getLogger(__name__)

QUIET = frozenset({WarningState.ACKNOWLEDGED, WarningState.SNOOZED})

UPDATE_EVERY_MS = 1_000
"""A still-active warning whose message changed is re-published at most this often: about
once a poll, so the figures in a warning never lag the positions table."""
SAVE_EVERY_MS = 1_000
"""What only refreshes a warning (still seen, new figures) is written at most this often."""
HOLD_MS = DEESCALATE_AFTER_MIN.default * 60_000
"""How long a warning's condition must stay at a lower severity before the warning falls to it
(the setting's default)."""
REANNOUNCE_MS = REANNOUNCE_AFTER_MIN.default * 60_000
"""A rise back to a severity the warning had within this long is an update (the setting's
default)."""


class AlertManager:
    """Keeps the open warnings in memory, reports each change through ``on_event`` and then
    mirrors it to the store (through ``writes``, which keeps and retries what the database
    refuses). Thread-safe: jobs for different accounts may call ``update`` concurrently."""

    def __init__(
        self,
        store: WarningStore,
        on_event: Callable[[WarningEvent], None],
        *,
        clear_after: int = 2,
        update_every_ms: int = UPDATE_EVERY_MS,
        hold_ms: int = HOLD_MS,
        reannounce_ms: int = REANNOUNCE_MS,
        writes: Writes | None = None,
    ) -> None:
        self._store = store
        self._on_event = on_event
        self._clear_after = max(1, clear_after)
        self._update_every_ms = update_every_ms
        self.hold_ms = max(0, hold_ms)
        """How long a lower severity must hold before the warning falls to it (0: at once)."""
        self.reannounce_ms = max(0, reannounce_ms)
        """A rise back to a severity the warning had within this long is an update, not news."""
        self.writes = writes or Writes(diagnose)
        self._lock = threading.RLock()
        self._open: dict[str, WarningRecord] = {}
        self._clear_counts: dict[str, int] = {}
        self._published_ms: dict[str, int] = {}
        self._lower_since: dict[str, int] = {}
        """When each warning's condition fell below the warning's severity (while held)."""
        self._had: dict[str, dict[Severity, int]] = {}
        """When each open warning was last at each severity."""
        self._runs: dict[str, tuple[Severity, int]] = {}
        """Each warning's severity as last queued for the store, and how many times it changed:
        records queued within one run replace each other while they wait (the store appends
        the severity history on a change, so each run's first record is kept)."""
        self._quiet_at: dict[str, Severity] = {}
        """The severity each acknowledged or snoozed warning had when the trader quieted it
        (after a restart: its stored severity, which errs towards showing it again)."""
        self._saved_ms: dict[str, int] = {}
        for rec in store.all(active_only=True):
            if rec.state is not WarningState.RESOLVED:
                self._open[rec.key] = rec
                if rec.state in QUIET:
                    self._quiet_at[rec.key] = rec.severity

    def open_warnings(self) -> tuple[WarningRecord, ...]:
        """Every warning not resolved, most severe first."""
        with self._lock:
            recs = list(self._open.values())
        return tuple(sorted(recs, key=lambda r: (-r.severity, r.first_seen_ms)))

    def active_keys(self, account_id: int) -> dict[str, Severity]:
        """The open warnings of an account with their severity now (the rules relax a
        threshold only for a warning already at that severity)."""
        with self._lock:
            return {r.key: r.severity for r in self._open.values() if r.account_id == account_id}

    def update(
        self,
        account_id: int,
        conditions: Iterable[Condition],
        evaluated_rules: Collection[WarningRule],
        now_ms: int,
        held_symbols: Collection[str] | None = None,
        undecided: Collection[str] = (),
    ) -> list[WarningEvent]:
        """Apply one evaluation of ``evaluated_rules`` for an account; return (and report) the
        changes it made. ``held_symbols`` (the account's positions now) lets a resolved
        warning say that its position was closed, or liquidated when this evaluation's
        liquidation condition names it, rather than that its condition cleared. A warning
        about a symbol in ``undecided`` (gone, but whether by a liquidation is not settled
        yet) does not resolve until it is settled."""
        events: list[WarningEvent] = []
        conditions = list(conditions)
        with self._lock:
            seen: set[str] = set()
            for cond in conditions:
                seen.add(cond.key)
                event = self._apply(cond, now_ms)
                if event is not None:
                    events.append(event)
            liquidated = {
                s for c in conditions if c.rule is WarningRule.LIQUIDATED for s in c.symbols
            }
            waiting = set(undecided)
            for key, rec in list(self._open.items()):
                if rec.account_id != account_id or rec.rule not in evaluated_rules or key in seen:
                    continue
                count = self._clear_counts.get(key, 0) + 1
                self._clear_counts[key] = count
                if count >= self._clear_after and not waiting.intersection(rec.symbols):
                    reason = _clear_reason(rec, held_symbols, liquidated)
                    events.append(self._resolve(rec, now_ms, reason))
        self._publish(events, now_ms)
        return events

    def resolve_account(self, account_id: int, now_ms: int) -> list[WarningEvent]:
        """Resolve every open warning of an account (it was removed or disabled)."""
        with self._lock:
            events = [
                self._resolve(r, now_ms, ResolveReason.ACCOUNT_REMOVED)
                for r in list(self._open.values())
                if r.account_id == account_id
            ]
        self._publish(events, now_ms)
        return events

    def acknowledge(self, key: str, now_ms: int) -> WarningEvent | None:
        with self._lock:
            rec = self._open.get(key)
            if rec is None:
                return None
            rec = replace(rec, state=WarningState.ACKNOWLEDGED, acknowledged_ms=now_ms)
            self._quiet_at[key] = rec.severity
            event = self._save(rec, Change.ACKNOWLEDGED, now_ms)
        self._publish([event], now_ms)
        return event

    def snooze(self, key: str, until_ms: int, now_ms: int) -> WarningEvent | None:
        with self._lock:
            rec = self._open.get(key)
            if rec is None or until_ms <= now_ms:
                return None
            rec = replace(rec, state=WarningState.SNOOZED, snoozed_until_ms=until_ms)
            self._quiet_at[key] = rec.severity
            event = self._save(rec, Change.SNOOZED, now_ms)
        self._publish([event], now_ms)
        return event

    def _apply(self, cond: Condition, now_ms: int) -> WarningEvent | None:
        key = cond.key
        self._clear_counts.pop(key, None)
        rec = self._open.get(key)
        if rec is None:
            self._lower_since.pop(key, None)
            rec = WarningRecord(
                key=key,
                rule=cond.rule,
                severity=cond.severity,
                message=cond.message,
                account_id=cond.account_id,
                symbols=tuple(cond.symbols),
                first_seen_ms=now_ms,
                last_seen_ms=now_ms,
            )
            self._published_ms[key] = now_ms
            return self._save(rec, Change.FIRED, now_ms)
        old = rec.severity
        self._had.setdefault(key, {})[old] = now_ms  # it has been at ``old`` until now
        quieted_at = self._quiet_at.get(key) if rec.state in QUIET else None
        if (
            cond.severity > old
            and (quieted_at is None or cond.severity > quieted_at)
            and not (
                rec.state is WarningState.ACTIVE and self._had_lately(key, cond.severity, now_ms)
            )
        ):
            rec = replace(
                rec,
                severity=cond.severity,
                message=cond.message,
                last_seen_ms=now_ms,
                state=WarningState.ACTIVE,
                snoozed_until_ms=None,
                acknowledged_ms=None,
            )
            self._quiet_at.pop(key, None)
            self._lower_since.pop(key, None)
            self._published_ms[key] = now_ms
            return self._save(rec, Change.ESCALATED, now_ms)
        severity = self._held(key, cond.severity, old, now_ms)
        change: Change | None = None
        if rec.state is WarningState.SNOOZED and (rec.snoozed_until_ms or 0) <= now_ms:
            rec = replace(rec, state=WarningState.ACTIVE, snoozed_until_ms=None)
            self._quiet_at.pop(key, None)
            change = Change.RETURNED
        elif severity != old or (
            cond.message != rec.message
            and (now_ms - self._published_ms.get(key, 0) >= self._update_every_ms)
        ):
            change = Change.UPDATED
        if change is None:
            rec = replace(rec, last_seen_ms=now_ms)
            self._open[key] = rec
            # with streams a rule is evaluated on every mark tick: what is still seen is
            # written at most once a second, not once a tick
            if now_ms - self._saved_ms.get(key, -(2**62)) >= SAVE_EVERY_MS:
                self._saved_ms[key] = now_ms
                self._queue(rec)
            return None
        rec = replace(rec, severity=severity, message=cond.message, last_seen_ms=now_ms)
        self._published_ms[key] = now_ms
        return self._save(rec, change, now_ms)

    def _had_lately(self, key: str, severity: Severity, now_ms: int) -> bool:
        """Whether the warning was at ``severity`` or above within ``reannounce_ms``: a rise
        back to it is then no news (an update), however the figure wobbled meanwhile."""
        had = self._had.get(key, {})
        return any(s >= severity and now_ms - t < self.reannounce_ms for s, t in had.items())

    def _held(self, key: str, severity: Severity, current: Severity, now_ms: int) -> Severity:
        """The severity the warning takes now: ``severity`` (its condition's), unless that is
        lower than ``current`` and has not been for ``hold_ms`` yet."""
        if severity >= current:
            self._lower_since.pop(key, None)
            return severity
        since = self._lower_since.setdefault(key, now_ms)
        if now_ms - since < self.hold_ms:
            return current
        del self._lower_since[key]
        return severity

    def _resolve(self, rec: WarningRecord, now_ms: int, reason: ResolveReason) -> WarningEvent:
        rec = replace(rec, state=WarningState.RESOLVED, resolved_ms=now_ms)
        self._clear_counts.pop(rec.key, None)
        self._quiet_at.pop(rec.key, None)
        self._published_ms.pop(rec.key, None)
        self._lower_since.pop(rec.key, None)
        self._had.pop(rec.key, None)
        event = self._save(rec, Change.RESOLVED, now_ms, reason)
        self._runs.pop(rec.key, None)
        self._saved_ms.pop(rec.key, None)
        return event

    def _save(
        self,
        rec: WarningRecord,
        change: Change,
        now_ms: int,
        reason: ResolveReason | None = None,
    ) -> WarningEvent:
        """Keep the record, and queue it and (unless only its figures moved) the change in
        the history for the store. A warning's figures alone are queued at most once a
        second (with streams they move on every mark tick)."""
        figures_only = change is Change.UPDATED and self._runs.get(rec.key, (None, 0))[0] is (
            rec.severity
        )
        if not figures_only or now_ms - self._saved_ms.get(rec.key, -(2**62)) >= SAVE_EVERY_MS:
            self._saved_ms[rec.key] = now_ms
            self._queue(rec)
        if change is not Change.UPDATED:
            entry = WarningChange(
                now_ms, rec.key, change, rec.severity, rec.account_id, rec.message, reason
            )
            self.writes.submit(Kind.HISTORY, functools.partial(self._store.log, entry))
        if rec.state is WarningState.RESOLVED:
            self._open.pop(rec.key, None)
        else:
            self._open[rec.key] = rec
        # An active warning's figures are re-published about once a poll: that is DEBUG.
        level = logging.DEBUG if change is Change.UPDATED else logging.INFO
        logger.log(level, "warning %s: %s %s", change.value, rec.key, rec.severity.label)
        return WarningEvent(change, rec, reason, now_ms)

    def _queue(self, rec: WarningRecord) -> None:
        """Queue the record for the store (under the lock, so the store sees the changes in
        the order they were made); within a run of one severity the newer replaces the older
        while they wait."""
        severity, run = self._runs.get(rec.key, (None, 0))
        token: tuple[str, str, int] | None = ("warning", rec.key, run)
        if severity is not rec.severity:
            self._runs[rec.key] = (rec.severity, run + 1)
            token = None  # the first record of its run is kept: it dates the change
        self.writes.submit(Kind.WARNING, functools.partial(self._store.upsert, rec), replaces=token)

    def _publish(self, events: list[WarningEvent], now_ms: int) -> None:
        """Report the changes, then write them: the warning is out before the database is
        asked (``monitor.writes`` keeps what it refuses)."""
        for event in events:
            try:
                self._on_event(event)
            except Exception:
                logger.exception("warning callback failed")
        self.writes.flush(now_ms)


def _clear_reason(
    rec: WarningRecord, held_symbols: Collection[str] | None, liquidated: Collection[str]
) -> ResolveReason:
    if rec.rule is WarningRule.LIQUIDATED:
        return ResolveReason.CLEARED
    if held_symbols is not None and rec.symbols and not set(rec.symbols) <= set(held_symbols):
        gone = set(rec.symbols) - set(held_symbols)
        if gone & set(liquidated):
            return ResolveReason.LIQUIDATED
        return ResolveReason.CLOSED if len(rec.symbols) == 1 else ResolveReason.ALL_CLOSED
    return ResolveReason.CLEARED
