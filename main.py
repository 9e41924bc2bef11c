"""Cascade Watch: a desktop liquidation-risk assistant for leveraged crypto perpetuals.

Every command goes through here; each lives in the module named in COMMANDS, which exposes
``add_arguments(parser)`` and ``run(args) -> int`` and is imported only when its command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("ui.app", "the desktop app (the default; the demo when no account is stored)"),
    "check": ("risk_cli", "offline calculator: where would this account be liquidated?"),
    "report": ("connectors.report_cli", "read a live account once and print its risk report"),
    "watch": ("monitor.watch_cli", "run the watch loop in the terminal and print warnings"),
    "localexchange": ("connectors.localexchange.cli", "run the local exchange alone"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cascade-watch",
        description="Warns before a cascade-prone move liquidates your cross-margin account.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(cmd)
        except ImportError:
            cmd.set_defaults(_missing=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv = ["app", *argv]
    args = build_parser().parse_args(argv)
    if args.command is None:
        args = build_parser().parse_args(["app"])
    if getattr(args, "_missing", False):
        print(f"cascade-watch: the '{args.command}' command is not available in this build")
        return 2
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
