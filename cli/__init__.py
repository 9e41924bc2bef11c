"""The command line: every command of ``python main.py`` (the ``cascade-watch`` script).

Each command is one module here, named in COMMANDS, exposing ``add_arguments(parser)`` and
``run(args) -> int``; only the chosen command's module is imported, so the offline calculator
(``check``) starts without Qt or ccxt. Tables and JSON are written by ``cli.render``; numbers by
``formatting``; the secret store the commands open (its passphrase from the terminal or
CASCADE_PASSPHRASE_FILE) by ``cli.secrets``. A bad argument is one line naming it, exit
status 2 (cli.arguments).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from cli.arguments import OneLineParser

COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("cli.app", "the desktop app (the default; the demo when no account is stored)"),
    "check": ("cli.check", "offline calculator: where would this account be liquidated?"),
    "report": ("cli.report", "read a live account once and print its risk report"),
    "watch": ("cli.watch", "run the watch loop in the terminal and print warnings"),
    "accounts": ("cli.accounts", "add, list or remove the watched accounts without the window"),
    "channels": ("cli.channels", "add, list, test or remove push channels without the window"),
    "localexchange": ("cli.localexchange", "run the local exchange alone"),
    "export": ("cli.export", "write the stored warnings and risk snapshots to CSV"),
    "events": ("cli.events", "list the coming scheduled events, each with its source"),
}


class _Version(argparse.Action):
    """``--version``: the version line, read only when asked (no import cost otherwise)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, help="print the version and the licence, then exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        from resources.about import version_line

        print(version_line())
        parser.exit()


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line; only the chosen command's module is imported (the desktop app's Qt
    and ccxt are not loaded to run the offline calculator)."""
    parser = OneLineParser(
        prog="cascade-watch",
        description="Warns before a cascade-prone move liquidates your cross-margin account.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.set_defaults(_module=module)
        if name == command:
            importlib.import_module(module).add_arguments(cmd)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments), run the chosen command, return its
    exit code. No command, or options only, means the desktop app.

    Run as the program (``argv`` None), Ctrl-C ends the process at once by the signal's
    default action, never a KeyboardInterrupt traceback; the commands that run until Ctrl-C
    (watch, localexchange) catch it themselves for a clean stop (cli/shutdown.py)."""
    if argv is None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        argv = sys.argv[1:]
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["app", *argv]
    command = argv[0] if argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other command-line tools do.
        # Python would report the pipe again when it flushes stdout at exit; send it nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def gui() -> int:
    """The ``cascade-watch-gui`` entry point (a gui-script: no console window on Windows): the
    desktop app, with any options given."""
    return main(["app", *sys.argv[1:]])
