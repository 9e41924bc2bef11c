"""Desktop notifications that appear: the platform's own notification service first, the
tray balloon only where that is missing.

Linux: the freedesktop ``org.freedesktop.Notifications`` service on the session D-Bus
(GNOME, KDE, XFCE, dunst, mako…), which works without any tray. macOS (Notification Center,
from an app bundle) and Windows 10+ (toasts): the same code through ``desktop-notifier``.

Why not QtDBus, as Vorta does: PySide6's QtDBus marshals a Python int as a D-Bus ``int32``
(or, through ``QDBusArgument``, as ``uint16``) and offers no way to send the spec's
``uint32`` replaces-id or ``byte`` urgency; GNOME's daemon rejects the call for the first,
dunst, xfce4-notifyd and mako ignore or refuse the second, and a wrong marshal inside
libdbus aborts the process. ``desktop-notifier`` speaks the spec exactly (through dbus-fast)
and gives clicks back. It runs here on an asyncio loop in a thread of its own, so the GUI
thread never waits; a click comes back as the ``sigOpen`` signal (queued to the GUI thread)
with the warning's key.

Urgency follows severity: INFO low, WARNING normal, CRITICAL critical (which most daemons
keep on screen until it is dismissed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from alerts.vocabulary import Severity

log = logging.getLogger(__name__)

APP_NAME = "Cascade Watch"
GIVE_UP_AFTER = 3
"""Native failures in a row after which only the tray is used for the rest of the run."""


def native_available(platform: str = sys.platform, env: dict[str, str] | None = None) -> bool:
    """Whether the platform's notification service can be tried at all."""
    env = dict(os.environ) if env is None else env
    try:
        from desktop_notifier.main import get_backend_class
    except ImportError:
        return False
    if platform.startswith("linux") and not env.get("DBUS_SESSION_BUS_ADDRESS"):
        run = env.get("XDG_RUNTIME_DIR")
        if not run or not os.path.exists(os.path.join(run, "bus")):
            return False
    try:
        return get_backend_class().__name__ != "DummyNotificationCenter"
    except Exception:
        return False


class NativeNotifier(QObject):
    """``desktop-notifier`` on its own asyncio thread. ``show`` returns at once; the outcome
    arrives as ``sigResult(key, ok)``, a click as ``sigClicked(key)``."""

    sigClicked = Signal(str)
    sigResult = Signal(str, bool)

    def __init__(self, icon_path: str | None = None) -> None:
        super().__init__()
        self._icon_path = icon_path
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="desktop-notify", daemon=True
        )
        self._thread.start()
        self._notifier: Any = None
        logging.getLogger("desktop_notifier").setLevel(logging.ERROR)

    def show(self, title: str, body: str, severity: Severity, key: str) -> Future[bool]:
        return asyncio.run_coroutine_threadsafe(self._send(title, body, severity, key), self._loop)

    async def _send(self, title: str, body: str, severity: Severity, key: str) -> bool:
        from desktop_notifier import DesktopNotifier, Icon, Urgency

        if self._notifier is None:
            icon = Icon(path=Path(self._icon_path)) if self._icon_path else None
            self._notifier = DesktopNotifier(app_name=APP_NAME, app_icon=icon)
        urgency = {
            Severity.INFO: Urgency.Low,
            Severity.WARNING: Urgency.Normal,
            Severity.CRITICAL: Urgency.Critical,
        }[severity]
        dispatched = False

        def on_dispatched() -> None:
            nonlocal dispatched
            dispatched = True

        try:
            await self._notifier.send(
                title=title,
                message=body,
                urgency=urgency,
                on_dispatched=on_dispatched,
                on_clicked=lambda: self.sigClicked.emit(key),
            )
        except Exception as exc:
            log.warning("desktop notification failed: %s", type(exc).__name__)
            dispatched = False
        if not dispatched:
            # desktop-notifier opens a new bus connection at each try until one works: close
            # this one, and start afresh next time
            await self._disconnect()
            self._notifier = None
        self.sigResult.emit(key, dispatched)
        return dispatched

    async def _disconnect(self) -> None:
        """Close the session-bus connection desktop-notifier opened (its D-Bus backend keeps
        it as ``bus``; the other platforms' backends hold none)."""
        bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
        if bus is not None and getattr(bus, "connected", False):
            bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.wait_for_disconnect(), 2.0)

    def close(self) -> None:
        if self._loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._disconnect(), self._loop).result(3.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)
        if not self._thread.is_alive() and not self._loop.is_closed():
            self._loop.close()


class DesktopNotifications(QObject):
    """The app's one entry point: ``notify(title, body, severity, key)``. Tries the native
    service; on a failure shows the same notice as a tray balloon (when a tray exists) and,
    after ``GIVE_UP_AFTER`` failures in a row, uses the tray only. ``route`` says which one
    served the last notice ("native", "tray" or "none")."""

    sigOpen = Signal(str)

    def __init__(
        self,
        tray: QSystemTrayIcon | None,
        *,
        native: NativeNotifier | None = None,
        use_native: bool | None = None,
    ) -> None:
        super().__init__()
        self.tray = tray
        self.route = "none"
        self._failures = 0
        self._pending: dict[str, tuple[str, str, Severity]] = {}
        if use_native is None:
            use_native = native is not None or native_available()
        self.native: NativeNotifier | None = None
        if use_native:
            self.native = native or NativeNotifier()
            self.native.sigClicked.connect(self.sigOpen)
            self.native.sigResult.connect(self._on_result)
        self._tray_key = ""
        if tray is not None:
            tray.messageClicked.connect(lambda: self.sigOpen.emit(self._tray_key))

    def notify(self, title: str, body: str, severity: Severity, key: str) -> None:
        if self.native is not None:
            self._pending[key] = (title, body, severity)
            self.native.show(title, body, severity, key)
            return
        self._tray(title, body, severity, key)

    def _on_result(self, key: str, ok: bool) -> None:
        notice = self._pending.pop(key, None)
        if ok:
            self._failures = 0
            self.route = "native"
            return
        self._failures += 1
        if self._failures >= GIVE_UP_AFTER and self.native is not None:
            log.warning("the desktop notification service keeps failing; using the tray")
            self.native.close()
            self.native = None
        if notice is not None:
            self._tray(*notice, key)

    def _tray(self, title: str, body: str, severity: Severity, key: str) -> None:
        if self.tray is None:
            self.route = "none"
            return
        icon = (
            QSystemTrayIcon.MessageIcon.Critical
            if severity >= Severity.CRITICAL
            else QSystemTrayIcon.MessageIcon.Warning
        )
        self._tray_key = key
        self.tray.showMessage(title, body, icon, 10_000)
        self.route = "tray"

    def close(self) -> None:
        if self.native is not None:
            self.native.close()
            self.native = None
