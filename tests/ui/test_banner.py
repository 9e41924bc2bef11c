"""The banner is painted in its warning's colour: a grab of the window's banner shows the theme's
red behind a CRITICAL warning and its amber behind a WARNING."""

from __future__ import annotations

from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from alerts import Change, Severity, WarningRule
from monitor.events import WarningEvent
from storage.records import WarningRecord
from ui import theme
from ui.app import App


def warning(severity: Severity) -> WarningRecord:
    return WarningRecord(
        f"joint_move|1|BTC,{severity.label}",
        WarningRule.JOINT_MOVE,
        severity,
        "BTC −4.1 % liquidates the whole cross account.",
        1,
        ("BTC/USDT:USDT",),
        0,
        0,
    )


def background(app: App) -> QColor:
    """The colour of the banner's margin (left of its text) in a grab of the whole window,
    as the trader sees it (a grab of the banner alone paints its background differently)."""
    banner = app.window.banner
    at = banner.mapTo(app.window, QPoint(3, banner.height() // 2))
    return app.window.grab().toImage().pixelColor(at)


def test_a_critical_banner_is_red_and_a_warning_amber(app: App, qtbot) -> None:
    app.window.resize(1280, 720)
    for severity, expected in (
        (Severity.CRITICAL, theme.current().red),
        (Severity.WARNING, theme.current().amber),
    ):
        app.bridge.sigWarning.emit(WarningEvent(Change.FIRED, warning(severity)))
        qtbot.waitUntil(lambda: app.window.banner.isVisible(), timeout=5_000)
        qtbot.waitUntil(lambda s=severity: s.label.upper() in app.window.banner.text())
        assert background(app).name() == QColor(expected).name()
