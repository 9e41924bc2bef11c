"""The risk report's two printed forms, JSON and a table, shared by ``check`` and ``report``.

The JSON object follows docs/account-file.md; ``report`` adds what only a live read knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import formatting as fmt
from cli.render import Column, fields, table
from risk.report import AccountReport, PositionReport

POSITION_COLUMNS = (
    Column("symbol"),
    Column("side"),
    Column("mode"),
    Column("size", right=True),
    Column("entry", right=True),
    Column("mark", right=True),
    Column("liq. price", right=True),
    Column("distance", right=True),
)


def report_to_json(report: AccountReport) -> dict[str, Any]:
    """The report as one JSON-ready object (the schema of docs/account-file.md)."""
    jm = report.joint_move
    return {
        "account": {
            "exchange": report.exchange,
            "wallet_balance": report.wallet_balance,
            "equity": report.equity,
            "maintenance_margin": report.maintenance_margin,
            "margin_ratio": report.margin_ratio,
            "liquidated": report.liquidated,
            "leader": jm.leader if jm else None,
            "joint_move_to_liquidation": jm.nearest if jm else None,
            "joint_move_down": jm.down if jm else None,
            "joint_move_up": jm.up if jm else None,
        },
        "positions": [
            {
                "symbol": p.symbol,
                "side": p.side.name.lower(),
                "margin_mode": p.margin_mode.value,
                "size": p.size,
                "entry_price": p.entry_price,
                "mark_price": p.mark_price,
                "notional": p.notional,
                "unrealized_pnl": p.unrealized_pnl,
                "maintenance_margin": p.maintenance_margin,
                "liquidation_price": p.liquidation_price.value if p.liquidation_price else None,
                "liquidation_price_source": "computed" if p.liquidation_price else None,
                "distance": p.distance,
                "distance_sigma": p.distance_sigma,
                "touch_probability_24h": p.touch_probability,
            }
            for p in report.positions
        ],
    }


def position_cells(p: PositionReport) -> list[str]:
    """One position's row under POSITION_COLUMNS."""
    return [
        p.symbol,
        p.side.name.lower(),
        p.margin_mode.value,
        fmt.size(p.size),
        fmt.price(p.entry_price),
        fmt.price(p.mark_price),
        fmt.price(p.liquidation_price.value if p.liquidation_price else None),
        fmt.pct(p.distance, decimals=2),
    ]


def format_table(
    report: AccountReport,
    extra_columns: Sequence[Column] = (),
    extra_cells: Sequence[Sequence[str]] = (),
) -> str:
    """A readable account summary and one line per position; ``extra_columns`` (with one
    list of ``extra_cells`` per position) are added on the right."""
    jm = report.joint_move
    ratio = (
        "LIQUIDATED"
        if report.liquidated
        else f"{fmt.pct(report.margin_ratio, signed=False, decimals=2)} (liquidation at 100 %)"
    )
    lines = [
        f"{report.exchange} account" + (f" '{report.label}'" if report.label else ""),
        fields(
            [
                ("wallet", fmt.money(report.wallet_balance)),
                ("equity", fmt.money(report.equity)),
                ("maintenance", fmt.money(report.maintenance_margin)),
                ("margin ratio", ratio),
            ]
        ),
    ]
    if jm is not None:
        moves = [f"{jm.leader} {fmt.pct(r, decimals=2)}" for r in (jm.down, jm.up) if r is not None]
        text = " or ".join(moves) if moves else "no move of the leader alone"
        lines.append(f"  joint move to liquidation: {text} (others following by their betas)")
    rows = [position_cells(p) for p in report.positions]
    if extra_columns:
        rows = [[*row, *extra] for row, extra in zip(rows, extra_cells, strict=True)]
    lines += ["", table([*POSITION_COLUMNS, *extra_columns], rows)]
    return "\n".join(lines)
