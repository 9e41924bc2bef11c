"""Help ▸ About: the version, the licence, and every data set the app ships with its source."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from resources.about import APP_NAME, COPYRIGHT, LICENCE, data_sources, licence_text, version
from ui.icon import app_icon

SUMMARY = (
    "Warns before a cascade-prone move liquidates your leveraged perpetual-futures account: "
    "liquidation prices computed under each exchange's own rules, read through read-only keys."
)


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

        self.sources = QTableWidget(0, 4)
        self.sources.setHorizontalHeaderLabels(["File", "What", "Source", "As of"])
        self.sources.setAccessibleName("Data sources")
        self.sources.setAccessibleDescription(
            "Every data set the app ships: its file, what it holds, where it comes from and "
            "how current it is"
        )
        self.sources.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sources.setWordWrap(True)
        self.sources.verticalHeader().setVisible(False)
        header = self.sources.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for s in data_sources():
            row = self.sources.rowCount()
            self.sources.insertRow(row)
            for col, value in enumerate((s.file, s.what, s.source, s.as_of)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.sources.setItem(row, col, item)
        self.sources.resizeRowsToContents()

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
