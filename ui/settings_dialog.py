"""The settings dialog: one field per declared setting (``settings.registry``), grouped as
declared (the push channels, ui/channels_widget.py, in the notifications group), the user's own
calendar entries (read and typed in the time zone the dialog shows, the time-zone setting; UTC
in each time's tooltip) and the calendar feeds."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from PySide6.QtCore import QTimer
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
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import formatting as fmt
from monitor.feeds import BLS_FEED, FeedError, FeedSpec, FeedStatus, check_url
from settings.registry import (
    DISTANCE_CRITICAL,
    DISTANCE_WARNING,
    JOINT_MOVE_CRITICAL,
    JOINT_MOVE_WARNING,
    PROBABILITY_CRITICAL,
    PROBABILITY_WARNING,
    SETTINGS,
    TIME_ZONE,
    AnySetting,
    Group,
    Unit,
)
from ui.channels_widget import ChannelList, ChannelTester
from ui.ports import Preferences, UserEvent

WHEN_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
WHEN_FORMAT = "%Y-%m-%d %H:%M"
AT_MOST = ((DISTANCE_CRITICAL, DISTANCE_WARNING), (JOINT_MOVE_CRITICAL, JOINT_MOVE_WARNING))
AT_LEAST = ((PROBABILITY_CRITICAL, PROBABILITY_WARNING),)
"""A critical distance is at most its warning one; a critical chance at least its warning one."""
"""A critical threshold is never wider than its warning one."""
FEED_STATUS_EVERY_MS = 1000
FeedStatuses = Callable[[], Sequence[FeedStatus]]

Field = QDoubleSpinBox | QSpinBox | QCheckBox | QComboBox


def show_when(at_ms: int, zone: str) -> str:
    """``at_ms`` as the calendar shows it in ``zone``: YYYY-MM-DD HH:MM."""
    return (
        datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(fmt.zone(zone)).strftime(WHEN_FORMAT)
    )


def read_when(text: str, zone: str) -> int | None:
    """A calendar time typed in ``zone`` as ms since the epoch (None unless it reads as
    YYYY-MM-DD HH:MM)."""
    if not WHEN_RE.match(text):
        return None
    try:
        naive = datetime.strptime(text, WHEN_FORMAT)
    except ValueError:
        return None
    tz = fmt.zone(zone)
    when = naive.astimezone() if tz is None else naive.replace(tzinfo=tz)
    return int(when.timestamp() * 1000)


def make_field(setting: AnySetting, value: object) -> Field:
    """The widget for a setting, showing ``value`` as the user types it."""
    if isinstance(setting.default, bool):
        box = QCheckBox(setting.label)
        box.setChecked(bool(value))
        return box
    if isinstance(setting.default, str):
        combo = QComboBox()
        combo.addItems(list(setting.allowed()))
        combo.setCurrentText(str(value))
        return combo
    scale = 100.0 if setting.unit is Unit.PERCENT else 1.0
    low = (setting.minimum or 0.0) * scale
    high = (setting.maximum or 1e9) * scale
    if isinstance(setting.default, int):
        spin = QSpinBox()
        spin.setRange(int(low), int(high))
        spin.setSuffix(setting.unit.value)
        spin.setValue(int(value))  # type: ignore[call-overload]  # an int setting's value
        return spin
    dspin = QDoubleSpinBox()
    dspin.setRange(low, high)
    dspin.setDecimals(1)
    dspin.setSingleStep(0.5)
    dspin.setSuffix(setting.unit.value)
    dspin.setValue(float(value) * scale)  # type: ignore[arg-type]  # a float setting's value
    return dspin


def field_value(setting: AnySetting, field: Field) -> object:
    if isinstance(field, QCheckBox):
        return field.isChecked()
    if isinstance(field, QComboBox):
        return field.currentText()
    if isinstance(field, QSpinBox):
        return field.value()
    return field.value() / (100.0 if setting.unit is Unit.PERCENT else 1.0)


class SettingsDialog(QDialog):
    """``feed_statuses`` gives the subscribed feeds' status lines (``CalendarFeeds.statuses``:
    an in-memory snapshot, cheap on the GUI thread); the dialog re-reads it every second, so a
    fetch finishing while it is open shows. ``test_channel`` sends a push channel's test message
    (blocking; the channel list runs it off the GUI thread); None while the watch is starting."""

    def __init__(
        self,
        prefs: Preferences,
        parent: QWidget | None = None,
        feed_statuses: FeedStatuses | None = None,
        test_channel: ChannelTester | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.prefs = prefs
        self.fields: dict[str, Field] = {}
        self.channels = ChannelList(prefs.channels, test_channel)
        layout = QVBoxLayout(self)
        for group in Group:
            box = QGroupBox(group.value)
            form = QFormLayout(box)
            for setting in (s for s in SETTINGS if s.group is group):
                field = make_field(setting, prefs.values.get(setting))
                field.setAccessibleName(setting.label)
                self.fields[setting.key] = field
                if isinstance(field, QCheckBox):
                    form.addRow(field)
                else:
                    form.addRow(setting.label, field)
            if group is Group.NOTIFICATIONS:
                form.addRow(self.channels)
            layout.addWidget(box)

        self.zone = prefs.values.get(TIME_ZONE)
        self.events = QTableWidget(0, 2)
        header = self.events.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.events.verticalHeader().setVisible(False)
        self.events.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._show_zone()
        for e in prefs.events:
            self._add_event(show_when(e.at_ms, self.zone), e.name)
        self.events.itemChanged.connect(self._on_event_edited)
        zone_field = self.fields[TIME_ZONE.key]
        assert isinstance(zone_field, QComboBox)
        zone_field.currentTextChanged.connect(self._change_zone)
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
        layout.addWidget(cal)
        layout.addWidget(self._feeds_box(prefs))
        self._feed_statuses = feed_statuses
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(FEED_STATUS_EVERY_MS)
        self._status_timer.timeout.connect(self._show_feed_statuses)
        self._show_feed_statuses()
        if feed_statuses is not None:
            self._status_timer.start()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept_if_valid)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    # -- calendar feeds -----------------------------------------------------------------------
    def _feeds_box(self, prefs: Preferences) -> QGroupBox:
        self.feeds = QTableWidget(0, 3)
        self.feeds.setHorizontalHeaderLabels(
            ["Address (https://…ics)", "Name", "Title contains (a, b, …)"]
        )
        self.feeds.setAccessibleName("Calendar feeds")
        self.feeds.setAccessibleDescription(
            "iCalendar feeds whose events the watch warns before; fetched daily, kept offline"
        )
        self.feeds.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.feeds.verticalHeader().setVisible(False)
        self.feeds.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        for spec in prefs.feeds:
            self._add_feed(spec.url, spec.name, ", ".join(spec.match))
        add = QPushButton("Add feed")
        add.clicked.connect(lambda: self._add_feed("", "", ""))
        bls = QPushButton("Add the BLS release calendar (CPI)")
        bls.setToolTip(BLS_FEED)
        bls.clicked.connect(lambda: self._add_feed(BLS_FEED, "BLS", "Consumer Price Index"))
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_feed)
        self.feed_status = QLabel()
        self.feed_status.setWordWrap(True)
        self.feed_status.setAccessibleName("Calendar feed status")
        self.feed_error = QLabel()
        self.feed_error.setWordWrap(True)
        self.feed_error.setStyleSheet("color: #f0504a;")
        self.feed_error.setAccessibleName("Calendar feed error")
        self.feed_error.hide()
        box = QGroupBox("Calendar feeds (iCalendar; fetched daily, kept for offline use)")
        fl = QVBoxLayout(box)
        fl.addWidget(self.feeds)
        row = QHBoxLayout()
        for b in (add, bls, remove):
            row.addWidget(b)
        row.addStretch(1)
        fl.addLayout(row)
        fl.addWidget(self.feed_status)
        fl.addWidget(self.feed_error)
        return box

    def _add_feed(self, url: str, name: str, match: str) -> None:
        r = self.feeds.rowCount()
        self.feeds.insertRow(r)
        for col, text in enumerate((url, name, match)):
            self.feeds.setItem(r, col, QTableWidgetItem(text))

    def _remove_feed(self) -> None:
        for idx in sorted({i.row() for i in self.feeds.selectedIndexes()}, reverse=True):
            self.feeds.removeRow(idx)

    @staticmethod
    def _cell(table: QTableWidget, row: int, col: int) -> str:
        item = table.item(row, col)
        return item.text().strip() if item is not None else ""

    def feed_specs(self) -> tuple[FeedSpec, ...]:
        """The feeds as typed (empty rows are dropped); FeedError naming the first row whose
        address is not a web address."""
        specs: list[FeedSpec] = []
        for r in range(self.feeds.rowCount()):
            url, name, match = (self._cell(self.feeds, r, c) for c in range(3))
            if not url and not name and not match:
                continue
            try:
                url = check_url(url)
            except FeedError as exc:
                raise FeedError(f"Calendar feed {r + 1}: {exc}") from None
            words = tuple(w.strip() for w in match.split(",") if w.strip())
            specs.append(FeedSpec(url, name, words))
        return tuple(specs)

    def _accept_if_valid(self) -> None:
        """OK: refused, saying why, while a calendar feed's address is not a web address or a
        push channel's quiet hours do not read as HH:MM-HH:MM."""
        try:
            self.feed_specs()
        except FeedError as exc:
            self.feed_error.setText(str(exc))
            self.feed_error.show()
            return
        self.feed_error.hide()
        try:
            self.channels.channels()
        except ValueError as exc:
            self.channels.say(f"{exc}.", problem=True)
            return
        self.accept()

    def _show_feed_statuses(self) -> None:
        if self._feed_statuses is None:
            text = "Feed status appears once the watch has started."
        else:
            lines = [s.line for s in self._feed_statuses()]
            text = "\n".join(lines) if lines else "No calendar feed is subscribed."
        if self.feed_status.text() != text:
            self.feed_status.setText(text)

    def _show_zone(self) -> None:
        name = fmt.zone_name(int(time.time() * 1000), self.zone)
        where = "your time" if self.zone == fmt.LOCAL else self.zone
        self.events.setHorizontalHeaderLabels([f"When ({where}, {name})", "Event"])
        head = self.events.horizontalHeaderItem(0)
        if head is not None:
            head.setToolTip(f"YYYY-MM-DD HH:MM, {where} ({name}); UTC in each time's tooltip")

    def _add_event(self, when: str, name: str) -> None:
        r = self.events.rowCount()
        self.events.insertRow(r)
        self.events.setItem(r, 0, QTableWidgetItem(when))
        self.events.setItem(r, 1, QTableWidgetItem(name))
        self._tip(r)

    def _tip(self, row: int) -> None:
        """The time in UTC, as a tooltip on the time typed in the dialog's zone."""
        item = self.events.item(row, 0)
        if item is None:
            return
        at = read_when(item.text().strip(), self.zone)
        tip = fmt.datetime_utc(at) if at is not None else "YYYY-MM-DD HH:MM"
        if item.toolTip() != tip:
            item.setToolTip(tip)

    def _on_event_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 0:
            self._tip(item.row())

    def _change_zone(self, zone: str) -> None:
        """Show the entries in the newly chosen zone (each keeps its moment)."""
        moments = [
            read_when(item.text().strip(), self.zone) if item is not None else None
            for item in (self.events.item(r, 0) for r in range(self.events.rowCount()))
        ]
        self.zone = zone
        self._show_zone()
        for r, at in enumerate(moments):
            item = self.events.item(r, 0)
            if item is not None and at is not None:
                item.setText(show_when(at, zone))

    def _remove_event(self) -> None:
        for idx in sorted({i.row() for i in self.events.selectedIndexes()}, reverse=True):
            self.events.removeRow(idx)

    def result_preferences(self) -> Preferences:
        """The values as edited (a critical threshold clamped to its warning one) and the
        calendar entries whose time reads as YYYY-MM-DD HH:MM."""
        changes = {s.key: field_value(s, self.fields[s.key]) for s in SETTINGS}
        for critical, warning in AT_MOST:
            changes[critical.key] = min(
                float(changes[critical.key]),  # type: ignore[arg-type]  # a float setting
                float(changes[warning.key]),  # type: ignore[arg-type]
            )
        for critical, warning in AT_LEAST:
            changes[critical.key] = max(
                float(changes[critical.key]),  # type: ignore[arg-type]  # a float setting
                float(changes[warning.key]),  # type: ignore[arg-type]
            )
        events: list[UserEvent] = []
        for r in range(self.events.rowCount()):
            when_item, name_item = self.events.item(r, 0), self.events.item(r, 1)
            when = (when_item.text() if when_item else "").strip()
            name = (name_item.text() if name_item else "").strip()
            at = read_when(when, self.zone)
            if at is not None and name:
                events.append(UserEvent(at, name))
        return Preferences(
            self.prefs.values.replace(changes),
            tuple(events),
            self.feed_specs(),
            channels=self.channels.channels(),
            channel_urls=self.channels.new_urls(),
            channels_known=(
                None if self.prefs.channels is None else tuple(p.id for p in self.prefs.channels)
            ),
        )
