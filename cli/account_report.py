"""The risk report's two printed forms, JSON and a table, shared by ``check`` and ``report``.

The JSON object follows docs/account-file.md; ``report`` adds what only a live read knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import formatting as fmt
from cli.render import Column, fields, table
from risk.report import AccountReport, PositionReport
from risk.types import Figure

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


def _figure(f: Figure | None) -> float | None:
    return None if f is None else f.value


def report_to_json(report: AccountReport) -> dict[str, Any]:
    """The report as one JSON-ready object (the schema of docs/account-file.md)."""
    jm = report.joint_move
    sources = {
        "equity": "computed",
        "maintenance_margin": "computed",
        "margin_ratio": "computed",
    }
    for key, fig in (
        ("exchange_equity", report.exchange_equity),
        ("exchange_maintenance_margin", report.exchange_maintenance_margin),
        ("exchange_margin_ratio", report.exchange_margin_ratio),
    ):
        if fig is not None:
            sources[key] = "exchange" + (f": {fig.label}" if fig.label else "")
    return {
        "account": {
            "exchange": report.exchange,
            "currency": report.currency,
            "wallet_balance": report.wallet_balance,
            "equity": report.equity,
            "maintenance_margin": report.maintenance_margin,
            "margin_ratio": report.margin_ratio,
            "liquidated": report.liquidated,
            "exchange_equity": _figure(report.exchange_equity),
            "exchange_maintenance_margin": _figure(report.exchange_maintenance_margin),
            "exchange_margin_ratio": _figure(report.exchange_margin_ratio),
            "sources": sources,
            "leader": jm.leader if jm else None,
            "joint_move_to_liquidation": jm.nearest if jm else None,
            "joint_move_pool": jm.nearest_pool if jm else None,
            "joint_move_down": jm.down if jm else None,
            "joint_move_down_pool": jm.down_pool if jm else None,
            "joint_move_up": jm.up if jm else None,
            "joint_move_up_pool": jm.up_pool if jm else None,
        },
        "pools": [
            {
                "currency": pool.currency,
                "mode": pool.mode.value,
                "wallet_balance": pool.wallet_balance,
                "equity": pool.equity,
                "maintenance_margin": pool.maintenance_margin,
                "margin_ratio": pool.margin_ratio,
                "liquidated": pool.liquidated,
                "positions": pool.positions,
            }
            for pool in report.pools
        ],
        "positions": [
            {
                "symbol": p.symbol,
                "side": p.side.name.lower(),
                "contract_type": p.contract_type.value,
                "settle": p.settle,
                "pool": p.pool,
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
        "unsupported": [
            {
                "symbol": u.symbol,
                "side": u.side.name.lower(),
                "contracts": u.contracts,
                "status": "not supported yet",
                "reason": u.reason,
            }
            for u in report.unsupported
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
    unit = f" {report.currency}" if report.currency else ""
    lines = [
        f"{report.exchange} account" + (f" '{report.label}'" if report.label else ""),
        fields(
            [
                ("wallet", fmt.money(report.wallet_balance) + unit),
                ("equity", fmt.money(report.equity) + unit),
                ("maintenance", fmt.money(report.maintenance_margin) + unit),
                ("margin ratio", ratio),
            ]
        ),
    ]
    if len(report.pools) > 1:
        for pool in report.pools:
            state = (
                "LIQUIDATED"
                if pool.liquidated
                else fmt.pct(pool.margin_ratio, signed=False, decimals=2)
            )
            lines.append(
                f"  pool {pool.currency:<5} equity {fmt.money(pool.equity)}   maintenance "
                f"{fmt.money(pool.maintenance_margin)}   margin ratio {state}"
            )
    if jm is not None:
        several = len(report.pools) > 1
        moves = [
            f"{jm.leader} {fmt.pct(r, decimals=2)}" + (f" ({pool} pool)" if several else "")
            for r, pool in ((jm.down, jm.down_pool), (jm.up, jm.up_pool))
            if r is not None
        ]
        text = " or ".join(moves) if moves else "no move of the leader alone"
        lines.append(f"  joint move to liquidation: {text} (others following by their betas)")
    rows = [position_cells(p) for p in report.positions]
    if extra_columns:
        rows = [[*row, *extra] for row, extra in zip(rows, extra_cells, strict=True)]
    lines += ["", table([*POSITION_COLUMNS, *extra_columns], rows)]
    for u in report.unsupported:
        lines.append(
            f"  {u.symbol}  {u.side.name.lower()}  {fmt.size(u.contracts)} contracts: "
            f"not supported yet ({u.reason})"
        )
    return "\n".join(lines)
