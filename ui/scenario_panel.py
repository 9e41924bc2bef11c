"""What if the leader (BTC) moves r, the other symbols following by their betas?

Computed on the GUI thread with the risk engine (a report is about a millisecond): each
position's mark becomes mark × (1 + beta·r) and the shifted account goes through build_report.
It works from the ``Account`` the monitor read (``AccountUpdate.account``), every tier
included, so at 0 % it shows the table's liquidation prices and the engine's joint move.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import formatting as fmt
from monitor.events import AccountUpdate
from resources import move_model
from risk.liquidation import account_totals, beta_of, underlying_betas
from risk.report import (
    AccountReport,
    PositionReport,
    build_report,
    default_leader,
    effective_rules,
)
from risk.types import Account
from ui import keys, theme
from ui.keys import described

log = logging.getLogger(__name__)

STEPS_PER_PCT = 2  # the slider moves in 0.5 % steps


@dataclass(frozen=True, slots=True)
class ScenarioAccount:
    account_id: int
    label: str
    is_demo: bool
    account: Account
    sigma_hourly: Mapping[str, float] = field(default_factory=dict)
    """The volatility each symbol's chance of liquidation was read at in the account's report
    (the scenario moves the prices, not the volatility)."""


def shifted(account: Account, leader: str, betas: Mapping[str, float], r: float) -> Account:
    """The account with every mark moved: the leader by r, the others by beta·r; a coin held
    as collateral (BTC margining coin-margined contracts, or posted in a shared pool) moves
    with its underlying, as the joint move moves it."""
    positions = []
    for p in account.positions:
        move = 1.0 + beta_of(p.symbol, leader, betas) * r
        positions.append(replace(p, mark_price=max(p.mark_price * move, p.mark_price * 1e-6)))
    k = underlying_betas(account, leader, betas)
    collateral = tuple(
        replace(c, price=c.price * max(1.0 + k[c.coin] * r, 1e-6)) if c.coin in k else c
        for c in account.collateral
    )
    return replace(account, positions=tuple(positions), collateral=collateral)


class ScenarioPanel(QWidget):
    sigChanged = Signal(float)

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[int, ScenarioAccount] = {}
        self.betas: dict[str, float] = {}
        self.user_betas: dict[str, float] = {}
        self.leader = "BTC/USDT:USDT"
        self.last_reports: dict[int, AccountReport] = {}
        self.amber, self.red = 0.10, 0.05

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-30 * STEPS_PER_PCT, 30 * STEPS_PER_PCT)
        self.slider.setTickInterval(5 * STEPS_PER_PCT)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(STEPS_PER_PCT)
        self.slider.valueChanged.connect(self.recompute)
        self.move_label = QLabel()
        self.move_label.setMinimumWidth(220)
        self.move_label.setStyleSheet("font-size: 13pt; font-weight: 600;")
        described(
            self.slider,
            "BTC move",
            "Move BTC from -30 % to +30 %; the other symbols follow by their beta. Arrow keys "
            "move 0.1 %, Page Up and Page Down 1 %",
        )
        self.move_label.setAccessibleName("Scenario move")
        self.reset_button = described(
            QPushButton("Reset"), "Reset the scenario", "BTC back to no move", keys.RESET_SCENARIO
        )
        self.reset_button.clicked.connect(self.reset)
        caption = QLabel("BTC &move")
        caption.setBuddy(self.slider)
        row = QHBoxLayout()
        row.addWidget(caption)
        row.addWidget(self.slider, 1)
        row.addWidget(self.move_label)
        row.addWidget(self.reset_button)

        self.summary = QLabel()
        self.summary.setAccessibleName("Scenario summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)

        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(
            ["Account", "Position", "Price after", "Liq. price", "Distance", "State"]
        )
        self._setup_table(self.table)
        described(
            self.table,
            "Scenario positions",
            "Each position after the scenario's move: account, position, price after, "
            "liquidation price, distance and state",
        )
        self.beta_table = QTableWidget(0, 2)
        self.beta_table.setHorizontalHeaderLabels(["Symbol", "β"])
        self._setup_table(self.beta_table)
        self.beta_table.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        self.beta_table.itemChanged.connect(self._on_beta_edited)
        self.beta_table.setToolTip("Estimated from candles; double-click to override")
        described(
            self.beta_table,
            "Betas to BTC",
            "How far each symbol moves per unit of BTC's move; estimated from candles, "
            "type a value to override",
        )

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.beta_table)
        split.setSizes([480, 150])
        self.splitter = split

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.recompute()

    @staticmethod
    def _setup_table(t: QTableWidget) -> None:
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    @property
    def leader_move(self) -> float:
        return self.slider.value() / (100.0 * STEPS_PER_PCT)

    def reset(self) -> None:
        """No move: the slider back to 0 %."""
        self.slider.setValue(0)

    def set_move(self, r: float) -> None:
        self.slider.setValue(round(r * 100 * STEPS_PER_PCT))

    def set_account(self, update: AccountUpdate, recompute: bool = True) -> None:
        account = update.account
        if account is None or not account.positions:
            return
        self.accounts[update.account_id] = ScenarioAccount(
            update.account_id, update.label, update.is_demo, account, sigmas_of(update.report)
        )
        if not any(p.symbol == self.leader for p in account.positions):
            self.leader = default_leader(account) or self.leader
        if recompute:
            self.recompute()

    def remove_account(self, account_id: int) -> None:
        self.accounts.pop(account_id, None)
        self.recompute()

    def set_betas(self, betas: Mapping[str, float]) -> None:
        changed = False
        for s, b in betas.items():
            if s not in self.betas or abs(self.betas[s] - b) > 1e-6:
                self.betas[s] = float(b)
                changed = True
        if changed:
            self._fill_betas()
            self.recompute()

    def effective_betas(self) -> dict[str, float]:
        return {**self.betas, **self.user_betas}

    def _fill_betas(self) -> None:
        self.beta_table.blockSignals(True)
        betas = self.effective_betas()
        symbols = sorted(betas, key=lambda s: (s != self.leader, s))
        self.beta_table.setRowCount(len(symbols))
        for i, s in enumerate(symbols):
            name = QTableWidgetItem(s.split("/")[0])
            name.setFlags(Qt.ItemFlag.ItemIsEnabled)
            name.setData(Qt.ItemDataRole.UserRole, s)
            self.beta_table.setItem(i, 0, name)
            val = QTableWidgetItem(f"{betas[s]:.2f}")
            if s == self.leader:
                val.setFlags(Qt.ItemFlag.ItemIsEnabled)
            elif s in self.user_betas:
                val.setForeground(QBrush(theme.qcolor(theme.current().accent)))
            self.beta_table.setItem(i, 1, val)
        self.beta_table.blockSignals(False)

    def _on_beta_edited(self, item: QTableWidgetItem) -> None:
        if item.column() != 1:
            return
        name = self.beta_table.item(item.row(), 0)
        if name is None:
            return
        symbol = str(name.data(Qt.ItemDataRole.UserRole))
        try:
            value = float(item.text().replace(",", "."))
        except ValueError:
            self._fill_betas()
            return
        self.user_betas[symbol] = value
        self._fill_betas()
        self.recompute()

    def recompute(self) -> None:
        r = self.leader_move
        t = theme.current()
        colour = t.down if r < 0 else t.up if r > 0 else t.text
        leader_price = self._leader_price()
        price_text = f" → {fmt.price(leader_price * (1 + r))}" if leader_price else ""
        self.move_label.setText(f"<span style='color:{colour}'>{fmt.pct(r)}</span>{price_text}")
        betas = self.effective_betas()
        rows: list[tuple[ScenarioAccount, PositionReport, str, AccountReport]] = []
        lines = []
        self.last_reports = {}
        for sa in self.accounts.values():
            acc = shifted(sa.account, self.leader, betas, r)
            report = build_report(
                acc,
                leader=self.leader,
                betas=betas,
                moves=move_model(),
                sigma_hourly=sa.sigma_hourly,
            )
            self.last_reports[sa.account_id] = report
            tag = "DEMO · " if sa.is_demo else ""
            if report.liquidated:
                state_html = f"<b style='color:{t.red}'>LIQUIDATED</b>"
            else:
                mr = report.margin_ratio
                c = t.red if mr >= 0.5 else t.amber if mr >= 0.25 else t.calm
                state_html = f"margin ratio <b style='color:{c}'>{fmt.pct(mr, signed=False)}</b>"
                jm = report.joint_move
                if jm is not None and jm.nearest is not None:
                    state_html += (
                        f", liquidated if {jm.leader.split('/')[0]} moves "
                        f"<b>{fmt.pct(jm.nearest, decimals=2)}</b> from here"
                    )
                    odds = report.odds
                    if odds is not None:
                        p24 = fmt.pct(odds.p24, signed=False, decimals=0)
                        p4 = fmt.pct(odds.p4, signed=False, decimals=0)
                        state_html += f" — a <b>{p24}</b> chance within 24 h (4 h: {p4})"
            now = account_totals(sa.account, effective_rules(sa.account)).equity
            lines.append(
                f"<b>{tag}{sa.label}</b>: equity <b>{fmt.money(report.equity)}</b> "
                f"({fmt.money(report.equity - now, True)} vs now), {state_html}"
            )
            for p in report.positions:
                rows.append((sa, p, tag, report))
        self.summary.setText("<br>".join(lines) or "No positions yet.")
        self._fill_rows(rows)
        self.table.setColumnHidden(0, len(self.accounts) < 2)
        self.sigChanged.emit(r)

    def _leader_price(self) -> float | None:
        for sa in self.accounts.values():
            for p in sa.account.positions:
                if p.symbol == self.leader:
                    return p.mark_price
        return None

    def _fill_rows(
        self, rows: list[tuple[ScenarioAccount, PositionReport, str, AccountReport]]
    ) -> None:
        t = theme.current()
        self.table.setRowCount(len(rows))
        for i, (sa, p, tag, report) in enumerate(rows):
            liquidated = report.liquidated
            lp = None if liquidated else p.shown_liquidation_price
            d = p.distance
            if liquidated:
                state, colour = "LIQUIDATED", t.red
            else:
                colour = theme.distance_colour(report.effective_distance(p), self.amber, self.red)
                state = {t.red: "danger", t.amber: "close", t.calm: "safe"}.get(colour, "—")
            cells = [
                f"{tag}{sa.label}",
                p.symbol.split("/")[0] + (" long" if p.side.sign > 0 else " short"),
                fmt.price(p.mark_price),
                fmt.price(lp.value if lp else None),
                fmt.pct(d, decimals=2)
                if d is not None and math.isfinite(d) and not liquidated
                else "—",
                state,
            ]
            for j, text in enumerate(cells):
                item = self.table.item(i, j)
                if item is None:
                    item = QTableWidgetItem(text)
                    if j >= 2:
                        item.setTextAlignment(
                            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                        )
                    self.table.setItem(i, j, item)
                elif item.text() != text:
                    item.setText(text)
                if j in (4, 5) and item.foreground().color().name() != colour:
                    item.setForeground(QBrush(theme.qcolor(colour)))


def sigmas_of(report: AccountReport | None) -> dict[str, float]:
    """Each symbol's hourly σ as the report read it (its odds say which)."""
    out: dict[str, float] = {}
    if report is None:
        return out
    for p in report.positions:
        if p.odds is not None:
            out[p.symbol] = p.odds.sigma_hourly
    if report.odds is not None and report.joint_move is not None:
        out[report.joint_move.leader] = report.odds.sigma_hourly
    return out
