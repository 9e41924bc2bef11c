"""The push channels in the settings dialog: add, "Send test", disable, remove, and per channel
the least severe warning it receives, its quiet hours and whether it hears of resolutions.

The one part of the settings the registry does not generate: a list. A URL is typed into a
field that hides it once typed; it is checked by apprise at once (one line saying what is
wrong, never the URL), then only its masked form is shown. Nothing is stored until the dialog's
OK: new URLs go to the secret store then (``Preferences.channel_urls``), the preferences to
the settings. "Send test" runs off the GUI thread (the window's ``ChannelTester``: a stored
channel's URL is read from the secret store there) and says in one line how it went.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from alerts.vocabulary import Severity
from notify.channel import Channel, ChannelPrefs, QuietHours
from notify.sender import DeliveryResult
from notify.services import check_url
from notify.store import new_channel_id
from notify.urls import ChannelURLError
from ui import theme

ChannelTester = Callable[[str, str | None], DeliveryResult]
"""Sends the test message: (channel id, its URL, or None for a stored channel). Blocks."""

COLUMNS = ("Channel", "On", "From", "Quiet hours (only CRITICAL)", "Resolved")
ID_ROLE = Qt.ItemDataRole.UserRole
SEVERITIES = tuple(s.label for s in Severity)


class ChannelList(QWidget):
    """``channels`` None: the stored channels are not read yet (the watch is starting); the
    list is then off and leaves them as they are."""

    sigTested = Signal(str, object)
    """(channel id, DeliveryResult), emitted from the test's thread, shown on the GUI thread."""

    def __init__(
        self, channels: Sequence[ChannelPrefs] | None, tester: ChannelTester | None = None
    ) -> None:
        super().__init__()
        self._tester = tester
        self._known = channels is not None
        self._new_urls: dict[str, str] = {}
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("Push channels")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for prefs in channels or ():
            self._add_row(prefs)

        self.url = QLineEdit()
        self.url.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        self.url.setPlaceholderText("tgram://…, ntfys://ntfy.sh/topic, pover://…, json://host/…")
        self.url.setAccessibleName("New channel URL")
        self.url.returnPressed.connect(self.add_url)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add_url)
        self.test_button = QPushButton("Send test")
        self.test_button.clicked.connect(self.send_test)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel(
            "One apprise URL per channel: Telegram, ntfy, Pushover, e-mail, Discord, Slack, a "
            "webhook…"
        )
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Push channel status")
        self.sigTested.connect(self._show_test)

        adding = QHBoxLayout()
        adding.addWidget(self.url, 1)
        adding.addWidget(self.add_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(adding)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        if not self._known:
            for w in (self.table, self.url, self.add_button, self.test_button, self.remove_button):
                w.setEnabled(False)
            self.say(
                "The stored channels are read when the watch has started; open Settings "
                "again in a moment."
            )

    # -- rows ---------------------------------------------------------------------------------
    def _add_row(self, prefs: ChannelPrefs) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        name = QTableWidgetItem(prefs.label)
        name.setData(ID_ROLE, prefs.id)
        name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.table.setItem(r, 0, name)
        enabled = QCheckBox()
        enabled.setChecked(prefs.enabled)
        enabled.setAccessibleName("Send to this channel")
        self.table.setCellWidget(r, 1, enabled)
        severity = QComboBox()
        severity.addItems(list(SEVERITIES))
        severity.setCurrentText(prefs.min_severity.label)
        severity.setAccessibleName("Least severe warning sent")
        self.table.setCellWidget(r, 2, severity)
        self.table.setItem(r, 3, QTableWidgetItem(str(prefs.quiet) if prefs.quiet else ""))
        resolved = QCheckBox()
        resolved.setChecked(prefs.send_resolved)
        resolved.setAccessibleName("Say when a warning resolves")
        self.table.setCellWidget(r, 4, resolved)

    def row_of(self, channel_id: str) -> int:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(ID_ROLE) == channel_id:
                return r
        return -1

    def _id_at(self, row: int) -> str:
        item = self.table.item(row, 0)
        return str(item.data(ID_ROLE)) if item is not None else ""

    def _label_at(self, row: int) -> str:
        item = self.table.item(row, 0)
        return item.text() if item is not None else ""

    def selected_row(self) -> int:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            return rows[0].row()
        return 0 if self.table.rowCount() == 1 else -1

    # -- actions ------------------------------------------------------------------------------
    def say(self, text: str, problem: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.current().red};" if problem else "")

    def add_url(self) -> None:
        """Check the typed URL; a good one becomes a row (stored at OK), a bad one stays in
        the field with one line saying why."""
        try:
            url = check_url(self.url.text())
        except ChannelURLError as exc:
            self.say(f"That URL cannot be used: {exc}.", problem=True)
            return
        channel = Channel.from_url(new_channel_id(), url)
        self._new_urls[channel.id] = url
        self._add_row(channel.prefs)
        self.table.selectRow(self.table.rowCount() - 1)
        self.url.clear()
        self.say(f"Added {channel.label}; it is kept when you press OK. Send a test to check it.")

    def remove_selected(self) -> None:
        row = self.selected_row()
        if row < 0:
            self.say("Select the channel to remove.", problem=True)
            return
        channel_id, label = self._id_at(row), self._label_at(row)
        self.table.removeRow(row)
        self._new_urls.pop(channel_id, None)
        self.say(f"Removed {label}; its URL is forgotten when you press OK.")

    def send_test(self) -> None:
        row = self.selected_row()
        if row < 0:
            self.say("Select the channel to test.", problem=True)
            return
        if self._tester is None:
            self.say("The watch is still starting; try again in a moment.", problem=True)
            return
        channel_id, label = self._id_at(row), self._label_at(row)
        url = self._new_urls.get(channel_id)
        tester = self._tester
        self.test_button.setEnabled(False)
        self.say(f"Sending a test to {label}…")

        def run() -> None:
            try:
                result = tester(channel_id, url)
            except Exception as exc:
                result = DeliveryResult(False, str(exc) or type(exc).__name__)
            with contextlib.suppress(RuntimeError):  # the dialog closed while it was out
                self.sigTested.emit(channel_id, result)

        threading.Thread(target=run, name="push-test", daemon=True).start()

    def _show_test(self, channel_id: str, result: DeliveryResult) -> None:
        self.test_button.setEnabled(True)
        row = self.row_of(channel_id)
        label = self._label_at(row) if row >= 0 else "the channel"
        if result.ok:
            self.say(f"Test sent to {label} in {result.elapsed_s:.2f} s: check that it arrived.")
        else:
            self.say(f"Test to {label} failed: {result.reason}", problem=True)

    # -- results ------------------------------------------------------------------------------
    def channels(self) -> tuple[ChannelPrefs, ...] | None:
        """The channels as edited (None when they were never read); ValueError naming the
        first row whose quiet hours do not read as HH:MM-HH:MM."""
        if not self._known:
            return None
        out: list[ChannelPrefs] = []
        for r in range(self.table.rowCount()):
            enabled, severity, resolved = (self.table.cellWidget(r, c) for c in (1, 2, 4))
            assert isinstance(enabled, QCheckBox) and isinstance(resolved, QCheckBox)
            assert isinstance(severity, QComboBox)
            item = self.table.item(r, 3)
            text = item.text().strip() if item is not None else ""
            try:
                quiet = QuietHours.parse(text) if text else None
            except ValueError as exc:
                raise ValueError(f"{self._label_at(r)}: {exc}") from None
            out.append(
                ChannelPrefs(
                    id=self._id_at(r),
                    label=self._label_at(r),
                    enabled=enabled.isChecked(),
                    min_severity=Severity.parse(severity.currentText()),
                    quiet=quiet,
                    send_resolved=resolved.isChecked(),
                )
            )
        return tuple(out)

    def new_urls(self) -> Mapping[str, str]:
        """The URLs of the channels added in this dialog and still listed, by id."""
        listed = {self._id_at(r) for r in range(self.table.rowCount())}
        return {cid: url for cid, url in self._new_urls.items() if cid in listed}
