"""The watch loop: APScheduler jobs, per-account state, the warning lifecycle, the calendar.

No Qt here: the monitor reports through callbacks, which run on the scheduler's worker threads.
The UI's bridge turns them into queued Qt signals; ``python main.py watch`` prints them.

Interface (what the UI codes against):

``monitor.events`` (frozen dataclasses)
    ``AccountUpdate(account_id, label, exchange, is_demo, report, status, error, last_ok_ms,
    age_ms, stale, permissions)``; status is "connecting", "ok", "error" or "stale". After a
    failed poll ``report`` is the last good one and ``age_ms`` says how old it is.
    ``MarketUpdate(symbol, as_of_ms, candles, levels, liqmap, cascade, betas)``: levels is a
    ``risk.levels.Levels``, liqmap a ``risk.liqmap.LiqMap``, cascade a tuple of
    ``risk.cascade.Cascade`` (nearest supports first); betas maps the symbol to its beta to
    the leader (BTC).
    ``WarningEvent(change, warning, reason)``: change is "fired", "escalated", "updated",
    "resolved", "acknowledged" or "snoozed"; warning is the ``storage.records.WarningRecord``
    as persisted; reason says why a warning resolved (its positions closed, the condition
    cleared, the account removed).
    ``MonitorCallbacks``: ``on_account(u)``, ``on_market(u)``, ``on_warning(e)``;
    ``NullCallbacks`` implements all three as no-ops.

``monitor.service.WatchService(db, secrets, callbacks, *, clock=time.time, demo=False,
demo_scenario="2025-11-04", demo_speed=60.0, connector_factory=None, poll_interval_s=None,
max_workers=8, calendar=None, clear_after=2)``
    ``start()``, ``stop(timeout=5.0) -> bool`` (True when no job was left running),
    ``acknowledge(key)``, ``snooze(key, until_ms)``, ``reload_accounts()``,
    ``set_demo(scenario, speed)``, ``poll_now(account_id)``, ``open_warnings()`` (every
    warning not resolved, for a UI that starts after the loop), ``tick()`` (poll every account
    once on the calling thread, for tests under a fake clock), ``demo_exchange`` (the
    ``LocalExchange`` in demo mode, else None), ``running``.

Settings read from the database (``db.settings.get``): ``monitor.poll_interval_s.<account_id>``
(seconds) and ``monitor.thresholds`` / ``monitor.thresholds.<account_id>`` (a dict of
``risk.warnings.Thresholds`` field names to values). The user's own events come from
``db.events.between(from_ms, to_ms)``; the shipped calendar from ``resources/events-2026.json``.

Modules: ``events`` (the values above), ``service`` (the schedule and lifecycle), ``jobs``
(the job bodies), ``alerts`` (fire / escalate / resolve / acknowledge / snooze, persisted),
``state`` (per-account and per-symbol memory), ``calendar`` (scheduled events). The
``watch`` command that prints the loop in a terminal is cli/watch.py. The rules themselves are
pure functions in ``risk.warnings``.
"""
