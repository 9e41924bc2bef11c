"""The desktop app (`python main.py`, the `app` command of cli/app.py); the demo when no account
is stored."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the app imports Qt, the monitor and storage only when it starts
    import argparse

    from ui.ports import BackendFactory, BackendPort
    from ui.single_instance import SingleInstance

log = logging.getLogger(__name__)

GIL_SWITCH_S = 0.001

NO_DISPLAY_MESSAGE = (
    "cascade-watch: no display found (DISPLAY and WAYLAND_DISPLAY are unset). "
    "Run headless with QT_QPA_PLATFORM=offscreen, or watch in the terminal: python main.py watch"
)


def display_missing(env: dict[str, str] | None = None, platform: str | None = None) -> bool:
    """True on Linux without a display and without an explicit Qt platform."""
    env = dict(os.environ) if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return False
    return not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def resolve_dir(cli_value: str | None) -> Path:
    try:
        from storage.paths import resolve_data_dir
    except ImportError:
        from platformdirs import user_data_dir

        return Path(cli_value or user_data_dir("CascadeWatch", appauthor=False)).expanduser()
    return resolve_data_dir(cli_value)


class App:
    """The assembled application; tests build one directly with their own data dir.

    ``backend_factory`` (see ui.backend.create_backend) replaces the real watch service: the
    tests and the UI benchmark pass one that builds a scripted feed (tests/ui/ui_feed.py).

    With ``defer_backend`` the window is shown first and the watch service (database, ccxt,
    the local exchange: about a second of imports and set-up) is built on a worker thread,
    then handed to the window through the bridge: the first paint does not wait for it.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        force_demo: bool = False,
        scenario: str | None = None,
        speed: float | None = None,
        backend_factory: BackendFactory | None = None,
        crash_dialog: bool = True,
        defer_backend: bool = False,
    ) -> None:
        from PySide6.QtWidgets import QApplication

        from resources.about import version
        from ui import theme
        from ui.bridge import MonitorBridge
        from ui.collector import LongLivedFreezer
        from ui.crash import CrashReporter
        from ui.icon import DESKTOP_ID, app_icon
        from ui.layout import WindowLayout
        from ui.main_window import DEFAULT_SPEED, MainWindow
        from ui.passphrase import PassphrasePrompt

        # The GUI thread shares the interpreter with the monitor's worker threads: ask a
        # worker to hand the GIL back after 1 ms (Python's default is 5 ms) so an event
        # waiting for it is not held behind a poll's parsing.
        sys.setswitchinterval(GIL_SWITCH_S)
        existing = QApplication.instance()
        self.qapp = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
        self.qapp.setApplicationName("Cascade Watch")
        self.qapp.setApplicationVersion(version())
        self.qapp.setWindowIcon(app_icon())
        # Wayland's app id and X11's hint: the window belongs to the launcher entry of this id.
        self.qapp.setDesktopFileName(DESKTOP_ID)
        from storage.paths import ensure_data_dir

        ensure_data_dir(data_dir)
        self.window_state = WindowLayout(data_dir)
        theme.apply(self.qapp, self.window_state.theme_hint())
        self._legacy = self.window_state.legacy_values()
        self.crash = CrashReporter(show_dialog=crash_dialog)
        self.crash.install()
        self.bridge = MonitorBridge()
        self.passphrase = PassphrasePrompt()
        self._scenario = scenario or str(self.window_state.get("demo/scenario", "2025-11-04"))
        self._speed = speed or float(str(self.window_state.get("demo/speed", DEFAULT_SPEED)))
        self._force_demo = force_demo
        self._factory = backend_factory
        self.data_dir = data_dir
        self.backend: BackendPort | None = None
        self._builder: threading.Thread | None = None
        if not defer_backend:
            self.backend = self._build_backend()
        self.window = MainWindow(self.backend, self.window_state, self.bridge)
        if self.window.tray is not None:
            # closing the window may only hide it to the tray; Quit ends the app
            QApplication.setQuitOnLastWindowClosed(False)
        self.bridge.sigBackend.connect(self._on_backend)
        self.bridge.sigStorageError.connect(self._on_storage_error)
        self._freezer = LongLivedFreezer(self.bridge)
        self.bridge.sigAccount.connect(self._freezer.on_account)
        if self.backend is not None:
            self._on_backend(self.backend)

    def _build_backend(self, start_fresh: bool = False) -> BackendPort:
        from ui.backend import create_backend

        backend = create_backend(
            self.data_dir,
            self.bridge,
            scenario=self._scenario,
            speed=self._speed,
            force_demo=self._force_demo,
            passphrase=self.passphrase,
            backend_factory=self._factory,
            start_fresh=start_fresh,
        )
        if self._legacy is not None:
            adopt_legacy(backend, *self._legacy)
        return backend

    def _on_backend(self, backend: BackendPort) -> None:
        self.backend = backend
        if self._legacy is not None:
            self.window_state.forget_legacy_values()
            self._legacy = None
        self.window.set_backend(backend)

    def start(self) -> None:
        self.window.show()
        if self.backend is not None:
            self.backend.start()
            return

        self._build_in_background()

    def _build_in_background(self, start_fresh: bool = False) -> None:
        from storage.errors import StorageError

        def build() -> None:
            try:
                backend = self._build_backend(start_fresh)
            except StorageError as exc:
                self.bridge.sigStorageError.emit(exc)
                return
            try:
                backend.start()
            except StorageError as exc:
                # damage found by the watch's first reads: the same dialog, the same way out
                backend.stop()
                self.bridge.sigStorageError.emit(exc)
                return
            self.bridge.sigBackend.emit(backend)

        self._builder = threading.Thread(target=build, name="backend-start", daemon=True)
        self._builder.start()

    def _on_storage_error(self, error: Exception) -> None:
        """The database cannot be opened: say why, and offer the way out (move it aside and
        start fresh; nothing is deleted) or quit. Never a traceback, never a silent loss."""
        from storage.errors import DatabaseUnreadable

        log.error("%s", error)
        if isinstance(error, DatabaseUnreadable) and self.choose_recovery(error):
            self._build_in_background(start_fresh=True)
        else:
            self.qapp.exit(1)

    def choose_recovery(self, error: Exception) -> bool:
        """Ask the trader; True to move the file aside and start with an empty database."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Cascade Watch: the database cannot be opened")
        box.setText(str(error))
        fresh = box.addButton("Move it aside and start fresh", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is fresh

    def dispose(self) -> None:
        """Delete the window while Qt is fully alive: letting the interpreter's final garbage
        collection tear down pyqtgraph items aborts PySide6 ("none_dealloc")."""
        import gc

        self.window.deleteLater()
        self.qapp.processEvents()
        self.qapp.sendPostedEvents(None, 0)
        del self.window
        gc.collect()

    def shutdown(self) -> None:
        if self.window.isVisible():
            self.window.quit_app()
        else:
            self.window.save_layout()
        try:
            if self._builder is not None:
                self._builder.join(10.0)
                self.qapp.processEvents()
            if not self.window.finish_commands(5.0):
                log.warning("a command was still running when the watch stopped")
            if self.backend is not None:
                self.backend.stop(3.0)
        finally:
            self.crash.uninstall()


def run(args: argparse.Namespace) -> int:
    if display_missing():
        print(NO_DISPLAY_MESSAGE)
        return 2
    t0 = time.perf_counter()
    data_dir = resolve_dir(getattr(args, "data_dir", None))
    from ui.single_instance import SingleInstance

    instance = SingleInstance(data_dir)
    if not instance.acquire():
        return hand_over(instance)
    try:
        return _run_app(args, data_dir, instance, t0)
    finally:
        instance.release()


def hand_over(instance: SingleInstance) -> int:
    """Another Cascade Watch owns this data folder: bring its window forward, start
    nothing."""
    if instance.send("raise"):
        print(
            f"Cascade Watch is already running on {instance.data_dir}: "
            "its window was brought forward."
        )
        return 0
    print(
        f"cascade-watch: {instance.owner()} is watching {instance.data_dir} and does not answer;"
        " quit it, or start this one with another --data-dir",
        file=sys.stderr,
    )
    return 1


def _run_app(args: argparse.Namespace, data_dir: Path, instance: SingleInstance, t0: float) -> int:
    app = App(
        data_dir,
        force_demo=bool(getattr(args, "demo", False)),
        scenario=getattr(args, "scenario", None),
        speed=getattr(args, "speed", None),
        defer_backend=True,
    )
    instance.listen()
    instance.sigCommand.connect(app.window.on_instance_command)
    app.start()
    log.info("window shown after %.2f s", time.perf_counter() - t0)
    shot = getattr(args, "screenshot", None)
    if shot:
        from PySide6.QtCore import QTimer

        def take() -> None:
            app.window.grab().save(shot)
            app.qapp.quit()

        QTimer.singleShot(int(float(getattr(args, "after", 20.0)) * 1000), take)
    try:
        code = int(app.qapp.exec())
    finally:
        app.shutdown()
    app.dispose()
    return code


def adopt_legacy(
    backend: BackendPort, values: dict[str, object], events: list[tuple[int, str]]
) -> None:
    """Hand the preferences an earlier version kept in ui.ini to the backend's store (once:
    the caller then forgets them). The user's calendar entries are taken only when the store
    has none (the earlier version copied them to the database too)."""
    from dataclasses import replace

    from ui.ports import UserEvent

    stored = backend.load_preferences()
    kept = stored.events or tuple(UserEvent(at, name) for at, name in events)
    backend.apply_preferences(replace(stored, values=stored.values.replace(values), events=kept))
    log.info("settings kept in ui.ini by an earlier version moved to the database")
