"""`python main.py check FILE [--json]`: where would this account be liquidated?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli.account_report import format_table, report_to_json
from cli.render import json_text
from resources import default_tiers
from risk.accountfile import AccountFileError, parse_account_file
from risk.report import build_report


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
        print(json_text(report_to_json(report)))
    else:
        print(format_table(report))
    return 0
