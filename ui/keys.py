"""The keyboard: one table of the window's shortcuts (each shown beside its menu item) and the
helper that gives a control its accessible name and description (what a screen reader says).

Shortcuts are the window's (``Qt.WindowShortcut``): they work wherever the focus is in the main
window and never in a dialog on top of it. Modifier-less keys are kept to the function keys, so
typing in a table cell never triggers one.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QAbstractItemView, QWidget

ADD_ACCOUNT = "Ctrl+N"
SETTINGS = "Ctrl+,"
QUIT = "Ctrl+Q"
ACKNOWLEDGE = "Ctrl+K"
ACKNOWLEDGE_ALL = "Ctrl+Shift+K"
SNOOZE_HOUR = "Ctrl+J"
NEXT_WARNING = "F8"
PREVIOUS_WARNING = "Shift+F8"
NEXT_PANE = "F6"
PREVIOUS_PANE = "Shift+F6"
RESET_SCENARIO = "Ctrl+0"
TIMEFRAMES = {"1m": "Ctrl+1", "5m": "Ctrl+2", "15m": "Ctrl+3", "1h": "Ctrl+4", "4h": "Ctrl+5"}
TIMEFRAMES["1d"] = "Ctrl+6"

W = TypeVar("W", bound=QWidget)


def described(widget: W, name: str, description: str = "", shortcut: str = "") -> W:
    """Give ``widget`` its accessible name and description (and a tooltip naming its
    shortcut, when it has one); a table hands the Tab key on to the next control. Returns
    the widget."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    if shortcut:
        widget.setToolTip(f"{description or name} ({shortcut})")
    if isinstance(widget, QAbstractItemView):
        # Tab leaves the table for the next control; the arrow keys move within it.
        widget.setTabKeyNavigation(False)
    return widget
