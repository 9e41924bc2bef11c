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
from ui import figures, keys, theme
from ui.columns import ColumnFitter
from ui.keys import described

log = logging.getLogger(__name__)

STEPS_PER_PCT = 2  # the slider moves in 0.5 % steps


@dataclass(frozen=True, slots=True)
class ScenarioAccount:
    account_id: int
    label: str
    is_demo: bool
    account: Account
    report: AccountReport
    """The monitor's report of ``account``: what the panel shows at 0 % (the table's)."""
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
        self._shown_betas: dict[str, float] = {}
        self.amber, self.red = 0.10, 0.05
        self.fitters: list[ColumnFitter] = []

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-30 * STEPS_PER_PCT, 30 * STEPS_PER_PCT)
        self.slider.setTickInterval(5 * STEPS_PER_PCT)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setPageStep(STEPS_PER_PCT)
        self.slider.valueChanged.connect(self.recompute)
        self.move_label = QLabel()
        self.move_label.setMinimumWidth(170)
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

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            ["Account", "Position", "Price after", "Liq. price", "Distance"]
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
        self.beta_table.setMinimumWidth(100)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(self.beta_table)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        split.setSizes([500, 110])
        self.splitter = split

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.recompute()

    def _setup_table(self, t: QTableWidget) -> None:
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.fitters.append(ColumnFitter(t))

    @property
    def leader_move(self) -> float:
        return self.slider.value() / (100.0 * STEPS_PER_PCT)

    def reset(self) -> None:
        """No move: the slider back to 0 %."""
        self.slider.setValue(0)

    def set_move(self, r: float) -> None:
        self.slider.setValue(round(r * 100 * STEPS_PER_PCT))

    def set_account(self, update: AccountUpdate, recompute: bool = True) -> None:
        """Take an account's newest read; an account without open positions (closed or
        liquidated) leaves the panel. An update without a read keeps the last one."""
        account, report = update.account, update.report
        if account is None or report is None:
            return
        if not account.positions:
            if self.accounts.pop(update.account_id, None) is not None and recompute:
                self.recompute()
            return
        self.accounts[update.account_id] = ScenarioAccount(
            update.account_id,
            update.label,
            update.is_demo,
            account,
            report,
            sigmas_of(report),
        )
        jm = report.joint_move
        if jm is not None:
            self.leader = jm.leader
        elif not any(p.symbol == self.leader for p in account.positions):
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
        """The market's betas, the ones the accounts' joint moves were solved with (they
        win: the panel at 0 % is the monitor's report), and the user's own edits."""
        solved: dict[str, float] = {}
        for sa in self.accounts.values():
            jm = sa.report.joint_move
            if jm is not None:
                solved.update((p.symbol, jm.beta(p.symbol)) for p in sa.account.positions)
        return {**self.betas, **solved, **self.user_betas}

    def beta_for(self, symbol: str) -> float:
        return beta_of(symbol, self.leader, self.effective_betas())

    def _fill_betas(self) -> None:
        self.beta_table.blockSignals(True)
        betas = self.effective_betas()
        self._shown_betas = betas
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
        if betas != self._shown_betas:
            self._fill_betas()
        rows: list[tuple[ScenarioAccount, PositionReport, str, AccountReport]] = []
        lines = []
        self.last_reports = {}
        for sa in self.accounts.values():
            if r == 0 and not self.user_betas:
                report = sa.report  # exactly what the table and the header show
            else:
                acc = shifted(sa.account, self.leader, betas, r)
                report = build_report(
                    acc,
                    leader=self.leader,
                    betas=betas,
                    moves=move_model(),
                    sigma_hourly=sa.sigma_hourly,
                )
            self.last_reports[sa.account_id] = report
            name = figures.account_name(sa.label, sa.is_demo)
            if report.liquidated:
                state_html = f"<b style='color:{t.red}'>LIQUIDATED</b>"
            else:
                mr = report.margin_ratio
                c = t.red if mr >= 0.5 else t.amber if mr >= 0.25 else t.calm
                state_html = f"margin ratio <b style='color:{c}'>{fmt.pct(mr, signed=False)}</b>"
                jm = report.joint_move
                if jm is not None and jm.nearest is not None:
                    at = (
                        f" (at {figures.joint_move_price(report)})"
                        if report.joint_move_price is not None
                        else ""
                    )
                    state_html += (
                        f", liquidated if {figures.leader_name(report)} moves "
                        f"<b>{figures.joint_move_pct(report)}</b>{at} from here"
                    )
                    odds = report.odds
                    if odds is not None:
                        p24 = fmt.pct(odds.p24, signed=False, decimals=0)
                        p4 = fmt.pct(odds.p4, signed=False, decimals=0)
                        state_html += f" — a <b>{p24}</b> chance within 24 h (4 h: {p4})"
            now = account_totals(sa.account, effective_rules(sa.account)).equity
            lines.append(
                f"<b>{name}</b>: equity <b>{fmt.money(report.equity)}</b> "
                f"({fmt.money(report.equity - now, True)} vs now), {state_html}"
            )
            for p in report.positions:
                rows.append((sa, p, name, report))
        self.summary.setText("<br>".join(lines) or "No open positions.")
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
        r = self.leader_move
        for i, (_sa, p, name, report) in enumerate(rows):
            liquidated = report.liquidated
            if liquidated:
                liq = "—"
            elif r == 0:
                liq = figures.liquidation(p)  # the table's cell, the exchange's figure beside
            else:
                liq = figures.liquidation_price(p)  # the exchange's is for today's marks
            d = p.distance
            if liquidated:
                distance, colour = "LIQUIDATED", t.red
            else:
                # coloured by its own distance, as the positions table; the joint move is
                # the summary's
                colour = theme.distance_colour(d, self.amber, self.red)
                distance = fmt.pct(d, decimals=2) if d is not None and math.isfinite(d) else "—"
            cells = [
                name,
                p.symbol.split("/")[0] + (" long" if p.side.sign > 0 else " short"),
                fmt.price(p.mark_price),
                liq,
                distance,
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
                if j == 4 and item.foreground().color().name() != colour:
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
