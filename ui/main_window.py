"""The main window: positions, the chart, the scenario slider, warnings, and each account's
connection state. Every slot here runs on the GUI thread; data arrives through the bridge."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from functools import partial
from types import MappingProxyType

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QSystemTrayIcon,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import formatting as fmt
from alerts.vocabulary import Change, Severity, WarningState
from monitor.events import (
    AccountStatus,
    AccountUpdate,
    LiveState,
    MarketUpdate,
    MarkSource,
    Replay,
    WarningEvent,
    Watch,
)
from monitor.feeds import FeedStatus
from monitor.health import is_stale
from notify.sender import DeliveryResult
from notify.sound import SoundPlayer
from resources.about import APP_NAME
from risk.types import base_asset
from settings.registry import (
    CLOSE_ASK,
    CLOSE_HIDE,
    CLOSE_QUIT,
    CLOSE_TO_TRAY,
    DISTANCE_CRITICAL,
    DISTANCE_WARNING,
    JOINT_MOVE_CRITICAL,
    JOINT_MOVE_WARNING,
    SOUND,
    SOUND_VOLUME,
    START_AT_LOGIN,
    THEME,
    TIME_ZONE,
    TRAY,
    Values,
)
from storage.records import AccountRecord, WarningRecord
from ui import figures, keys, theme
from ui.about import AboutDialog
from ui.bridge import MonitorBridge
from ui.chart import PriceChart
from ui.chart_lines import ChartLine, chart_lines
from ui.columns import ColumnFitter
from ui.connect_dialog import ConnectDialog
from ui.desktop_notify import DesktopNotifications
from ui.icon import app_icon
from ui.keys import described
from ui.layout import WindowLayout
from ui.ports import BackendPort, Preferences, StoredWarnings
from ui.positions_model import DISTANCE_COLUMN, SYMBOL_ROLE, PositionsModel, PositionsProxy
from ui.scenario_panel import ScenarioPanel
from ui.settings_dialog import SettingsDialog
from ui.warnings_panel import HISTORY_LIMIT, SNOOZE_CHOICES, Banner, WarningsPanel

log = logging.getLogger(__name__)

SCENARIOS = ("2025-11-04", "2025-08-24", "quiet")


def scenario_names() -> tuple[str, ...]:
    """The local exchange's scenarios, the 2025-11-04 crash first."""
    try:
        from connectors.localexchange import SCENARIOS as names
    except ImportError:
        return SCENARIOS
    return tuple(sorted(names, key=lambda n: (n != "2025-11-04", n)))


REPLAY_READ_MS = 10_000
"""How often the demo's clock is read again (it runs on between reads; a pause or a new
speed shows within this long)."""

SPEEDS = (60.0, 300.0, 600.0, 1800.0, 3600.0)
DEFAULT_SPEED = 1800.0
"""The 2025-11-04 scenario spans 48 h; at 1,800× BTC breaks 105,000 about a minute in."""


class MainWindow(QMainWindow):
    """``backend`` is the watch service plus the account store and the settings (None while
    it is being built); until it says otherwise the settings are their defaults."""

    sigWarningShown = Signal(str)

    def __init__(
        self, backend: BackendPort | None, window_state: WindowLayout, bridge: MonitorBridge
    ) -> None:
        super().__init__()
        self.backend = backend
        self.window_state = window_state
        self.bridge = bridge
        self.prefs = Preferences(Values.defaults())
        fmt.set_display_zone(self.prefs.values.get(TIME_ZONE))
        self.account_status: dict[int, AccountUpdate] = {}
        self.account_labels: dict[int, str] = {}
        self.received: dict[int, float] = {}
        self.records: list[AccountRecord] = []
        self._pending_accounts: dict[int, AccountUpdate] = {}
        self._account_timer = QTimer(self)
        self._account_timer.setSingleShot(True)
        self._account_timer.setInterval(200)
        self._account_timer.timeout.connect(self._apply_accounts)
        self.betas: dict[str, float] = {}
        self._banner_key: str | None = None
        self._banner_change = Change.FIRED
        self._banner_pending: WarningRecord | None = None
        self._banner_new = False
        self._pending_warnings: list[WarningEvent] = []
        self._banner_shown: tuple[str, Severity, Change, str] | None = None
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-command")
        self._inflight: set[futures.Future[None]] = set()
        self._closed = False
        self.setWindowTitle("Cascade Watch")
        self.setWindowIcon(app_icon())
        self.resize(1560, 960)

        values = self.prefs.values
        self.model = PositionsModel(values.get(DISTANCE_WARNING), values.get(DISTANCE_CRITICAL))
        self.proxy = PositionsProxy()
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(DISTANCE_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.columns = ColumnFitter(self.table)
        self.table.selectionModel().selectionChanged.connect(self._on_row_selected)

        self.chart = PriceChart()
        self.scenario = ScenarioPanel()
        self.scenario.amber, self.scenario.red = self.model.amber, self.model.red
        self.warnings = WarningsPanel()
        self.banner = Banner()
        self.banner.sigOpen.connect(lambda: self.warnings.tabs.setCurrentIndex(0))
        self.summary = QLabel("Waiting for the first account read…")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("font-size: 12pt; padding: 4px 8px;")

        self.add_button = QPushButton("+  Add exchange account")
        self.add_button.setStyleSheet(
            f"QPushButton {{ background: {theme.current().accent}; color: white; "
            "font-weight: 600; padding: 5px 14px; border-radius: 4px; }"
        )
        self.add_button.clicked.connect(self.add_account)
        self.settings_button = QToolButton()
        self.ack_all_button = QToolButton()
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.settings_button)
        head.addWidget(self.ack_all_button)
        head.addWidget(self.add_button)

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._titled("Warnings", self.warnings))
        right.addWidget(self._titled("Scenario: move BTC, the others follow by β", self.scenario))
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.chart)
        middle.addWidget(right)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 2)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(self._titled("Positions (all accounts)", self.table))
        outer.addWidget(middle)
        # what is kept in view as the window shrinks: three position rows, the chart, the
        # warnings beside the scenario (a saved layout replaces these in restore_layout)
        rows = self.table.verticalHeader().defaultSectionSize()
        head_h = self.table.horizontalHeader().sizeHint().height()
        self.table.setMinimumHeight(head_h + 3 * rows + 10)
        outer.setSizes([200, 700])
        middle.setSizes([820, 720])
        right.setSizes([380, 320])
        self.splitters = {
            "outer": outer,
            "middle": middle,
            "right": right,
            "scenario": self.scenario.splitter,
        }
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(6, 4, 6, 4)
        cl.setSpacing(4)
        cl.addWidget(self.banner)
        cl.addLayout(head)
        cl.addWidget(outer, 1)
        self.setCentralWidget(central)

        self._build_menus()
        self.status_labels: dict[int, QLabel] = {}
        self.replay: Replay | None = None
        self.replay_label = QLabel()
        self.replay_label.setStyleSheet(f"color: {theme.current().amber}; padding: 0 8px;")
        self.replay_label.hide()
        self.clock_label = QLabel()
        self.statusBar().addPermanentWidget(self.replay_label)
        self.statusBar().addPermanentWidget(self.clock_label)
        self._describe()
        self._set_tab_order()
        self._quitting = False
        self._told_still_watching = False
        self.tray = self._make_tray()
        self.notices = DesktopNotifications(self.tray)
        self.notices.sigOpen.connect(self.open_warning)
        self.sound = SoundPlayer(volume=values.get(SOUND_VOLUME), muted=not values.get(SOUND))

        bridge.sigAccount.connect(self.on_account)
        bridge.sigMarket.connect(self.on_market)
        bridge.sigWarning.connect(self.on_warning)
        bridge.sigLiquidations.connect(self.chart.set_liquidation_flow)
        bridge.sigReset.connect(self.on_reset)
        bridge.sigNotice.connect(self.show_notice)
        bridge.sigRecords.connect(self._on_records)
        bridge.sigPreferences.connect(self._on_preferences)
        bridge.sigStoredWarnings.connect(self._on_stored_warnings)
        bridge.sigReplay.connect(self._on_replay)
        self.chart.sigSymbolRequested.connect(self._on_chart_symbol)
        self.chart.sigWatchChanged.connect(self._send_watch)
        self._watch_sent: Watch | None = None
        self.scenario.sigChanged.connect(lambda _r: self._update_chart_lines())
        self.warnings.sigAcknowledge.connect(self.acknowledge)
        self.warnings.sigSnooze.connect(self.snooze)

        self.ages = QTimer(self)
        self.ages.setInterval(1000)
        self.ages.timeout.connect(self._refresh_status)
        self.ages.start()
        self.replay_timer = QTimer(self)
        self.replay_timer.setInterval(REPLAY_READ_MS)
        self.replay_timer.timeout.connect(self._read_replay)
        self.replay_timer.start()
        self.restore_layout()

    @staticmethod
    def _titled(title: str, w: QWidget) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        label = QLabel(title)
        label.setStyleSheet(f"color: {theme.current().muted}; font-weight: 600;")
        lay.addWidget(label)
        lay.addWidget(w, 1)
        return box

    def set_backend(self, backend: BackendPort) -> None:
        self.backend = backend
        self._watch_sent = None
        self._send_watch()
        self.refresh_accounts()
        self._run_command(
            "read the settings",
            lambda b: self.bridge.sigPreferences.emit(b.load_preferences()),
        )
        note = backend.title_note
        if note:
            self.setWindowTitle(f"Cascade Watch ({note})")
        self.load_stored_warnings()
        self._read_replay()

    def load_stored_warnings(self) -> None:
        """The watch's open warnings and the stored history, read off the GUI thread."""

        def read(b: BackendPort) -> None:
            service = b.service
            stored = StoredWarnings(service.open_warnings(), service.warning_history(HISTORY_LIMIT))
            self.bridge.sigStoredWarnings.emit(stored)

        self._run_command("read the stored warnings", read)

    def _on_stored_warnings(self, stored: StoredWarnings) -> None:
        self.warnings.load_stored(stored.open, stored.history)

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str = "", tip: str = ""
    ) -> QAction:
        """A window action: its shortcut works anywhere in the window and shows in its menu."""
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False: slot())
        self.addAction(act)
        return act

    def _read_replay(self) -> None:
        """Read what the demo replays (off the GUI thread; the label follows each second)."""
        if self.backend is not None:
            self._run_command(
                "read the demo's clock", lambda b: self.bridge.sigReplay.emit(b.replay())
            )

    def _on_replay(self, replay: Replay | None) -> None:
        self.replay = replay
        self._show_replay()

    def _show_replay(self) -> None:
        replay = self.replay
        if replay is None:
            self.replay_label.hide()
            return
        now = replay.now_ms(time.time())
        text = (
            f"Replaying {fmt.day_span(replay.start_ms, replay.end_ms)} · "
            f"{fmt.short_moment(now)} · ×{replay.speed:g}" + (" · paused" if replay.paused else "")
        )
        if self.replay_label.text() != text:
            self.replay_label.setText(text)
            self.replay_label.setToolTip(f"{replay.title}\nScenario time {fmt.datetime_utc(now)}")
        self.replay_label.show()

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.actions_by_name: dict[str, QAction] = {}
        a = self.actions_by_name

        accounts = bar.addMenu("&Accounts")
        a["add_account"] = self._action(
            "&Add exchange account…", self.add_account, keys.ADD_ACCOUNT
        )
        accounts.addAction(a["add_account"])
        self.accounts_menu = accounts.addMenu("&Edit / disable / remove")
        self.accounts_menu.aboutToShow.connect(self._fill_accounts_menu)
        accounts.addSeparator()
        a["settings"] = self._action("&Settings…", self.open_settings, keys.SETTINGS)
        a["quit"] = self._action("&Quit", self.quit_app, keys.QUIT)
        self.quit_action = a["quit"]
        accounts.addAction(a["settings"])
        accounts.addAction(a["quit"])

        warnings = bar.addMenu("&Warnings")
        a["next_warning"] = self._action(
            "&Next warning", lambda: self.warnings.select_step(1), keys.NEXT_WARNING
        )
        a["previous_warning"] = self._action(
            "&Previous warning", lambda: self.warnings.select_step(-1), keys.PREVIOUS_WARNING
        )
        a["acknowledge"] = self._action(
            "&Acknowledge selected warning", self.warnings.acknowledge_selected, keys.ACKNOWLEDGE
        )
        a["acknowledge_all"] = self._action(
            "Acknowledge a&ll", self.acknowledge_all, keys.ACKNOWLEDGE_ALL
        )
        for name in ("next_warning", "previous_warning", "acknowledge", "acknowledge_all"):
            warnings.addAction(a[name])
        snooze = warnings.addMenu("&Snooze selected warning")
        for text, minutes in SNOOZE_CHOICES:
            act = self._action(
                text,
                partial(self.warnings.snooze_selected, minutes),
                keys.SNOOZE_HOUR if minutes == 60 else "",
            )
            snooze.addAction(act)
            a[f"snooze_{minutes}"] = act

        demo = bar.addMenu("&Demo")
        self.scenario_group = QActionGroup(self)
        sc_menu = demo.addMenu("Scenario")
        current_sc = str(self.window_state.get("demo/scenario", SCENARIOS[0]))
        for name in scenario_names():
            act = QAction(name, self, checkable=True)
            act.setChecked(name == current_sc)
            act.triggered.connect(lambda _=False, n=name: self.set_demo(scenario=n))
            self.scenario_group.addAction(act)
            sc_menu.addAction(act)
        sp_menu = demo.addMenu("Speed")
        self.speed_group = QActionGroup(self)
        current_sp = float(str(self.window_state.get("demo/speed", DEFAULT_SPEED)))
        for speed in SPEEDS:
            act = QAction(f"×{speed:g}", self, checkable=True)
            act.setChecked(abs(speed - current_sp) < 1e-9)
            act.triggered.connect(lambda _=False, s=speed: self.set_demo(speed=s))
            self.speed_group.addAction(act)
            sp_menu.addAction(act)

        view = bar.addMenu("&View")
        self.timeframe_menu = view.addMenu("&Timeframe")
        self.timeframe_menu.aboutToShow.connect(self._offer_timeframes)
        self.timeframe_group = QActionGroup(self)
        for tf, key in keys.TIMEFRAMES.items():
            act = self._action(tf, partial(self.show_timeframe, tf), key)
            act.setCheckable(True)
            act.setChecked(tf == self.chart.timeframe)
            self.timeframe_group.addAction(act)
            self.timeframe_menu.addAction(act)
            a[f"timeframe_{tf}"] = act
        self.chart.tf_box.currentTextChanged.connect(self._check_timeframe)
        a["reset_scenario"] = self._action(
            "&Reset the scenario (BTC move 0 %)", self.scenario.reset, keys.RESET_SCENARIO
        )
        a["next_pane"] = self._action("Next &pane", lambda: self.focus_pane(1), keys.NEXT_PANE)
        a["previous_pane"] = self._action(
            "Pre&vious pane", lambda: self.focus_pane(-1), keys.PREVIOUS_PANE
        )
        view.addAction(a["reset_scenario"])
        view.addSeparator()
        view.addAction(a["next_pane"])
        view.addAction(a["previous_pane"])

        help_menu = bar.addMenu("&Help")
        self.about_action = help_menu.addAction(f"About {APP_NAME}", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

        # Settings and Acknowledge all sit in the header row (no toolbar row of their own:
        # at 1024x700 every line counts); in the menus and on a shortcut already, the Tab
        # key passes them by
        for button, name in ((self.settings_button, "settings"),
                             (self.ack_all_button, "acknowledge_all")):  # fmt: skip
            act = a[name]
            button.setDefaultAction(act)
            button.setText(act.text().replace("&", "").rstrip("…"))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(
                f"{act.text().replace('&', '').rstrip('…')} ({act.shortcut().toString()})"
            )

    def _offer_timeframes(self) -> None:
        """The bar-length menu offers only what works for the chart's symbol."""
        offered = self.chart.offered_timeframes()
        for tf in keys.TIMEFRAMES:
            act = self.actions_by_name[f"timeframe_{tf}"]
            act.setVisible(tf in offered)
            act.setChecked(tf == self.chart.timeframe)

    # -- the keyboard -----------------------------------------------------------------------------
    def show_timeframe(self, tf: str) -> None:
        """Show ``tf`` candles, or say in the status bar why it cannot be shown."""
        if not self.chart.timeframe_enabled(tf):
            self.statusBar().showMessage(
                f"{tf} bars are not available for {self.chart.symbol or 'this symbol'}", 4000
            )
            self._check_timeframe(self.chart.timeframe)
            return
        self.chart.set_timeframe(tf)

    def _check_timeframe(self, tf: str) -> None:
        act = self.actions_by_name.get(f"timeframe_{tf}")
        if act is not None:
            act.setChecked(True)

    def panes(self) -> list[QWidget]:
        """Where F6 moves the focus, in the window's reading order."""
        return [self.table, self.chart.symbol_box, self.warnings.active_table, self.scenario.slider]

    def focus_pane(self, step: int) -> None:
        panes = self.panes()
        current = QApplication.focusWidget()
        at = next(
            (
                i
                for i, w in enumerate(panes)
                if current is not None and (w is current or w.isAncestorOf(current))
            ),
            -1,
        )
        target = panes[(at + step) % len(panes)] if at >= 0 else panes[0 if step > 0 else -1]
        if target is self.warnings.active_table:
            self.warnings.tabs.setCurrentIndex(0)
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _set_tab_order(self) -> None:
        """Tab follows the reading order: the account button, the positions, the chart's
        choices, the warnings, the scenario; the chart's plot and the toolbar are skipped."""
        chain: list[QWidget] = [
            self.banner.show_button,
            self.banner.dismiss_button,
            self.add_button,
            self.table,
            self.chart.symbol_box,
            self.chart.tf_box,
            self.warnings.tabs,
            self.warnings.ack_button,
            self.warnings.snooze_button,
            self.warnings.active_table,
            self.warnings.history_table,
            self.scenario.slider,
            self.scenario.reset_button,
            self.scenario.table,
            self.scenario.beta_table,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _describe(self) -> None:
        """Accessible names and descriptions of the window's own controls."""
        described(
            self.table,
            "Positions",
            "Every position of every account: liquidation price, distance in percent and "
            "sigmas, margin ratio; sorted by distance. Selecting one shows it on the chart",
        )
        described(
            self.add_button,
            "Add exchange account",
            "Connect an exchange account with a read-only key",
            keys.ADD_ACCOUNT,
        )
        self.summary.setAccessibleName("Accounts summary")
        self.clock_label.setAccessibleName("Clock (your time zone; UTC in the tooltip)")
        self.replay_label.setAccessibleName("Demo replay: what it replays and its clock")

    def _make_tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(app_icon(), self)
        tray.setToolTip("Cascade Watch")
        menu = QMenu(self)
        menu.addAction("Show Cascade Watch", self.bring_forward)
        menu.addAction("Quit", self.quit_app)
        tray.setContextMenu(menu)
        tray.activated.connect(self._on_tray_activated)
        tray.show()
        return tray

    def _on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.bring_forward()

    # -- data from the monitor ----------------------------------------------------------------
    def on_account(self, update: AccountUpdate) -> None:
        """Keep the newest update per account; the display timer applies them (a burst of
        polls costs one table, scenario and summary refresh)."""
        aid = update.account_id
        self.account_status[aid] = update
        if update.report is not None or aid not in self.received:
            self.received[aid] = time.monotonic()
        self._pending_accounts[aid] = update
        if not self._account_timer.isActive():
            self._account_timer.start()

    def _apply_accounts(self) -> None:
        """One redraw of everything a poll changes, in one turn of the event loop (so one
        paint): the table, the header, the scenario panel, the chart, the warnings and the
        banner show the same poll."""
        self._apply_account_updates()
        if self._apply_warnings():
            self.warnings._refresh()  # at once, not on its own timer: painted with the rest
        self._apply_banner()
        self.chart.redraw_now()

    def _apply_account_updates(self) -> None:
        pending, self._pending_accounts = self._pending_accounts, {}
        for aid, update in pending.items():
            self.account_labels[aid] = figures.account_name(update.label, update.is_demo)
            self.warnings.account_labels[aid] = self.account_labels[aid]
            self.model.set_account(update)
            report = update.report
            if report is not None:
                # when each mark arrived (a stream's is newer than the account's last read)
                arrived = {m.symbol: m.as_of_ms for m in update.marks}
                for p in report.positions:
                    at = arrived.get(p.symbol, report.as_of_ms or 0)
                    self.chart.set_mark(p.symbol, p.mark_price, at)
                self.scenario.set_account(update, recompute=False)
        if not pending:
            return
        self.chart.keep_marks(r.position.symbol for r in self.model.rows)
        self.scenario.recompute()
        if self.chart.symbol is None and self.model.rows:
            self.chart.set_symbol(self.model.rows[0].position.symbol)
        self._send_watch()
        self._update_summary()
        self._update_chart_lines()
        self._refresh_status()

    def on_market(self, update: MarketUpdate) -> None:
        if update.betas:
            self.betas.update(update.betas)
            self.scenario.set_betas(dict(update.betas))
        self.chart.set_market(update)

    def on_warning(self, event: WarningEvent) -> None:
        """Keep the change; the display timer shows it with the positions table (a warning's
        figures come from the same poll as the table's, and a burst of polls costs one
        redraw of the panel and the banner)."""
        self._pending_warnings.append(event)
        if not self._account_timer.isActive():
            self._account_timer.start()

    def _apply_warnings(self) -> bool:
        """Hand the kept changes to the panel (a warning's figures updated several times
        since the last redraw count once: its newest) and note what the banner shows; True
        when there were any."""
        pending, self._pending_warnings = self._pending_warnings, []
        later: set[str] = set()
        kept: list[WarningEvent] = []
        for event in reversed(pending):
            key = event.warning.key
            if event.change is Change.UPDATED and key in later:
                continue
            later.add(key)
            kept.append(event)
        for event in reversed(kept):
            self.warnings.add_event(event)
            w = event.warning
            if event.change.is_new and w.state is WarningState.ACTIVE:
                self._banner_change = event.change
                self._banner_pending = w
                self._banner_new = True
            elif w.key == self._banner_key or (
                self._banner_pending is not None and w.key == self._banner_pending.key
            ):
                self._banner_pending = w
        return bool(kept)

    def _apply_banner(self) -> None:
        """Show the newest warning, or the shown one's current message; when the shown one
        resolves (or is acknowledged or snoozed), the most severe warning still active takes
        its place."""
        w, self._banner_pending = self._banner_pending, None
        new, self._banner_new = self._banner_new, False
        if w is None:
            return
        if w.state is not WarningState.ACTIVE:
            rest = [x for x in self.warnings.active.values() if x.state is WarningState.ACTIVE]
            if not rest:
                self._banner_key = None
                self.banner.hide()
                return
            w = max(rest, key=lambda x: (x.severity, x.last_seen_ms))
            self._banner_change = Change.FIRED
            if not self.banner.isVisible():
                self._banner_key = w.key
                return
        self._banner_key = w.key
        if new:
            self._show_banner(w)
            self.notify(w)
            self.sigWarningShown.emit(w.key)
        elif self.banner.isVisible():
            self._show_banner(w)

    def _show_banner(self, w: WarningRecord) -> None:
        """The banner with ``w``; when only its figures moved (same warning, same severity),
        only the text changes (restyling the banner on every poll costs the GUI thread)."""
        shown = self._banner_shown
        label = self.banner.label
        same = shown is not None and shown[:3] == (w.key, w.severity, self._banner_change)
        if same and shown is not None and shown[3] in label.text() and self.banner.isVisible():
            label.setText(label.text().replace(shown[3], w.message))
        else:
            self.banner.show_warning(self._banner_change, w)
        self._banner_shown = (w.key, w.severity, self._banner_change, w.message)

    def on_reset(self, demo: bool) -> None:
        """The watch switched to (or from) the demo: forget every account's rows."""
        for aid in list(self.account_status):
            self.model.remove_account(aid)
            self.scenario.remove_account(aid)
            label = self.status_labels.pop(aid, None)
            if label is not None:
                self.statusBar().removeWidget(label)
                label.deleteLater()
        self.account_status.clear()
        self._banner_key, self._banner_pending = None, None
        self._pending_warnings.clear()
        self.warnings.active.clear()
        self.warnings.add_note("Now watching " + ("the demo" if demo else "your accounts"))
        self._read_replay()
        self.banner.hide()
        self._update_summary()
        self.load_stored_warnings()

    def show_notice(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cascade Watch", text, parent=self)
        box.setModal(False)
        box.show()

    def notify(self, warning: WarningRecord) -> None:
        """A desktop notification (the platform's service, the tray balloon as the fallback)
        and the warning's sound, when the window is not in front. A click on the
        notification brings the window forward at that warning."""
        if self.isVisible() and not self.isMinimized() and self.isActiveWindow():
            return
        if self.prefs.values.get(TRAY):
            who = self.warnings.account_name(warning.account_id)
            title = f"{warning.severity.name} · {who}"
            self.notices.notify(title, warning.message, warning.severity, warning.key)
        self.sound.play(warning.severity)

    def bring_forward(self) -> None:
        """Show the window (from the tray, a notification, or a second launch) in front."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def open_warning(self, key: str) -> None:
        self.bring_forward()
        if key:
            self.warnings.select(key)

    def on_instance_command(self, message: dict[str, object]) -> None:
        """A second launch on this data folder: come forward (at a warning, if one is
        named) instead of a second monitor starting."""
        key = message.get("key") if message.get("command") == "open" else ""
        self.open_warning(str(key or ""))

    # -- derived displays -----------------------------------------------------------------------
    def _update_summary(self) -> None:
        t = theme.current()
        parts = []
        for aid, u in self.account_status.items():
            rep = u.report
            name = self.account_labels.get(aid, str(aid))
            if u.is_demo:
                plain = figures.account_name(u.label, True).removeprefix("DEMO").strip(" ·")
                name = (
                    f"<span style='background:{t.amber};color:black;padding:0 4px'>"
                    f"&nbsp;DEMO&nbsp;</span> {plain}"
                )
            if rep is None:
                parts.append(f"{name}: {u.status.value}")
                continue
            mr = rep.margin_ratio
            mr_c = t.red if mr >= 0.5 else t.amber if mr >= 0.25 else t.calm
            # the line wraps between its parts, never inside one ("−2.1" / "% (at …)")
            text = _nowrap(f"<b>{name}</b> &nbsp;equity <b>{fmt.money(rep.equity)}</b>")
            if not rep.positions:
                parts.append(text + " &nbsp;no open positions")
                continue
            ratio = fmt.pct(mr, signed=False)
            text += " &nbsp;" + _nowrap(f"margin ratio <b style='color:{mr_c}'>{ratio}</b>")
            jm = rep.joint_move
            if jm is not None and jm.nearest is not None:
                values = self.prefs.values
                c = theme.distance_colour(
                    jm.nearest, values.get(JOINT_MOVE_WARNING), values.get(JOINT_MOVE_CRITICAL)
                )
                at = (
                    f" (at {figures.joint_move_price(rep)})"
                    if rep.joint_move_price is not None
                    else ""
                )
                text += " &nbsp;" + _nowrap(
                    f"liquidated if {figures.leader_name(rep)} moves "
                    f"<b style='color:{c}'>{figures.joint_move_pct(rep)}</b>{at}"
                )
            parts.append(text)
        self.summary.setText(" &nbsp;│&nbsp; ".join(parts) or "No accounts.")

    def _mark_of(self, symbol: str) -> float | None:
        for row in self.model.rows:
            if row.position.symbol == symbol:
                return row.position.mark_price
        return None

    def _update_chart_lines(self) -> None:
        symbol = self.chart.symbol
        if symbol is None:
            return
        self.chart.set_liquidations(
            chart_lines(self.model.rows, symbol) + self._scenario_line(symbol)
        )

    def _scenario_line(self, symbol: str) -> list[ChartLine]:
        """The scenario slider's move on the chart's symbol, when the slider is off 0."""
        r = self.scenario.leader_move
        mark = self._mark_of(symbol)
        if not r or not mark:
            return []
        b = self.scenario.beta_for(symbol)
        leader = base_asset(self.scenario.leader)
        price = mark * (1 + b * r)
        text = f"SCENARIO {leader} {fmt.pct(r)}  {fmt.price(price)}"
        return [ChartLine(price, text, theme.current().accent)]

    def _age_ms(self, aid: int, u: AccountUpdate) -> int | None:
        """The data's age now: its age when it arrived plus the time since (a replay's clock is
        not the wall clock, so the monitor's own age_ms is the base)."""
        if u.last_ok_ms is None and u.report is None:
            return None
        base = int(u.age_ms or 0)
        return base + int((time.monotonic() - self.received.get(aid, time.monotonic())) * 1000)

    def _refresh_status(self) -> None:
        t = theme.current()
        for aid, u in self.account_status.items():
            label = self.status_labels.get(aid)
            if label is None:
                label = QLabel()
                self.status_labels[aid] = label
                self.statusBar().addWidget(label)
            age_ms = self._age_ms(aid, u)
            stale = is_stale(age_ms, u.stale_after_ms)
            name = self.account_labels.get(aid, str(aid))
            if u.status is AccountStatus.ERROR:
                text, colour = f"● {name}: error: {u.error or 'unknown'}", t.red
            elif stale:
                text, colour = f"● {name}: STALE ({fmt.age(age_ms)} old)", t.red
            elif u.status is AccountStatus.CONNECTING:
                text, colour = f"● {name}: connecting…", t.amber
            else:
                text, colour = f"● {name}: connected{live_text(u)} · {fmt.age(age_ms)}", t.calm
            style = f"color: {colour}; padding: 0 8px;" + (" font-weight: 700;" if stale else "")
            tip = marks_tip(u)
            if label.toolTip() != tip:
                label.setToolTip(tip)
            if label.text() != text:
                label.setText(text)
            if label.styleSheet() != style:
                label.setStyleSheet(style)
        now = int(time.time() * 1000)
        self.clock_label.setText(fmt.clock(now))
        self.clock_label.setToolTip(fmt.utc_clock(now))
        self._show_replay()

    # -- user actions ---------------------------------------------------------------------------
    def _on_row_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        idx = selected.indexes()
        if idx:
            self.chart.set_symbol(str(self.proxy.data(idx[0], SYMBOL_ROLE)))

    def _on_chart_symbol(self, _symbol: str) -> None:
        self._update_chart_lines()

    def _send_watch(self) -> None:
        """Tell the monitor what the window shows: the chart's symbol and bar length, and
        the leader, which it then fetches whether or not a position is open."""
        symbol = self.chart.symbol
        watch = Watch(
            frozenset(s for s in (symbol, self.scenario.leader) if s),
            symbol,
            self.chart.timeframe,
        )
        if watch == self._watch_sent or self.backend is None:
            return
        self._watch_sent = watch
        self._run_command("watch", lambda b: b.watch(watch))

    def _run_command(self, what: str, fn: Callable[[BackendPort], object]) -> None:
        """Backend calls may touch the database: run them off the GUI thread."""

        def call() -> None:
            backend = self.backend
            if backend is None:
                self.bridge.sigNotice.emit("The watch is still starting; try again in a moment.")
                return
            try:
                fn(backend)
            except Exception as exc:
                log.exception("%s failed", what)
                self.bridge.sigNotice.emit(f"{what.capitalize()} failed: {exc}")

        if self._closed:
            return  # the window is closing: the commands' thread is gone
        future = self._commands.submit(call)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)

    def finish_commands(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the backend calls still to run (the window is closed;
        what the trader asked for before is carried out). The backend is stopped after them,
        since they may be using its database. True when none is left."""
        _, running = futures.wait(list(self._inflight), timeout=timeout_s)
        return not running

    def acknowledge(self, key: str) -> None:
        self._run_command("acknowledge", lambda b: b.service.acknowledge(key))

    def acknowledge_all(self) -> None:
        for key, w in list(self.warnings.active.items()):
            if w.state is WarningState.ACTIVE:
                self.acknowledge(key)
        self.banner.hide()

    def snooze(self, key: str, duration: timedelta) -> None:
        self._run_command("snooze", lambda b: b.service.snooze(key, duration))

    def set_demo(self, scenario: str | None = None, speed: float | None = None) -> None:
        scenario = scenario or str(self.window_state.get("demo/scenario", SCENARIOS[0]))
        speed = speed or float(str(self.window_state.get("demo/speed", DEFAULT_SPEED)))
        self.window_state.set("demo/scenario", scenario)
        self.window_state.set("demo/speed", speed)
        self._run_command("set_demo", lambda b: b.set_demo(scenario, speed))
        self._read_replay()

    def add_account(self) -> None:
        dlg = ConnectDialog(self)
        if dlg.exec():
            form = dlg.form_result()
            self._run_command("add account", lambda b: b.add_account(form))
            self.refresh_accounts()

    def _fill_accounts_menu(self) -> None:
        self.accounts_menu.clear()
        for rec in self.records:
            sub = self.accounts_menu.addMenu(
                f"{rec.label} ({rec.exchange})" + ("" if rec.enabled else " · disabled")
            )
            sub.addAction("Edit…", partial(self.edit_account, rec))
            sub.addAction(
                "Enable" if not rec.enabled else "Disable",
                partial(self.set_enabled, rec, not rec.enabled),
            )
            sub.addAction("Remove…", partial(self.remove_account, rec))
        if self.accounts_menu.isEmpty():
            self.accounts_menu.addAction("(no stored accounts: the demo is running)").setEnabled(
                False
            )

    def set_enabled(self, record: AccountRecord, enabled: bool) -> None:
        self._run_command("enable account", lambda b: b.set_enabled(record, enabled))
        self.refresh_accounts()

    def refresh_accounts(self) -> None:
        """Re-read the stored accounts off the GUI thread (the menu shows the cached list)."""
        self._run_command(
            "list accounts", lambda b: self.bridge.sigRecords.emit(list(b.accounts()))
        )

    def _on_records(self, records: list[AccountRecord]) -> None:
        self.records = records

    def edit_account(self, record: AccountRecord) -> None:
        dlg = ConnectDialog(self, existing=record)
        if dlg.exec():
            form = dlg.form_result()
            self._run_command("edit account", lambda b: b.update_account(record, form))
            self.refresh_accounts()

    def remove_account(self, record: AccountRecord) -> None:
        answer = QMessageBox.question(
            self, "Remove account", f"Remove {record.label} and forget its key?"
        )
        if answer == QMessageBox.StandardButton.Yes:
            if record.id is not None:
                self.model.remove_account(record.id)
                self.scenario.remove_account(record.id)
            self._run_command("remove account", lambda b: b.remove_account(record))
            self.refresh_accounts()

    def show_about(self) -> None:
        AboutDialog(self).exec()

    def feed_statuses(self) -> Sequence[FeedStatus]:
        """The calendar feeds' status lines (an in-memory snapshot of the watch's feeds)."""
        return self.backend.feed_statuses() if self.backend is not None else ()

    def open_settings(self) -> None:
        ready = self.backend is not None
        dlg = SettingsDialog(
            self.prefs,
            self,
            feed_statuses=self.feed_statuses if ready else None,
            test_channel=self._test_channel,
        )
        if dlg.exec():
            self.apply_preferences(dlg.result_preferences())

    def _test_channel(self, channel_id: str, url: str | None) -> DeliveryResult:
        """For the settings dialog's "Send test"; runs on the channel list's own thread."""
        backend = self.backend
        if backend is None:
            return DeliveryResult(False, "the watch is still starting; try again in a moment")
        return backend.test_channel(channel_id, url)

    def apply_preferences(self, prefs: Preferences) -> None:
        """Show the window with ``prefs`` and have the backend store them (the channels' new
        URLs go to the backend only; the window keeps none)."""
        login = prefs.values.get(START_AT_LOGIN)
        if login != self.prefs.values.get(START_AT_LOGIN):
            self._set_start_at_login(login)
        self._show_preferences(prefs)
        self._run_command("settings", lambda b: b.apply_preferences(prefs))

    def _on_preferences(self, prefs: Preferences) -> None:
        """The stored settings, read when the backend arrived."""
        self._show_preferences(prefs)

    def _show_preferences(self, prefs: Preferences) -> None:
        channels = prefs.channels if prefs.channels is not None else self.prefs.channels
        self.prefs = replace(prefs, channels=channels, channel_urls=MappingProxyType({}))
        values = prefs.values
        fmt.set_display_zone(values.get(TIME_ZONE))
        self.chart.zone_changed()
        self.window_state.set_theme_hint(values.get(THEME))
        self.sound.volume, self.sound.muted = values.get(SOUND_VOLUME), not values.get(SOUND)
        self.model.amber, self.model.red = (
            values.get(DISTANCE_WARNING),
            values.get(DISTANCE_CRITICAL),
        )
        self.scenario.amber, self.scenario.red = self.model.amber, self.model.red
        self.scenario.recompute()
        self.model.layoutChanged.emit()
        self._update_summary()

    # -- layout persistence -----------------------------------------------------------------------
    def save_layout(self) -> None:
        s = self.window_state
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        for name, sp in self.splitters.items():
            s.set(f"window/splitter_{name}", sp.saveState())
        if self.chart.symbol:
            s.set("chart/symbol", self.chart.symbol)
        s.set("chart/timeframe", self.chart.timeframe)
        s.sync()

    def restore_layout(self) -> None:
        s = self.window_state
        geo = s.get_bytes("window/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        state = s.get_bytes("window/state")
        if state is not None:
            self.restoreState(state)
        for name, sp in self.splitters.items():
            st = s.get_bytes(f"window/splitter_{name}")
            if st is not None:
                sp.restoreState(st)
        symbol = s.get("chart/symbol")
        if symbol:
            self.chart.set_symbol(str(symbol))
        tf = s.get("chart/timeframe")
        if tf:
            self.chart.set_timeframe(str(tf))

    def _set_start_at_login(self, enabled: bool) -> None:
        from ui import autostart

        try:
            where = autostart.set_enabled(enabled)
        except OSError as exc:
            self.show_notice(f"Start at login could not be changed: {exc.strerror or exc}")
            return
        log.info("start at login %s (%s)", "on" if enabled else "off", where or "registry")

    def quit_app(self) -> None:
        """Quit for real: the watch stops (closing the window may only hide it)."""
        self._quitting = True
        self.close()

    def ask_close_choice(self) -> str:
        """Asked once, where a tray exists: keep watching in the tray, or quit (one of
        ``CLOSE_TO_TRAY``'s choices). "" when the trader cancelled."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Close Cascade Watch")
        box.setText(
            "Keep watching in the system tray? Warnings still arrive while the window is "
            "closed; Quit (in the Accounts menu or the tray icon) stops the watch."
        )
        keep = box.addButton("Keep watching in the tray", QMessageBox.ButtonRole.AcceptRole)
        quit_ = box.addButton("Quit", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        remember = QCheckBox("Do not ask again")
        remember.setChecked(True)
        box.setCheckBox(remember)
        box.exec()
        clicked = box.clickedButton()
        choice = CLOSE_HIDE if clicked is keep else CLOSE_QUIT if clicked is quit_ else ""
        if choice and remember.isChecked():
            values = self.prefs.values.replace({CLOSE_TO_TRAY.key: choice})
            self.apply_preferences(replace(self.prefs, values=values, channels=None))
        return choice

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._quitting and self.tray is not None:
            choice = self.prefs.values.get(CLOSE_TO_TRAY)
            if choice == CLOSE_ASK:
                choice = self.ask_close_choice()
            if not choice:
                event.ignore()
                return
            if choice == CLOSE_HIDE:
                event.ignore()
                self.save_layout()
                self.hide()
                if not self._told_still_watching:
                    self._told_still_watching = True
                    self.tray.showMessage(
                        "Cascade Watch is still watching",
                        "Warnings keep arriving. Quit from the tray icon's menu.",
                        QSystemTrayIcon.MessageIcon.Information,
                        5_000,
                    )
                return
        self._quitting = True
        self.save_layout()
        self.chart.timer.stop()
        self.ages.stop()
        self.replay_timer.stop()
        self._closed = True
        # what the trader asked for before quitting (a setting, an acknowledgement) is still
        # carried out: the app waits for it (bounded) before the backend stops
        self._commands.shutdown(wait=False)
        self.notices.close()
        super().closeEvent(event)
        if self.tray is not None:
            self.tray.hide()
            QApplication.quit()


def _nowrap(html: str) -> str:
    return f"<span style='white-space:nowrap'>{html}</span>"


def live_text(u: AccountUpdate) -> str:
    """' · live', ' · polling (why)' or nothing, for an account's streams."""
    live = u.live
    if live is None or live.state is LiveState.OFF:
        return ""
    if live.state is LiveState.POLLING:
        return f" · polling ({live.reason})" if live.reason else " · polling"
    return f" · {live.state.value}"


def marks_tip(u: AccountUpdate) -> str:
    """Each mark's source and time, one per line ("BTC 103,250.1 · stream · 12:00:01 UTC")."""
    lines = [
        f"{m.symbol.split(':')[0]} {fmt.price(m.price)} · "
        f"{'stream' if m.source is MarkSource.STREAM else 'poll'} · {fmt.clock(m.as_of_ms)}"
        for m in u.marks
    ]
    if u.live is not None and u.live.reason:
        lines.append(u.live.reason)
    return "\n".join(lines)
