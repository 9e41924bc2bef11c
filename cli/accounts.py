"""``python main.py accounts add|list|remove``: the watched accounts, without the window.

For a server or a Raspberry Pi that runs ``watch`` headless. The keys are never read from the
command line (it lands in the shell history and in every user's process list): ``add`` takes
them from the environment — CASCADE_API_KEY and CASCADE_API_SECRET (CASCADE_API_PASSWORD too
for OKX; CASCADE_WALLET, the address, for Hyperliquid) — or, run in a terminal, asks for
what is missing without echoing it. They go to the secret store (the keychain, or the
encrypted file: CASCADE_PASSPHRASE_FILE, cli/secrets.py); the database holds only the
secret's name. ``--check`` reads the account once before anything is stored.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from cli import arguments
from cli.render import Column, json_text, table
from storage.errors import StorageError

if TYPE_CHECKING:
    from connectors.credentials import Credentials
    from storage.database import Database
    from storage.records import AccountRecord

EXCHANGES = ("binanceusdm", "bybit", "okx", "hyperliquid")
LIST_COLUMNS = (
    Column("id", right=True),
    Column("exchange"),
    Column("label"),
    Column("enabled"),
    Column("key"),
    Column("API address"),
)
PROG = "cascade-watch accounts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from storage.paths import add_data_dir_argument

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="store an account (keys from the environment or asked, never from the command line)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("--exchange", required=True, choices=EXCHANGES)
    add.add_argument("--label", required=True, help="a name for the account")
    add.add_argument(
        "--api-url",
        metavar="URL",
        type=arguments.http_url,
        help="another base URL for the exchange's API (testnet, proxy, the local exchange)",
    )
    add.add_argument("--disabled", action="store_true", help="store it without watching it")
    add.add_argument("--check", action="store_true", help="read the account once before storing it")
    add_data_dir_argument(add)
    show = sub.add_parser("list", help="the stored accounts")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    add_data_dir_argument(show)
    remove = sub.add_parser("remove", help="forget an account, its history and its key")
    remove.add_argument("account", metavar="ID|LABEL", help="the account's id or its label")
    add_data_dir_argument(remove)


def run(args: argparse.Namespace) -> int:
    from connectors.redaction import install_redaction
    from storage.database import open_database
    from storage.paths import resolve_data_dir

    install_redaction()
    data_dir = resolve_data_dir(args.data_dir)
    try:
        db = open_database(data_dir)
    except (StorageError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.action == "list":
            return list_accounts(db, args.json)
        if args.action == "remove":
            return remove_account(db, args, data_dir)
        return add_account(db, args, data_dir)
    except StorageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


def list_accounts(db: Database, as_json: bool) -> int:
    from connectors.redaction import display_url

    records = [r for r in db.accounts.all() if not r.is_demo]
    if as_json:
        print(
            json_text(
                {
                    "accounts": [
                        {
                            "id": r.id,
                            "exchange": r.exchange,
                            "label": r.label,
                            "enabled": r.enabled,
                            "key_stored": r.secret_name is not None,
                            "api_url": display_url(r.base_url) if r.base_url else None,
                        }
                        for r in records
                    ]
                }
            )
        )
        return 0
    if not records:
        print("no account is stored: add one with `accounts add`, or in the app")
        return 0
    rows = [
        [
            str(r.id),
            r.exchange,
            r.label,
            "yes" if r.enabled else "no",
            "stored" if r.secret_name else "none",
            display_url(r.base_url) if r.base_url else "the exchange's",
        ]
        for r in records
    ]
    print(table(LIST_COLUMNS, rows))
    return 0


def find_account(db: Database, which: str) -> AccountRecord | None:
    """The stored (non-demo) account with this id, else the one with this label."""
    records = [r for r in db.accounts.all() if not r.is_demo]
    if which.isdigit():
        match = [r for r in records if r.id == int(which)]
        if match:
            return match[0]
    named = [r for r in records if r.label == which]
    return named[0] if len(named) == 1 else None


def remove_account(db: Database, args: argparse.Namespace, data_dir: Path) -> int:
    from cli.secrets import open_secrets

    record = find_account(db, args.account)
    if record is None or record.id is None:
        print(f"{PROG} remove: no stored account is {args.account!r}", file=sys.stderr)
        return 2
    db.accounts.remove(record.id)
    if record.secret_name:
        secrets = open_secrets(data_dir)
        try:
            if secrets is None:
                raise StorageError("the secret store cannot be opened")
            secrets.delete(record.secret_name)
        except StorageError as exc:
            print(f"{PROG} remove: the account is gone, its key was not deleted: {exc}")
            return 1
    print(f"removed account {record.id}: {record.label} on {record.exchange}, with its key")
    return 0


def ask_credentials(exchange: str, env: dict[str, str]) -> Credentials | str:
    """The account's credentials from the environment, asking on the terminal (without echo)
    for what the environment lacks; one line naming what is missing otherwise."""
    from cli.report import ENV_KEY, ENV_PASSWORD, ENV_SECRET, credentials_from_env
    from connectors.credentials import Credentials

    found = credentials_from_env(exchange, env)
    if not isinstance(found, str):
        return found
    if not sys.stdin.isatty():
        return f"{found}, or run this in a terminal to be asked"
    if exchange == "hyperliquid":
        wallet = input("Wallet address (0x…): ").strip()
        return Credentials(wallet=wallet) if wallet else "no wallet address was given"
    key = env.get(ENV_KEY, "").strip() or getpass.getpass("API key: ").strip()
    secret = env.get(ENV_SECRET, "").strip() or getpass.getpass("API secret: ").strip()
    password = ""
    if exchange == "okx":
        password = env.get(ENV_PASSWORD, "").strip() or getpass.getpass("API passphrase: ")
        password = password.strip()
    if not key or not secret or (exchange == "okx" and not password):
        needed = "a key, a secret and a passphrase" if exchange == "okx" else "a key and a secret"
        return f"{needed} are needed"
    return Credentials(api_key=key, secret=secret, password=password)


def check_account(exchange: str, credentials: Credentials, api_url: str | None) -> str | None:
    """Read the account once; None when it worked, else the connector's one line."""
    from connectors.exchange import ExchangeConnector
    from connectors.types import ConnectorError

    try:
        conn = ExchangeConnector(exchange, credentials, api_url=api_url)
        try:
            account = conn.fetch_account()
        finally:
            conn.close()
    except ConnectorError as err:
        return err.message
    print(f"read the account: {len(account.positions)} open position(s)")
    return None


def add_account(db: Database, args: argparse.Namespace, data_dir: Path) -> int:
    from cli.secrets import open_secrets
    from storage.records import AccountRecord

    label = args.label.strip()
    if not label:
        print(f"{PROG} add: the label is empty", file=sys.stderr)
        return 2
    if any(r.label == label for r in db.accounts.all() if not r.is_demo):
        print(f"{PROG} add: an account is already named {label!r}", file=sys.stderr)
        return 2
    credentials = ask_credentials(args.exchange, dict(os.environ))
    if isinstance(credentials, str):
        print(f"{PROG} add: {credentials}", file=sys.stderr)
        return 2
    if args.check:
        problem = check_account(args.exchange, credentials, args.api_url)
        if problem is not None:
            print(f"{PROG} add: nothing stored: {problem}", file=sys.stderr)
            return 1
    secrets = open_secrets(data_dir)
    if secrets is None:
        print(f"{PROG} add: the secret store cannot be opened; nothing stored", file=sys.stderr)
        return 1
    secret_name = f"{args.exchange}-{uuid.uuid4().hex[:12]}"
    secrets.set(secret_name, credentials)
    record = db.accounts.add(
        AccountRecord(
            exchange=args.exchange,
            label=label,
            base_url=args.api_url,
            enabled=not args.disabled,
            secret_name=secret_name,
        )
    )
    print(
        f"added account {record.id}: {label} on {args.exchange} "
        f"(its key is kept in the {secrets.backend_name})"
    )
    return 0
