"""The words and numbers every panel uses for a position's liquidation price and an account's
joint move, written once from one ``AccountReport``.

The table, the header, the scenario panel at 0 % and the chart's lines all call these, so a
figure reads the same everywhere (the warnings' text comes from ``alerts``, which prints the
same report's figures with the same ``formatting``). Our computed figure always comes first;
where the exchange gives its own and it differs, it is shown beside ours, marked "exch.", and
where we have none the exchange's is shown marked, never as if it were ours.
"""

from __future__ import annotations

import formatting as fmt
from risk.probability import Odds
from risk.report import AccountReport, PositionReport
from risk.types import base_asset

EXCHANGE_MARK = "exch."


def account_name(label: str, is_demo: bool) -> str:
    """An account as the window names it: a demo account is marked DEMO once ("Demo
    binanceusdm" reads "DEMO binanceusdm")."""
    if not is_demo:
        return label
    if label.lower().startswith("demo "):
        return f"DEMO {label[5:]}"
    return f"DEMO · {label}"


def liquidation(p: PositionReport) -> str:
    """``101,451.1``; ``101,451.1 ≠ exch. 101,980.0`` where the exchange's differs;
    ``101,980.0 (exch.)`` where only the exchange gives one; ``—`` where neither does."""
    ours, theirs = p.liquidation_price, p.exchange_liquidation_price
    if ours is None:
        return f"{fmt.price(theirs.value)} ({EXCHANGE_MARK})" if theirs is not None else "—"
    text = fmt.price(ours.value)
    if p.mismatch is not None and theirs is not None:
        text += f" ≠ {EXCHANGE_MARK} {fmt.price(theirs.value)}"
    return text


def chance(odds: Odds | None) -> str:
    """The chance of liquidation within 24 h as the chart and the panels print it:
    ``P(24 h) 12 %`` (empty when there is none)."""
    return "" if odds is None else f"P(24 h) {fmt.pct(odds.p24, signed=False, decimals=0)}"


def liquidation_price(p: PositionReport) -> str:
    """Our liquidation price alone (the chart's line is drawn at it)."""
    return fmt.price(p.liquidation_price.value if p.liquidation_price else None)


def leader_name(report: AccountReport) -> str:
    jm = report.joint_move
    return base_asset(jm.leader) if jm is not None else ""


def joint_move_pct(report: AccountReport) -> str:
    """The nearest joint move as a signed percentage of the leader (``−3.8 %``)."""
    jm = report.joint_move
    return fmt.pct(jm.nearest if jm is not None else None)


def joint_move_price(report: AccountReport) -> str:
    """The leader's price at the nearest joint move (``101,998.7``)."""
    return fmt.price(report.joint_move_price)


def joint_move(report: AccountReport) -> str:
    """``BTC −3.8 % → 101,998.7``; empty when no joint move liquidates the account."""
    jm = report.joint_move
    if jm is None or jm.nearest is None:
        return ""
    text = f"{leader_name(report)} {joint_move_pct(report)}"
    if report.joint_move_price is not None:
        text += f" → {joint_move_price(report)}"
    return text


def joint_cell(report: AccountReport, p: PositionReport) -> str:
    """A cross position's price when the joint move liquidates the account, and that move:
    ``3,298.12 at BTC −3.8 %`` (for BTC itself ``101,998.7 at BTC −3.8 %``); ``—`` for an
    isolated position or when no move liquidates the account."""
    price = report.joint_price(p)
    if price is None:
        return "—"
    return f"{fmt.price(price)} at {leader_name(report)} {joint_move_pct(report)}"
