"""Screenshots for the docs, taken from the running demo (the real monitor on the local
exchange replaying 2025-11-04 at ×1800): the main window during the crash and after the
demo account's liquidation, and, at the large size, the warnings panel, the scenario slider
at −5 %, the connect dialog and the settings.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m ui.screenshots docs/screenshots --root
    xvfb-run -a -s "-screen 0 1280x720x24" python -m ui.screenshots docs/screenshots \\
        --size 1280x720 --root

With ``--root`` the main window's shots are of the X screen itself (``import -window root``,
ImageMagick): what a real window system drew, the window filling the screen. Without it (or
without a display: QT_QPA_PLATFORM=offscreen) Qt renders the window into an image. Shots at
another size than 1600×1000 carry it in their name (main-window-demo-crash-1280x720.png).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if TYPE_CHECKING:
    from ui.app import App
    from ui.main_window import MainWindow

CRASH_BELOW = 104_500.0
"""BTC under this (the 105,000 support broken, warnings firing): the crash shot."""


def _wait(app: App, condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.qapp.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def _btc_mark(window: MainWindow) -> float:
    for row in window.model.rows:
        if row.position.symbol.startswith("BTC"):
            return float(row.position.mark_price)
    return float("inf")


def _shoot(app: App, path: Path, root: bool) -> None:
    """The main window into ``path``: the X screen (``root``) or Qt's own rendering."""
    app.qapp.processEvents()
    if root and shutil.which("import") and os.environ.get("DISPLAY"):
        subprocess.run(["import", "-window", "root", str(path)], check=True, timeout=60)
    else:
        app.window.grab().save(str(path))
    print(f"  {path}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ui.screenshots")
    ap.add_argument("out_dir", nargs="?", default="docs/screenshots")
    ap.add_argument("--size", default="1600x1000", help="the window's size, WIDTHxHEIGHT")
    ap.add_argument("--root", action="store_true", help="shoot the X screen (import)")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    large = (width, height) == (1600, 1000)
    suffix = "" if large else f"-{width}x{height}"

    from ui.app import App
    from ui.connect_dialog import ConnectDialog

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = App(Path(tempfile.mkdtemp()), speed=1800.0, crash_dialog=False)
    window = app.window
    window.setGeometry(0, 0, width, height)
    app.start()
    try:
        if not _wait(app, lambda: window.proxy.rowCount() > 0, 120):
            raise RuntimeError("the demo account was never read")
        _wait(app, lambda: _btc_mark(window) < CRASH_BELOW, 180)
        _wait(app, lambda: window.banner.isVisible(), 30)
        _wait(app, lambda: False, 2.0)
        _shoot(app, out / f"main-window-demo-crash{suffix}.png", args.root)
        if large:
            window.warnings.grab().save(str(out / "warnings-panel.png"))
            window.scenario.set_move(-0.05)
            _wait(app, lambda: False, 1.0)
            _shoot(app, out / "main-window-scenario-btc-minus-5.png", args.root)
            window.scenario.set_move(0.0)
        if not _wait(app, lambda: window.proxy.rowCount() == 0, 240):
            raise RuntimeError("the demo account was not liquidated")
        _wait(app, lambda: False, 6.0)  # the warnings settle on the next reads
        _shoot(app, out / f"main-window-after-liquidation{suffix}.png", args.root)
        if large:
            _dialogs(app, out, ConnectDialog)
    finally:
        app.shutdown()
        app.dispose()
    print(f"screenshots saved in {out}")
    return 0


def _dialogs(app: App, out: Path, connect_dialog: type) -> None:
    service = app.backend.service if app.backend is not None else None
    lx = getattr(service, "demo_exchange", None)
    dlg = connect_dialog(app.window)
    dlg.label.setText("Binance main")
    if lx is not None:
        dlg.api_key.setText(lx.credentials("binanceusdm").api_key)
        dlg.base_url.setText(lx.base_url)
    dlg.secret.setText("not-the-right-secret")
    dlg.show()
    done: list[bool] = []
    dlg.sigTestFinished.connect(lambda ok, text: done.append(ok))
    dlg.test_connection()
    _wait(app, lambda: bool(done), 30)
    dlg.grab().save(str(out / "connect-dialog-wrong-secret.png"))
    dlg.api_key.setText(" fc03f9cc4c40a4197512a0f3dd6bf4a2 ")
    dlg.base_url.setText("testnet.binancefuture.com")
    app.qapp.processEvents()
    dlg.grab().save(str(out / "connect-dialog-validation.png"))
    dlg.close()
    from ui.settings_dialog import SettingsDialog

    settings = SettingsDialog(app.window.prefs, app.window)
    settings._add_event("2026-12-09 19:00", "FOMC rate decision")
    settings.show()
    app.qapp.processEvents()
    settings.grab().save(str(out / "settings-dialog.png"))
    settings.close()


if __name__ == "__main__":
    sys.exit(main())
