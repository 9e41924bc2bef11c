"""Active warnings by severity (acknowledge, snooze) and the history of every change."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import formatting as fmt
from alerts.vocabulary import NO_ACCOUNT, Change, ResolveReason, Severity, WarningState
from monitor.events import WarningEvent
from monitor.push import WATCH_NAME
from storage.records import WarningChange, WarningRecord
from ui import keys, theme
from ui.keys import described

SNOOZE_CHOICES = (("15 minutes", 15), ("1 hour", 60), ("4 hours", 240), ("Until tomorrow", 1440))
HISTORY_LIMIT = 500
REFRESH_MS = 50
"""Events arriving within this long are drawn together."""
QUIET_STATES = frozenset({WarningState.ACKNOWLEDGED, WarningState.SNOOZED})


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A line of the history: a warning's change, or a note (the watch switched accounts)."""

    ms: int
    change: str
    severity: Severity
    text: str


class WarningsPanel(QWidget):
    sigAcknowledge = Signal(str)
    sigSnooze = Signal(str, object)
    """(key, how long: a ``timedelta``). Never a millisecond time as a Qt ``int``: that is
    32 bits, and a time since 1970 in ms needs 41."""

    def __init__(self) -> None:
        super().__init__()
        self.active: dict[str, WarningRecord] = {}
        self.history: list[HistoryRow] = []
        self.account_labels: dict[int, str] = {}
        self._history_dirty = False
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(REFRESH_MS)
        self._pending.timeout.connect(self._refresh)
        self.active_table = QTableWidget(0, 5)
        self.active_table.setHorizontalHeaderLabels(
            ["Severity", "Warning", "Account", "Since", "State"]
        )
        self.history_table = QTableWidget(0, 4)
        self.history_table.setHorizontalHeaderLabels(["Time", "Change", "Severity", "Warning"])
        for t in (self.active_table, self.history_table):
            t.verticalHeader().setVisible(False)
            t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            t.setWordWrap(True)
            h = t.horizontalHeader()
            h.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.active_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.active_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        self.active_table.setColumnWidth(2, 130)
        self.history_table.horizontalHeader().setSectionResizeMode(
            3, QHeaderView.ResizeMode.Stretch
        )
        self.active_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        described(
            self.active_table,
            "Active warnings",
            "Severity, warning, account, since and state of every open warning, most severe "
            f"first; {keys.NEXT_WARNING} selects the next one",
        )
        described(
            self.history_table,
            "Warning history",
            "Every change of every warning, newest first: time, change, severity, text",
        )

        self.ack_button = described(
            QPushButton("Acknowledge"),
            "Acknowledge",
            "Acknowledge the selected warning",
            keys.ACKNOWLEDGE,
        )
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.snooze_button = described(
            QPushButton("Snooze ▾"), "Snooze", "Snooze the selected warning", keys.SNOOZE_HOUR
        )
        menu = QMenu(self.snooze_button)
        for text, minutes in SNOOZE_CHOICES:
            menu.addAction(text, partial(self.snooze_selected, minutes))
        self.snooze_button.setMenu(menu)
        self.count_label = QLabel("No active warnings")
        self.count_label.setAccessibleName("Active warnings count")
        buttons = QHBoxLayout()
        buttons.addWidget(self.count_label, 1)
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.snooze_button)

        active = QWidget()
        al = QVBoxLayout(active)
        al.setContentsMargins(0, 0, 0, 0)
        al.addLayout(buttons)
        al.addWidget(self.active_table)
        self.tabs = described(QTabWidget(), "Warnings", "Active warnings and their history")
        self.tabs.addTab(active, "Active")
        self.tabs.addTab(self.history_table, "History")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def add_event(self, event: WarningEvent) -> None:
        """Record a change; the tables are redrawn once per burst of events (several accounts
        polled at once send several), not once per event. An "updated" warning (its figures
        moved) changes the active row but is not history."""
        w = event.warning
        if event.change is Change.RESOLVED:
            self.active.pop(w.key, None)
        else:
            self.active[w.key] = w
        if event.change is not Change.UPDATED:
            text = history_text(event.change, w.message, event.reason)
            self._add_history(event.change.value, w.severity, text, event.at_ms)
        self._pending.start()

    def load_stored(
        self, open_warnings: tuple[WarningRecord, ...], history: list[WarningChange]
    ) -> None:
        """What the database holds from before this window (read off the GUI thread): the
        open warnings (those already reported live are newer and kept) and the history,
        merged with the lines that arrived meanwhile."""
        for w in open_warnings:
            self.active.setdefault(w.key, w)
        stored = [
            HistoryRow(
                c.ts_ms, c.change.value, c.severity, history_text(c.change, c.message, c.reason)
            )
            for c in history
        ]
        known = set(stored)
        rows = stored + [row for row in self.history if row not in known]
        rows.sort(key=lambda row: row.ms, reverse=True)
        self.history = rows[:HISTORY_LIMIT]
        self._history_dirty = True
        self._pending.start()

    def add_note(self, text: str) -> None:
        """A line in the history that is not a warning (the watch switched accounts)."""
        self._add_history("note", Severity.INFO, text)
        self._pending.start()

    def _add_history(
        self, change: str, severity: Severity, text: str, at_ms: int | None = None
    ) -> None:
        ms = int(time.time() * 1000) if at_ms is None else at_ms
        self.history.insert(0, HistoryRow(ms, change, severity, text))
        del self.history[HISTORY_LIMIT:]
        self._history_dirty = True

    def account_name(self, account_id: int) -> str:
        if account_id == NO_ACCOUNT:
            return WATCH_NAME
        return self.account_labels.get(account_id, str(account_id))

    def selected_key(self) -> str | None:
        rows = self.active_table.selectionModel().selectedRows()
        row = rows[0].row() if rows else (0 if self.active_table.rowCount() else -1)
        if row < 0:
            return None
        item = self.active_table.item(row, 0)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def select(self, key: str) -> bool:
        """Show the Active tab with this warning selected (a click on its notification);
        False when it is no longer active."""
        if self._pending.isActive():
            self._pending.stop()
            self._refresh()
        self.tabs.setCurrentIndex(0)
        for row in range(self.active_table.rowCount()):
            item = self.active_table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == key:
                self.active_table.selectRow(row)
                self.active_table.scrollToItem(item)
                return True
        return False

    def _chosen_key(self) -> str | None:
        """The key of the row the user selected (None when no row is)."""
        rows = self.active_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.active_table.item(rows[0].row(), 0)
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def acknowledge_selected(self) -> None:
        key = self.selected_key()
        if key:
            self.sigAcknowledge.emit(key)

    def snooze_selected(self, minutes: int) -> None:
        key = self.selected_key()
        if key:
            self.sigSnooze.emit(key, timedelta(minutes=minutes))

    def select_step(self, step: int) -> str | None:
        """Select the next (``step`` 1) or previous (-1) active warning, wrapping around, show
        the Active tab and put the focus on the row; its key, or None when none is active."""
        n = self.active_table.rowCount()
        if n == 0:
            return None
        rows = self.active_table.selectionModel().selectedRows()
        first = 0 if step > 0 else n - 1
        row = (rows[0].row() + step) % n if rows else first
        self.tabs.setCurrentIndex(0)
        self.active_table.selectRow(row)
        self.active_table.setCurrentCell(row, 1)
        item = self.active_table.item(row, 1)
        if item is not None:
            self.active_table.scrollToItem(item)
        self.active_table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        return self._chosen_key()

    def _refresh(self) -> None:
        t = theme.current()
        chosen = self._chosen_key()
        ws = sorted(self.active.values(), key=_active_order)
        self.active_table.setRowCount(len(ws))
        for i, w in enumerate(ws):
            colour = theme.qcolor(theme.severity_colour(w.severity))
            state = w.state.value
            if w.state is WarningState.SNOOZED and w.snoozed_until_ms:
                state = f"snoozed until {fmt.clock(w.snoozed_until_ms)}"
            cells = [
                w.severity.label.upper(),
                w.message,
                self.account_name(w.account_id),
                fmt.clock(w.first_seen_ms),
                state,
            ]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 0:
                    item.setData(Qt.ItemDataRole.UserRole, w.key)
                    item.setForeground(QBrush(colour))
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                if w.state in QUIET_STATES and j > 0:
                    item.setForeground(QBrush(theme.qcolor(t.muted)))
                self.active_table.setItem(i, j, item)
        self.active_table.resizeRowsToContents()
        # The selection follows its warning, not its row, when the order changes.
        self.active_table.clearSelection()
        for i, w in enumerate(ws):
            if w.key == chosen:
                self.active_table.selectRow(i)
        crit = sum(1 for w in ws if w.severity is Severity.CRITICAL)
        self.count_label.setText(
            f"{len(ws)} active warning{'s' if len(ws) != 1 else ''}"
            + (f", {crit} critical" if crit else "")
            if ws
            else "No active warnings"
        )
        self.tabs.setTabText(0, f"Active ({len(ws)})")
        if not self._history_dirty:
            return
        self._history_dirty = False
        self.history_table.setRowCount(len(self.history))
        for i, row in enumerate(self.history):
            cells = [fmt.clock(row.ms), row.change, row.severity.label.upper(), row.text]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j == 2:
                    item.setForeground(QBrush(theme.qcolor(theme.severity_colour(row.severity))))
                self.history_table.setItem(i, j, item)


def history_text(change: Change, message: str, reason: ResolveReason | None) -> str:
    """A history line's text: the message; for a resolved warning, why first."""
    if change is not Change.RESOLVED:
        return message
    why = (reason or ResolveReason.CLEARED).text
    return f"{why[:1].upper()}{why[1:]}. It said: {message}"


def _active_order(w: WarningRecord) -> tuple[bool, int, int]:
    """Warnings that still call for attention first (most severe, newest first), then the
    acknowledged and snoozed ones in the same order."""
    return (w.state in QUIET_STATES, -w.severity, -w.first_seen_ms)


class Banner(QWidget):
    """A strip at the top of the window showing the newest warning until dismissed."""

    sigOpen = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setStyleSheet("font-size: 12pt; font-weight: 600; color: white;")
        self.label.setAccessibleName("Newest warning")
        show = self.show_button = described(QPushButton("Show"), "Show the warnings")
        show.clicked.connect(self.sigOpen.emit)
        close = self.dismiss_button = described(QPushButton("Dismiss"), "Dismiss the banner")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(show)
        layout.addWidget(close)
        self.setObjectName("Banner")
        # A plain QWidget subclass paints no style-sheet background unless asked to.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hide()

    def show_warning(self, change: Change, w: WarningRecord) -> None:
        colour = theme.severity_colour(w.severity)
        self.setStyleSheet(f"#Banner {{ background: {colour}; border-radius: 3px; }}")
        verb = w.severity.label.upper()
        if change is Change.ESCALATED:
            verb = "ESCALATED"
        elif change is Change.RETURNED:
            verb += " (snooze over)"
        self.label.setText(f"⚠ {verb}: {w.message}")
        self.show()

    def text(self) -> str:
        return self.label.text()
