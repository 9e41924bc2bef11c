"""Help ▸ About: the version, the licence, and every data set the app ships with its source."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from resources.about import APP_NAME, COPYRIGHT, LICENCE, data_sources, licence_text, version
from ui import theme
from ui.icon import app_icon

SUMMARY = (
    "Warns before a cascade-prone move liquidates your leveraged perpetual-futures account: "
    "liquidation prices computed under each exchange's own rules, read through read-only keys."
)


URL = re.compile(r"https?://[^\s;,)]+")


def _linked(text: str) -> str:
    """Escaped text with its web addresses as links."""
    out, last = [], 0
    for m in URL.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        url = m.group(0).rstrip(".")
        out.append(f"<a href='{html.escape(url)}'>{html.escape(url)}</a>")
        last = m.start() + len(url)
    out.append(html.escape(text[last:]))
    return "".join(out)


def sources_html() -> str:
    """One paragraph per shipped data set: file, what, how current, then its source."""
    parts = []
    for s in data_sources():
        when = f" · {html.escape(s.as_of)}" if s.as_of else ""
        parts.append(
            f"<p><b>{html.escape(s.file)}</b>: {html.escape(s.what)}{when}<br>"
            f"<span>Source: {_linked(s.source)}</span></p>"
        )
    return "".join(parts)


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.setMinimumSize(760, 520)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAccessibleName(f"{APP_NAME} icon")
        self.title = QLabel(f"<b style='font-size:16pt'>{APP_NAME}</b>&nbsp; version {version()}")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setAccessibleName(f"{APP_NAME} version {version()}")
        blurb = QLabel(f"{SUMMARY}<br>{LICENCE} licence. {COPYRIGHT}.")
        blurb.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(blurb)
        head.addLayout(text, 1)

        self.sources = QTextBrowser()
        self.sources.setOpenExternalLinks(True)
        self.sources.setAccessibleName("Data sources")
        self.sources.setAccessibleDescription(
            "Every data set the app ships: its file, what it holds, where it comes from and "
            "how current it is"
        )
        self.sources.document().setDefaultStyleSheet(f"a {{ color: {theme.current().accent}; }}")
        self.sources.setHtml(sources_html())

        self.licence = QPlainTextEdit(licence_text())
        self.licence.setReadOnly(True)
        self.licence.setAccessibleName("Licence")

        self.tabs = QTabWidget()
        self.tabs.addTab(self.sources, "Data sources")
        self.tabs.addTab(self.licence, "Licence")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
