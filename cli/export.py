"""`python main.py export`: the warnings and risk snapshots, as CSV files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cli import arguments
from cli.render import Column, table
from storage.errors import StorageError

if TYPE_CHECKING:
    from storage.database import Database

SUMMARY_COLUMNS = (Column("written"), Column("rows", right=True), Column("file"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the database lives (default: the app's)")
    parser.add_argument("--demo", action="store_true", help="export the demo's database")
    parser.add_argument("--warnings", metavar="CSV", help="write every warning to this file")
    parser.add_argument("--snapshots", metavar="CSV", help="write the risk snapshots here")
    parser.add_argument(
        "--account", type=arguments.record_id, help="only this account's snapshots (its id)"
    )
    parser.add_argument(
        "--start-fresh",
        action="store_true",
        help="if the database cannot be opened or is damaged (checked by reading every stored "
        "value), move it aside (nothing is deleted) and start with an empty one",
    )


def run(args: argparse.Namespace) -> int:
    from storage.database import open_database
    from storage.paths import resolve_data_dir

    if not args.warnings and not args.snapshots:
        print(
            "cascade-watch export: say what to write: --warnings CSV and/or --snapshots CSV",
            file=sys.stderr,
        )
        return 2
    data_dir = resolve_data_dir(args.data_dir)
    try:
        db = open_database(data_dir, args.demo, start_fresh=args.start_fresh)
    except (StorageError, OSError) as e:
        print(f"cascade-watch export: {e}", file=sys.stderr)
        return 1
    try:
        return export(args, db)
    except StorageError as e:
        # damage found while reading (a value inside a page; the pages were checked at open)
        print(f"cascade-watch export: {e}", file=sys.stderr)
        return 1
    finally:
        db.close()


def export(args: argparse.Namespace, db: Database) -> int:
    """Write the files asked for; prints what was written."""
    from storage.export import export_snapshots, export_warnings

    if args.account is not None and db.accounts.get(args.account) is None:
        print(f"cascade-watch export: no account with id {args.account}", file=sys.stderr)
        return 2
    written: list[list[str]] = []
    writers: tuple[tuple[str, str | None, Callable[[Path], int]], ...] = (
        ("warnings", args.warnings, lambda p: export_warnings(db.warnings, p)),
        (
            "snapshot rows",
            args.snapshots,
            lambda p: export_snapshots(db.accounts, db.snapshots, p, args.account),
        ),
    )
    for what, target, write in writers:
        if target:
            try:
                rows = write(Path(target))
            except OSError as e:
                print_summary(written)
                print(f"cascade-watch export: {target}: {e.strerror}", file=sys.stderr)
                return 1
            written.append([what, f"{rows:,}", target])
    print_summary(written)
    return 0


def print_summary(written: list[list[str]]) -> None:
    """What was written: one row per file, with its row count."""
    if written:
        print(table(SUMMARY_COLUMNS, written))
