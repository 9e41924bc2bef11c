"""The push sender: warning changes in, apprise deliveries out, on threads of its own.

``submit(notice)`` only puts the notice on a queue, so the watch loop never waits for a
network. A dispatcher thread runs the ``PushPolicy`` (and its once-a-second tick for quiet
hours and reminders); each channel has a worker thread that delivers its messages in order,
so a slow or dead channel delays no other. A failed delivery is retried after a backoff
(1 s doubling to 2 min) with apprise's socket timeouts set to the channel's timeout; after
``FAIL_AFTER`` failures in a row the channel is reported unhealthy through ``on_health``
(the monitor raises that as a connectivity warning), and healthy again at its first success.

What is logged names a channel by its masked label; apprise's own log lines are collected
redacted (notify.applog) and the last one becomes the failure's one-line reason.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from typing import Any, Protocol

from notify.applog import captured, last_problem
from notify.channel import Channel, ChannelHealth
from notify.message import Kind, Notice, PushMessage, compose, test_notice
from notify.policy import DEFAULT_REMINDER_MS, PushPolicy, Send, Withdraw
from notify.services import build_service
from notify.urls import ChannelURLError, redact

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
FAIL_AFTER = 3
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 120.0
MAX_PENDING = 50
TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    reason: str = ""
    """One line, no secret: why it failed (empty on success)."""
    elapsed_s: float = 0.0


class Deliver(Protocol):
    def __call__(
        self, channel: Channel, message: PushMessage, timeout_s: float
    ) -> DeliveryResult: ...


class AppriseDelivery:
    """Sends through apprise; one service object per channel URL, built once."""

    def __init__(self) -> None:
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _service(self, channel: Channel) -> Any:
        with self._lock:
            service = self._services.get(channel.url)
        if service is None:
            service = build_service(channel.url)
            if service is None:
                raise ChannelURLError(f"{channel.label}: apprise cannot use this URL")
            with self._lock:
                self._services[channel.url] = service
        return service

    def __call__(self, channel: Channel, message: PushMessage, timeout_s: float) -> DeliveryResult:
        t0 = time.perf_counter()
        try:
            service = self._service(channel)
        except ChannelURLError as exc:
            return DeliveryResult(False, str(exc), time.perf_counter() - t0)
        service.socket_connect_timeout = min(timeout_s, 5.0)
        service.socket_read_timeout = timeout_s
        with captured(channel.secrets) as lines:
            try:
                ok = bool(
                    service.notify(
                        body=message.body, title=message.title, notify_type=message.notify_type
                    )
                )
            except Exception as exc:
                ok = False
                lines.append((logging.ERROR, f"{type(exc).__name__} while sending"))
        elapsed = time.perf_counter() - t0
        if ok:
            return DeliveryResult(True, "", elapsed)
        reason = last_problem(lines) or "the service did not accept the message"
        return DeliveryResult(False, redact(reason, channel.secrets), elapsed)


@dataclass(slots=True)
class _Pending:
    message: PushMessage
    attempts: int = 0


class _ChannelWorker:
    """Delivers one channel's messages in order, with backoff; reports its health."""

    def __init__(self, sender: PushSender, channel: Channel) -> None:
        self.sender = sender
        self.channel = channel
        self.pending: deque[_Pending] = deque()
        self.cond = threading.Condition()
        self.stopping = False
        self.failures = 0
        self.healthy = True
        self.first_failure_ms = 0
        self.retry_at = 0.0
        self.thread = threading.Thread(target=self._run, name=f"push-{channel.id}", daemon=True)

    def put(self, message: PushMessage) -> None:
        with self.cond:
            superseded = message.kind in (Kind.ESCALATED, Kind.RESOLVED, Kind.REMINDER)
            if superseded:
                self._drop(message.key)
            self.pending.append(_Pending(message))
            while len(self.pending) > MAX_PENDING:
                old = self.pending.popleft()
                logger.warning(
                    "push channel %s: dropped an undelivered %s message (queue full)",
                    self.channel.label,
                    old.message.kind.value,
                )
            self.cond.notify_all()

    def withdraw(self, key: str) -> None:
        with self.cond:
            self._drop(key)

    def _drop(self, key: str) -> None:
        kept = [p for p in self.pending if p.message.key != key]
        self.pending.clear()
        self.pending.extend(kept)

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.stopping and (not self.pending or time.monotonic() < self.retry_at):
                    wait = None if not self.pending else self.retry_at - time.monotonic()
                    self.cond.wait(wait)
                if self.stopping:
                    return
                item = self.pending[0]
            result = self.sender.deliver(self.channel, item.message, self.sender.timeout_s)
            with self.cond:
                if result.ok:
                    if self.pending and self.pending[0] is item:
                        self.pending.popleft()
                    self.retry_at = 0.0
                else:
                    item.attempts += 1
                    delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(self.failures, 10))
                    self.retry_at = time.monotonic() + delay
            self._record(result, item.message)

    def _record(self, result: DeliveryResult, message: PushMessage) -> None:
        now_ms = self.sender.now_ms()
        label = self.channel.label
        if result.ok:
            logger.info(
                "push %s %s sent to %s in %.2f s",
                message.severity.name,
                message.kind.value,
                label,
                result.elapsed_s,
            )
            self.sender.delivered(self.channel, message, result)
            self.failures = 0
            if not self.healthy:
                self.healthy = True
                logger.info("push channel %s works again", label)
                self.sender.report_health(ChannelHealth(self.channel.id, label, True, 0, now_ms))
            return
        if self.failures == 0:
            self.first_failure_ms = now_ms
        self.failures += 1
        logger.warning("push to %s failed (%d in a row): %s", label, self.failures, result.reason)
        if self.healthy and self.failures >= FAIL_AFTER:
            self.healthy = False
            self.sender.report_health(
                ChannelHealth(
                    self.channel.id,
                    label,
                    False,
                    self.failures,
                    self.first_failure_ms,
                    result.reason,
                )
            )


class PushSender:
    """See the module docstring. ``clock`` gives seconds (wall time); ``local_time`` the
    time of day the quiet hours are read in (the machine's local time by default)."""

    def __init__(
        self,
        channels: Iterable[Channel] = (),
        *,
        on_health: Callable[[ChannelHealth], None] | None = None,
        on_delivered: Callable[[Channel, PushMessage, DeliveryResult], None] | None = None,
        reminder_s: float = DEFAULT_REMINDER_MS / 1000,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        clock: Callable[[], float] = time.time,
        local_time: Callable[[], dtime] | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.clock = clock
        self.local_time = local_time or (lambda: datetime.now().time())
        self.deliver: Deliver = deliver or AppriseDelivery()
        self._on_health = on_health
        self._on_delivered = on_delivered
        self._policy = PushPolicy((), reminder_ms=int(reminder_s * 1000))
        self._channels: dict[str, Channel] = {}
        self._workers: dict[str, _ChannelWorker] = {}
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._health: dict[str, ChannelHealth] = {}
        self.set_channels(channels)

    # --- public ----------------------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def channels(self) -> tuple[Channel, ...]:
        with self._lock:
            return tuple(self._channels.values())

    def start(self) -> None:
        """Start the dispatcher and the channel workers (apprise's ~190 plugins are loaded
        here, not on the first warning)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="push-dispatch", daemon=True)
            self._thread.start()
            for w in self._workers.values():
                if not w.thread.is_alive():
                    w.thread.start()
        from notify.services import known_scheme

        known_scheme("json")

    def stop(self, timeout: float = 2.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            workers = list(self._workers.values())
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
        waiting = 0
        for w in workers:
            with w.cond:
                waiting += len(w.pending)
            w.stop()
        for w in workers:
            if w.thread.is_alive():
                w.thread.join(timeout)
        if waiting:
            logger.warning("push sender stopped with %d message(s) undelivered", waiting)

    def submit(self, notice: Notice) -> None:
        """Queue a warning change; returns at once (safe on any thread)."""
        self._queue.put(lambda: self._dispatch(notice))

    def set_channels(self, channels: Iterable[Channel]) -> None:
        """Replace the channel list (added, removed, preferences changed)."""
        new = {c.id: c for c in channels}
        with self._lock:
            old_workers = self._workers
            self._channels = new
            workers: dict[str, _ChannelWorker] = {}
            for cid, c in new.items():
                w = old_workers.get(cid)
                if w is not None and w.channel.url == c.url:
                    w.channel = c
                    workers[cid] = w
                else:
                    workers[cid] = _ChannelWorker(self, c)
                    if self._thread is not None:
                        workers[cid].thread.start()
            self._workers = workers
            gone = [h for cid, h in self._health.items() if cid not in new]
            for h in gone:
                del self._health[h.channel_id]
        for h in gone:
            if not h.ok:
                self.report_health(ChannelHealth(h.channel_id, h.label, True, 0, self.now_ms()))
        for cid, w in old_workers.items():
            if workers.get(cid) is not w:
                w.stop()
        prefs = [c.prefs for c in new.values()]
        self._queue.put(lambda: self._policy.set_channels(prefs))

    def set_reminder(self, seconds: float) -> None:
        """How often an unacknowledged CRITICAL is sent again (0: never)."""
        reminder_ms = int(max(0.0, seconds) * 1000)

        def apply() -> None:
            self._policy.reminder_ms = reminder_ms

        self._queue.put(apply)

    def send_test(self, channel: Channel) -> Future[DeliveryResult]:
        """Send a test message to ``channel`` now, on a thread of its own (the channel need
        not be saved); the future holds the outcome."""
        future: Future[DeliveryResult] = Future()
        message = compose(test_notice(self.now_ms()), Kind.TEST, self.now_ms())

        def run() -> None:
            try:
                result = self.deliver(channel, message, self.timeout_s)
            except Exception as exc:
                result = DeliveryResult(False, f"{type(exc).__name__} while sending")
            future.set_result(result)

        threading.Thread(target=run, name="push-test", daemon=True).start()
        return future

    def health(self) -> dict[str, ChannelHealth]:
        with self._lock:
            return dict(self._health)

    def pending(self) -> int:
        with self._lock:
            workers = list(self._workers.values())
        total = 0
        for w in workers:
            with w.cond:
                total += len(w.pending)
        return total

    # --- internals -------------------------------------------------------------------------

    def report_health(self, health: ChannelHealth) -> None:
        with self._lock:
            self._health[health.channel_id] = health
        if self._on_health is not None:
            try:
                self._on_health(health)
            except Exception:
                logger.exception("push health callback failed")

    def delivered(self, channel: Channel, message: PushMessage, result: DeliveryResult) -> None:
        if self._on_delivered is not None:
            try:
                self._on_delivered(channel, message, result)
            except Exception:
                logger.exception("push delivery callback failed")

    def _dispatch(self, notice: Notice) -> None:
        self._act(self._policy.on_notice(notice, self.now_ms(), self.local_time()))

    def _act(self, actions: list[Send | Withdraw]) -> None:
        with self._lock:
            workers = dict(self._workers)
        for action in actions:
            worker = workers.get(action.channel_id)
            if worker is None:
                continue
            if isinstance(action, Send):
                worker.put(action.message)
            else:
                worker.withdraw(action.key)

    def _run(self) -> None:
        next_tick = time.monotonic() + TICK_S
        while True:
            try:
                job = self._queue.get(timeout=max(0.0, next_tick - time.monotonic()))
            except queue.Empty:
                job = None
                self._tick()
                next_tick = time.monotonic() + TICK_S
                continue
            if job is None:
                return
            try:
                job()
            except Exception:
                logger.exception("push dispatch failed")
            if time.monotonic() >= next_tick:
                self._tick()
                next_tick = time.monotonic() + TICK_S

    def _tick(self) -> None:
        try:
            self._act(self._policy.tick(self.now_ms(), self.local_time()))
        except Exception:
            logger.exception("push tick failed")
