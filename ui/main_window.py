"""The main window: positions, the chart, the scenario slider, warnings, and each account's
connection state. Every slot here runs on the GUI thread; data arrives through the bridge."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Sequence
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
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QSystemTrayIcon,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

import formatting as fmt
from alerts.vocabulary import Change, WarningState
from monitor.events import AccountStatus, AccountUpdate, MarketUpdate, WarningEvent
from monitor.feeds import FeedStatus
from monitor.health import is_stale
from notify.sender import DeliveryResult
from notify.sound import SoundPlayer
from resources.about import APP_NAME
from risk.liquidation import beta_of
from risk.types import MarginMode
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
    TRAY,
    Values,
)
from storage.records import AccountRecord, WarningRecord
from ui import keys, theme
from ui.about import AboutDialog
from ui.bridge import MonitorBridge
from ui.chart import PriceChart
from ui.connect_dialog import ConnectDialog
from ui.desktop_notify import DesktopNotifications
from ui.icon import app_icon
from ui.keys import described
from ui.layout import WindowLayout
from ui.ports import BackendPort, Preferences, StoredWarnings
from ui.positions_model import SYMBOL_ROLE, PositionsModel, PositionsProxy
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
        self._commands = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ui-command")
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
        self.table.sortByColumn(8, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.selectionModel().selectionChanged.connect(self._on_row_selected)

        self.chart = PriceChart()
        self.scenario = ScenarioPanel()
        self.scenario.amber, self.scenario.red = self.model.amber, self.model.red
        self.warnings = WarningsPanel()
        self.banner = Banner()
        self.banner.sigOpen.connect(lambda: self.warnings.tabs.setCurrentIndex(0))
        self.summary = QLabel("Waiting for the first account read…")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setStyleSheet("font-size: 12pt; padding: 4px 8px;")

        self.add_button = QPushButton("+  Add exchange account")
        self.add_button.setStyleSheet(
            f"QPushButton {{ background: {theme.current().accent}; color: white; "
            "font-weight: 600; padding: 5px 14px; border-radius: 4px; }"
        )
        self.add_button.clicked.connect(self.add_account)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
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
        outer.setSizes([170, 760])
        middle.setSizes([900, 640])
        right.setSizes([280, 420])
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
        self.clock_label = QLabel()
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
        bridge.sigReset.connect(self.on_reset)
        bridge.sigNotice.connect(self.show_notice)
        bridge.sigRecords.connect(self._on_records)
        bridge.sigPreferences.connect(self._on_preferences)
        bridge.sigStoredWarnings.connect(self._on_stored_warnings)
        self.chart.sigSymbolRequested.connect(self._on_chart_symbol)
        self.scenario.sigChanged.connect(lambda _r: self._update_chart_lines())
        self.warnings.sigAcknowledge.connect(self.acknowledge)
        self.warnings.sigSnooze.connect(self.snooze)

        self.ages = QTimer(self)
        self.ages.setInterval(1000)
        self.ages.timeout.connect(self._refresh_status)
        self.ages.start()
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
        self.refresh_accounts()
        self._run_command(
            "read the settings",
            lambda b: self.bridge.sigPreferences.emit(b.load_preferences()),
        )
        note = backend.title_note
        if note:
            self.setWindowTitle(f"Cascade Watch ({note})")
        self.load_stored_warnings()

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
        tf_menu = view.addMenu("&Timeframe")
        self.timeframe_group = QActionGroup(self)
        for tf, key in keys.TIMEFRAMES.items():
            act = self._action(tf, partial(self.show_timeframe, tf), key)
            act.setCheckable(True)
            act.setChecked(tf == self.chart.timeframe)
            self.timeframe_group.addAction(act)
            tf_menu.addAction(act)
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

        tb = QToolBar("Main")
        tb.setObjectName("main-toolbar")
        tb.setMovable(False)
        tb.addAction(a["settings"])
        tb.addAction(a["acknowledge_all"])
        for act in (a["settings"], a["acknowledge_all"]):
            button = tb.widgetForAction(act)
            if button is not None:
                # in the menus and on a shortcut already: the Tab key passes them by
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                button.setToolTip(
                    f"{act.text().replace('&', '').rstrip('…')} ({act.shortcut().toString()})"
                )
        self.addToolBar(tb)

    # -- the keyboard -----------------------------------------------------------------------------
    def show_timeframe(self, tf: str) -> None:
        """Show ``tf`` candles, or say in the status bar why it cannot be shown."""
        if not self.chart.timeframe_enabled(tf):
            self.statusBar().showMessage(
                f"{tf} cannot be shown: the candles are longer than that", 4000
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
        self.clock_label.setAccessibleName("Clock (UTC)")

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
        pending, self._pending_accounts = self._pending_accounts, {}
        for aid, update in pending.items():
            self.account_labels[aid] = ("DEMO · " if update.is_demo else "") + update.label
            self.warnings.account_labels[aid] = self.account_labels[aid]
            self.model.set_account(update)
            if update.report is not None:
                for p in update.report.positions:
                    self.chart.set_mark(p.symbol, p.mark_price)
                self.scenario.set_account(update, recompute=False)
        if not pending:
            return
        self.scenario.recompute()
        if self.chart.symbol is None and self.model.rows:
            self.chart.set_symbol(self.model.rows[0].position.symbol)
        self._update_summary()
        self._update_chart_lines()
        self._refresh_status()

    def on_market(self, update: MarketUpdate) -> None:
        if update.betas:
            self.betas.update(update.betas)
            self.scenario.set_betas(dict(update.betas))
        self.chart.set_market(update)

    def on_warning(self, event: WarningEvent) -> None:
        self.warnings.add_event(event)
        w = event.warning
        if event.change.is_new and w.state is WarningState.ACTIVE:
            self.banner.show_warning(event.change, w)
            self.notify(w)
            self.sigWarningShown.emit(w.key)
        elif event.change is Change.RESOLVED and not self.warnings.active:
            self.banner.hide()

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
        self.warnings.active.clear()
        self.warnings.add_note("Now watching " + ("the demo" if demo else "your accounts"))
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
                name = (
                    f"<span style='background:{t.amber};color:black;padding:0 4px'>"
                    f"&nbsp;DEMO&nbsp;</span> {u.label}"
                )
            if rep is None:
                parts.append(f"{name}: {u.status.value}")
                continue
            mr = rep.margin_ratio
            mr_c = t.red if mr >= 0.5 else t.amber if mr >= 0.25 else t.calm
            text = (
                f"<b>{name}</b> &nbsp;equity <b>{fmt.money(rep.equity)}</b>"
                f" &nbsp;margin ratio <b style='color:{mr_c}'>{fmt.pct(mr, signed=False)}</b>"
            )
            jm = rep.joint_move
            if jm is not None and jm.nearest is not None:
                r = jm.nearest
                values = self.prefs.values
                c = theme.distance_colour(
                    r, values.get(JOINT_MOVE_WARNING), values.get(JOINT_MOVE_CRITICAL)
                )
                leader = jm.leader.split("/")[0]
                price = self._mark_of(jm.leader)
                at = f" (≈ {fmt.price(price * (1 + r))})" if price else ""
                text += (
                    f" &nbsp;liquidated if {leader} moves <b style='color:{c}'>{fmt.pct(r)}</b>{at}"
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
        t = theme.current()
        lines: list[tuple[float, str, str]] = []
        joint_done: set[int] = set()
        for row in self.model.rows:
            if row.position.symbol != symbol:
                continue
            p = row.position
            lp = p.shown_liquidation_price
            side = "long" if p.side.sign > 0 else "short"
            many = len({r.account_id for r in self.model.rows}) > 1
            tag = ("DEMO " if row.is_demo else "") + (row.account_label + " " if many else "")
            if lp is not None:
                colour = t.liq_long if p.side.sign > 0 else t.liq_short
                own = ""
                if p.margin_mode is MarginMode.ISOLATED and p.odds is not None:
                    own = f" · P(24 h) {fmt.pct(p.odds.p24, signed=False, decimals=0)}"
                lines.append((lp.value, f"LIQ {tag}{side}{own}", colour))
            jm = row.account.joint_move
            if jm is not None and jm.down is not None and row.account_id not in joint_done:
                joint_done.add(row.account_id)
                b = beta_of(symbol, jm.leader, self.scenario.effective_betas())
                price = p.mark_price * (1 + b * jm.down)
                if price > 0:
                    odds = row.account.odds
                    chance = (
                        ""
                        if odds is None
                        else f" · P(24 h) {fmt.pct(odds.p24, signed=False, decimals=0)}"
                    )
                    lines.append((price, f"LIQ {tag}joint: BTC {fmt.pct(jm.down)}{chance}", t.red))
        r = self.scenario.leader_move
        mark = self._mark_of(symbol)
        if r and mark:
            b = beta_of(symbol, self.scenario.leader, self.scenario.effective_betas())
            lines.append((mark * (1 + b * r), f"SCENARIO BTC {fmt.pct(r)}", t.accent))
        self.chart.set_liquidations(lines)

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
                text, colour = f"● {name}: connected · {fmt.age(age_ms)}", t.calm
            style = f"color: {colour}; padding: 0 8px;" + (" font-weight: 700;" if stale else "")
            if label.text() != text:
                label.setText(text)
            if label.styleSheet() != style:
                label.setStyleSheet(style)
        self.clock_label.setText(time.strftime("%H:%M:%S UTC", time.gmtime()))

    # -- user actions ---------------------------------------------------------------------------
    def _on_row_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        idx = selected.indexes()
        if idx:
            self.chart.set_symbol(str(self.proxy.data(idx[0], SYMBOL_ROLE)))

    def _on_chart_symbol(self, _symbol: str) -> None:
        self._update_chart_lines()

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

        self._commands.submit(call)

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
        self._commands.shutdown(wait=False, cancel_futures=True)
        self.notices.close()
        super().closeEvent(event)
        if self.tray is not None:
            self.tray.hide()
            QApplication.quit()
