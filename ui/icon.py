"""The app's icon as Qt wants it: one QIcon holding the SVG and every rendered size, for the
window, the tray and the notifications (resources/icons; see resources.icon_path)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from resources import ICON_SIZES, icon_path

DESKTOP_ID = "org.cascadewatch.CascadeWatch"
"""The freedesktop id (packaging/linux): the window is matched to its launcher entry by it."""


@cache
def app_icon() -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addFile(str(icon_path(size)))
    icon.addFile(str(icon_path()))
    return icon
