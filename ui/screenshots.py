"""Screenshots for the docs, taken from the running demo (headless works: offscreen platform).

QT_QPA_PLATFORM=offscreen python -m ui.screenshots [docs/screenshots]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if TYPE_CHECKING:
    from ui.app import App
    from ui.main_window import MainWindow


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


def main(out_dir: str = "docs/screenshots", below: float = 104_000.0) -> int:
    from ui.app import App
    from ui.connect_dialog import ConnectDialog

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = App(Path(tempfile.mkdtemp()), speed=1800.0, crash_dialog=False)
    app.window.resize(1600, 1000)
    app.start()
    try:
        _wait(app, lambda: _btc_mark(app.window) < below, 150)
        _wait(app, lambda: False, 1.5)
        app.window.grab().save(str(out / "main-window-demo-crash.png"))
        app.window.warnings.grab().save(str(out / "warnings-panel.png"))
        app.window.scenario.set_move(-0.05)
        _wait(app, lambda: False, 1.0)
        app.window.grab().save(str(out / "main-window-scenario-btc-minus-5.png"))
        app.window.scenario.set_move(0.0)
        service = app.backend.service if app.backend is not None else None
        lx = getattr(service, "demo_exchange", None)
        dlg = ConnectDialog(app.window)
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
    finally:
        app.shutdown()
        app.dispose()
    print(f"screenshots saved in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]) if len(sys.argv) > 1 else main())
