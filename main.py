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
    "export": ("storage.export_cli", "write the stored warnings and risk snapshots to CSV"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; only the chosen command's module is imported (the desktop app's Qt
    and ccxt are not loaded to run the offline calculator)."""
    parser = argparse.ArgumentParser(
        prog="cascade-watch",
        description="Warns before a cascade-prone move liquidates your cross-margin account.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module)
        if name == command:
            importlib.import_module(module).add_arguments(cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["app", *argv]
    command = argv[0] if argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
