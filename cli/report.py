"""`python main.py report`: read one live account once and print the same report as `check`.

Credentials come only from the environment (CASCADE_API_KEY, CASCADE_API_SECRET,
CASCADE_API_PASSWORD for OKX, CASCADE_WALLET for Hyperliquid), never from the command line,
where they would land in the shell history and the process list.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import formatting as fmt
from cli import arguments
from cli.account_report import format_table, report_to_json
from cli.render import Column, fields, json_text
from connectors.credentials import Credentials
from connectors.exchange import ExchangeConnector
from connectors.mismatches import log_mismatches
from connectors.types import ConnectorError, KeyPermissions
from risk.report import AccountReport, build_report
from risk.rules import EXCHANGES
from risk.types import Account

ENV_KEY, ENV_SECRET, ENV_PASSWORD, ENV_WALLET = (
    "CASCADE_API_KEY",
    "CASCADE_API_SECRET",
    "CASCADE_API_PASSWORD",
    "CASCADE_WALLET",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", required=True, choices=EXCHANGES)
    parser.add_argument(
        "--api-url",
        metavar="URL",
        type=arguments.http_url,
        help="another base URL for the exchange's API (testnet, proxy, the local exchange)",
    )
    parser.add_argument("--label", default="", help="a name for the account in the report")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--timeout",
        type=arguments.between(0.1, 3600, "seconds"),
        default=10.0,
        metavar="SECONDS",
        help="per-request timeout",
    )
    parser.epilog = (
        f"Credentials are read from {ENV_KEY} and {ENV_SECRET} ({ENV_PASSWORD} too for okx), "
        f"or {ENV_WALLET} for hyperliquid."
    )


def credentials_from_env(exchange: str, env: dict[str, str]) -> Credentials | str:
    """Credentials, or one line naming what is missing."""
    if exchange == "hyperliquid":
        wallet = env.get(ENV_WALLET, "").strip()
        return Credentials(wallet=wallet) if wallet else f"set {ENV_WALLET} to the wallet address"
    needed = [ENV_KEY, ENV_SECRET] + ([ENV_PASSWORD] if exchange == "okx" else [])
    missing = [name for name in needed if not env.get(name, "").strip()]
    if missing:
        return f"set {' and '.join(missing)} in the environment"
    return Credentials(
        api_key=env[ENV_KEY].strip(),
        secret=env[ENV_SECRET].strip(),
        password=env.get(ENV_PASSWORD, "").strip(),
    )


def run(args: argparse.Namespace) -> int:
    from connectors.redaction import install_redaction

    install_redaction()
    creds = credentials_from_env(args.exchange, dict(os.environ))
    if isinstance(creds, str):
        print(f"cascade-watch report: {creds}", file=sys.stderr)
        return 2
    try:
        conn = ExchangeConnector(
            args.exchange,
            creds,
            api_url=args.api_url,
            label=args.label,
            timeout_ms=int(args.timeout * 1000),
        )
        try:
            account = conn.fetch_account()
            permissions = conn.key_permissions()
        finally:
            conn.close()
    except ConnectorError as err:
        print(f"cascade-watch report: {err.message}", file=sys.stderr)
        return 1
    report = build_report(account)
    log_mismatches(report, conn.exchange, conn.label or "")
    if args.json:
        data = report_to_json(report)
        extend_json(data, report, account, permissions)
        print(json_text(data))
    else:
        print(format_table(report, *exchange_columns(report)))
        print(format_extras(account, permissions))
    return 0


def _permissions_json(p: KeyPermissions) -> dict[str, Any]:
    return {
        "can_read": p.can_read,
        "can_trade": p.can_trade,
        "can_withdraw": p.can_withdraw,
        "known": p.known,
        "warning": p.warning,
    }


def extend_json(
    data: dict[str, Any],
    report: AccountReport,
    account: Account,
    permissions: KeyPermissions,
) -> None:
    """Add what only a live read knows: the exchange's own figures and the key's rights."""
    data["account"].update(
        {
            "label": report.label,
            "as_of_ms": report.as_of_ms,
            "notes": list(account.notes),
        }
    )
    data["key_permissions"] = _permissions_json(permissions)
    for out, p in zip(data["positions"], report.positions, strict=True):
        exch = p.exchange_liquidation_price
        out["exchange_liquidation_price"] = exch.value if exch else None
        out["liquidation_price_mismatch"] = p.mismatch


EXCHANGE_COLUMNS = (Column("exchange's liq.", right=True), Column("mismatch", right=True))


def exchange_columns(
    report: AccountReport,
) -> tuple[tuple[Column, ...], list[list[str]]]:
    """The exchange's own liquidation price beside ours, and how far they differ, as extra
    columns of the positions table (none when the exchange gave no price)."""
    if all(p.exchange_liquidation_price is None for p in report.positions):
        return (), []
    cells = [
        [
            fmt.price(p.exchange_liquidation_price.value if p.exchange_liquidation_price else None),
            "" if p.mismatch is None else fmt.pct(p.mismatch, decimals=2),
        ]
        for p in report.positions
    ]
    return EXCHANGE_COLUMNS, cells


def format_extras(account: Account, permissions: KeyPermissions) -> str:
    """The exchange's own account figures, the key's rights and the notes."""
    lines = [""]
    eq, mm, ratio = (
        account.exchange_equity,
        account.exchange_maintenance_margin,
        account.exchange_margin_ratio,
    )
    if eq is not None or mm is not None or ratio is not None:
        parts = []
        if eq is not None:
            parts.append(("equity", fmt.money(eq.value)))
        if mm is not None:
            parts.append(("maintenance", fmt.money(mm.value)))
        if ratio is not None:
            parts.append(("margin ratio", fmt.pct(ratio.value, signed=False, decimals=2)))
        lines.append(fields(parts, indent="  the exchange says: "))
        label = next((f.label for f in (eq, mm, ratio) if f is not None and f.label), "")
        if label:
            lines.append(f"  (the exchange's: {label}; the figures above the table are ours)")
    if not permissions.known:
        lines.append("  key permissions: the exchange did not say")
    else:
        rights = [
            name
            for name, on in (
                ("trade", permissions.can_trade),
                ("withdraw", permissions.can_withdraw),
            )
            if on
        ]
        lines.append(f"  key permissions: read{''.join(', ' + r for r in rights)}")
    if permissions.warning:
        lines.append(f"  WARNING: {permissions.warning}")
    lines += [f"  note: {n}" for n in account.notes]
    return "\n".join(lines)
