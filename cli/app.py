"""`python main.py` (the `app` command): the desktop app; the demo when no account is stored."""

from __future__ import annotations

import argparse

from cli import arguments
from connectors.localexchange.scenario import scenario_names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the database, keys and settings live")
    parser.add_argument(
        "--demo", action="store_true", help="play the demo even when accounts are stored"
    )
    parser.add_argument(
        "--scenario",
        default=None,
        choices=scenario_names(),
        help="demo scenario (default 2025-11-04)",
    )
    parser.add_argument(
        "--speed",
        type=arguments.speed,
        default=None,
        help="demo replay speed (default 1800: the crash in about a minute)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="PNG",
        help="save a screenshot of the main window after --after seconds, then quit",
    )
    parser.add_argument(
        "--after", type=arguments.between(0, 3600), default=20.0, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    from cli.logs import setup
    from ui.app import run as run_app

    setup()
    return run_app(args)
