"""The positions table: one row per position of every account, with declarative columns."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QFont

import formatting as fmt
from monitor.events import AccountStatus, AccountUpdate
from risk.report import AccountReport, PositionReport
from risk.types import MarginMode, base_asset
from ui import figures, theme

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SYMBOL_ROLE = Qt.ItemDataRole.UserRole + 2
ACCOUNT_ROLE = Qt.ItemDataRole.UserRole + 3

_Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True)
class Row:
    """One table row: a position and the account state it was read in."""

    account_id: int
    account_label: str
    is_demo: bool
    exchange: str
    account: AccountReport
    position: PositionReport
    last_ok_ms: int | None
    stale: bool


@dataclass(frozen=True)
class Column:
    title: str
    text: Callable[[Row], str]
    sort: Callable[[Row], Any]
    tooltip: Callable[[Row], str] | None = None
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _liq_tip(r: Row) -> str:
    p = r.position
    lines = [f"Computed: {figures.liquidation_price(p)} (this symbol alone moving)"]
    if p.exchange_liquidation_price is not None:
        theirs = fmt.price(p.exchange_liquidation_price.value)
        lines.append(f"Exchange ({figures.EXCHANGE_MARK}): {theirs}")
    if p.mismatch is not None:
        lines.append(f"They differ by {fmt.pct(p.mismatch, signed=False, decimals=2)}")
    return "\n".join(lines)


def _joint_distance(r: Row) -> float | None:
    """The account's joint move, for a cross position (what its Joint liq. cell shows)."""
    jm = r.account.joint_move
    if r.account.joint_price(r.position) is None or jm is None or jm.nearest is None:
        return None
    return jm.nearest


def _joint_tip(r: Row) -> str:
    jm = r.account.joint_move
    if _joint_distance(r) is None or jm is None:
        return "An isolated position: only its own liquidation price applies."
    leader = base_asset(jm.leader)
    move = figures.joint_move_pct(r.account)
    return (
        f"The whole cross account is liquidated if {leader} moves {move}"
        f" (to {figures.joint_move_price(r.account)}), the others following by their betas"
        f" (β {jm.beta(r.position.symbol):.2f} for {base_asset(r.position.symbol)}):"
        " this is where this symbol would be then."
    )


def chance(r: Row) -> float | None:
    """The row's chance of liquidation within 24 h, from the report: a cross position is
    liquidated with its whole account (the joint move), an isolated one through its own
    price."""
    p = r.position
    if p.margin_mode is MarginMode.CROSS and r.account.odds is not None:
        return r.account.odds.p24
    return None if p.odds is None else p.odds.p24


def _chance_text(r: Row) -> str:
    p = chance(r)
    return "—" if p is None else fmt.pct(p, signed=False, decimals=0)


def _chance_tip(r: Row) -> str:
    p = r.position
    odds = r.account.odds if p.margin_mode is MarginMode.CROSS else p.odds
    if odds is None:
        return "No chance of liquidation yet: it needs this symbol's hourly candles."
    what = (
        "The whole cross account is liquidated by the joint move"
        if p.margin_mode is MarginMode.CROSS
        else "This isolated position is liquidated at its own price"
    )
    lines = [
        f"{what}: within 24 h {fmt.pct(odds.p24, signed=False)}, within 4 h "
        f"{fmt.pct(odds.p4, signed=False)}",
        f"at the current volatility ({fmt.pct(odds.sigma_hourly, signed=False, decimals=2)} an "
        "hour), from the moves of BTC and ETH since 2018 (resources/move-distribution.json).",
    ]
    return "\n".join(lines)


def _account_text(r: Row) -> str:
    text = figures.account_name(r.account_label, r.is_demo)
    if r.stale and r.last_ok_ms is not None:
        text += f"  (STALE {fmt.age(int(time.time() * 1000) - r.last_ok_ms)})"
    return text


def _abs_or_inf(x: float | None) -> float:
    return abs(x) if x is not None else float("inf")


LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

COLUMNS: tuple[Column, ...] = (
    Column("Account", _account_text, lambda r: r.account_label, align=LEFT),
    Column(
        "Symbol", lambda r: r.position.symbol.split(":")[0], lambda r: r.position.symbol, align=LEFT
    ),
    Column(
        "Side", lambda r: r.position.side.name.title(), lambda r: r.position.side.name, align=LEFT
    ),
    Column("Size", lambda r: fmt.size(r.position.size), lambda r: r.position.size),
    Column("Entry", lambda r: fmt.price(r.position.entry_price), lambda r: r.position.entry_price),
    Column("Mark", lambda r: fmt.price(r.position.mark_price), lambda r: r.position.mark_price),
    Column(
        "uPnL",
        lambda r: fmt.money(r.position.unrealized_pnl, signed=True),
        lambda r: r.position.unrealized_pnl,
    ),
    Column(
        "Liq. price",
        lambda r: figures.liquidation(r.position),
        lambda r: (
            r.position.shown_liquidation_price.value
            if r.position.shown_liquidation_price
            else float("inf")
        ),
        _liq_tip,
    ),
    Column(
        "Distance",
        lambda r: fmt.pct(r.position.distance, decimals=2),
        lambda r: _abs_or_inf(r.position.distance),
        lambda r: "To its own liquidation price, the other marks held.",
    ),
    Column(
        "P 24 h",
        _chance_text,
        lambda r: -1.0 if chance(r) is None else chance(r),
        _chance_tip,
    ),
    Column(
        "σ",
        lambda r: fmt.sigma(r.position.distance_sigma),
        lambda r: _abs_or_inf(r.position.distance_sigma),
    ),
    Column(
        "Joint liq.",
        lambda r: figures.joint_cell(r.account, r.position),
        lambda r: _abs_or_inf(_joint_distance(r)),
        _joint_tip,
    ),
    Column(
        "Margin ratio",
        lambda r: fmt.pct(r.account.margin_ratio, signed=False),
        lambda r: r.account.margin_ratio,
    ),
)

TITLES = tuple(c.title for c in COLUMNS)
SIDE_COLUMN = TITLES.index("Side")
PNL_COLUMN = TITLES.index("uPnL")
LIQ_COLUMN = TITLES.index("Liq. price")
DISTANCE_COLUMN = TITLES.index("Distance")
JOINT_COLUMN = TITLES.index("Joint liq.")
RATIO_COLUMN = TITLES.index("Margin ratio")


class PositionsModel(QAbstractTableModel):
    """Rows keyed by (account_id, symbol, side); an account's rows are replaced as a block."""

    def __init__(self, amber: float = 0.10, red: float = 0.05) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.amber = amber
        self.red = red

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.text(row)
        if role == SORT_ROLE:
            return col.sort(row)
        if role == SYMBOL_ROLE:
            return row.position.symbol
        if role == ACCOUNT_ROLE:
            return row.account_id
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return col.align
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip is not None:
            return col.tooltip(row)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row, index.column())
        if role == Qt.ItemDataRole.BackgroundRole and index.column() in (
            DISTANCE_COLUMN,
            JOINT_COLUMN,
        ):
            distance = self._distance(row, index.column())
            if distance is None:
                return None
            return QBrush(theme.qcolor(theme.distance_colour(distance, self.amber, self.red), 60))
        if role == Qt.ItemDataRole.FontRole and index.column() in (DISTANCE_COLUMN, LIQ_COLUMN):
            f = QFont()
            f.setBold(True)
            return f
        return None

    @staticmethod
    def _distance(row: Row, column: int) -> float | None:
        """What a distance cell shows and is coloured by: the position's own distance, or
        the account's joint move in the Joint liq. column."""
        return row.position.distance if column == DISTANCE_COLUMN else _joint_distance(row)

    def _foreground(self, row: Row, column: int) -> QBrush | None:
        t = theme.current()
        if column == 0 and row.stale:
            return QBrush(theme.qcolor(t.red))
        if column in (DISTANCE_COLUMN, JOINT_COLUMN):
            distance = self._distance(row, column)
            if distance is None:
                return QBrush(theme.qcolor(t.muted))
            return QBrush(theme.qcolor(theme.distance_colour(distance, self.amber, self.red)))
        if column == SIDE_COLUMN:
            return QBrush(theme.qcolor(t.up if row.position.side.sign > 0 else t.down))
        if column == PNL_COLUMN:
            return QBrush(theme.qcolor(t.up if row.position.unrealized_pnl >= 0 else t.down))
        if column == LIQ_COLUMN and row.position.mismatch is not None:
            return QBrush(theme.qcolor(t.amber))
        if column == RATIO_COLUMN:
            mr = row.account.margin_ratio
            colour = t.red if mr >= 0.5 else t.amber if mr >= 0.25 else t.text
            return QBrush(theme.qcolor(colour))
        return None

    def set_account(self, update: AccountUpdate) -> None:
        """Replace an account's rows from an AccountUpdate (keeps the last report when the update
        carries none, marking it stale)."""
        report: AccountReport | None = update.report
        old = [r for r in self.rows if r.account_id == update.account_id]
        if report is None:
            if not old:
                return
            stale = update.stale or update.status in (AccountStatus.ERROR, AccountStatus.STALE)
            new_rows = [
                Row(
                    r.account_id,
                    r.account_label,
                    r.is_demo,
                    r.exchange,
                    r.account,
                    r.position,
                    update.last_ok_ms or r.last_ok_ms,
                    stale,
                )
                for r in old
            ]
        else:
            new_rows = [
                Row(
                    update.account_id,
                    update.label,
                    update.is_demo,
                    update.exchange,
                    report,
                    p,
                    update.last_ok_ms,
                    update.stale,
                )
                for p in report.positions
            ]
        self._replace_block(update.account_id, new_rows)

    def remove_account(self, account_id: int) -> None:
        self._replace_block(account_id, [])

    def _replace_block(self, account_id: int, new_rows: list[Row]) -> None:
        idx = [i for i, r in enumerate(self.rows) if r.account_id == account_id]
        if idx and len(idx) == len(new_rows) and idx == list(range(idx[0], idx[0] + len(idx))):
            start = idx[0]
            self.rows[start : start + len(new_rows)] = new_rows
            self.dataChanged.emit(
                self.index(start, 0), self.index(start + len(new_rows) - 1, len(COLUMNS) - 1)
            )
            return
        self.beginResetModel()
        self.rows = [r for r in self.rows if r.account_id != account_id] + new_rows
        self.endResetModel()


class PositionsProxy(QSortFilterProxyModel):
    """Sorts by each column's numeric key rather than its text."""

    def __init__(self) -> None:
        super().__init__()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
