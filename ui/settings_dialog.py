"""Thresholds, poll intervals, the user's event calendar, sound and theme."""

from __future__ import annotations

import re
from dataclasses import replace

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.settings import Preferences

WHEN_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def _pct_box(value: float, lo: float, hi: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(1)
    box.setSingleStep(0.5)
    box.setSuffix(" %")
    box.setValue(value)
    return box


def _secs_box(value: int, lo: int, hi: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSuffix(" s")
    box.setValue(value)
    return box


class SettingsDialog(QDialog):
    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.prefs = prefs

        self.amber = _pct_box(prefs.amber_pct, 0.5, 50)
        self.red = _pct_box(prefs.red_pct, 0.5, 50)
        self.joint_warning = _pct_box(prefs.joint_warning_pct, 0.5, 50)
        self.joint_critical = _pct_box(prefs.joint_critical_pct, 0.5, 50)
        thresholds = QGroupBox("Warn when the liquidation is within")
        tf = QFormLayout(thresholds)
        tf.addRow("Position distance: amber", self.amber)
        tf.addRow("Position distance: red", self.red)
        tf.addRow("Joint BTC move: warning", self.joint_warning)
        tf.addRow("Joint BTC move: critical", self.joint_critical)

        self.account_poll = _secs_box(prefs.account_poll_s, 3, 3600)
        self.stale_after = _secs_box(prefs.stale_after_s, 10, 3600)
        polling = QGroupBox("Polling")
        pf = QFormLayout(polling)
        pf.addRow("Poll each account every", self.account_poll)
        pf.addRow("Data is STALE after", self.stale_after)

        self.theme = QComboBox()
        self.theme.addItems(["dark", "light"])
        self.theme.setCurrentText(prefs.theme)
        self.sound = QCheckBox("Beep on a new warning when the window is not in front")
        self.sound.setChecked(prefs.sound)
        self.tray = QCheckBox("System-tray notification on a new warning")
        self.tray.setChecked(prefs.tray)
        look = QGroupBox("Alerts and look")
        lf = QFormLayout(look)
        lf.addRow(self.sound)
        lf.addRow(self.tray)
        lf.addRow("Theme (applies on restart)", self.theme)

        self.events = QTableWidget(0, 2)
        self.events.setHorizontalHeaderLabels(["When (UTC, YYYY-MM-DD HH:MM)", "Event"])
        self.events.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.events.verticalHeader().setVisible(False)
        self.events.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for e in prefs.events:
            self._add_event(e.get("when", ""), e.get("name", ""))
        add = QPushButton("Add event")
        add.clicked.connect(lambda: self._add_event("", ""))
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_event)
        cal = QGroupBox("Event calendar (your own; FOMC, CPI… are built in)")
        cl = QVBoxLayout(cal)
        cl.addWidget(self.events)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        cl.addLayout(row)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (thresholds, polling, look, cal):
            layout.addWidget(w)
        layout.addWidget(buttons)

    def _add_event(self, when: str, name: str) -> None:
        r = self.events.rowCount()
        self.events.insertRow(r)
        self.events.setItem(r, 0, QTableWidgetItem(when))
        self.events.setItem(r, 1, QTableWidgetItem(name))

    def _remove_event(self) -> None:
        for idx in sorted({i.row() for i in self.events.selectedIndexes()}, reverse=True):
            self.events.removeRow(idx)

    def result_preferences(self) -> Preferences:
        events = []
        for r in range(self.events.rowCount()):
            when = (self.events.item(r, 0).text() if self.events.item(r, 0) else "").strip()
            name = (self.events.item(r, 1).text() if self.events.item(r, 1) else "").strip()
            if WHEN_RE.match(when) and name:
                events.append({"when": when, "name": name})
        red = min(self.red.value(), self.amber.value())
        critical = min(self.joint_critical.value(), self.joint_warning.value())
        return replace(
            self.prefs,
            amber_pct=self.amber.value(),
            red_pct=red,
            joint_warning_pct=self.joint_warning.value(),
            joint_critical_pct=critical,
            account_poll_s=self.account_poll.value(),
            stale_after_s=self.stale_after.value(),
            theme=self.theme.currentText(),
            sound=self.sound.isChecked(),
            tray=self.tray.isChecked(),
            events=events,
        )
