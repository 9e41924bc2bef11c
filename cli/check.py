"""`python main.py check FILE [--json]`: where would this account be liquidated?

Also home of the report's two printed forms (JSON and a table), which `report` shares.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from resources import default_tiers
from risk.accountfile import AccountFileError, parse_account_file
from risk.report import AccountReport, build_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="account file (see docs/account-file.md)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    def fail(problem: str) -> int:
        print(f"cascade-watch check: {args.file}: {problem}", file=sys.stderr)
        return 2

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return fail("no such file")
    except IsADirectoryError:
        return fail("is a directory, not an account file")
    except (OSError, UnicodeDecodeError) as e:
        return fail(f"cannot be read ({e.__class__.__name__}: {getattr(e, 'strerror', e)})")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return fail(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}")
    try:
        parsed = parse_account_file(data, default_tiers)
    except AccountFileError as e:
        return fail(str(e))
    report = build_report(parsed.account, leader=parsed.leader, betas=parsed.betas)
    if args.json:
        print(json.dumps(report_to_json(report), indent=2))
    else:
        print(format_table(report))
    return 0


def _num(x: float | None, digits: int | None = None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return round(x, digits) if digits is not None else x


def report_to_json(report: AccountReport) -> dict[str, Any]:
    """The report as one JSON-ready object (the schema of docs/account-file.md)."""
    jm = report.joint_move
    return {
        "account": {
            "exchange": report.exchange,
            "wallet_balance": report.wallet_balance,
            "equity": report.equity,
            "maintenance_margin": report.maintenance_margin,
            "margin_ratio": _num(report.margin_ratio),
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


def _money(x: float) -> str:
    return f"{x:,.2f}"


def _price(x: float | None) -> str:
    if x is None:
        return "none"
    return f"{x:,.2f}" if x >= 100 else f"{x:,.4f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:+.2f} %"


def format_table(report: AccountReport) -> str:
    """A readable account summary and one line per position."""
    jm = report.joint_move
    ratio = "LIQUIDATED" if report.liquidated else f"{report.margin_ratio * 100:.2f} %"
    lines = [
        f"{report.exchange} account" + (f" '{report.label}'" if report.label else ""),
        f"  wallet {_money(report.wallet_balance)}   equity {_money(report.equity)}   "
        f"maintenance {_money(report.maintenance_margin)}   margin ratio {ratio} "
        "(liquidation at 100 %)",
    ]
    if jm is not None:
        moves = [f"{jm.leader} {_pct(r)}" for r in (jm.down, jm.up) if r is not None]
        text = " or ".join(moves) if moves else "no move of the leader alone"
        lines.append(f"  joint move to liquidation: {text} (others following by their betas)")
    header = (
        f"  {'symbol':<16} {'side':<5} {'mode':<8} {'size':>12} {'entry':>12} "
        f"{'mark':>12} {'liq. price':>12} {'distance':>10}"
    )
    lines += ["", header, "  " + "-" * (len(header) - 2)]
    for p in report.positions:
        lp = p.liquidation_price.value if p.liquidation_price else None
        lines.append(
            f"  {p.symbol:<16} {p.side.name.lower():<5} {p.margin_mode.value:<8} "
            f"{p.size:>12,.4f} {_price(p.entry_price):>12} {_price(p.mark_price):>12} "
            f"{_price(lp):>12} {_pct(p.distance):>10}"
        )
    return "\n".join(lines)
