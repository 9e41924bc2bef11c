"""The horizontal lines the chart draws for the user's positions: each position's own
liquidation price and, once per cross account, where the chart's symbol is when the joint
move liquidates the account. Built from the positions table's rows, so a line's text is the
table's cell (``ui.figures``) and its price is the figure the cell shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import formatting as fmt
from risk.types import MarginMode
from ui import figures, theme
from ui.positions_model import Row


class ChartLine(NamedTuple):
    """A line at ``price`` labelled ``text``; ``shorter`` wordings for a narrow chart."""

    price: float
    text: str
    colour: str
    shorter: tuple[str, ...] = ()


def chart_lines(rows: Sequence[Row], symbol: str) -> list[ChartLine]:
    """The liquidation lines of every position in ``symbol`` and every cross account's joint
    move, tagged with the account when several accounts are shown."""
    t = theme.current()
    many = len({r.account_id for r in rows}) > 1
    lines: list[ChartLine] = []
    joint_done: set[int] = set()
    for row in rows:
        p = row.position
        if p.symbol != symbol:
            continue
        tag = ("DEMO " if row.is_demo else "") + (row.account_label + " " if many else "")
        side = "long" if p.side.sign > 0 else "short"
        shown = p.shown_liquidation_price
        if shown is not None:
            colour = t.liq_long if p.side.sign > 0 else t.liq_short
            cell = figures.liquidation(p)
            # an isolated position is liquidated at its own price: its chance is its own
            own = figures.chance(p.odds) if p.margin_mode is MarginMode.ISOLATED else ""
            chance = f" · {own}" if own else ""
            shorter = [f"LIQ {side}  {cell}{chance}", f"LIQ {side}  {fmt.price(shown.value)}"]
            text = f"LIQ {tag}{side}  {cell}{chance}"
            lines.append(ChartLine(shown.value, text, colour, _distinct(shorter)))
        price = row.account.joint_price(p)
        if price is not None and row.account_id not in joint_done:
            joint_done.add(row.account_id)
            cell = figures.joint_cell(row.account, p)
            joint = figures.chance(row.account.odds)
            chance = f" · {joint}" if joint else ""
            shorter = [
                f"LIQ whole account  {cell}{chance}",
                f"LIQ whole account  {cell}",
                f"LIQ account  {fmt.price(price)}",
            ]
            text = f"LIQ {tag}whole account  {cell}{chance}"
            lines.append(ChartLine(price, text, t.red, _distinct(shorter)))
    return lines


def _distinct(wordings: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(wordings))
