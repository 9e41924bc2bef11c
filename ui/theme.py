"""Colours and the application palette. Dark by default: traders stare at it all day."""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg  # type: ignore[import-untyped]  # pyqtgraph ships no type information
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from alerts.vocabulary import Severity


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    grid: str
    calm: str
    amber: str
    red: str
    up: str
    down: str
    accent: str
    support: str
    cascade: str
    liq_long: str
    liq_short: str


DARK = Theme(
    name="dark",
    window="#14171c",
    base="#1b1f26",
    alt_base="#20252d",
    text="#e3e6eb",
    muted="#8a93a0",
    grid="#2c323b",
    calm="#3fb27f",
    amber="#f0a52b",
    red="#f0504a",
    up="#26a69a",
    down="#ef5350",
    accent="#4aa3ff",
    support="#3d7bd9",
    cascade="#f0504a",
    liq_long="#ef8a3c",
    liq_short="#56b4e9",
)

LIGHT = Theme(
    name="light",
    window="#f3f4f6",
    base="#ffffff",
    alt_base="#f5f7fa",
    text="#1b1f26",
    muted="#5b6470",
    grid="#d9dde3",
    calm="#1e8a5a",
    amber="#b8730a",
    red="#c62828",
    up="#138a7e",
    down="#d23f3c",
    accent="#1967d2",
    support="#3d7bd9",
    cascade="#c62828",
    liq_long="#d2691e",
    liq_short="#1f77b4",
)

THEMES = {"dark": DARK, "light": LIGHT}
_current: Theme = DARK


def current() -> Theme:
    return _current


def qcolor(hex_colour: str, alpha: int = 255) -> QColor:
    c = QColor(hex_colour)
    c.setAlpha(alpha)
    return c


def apply(app: QApplication, name: str = "dark") -> Theme:
    """Set the Fusion palette and pyqtgraph's defaults for the named theme."""
    global _current
    theme = THEMES.get(name, DARK)
    _current = theme
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(theme.window))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(theme.text))
    pal.setColor(QPalette.ColorRole.Base, QColor(theme.base))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor(theme.alt_base))
    pal.setColor(QPalette.ColorRole.Text, QColor(theme.text))
    pal.setColor(QPalette.ColorRole.Button, QColor(theme.alt_base))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(theme.text))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor(theme.base))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(theme.text))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(theme.accent))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(theme.muted))
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(theme.muted))
    app.setPalette(pal)
    font = app.font()
    font.setPointSizeF(max(font.pointSizeF(), 10.0))
    app.setFont(font)
    pg.setConfigOptions(antialias=False, background=theme.base, foreground=theme.text)
    return theme


def severity_colour(severity: Severity) -> str:
    t = current()
    return {Severity.CRITICAL: t.red, Severity.WARNING: t.amber}.get(severity, t.accent)


def distance_colour(distance: float | None, amber: float = 0.10, red: float = 0.05) -> str:
    """Calm when the liquidation is far, amber inside ``amber``, red inside ``red`` (fractions)."""
    t = current()
    if distance is None:
        return t.muted
    d = abs(distance)
    if d <= red:
        return t.red
    if d <= amber:
        return t.amber
    return t.calm
