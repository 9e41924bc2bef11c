"""The watch loop: APScheduler jobs, per-account state, the warning lifecycle, the calendar.

No Qt here: the monitor reports through callbacks, which run on the scheduler's worker threads.
The UI's bridge turns them into queued Qt signals; ``python main.py watch`` prints them.

Interface (what the UI codes against):

``monitor.events`` (frozen dataclasses and enums)
    ``AccountUpdate(account_id: int, label, exchange, is_demo, account, report, status,
    error, error_kind, last_ok_ms, age_ms, stale_after_ms, permissions, marks, live)``:
    ``account`` is the
    ``risk.types.Account`` the connector returned and ``report`` the ``AccountReport`` built
    from it (both None before the first good poll); status is an ``AccountStatus``
    (connecting, ok, error, stale); ``stale`` is ``monitor.health.is_stale(age_ms,
    stale_after_ms)``. After a failed poll the account and report are the last good ones and
    ``age_ms`` says how old they are. ``marks`` gives each held symbol's mark with its source
    (``MarkSource.POLL`` or ``STREAM``) and time; ``live`` the account's streams
    (``StreamHealth``: ``LiveState.OFF``, ``CONNECTING``, ``LIVE``, ``POLLING`` with the reason).
    ``MarketUpdate(symbol, as_of_ms, candles, levels, liqmap, cascade, betas, series,
    timeframes)``: candles are the 1h bars; levels is a ``risk.levels.Levels``, liqmap a
    ``risk.liqmap.LiqMap``, cascade a tuple of ``risk.cascade.Cascade`` (nearest supports
    first); betas maps the symbol to its beta to the leader (BTC); series holds the 4h, 1d
    and the chart's own bars by timeframe; timeframes are those it can fetch for the chart.
    ``Watch(symbols, chart_symbol, chart_timeframe)``: what the window shows.
    ``LiquidationUpdate(exchange, symbol, minute_ms, long_usd, short_usd, live, covered,
    as_of_ms)``: the market's liquidations of one symbol on one venue per minute, as its stream
    heard them.
    ``WarningEvent(change, warning, reason)``: change is an ``alerts.Change``; warning is the
    ``storage.records.WarningRecord`` as persisted; reason an ``alerts.ResolveReason`` when it
    resolved (its positions closed, the condition cleared, the account removed).
    ``MonitorCallbacks``: ``on_account(u)``, ``on_market(u)``, ``on_warning(e)``,
    ``on_liquidations(u)``; ``NullCallbacks`` implements all four as no-ops.

``monitor.service.WatchService(db, secrets, callbacks, *, clock=time.time, demo=False,
demo_scenario="2025-11-04", demo_speed=60.0, connector_factory=None, poll_interval_s=None,
max_workers=8, calendar=None, clear_after=2, market_interval_s=None, settings=None,
push=None, streams=None)``
    ``start()``, ``stop(timeout=5.0) -> bool`` (True when no job was left running),
    ``push`` (a ``ports.PushPort``, the push channels' sender) gets every warning change, and
    its channels' health becomes the push-channel warning (``check_channels()``, every 2 s).
    ``acknowledge(key)``, ``snooze(key, duration)``, ``reload_accounts()``,
    ``set_watch(watch)`` (the symbols and chart bars the window shows, refreshed whether or not
    a position is open),
    ``set_demo(scenario, speed)``, ``poll_now(account_id: int)``, ``open_warnings()`` (every
    warning not resolved, for a UI that starts after the loop), ``tick()`` (poll every account
    once on the calling thread, for tests under a fake clock), ``demo_exchange`` (the
    ``LocalExchange`` in demo mode, else None), ``live`` (the ``LiveFeed`` while it runs with
    streams: by default with the real connectors, not with a test's fake).

Settings (``settings.registry``, read through ``settings.store.SettingsStore``; by default the
watched database's settings table): the poll interval, the stale limit in polls and the
warning thresholds. The user's own events come from ``db.events.between(from_ms, to_ms)``;
the shipped calendar from ``resources/events-2026.json``.

Modules: ``events`` (the values above), ``service`` (the schedule and lifecycle), ``jobs``
(the job bodies: they assemble an account's state once and call ``alerts.evaluate`` once),
``alerts`` (fire / escalate / resolve / acknowledge / snooze, a wobble about a line kept to
one alarm; reported, then persisted), ``live`` (the streams: a report and an evaluation per
mark tick, liquidation flows, pushes that ask REST to re-read), ``writes`` (what the loop
writes, after the callbacks, kept and retried while the database refuses it), ``health`` (the
loop's own health rules, the push channels' and the database's among them, and the one
definition of stale), ``push`` (a warning change as the push channels need it), ``ports``
(what the monitor needs of a connector, the store and the push sender), ``state``
(per-account and per-symbol memory), ``calendar`` (scheduled events). The ``watch`` command
that prints the loop in a terminal is cli/watch.py. The market rules are the pure ``alerts``
package.
"""
