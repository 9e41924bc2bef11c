"""`python main.py check FILE [--json]`: where would this account be liquidated?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli.account_report import format_table, report_to_json
from cli.render import json_text
from formatting import safe_text
from resources import default_tiers
from risk.accountfile import AccountFileError, parse_account_file
from risk.report import build_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="account file (see docs/account-file.md)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _not_json(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def run(args: argparse.Namespace) -> int:
    def fail(problem: str) -> int:
        # the file's name, field names and values are the user's: shown on one line, no
        # control character (formatting.safe_text)
        where = safe_text(args.file, limit=500)
        print(f"cascade-watch check: {where}: {safe_text(problem, limit=1000)}", file=sys.stderr)
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
        data = json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as e:
        return fail(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}")
    except RecursionError:
        return fail("not an account file: nested far too deeply")
    except ValueError as e:
        # a number of more than 4,300 digits (Python's limit on int conversion), or a NaN
        # or Infinity literal (not JSON, RFC 8259)
        digits = "digits" in str(e)
        return fail(f"not valid JSON: {'a number has far too many digits' if digits else e}")
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
