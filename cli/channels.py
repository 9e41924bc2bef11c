"""``python main.py channels add|list|test|remove``: the push channels, without the window.

A channel is one apprise URL (``tgram://bot_token/chat_id``, ``ntfys://ntfy.sh/topic``,
``pover://user@token``, ``json://host/path``, …). The URL is a secret: it goes to the secret
store (the keychain, or the encrypted file: CASCADE_PASSPHRASE_FILE, cli/secrets.py), and only
its masked form (``tgram://…/…``) is stored, listed or logged. Give it to ``add`` or ``test``
as CASCADE_CHANNEL_URL or at the prompt (not echoed) rather than on the command line, where
the shell history and every user's process list would keep it. ``watch --notify URL`` adds a
channel for one run only.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli import arguments
from cli.render import Column, json_text, table
from storage.errors import StorageError

if TYPE_CHECKING:
    from notify.channel import Channel
    from notify.store import ChannelStore
    from storage.database import Database

URL_ENV = "CASCADE_CHANNEL_URL"
SEVERITIES = ("info", "warning", "critical")
LIST_COLUMNS = (
    Column("id"),
    Column("channel"),
    Column("enabled"),
    Column("from"),
    Column("quiet hours"),
    Column("resolved"),
)
PROG = "cascade-watch channels"
TEST_TIMEOUT_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from storage.paths import add_data_dir_argument

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    url_help = f"an apprise URL; else ${URL_ENV}, else asked (not echoed)"
    add = sub.add_parser(
        "add",
        help="store a channel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("url", nargs="?", metavar="URL", help=url_help)
    add.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default="warning",
        help="the least severe warning sent (default: %(default)s)",
    )
    add.add_argument(
        "--quiet",
        metavar="HH:MM-HH:MM",
        help="local hours during which only CRITICAL warnings are sent (e.g. 23:00-07:00)",
    )
    add.add_argument("--resolved", action="store_true", help="also say when a warning resolves")
    add.add_argument("--test", action="store_true", help="send a test first; store it if it works")
    add_data_dir_argument(add)
    show = sub.add_parser("list", help="the stored channels (masked)")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    add_data_dir_argument(show)
    test = sub.add_parser("test", help="send a test message to a stored channel or a URL")
    test.add_argument(
        "channel", nargs="?", metavar="ID|URL", help=f"a stored channel's id, or {url_help}"
    )
    test.add_argument(
        "--timeout",
        type=arguments.between(0.1, 600, "seconds"),
        default=TEST_TIMEOUT_S,
        metavar="SECONDS",
        help="give up on an answer after this long (default: %(default)s)",
    )
    add_data_dir_argument(test)
    remove = sub.add_parser("remove", help="forget a channel and its URL")
    remove.add_argument("channel", metavar="ID", help="the channel's id (see `channels list`)")
    add_data_dir_argument(remove)


def run(args: argparse.Namespace) -> int:
    from connectors.redaction import install_redaction
    from storage.database import open_database
    from storage.paths import resolve_data_dir

    install_redaction()
    data_dir = resolve_data_dir(args.data_dir)
    if args.action == "test" and args.channel and "://" in args.channel:
        return test_url(args.channel, args.timeout)
    try:
        db = open_database(data_dir)
    except (StorageError, OSError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    try:
        if args.action == "list":
            return list_channels(store_of(db, None), args.json)
        return _with_secrets(db, args, data_dir)
    except StorageError as exc:
        print(f"{PROG} {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


def store_of(db: Database, data_dir: Path | None) -> ChannelStore:
    from cli.secrets import open_secrets
    from notify.store import ChannelStore

    secrets = open_secrets(data_dir) if data_dir is not None else None
    return ChannelStore(db.settings, secrets)


def _with_secrets(db: Database, args: argparse.Namespace, data_dir: Path) -> int:
    store = store_of(db, data_dir)
    if args.action == "remove":
        if not store.remove(args.channel):
            print(f"{PROG} remove: no stored channel has the id {args.channel!r}", file=sys.stderr)
            return 2
        print(f"removed channel {args.channel} and its URL")
        return 0
    if args.action == "test":
        if not args.channel:
            return test_url(ask_url(), args.timeout)
        prefs = next((p for p in store.prefs() if p.id == args.channel), None)
        url = store.url(args.channel) if prefs is not None else None
        if prefs is None or url is None:
            print(f"{PROG} test: no stored channel has the id {args.channel!r}", file=sys.stderr)
            return 2
        from notify.channel import Channel

        return send_test(Channel(prefs, url), args.timeout)
    return add_channel(store, args)


def ask_url() -> str:
    """The channel URL from the environment, else asked on the terminal without echo."""
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return url
    if not sys.stdin.isatty():
        return ""
    return getpass.getpass("Channel URL (not shown): ").strip()


def add_channel(store: ChannelStore, args: argparse.Namespace) -> int:
    from alerts.vocabulary import Severity
    from notify.channel import Channel, QuietHours
    from notify.services import check_url
    from notify.store import new_channel_id
    from notify.urls import ChannelURLError

    url = args.url or ask_url()
    try:
        quiet = QuietHours.parse(args.quiet) if args.quiet else None
        channel = Channel.from_url(
            new_channel_id(),
            check_url(url),
            min_severity=Severity.parse(args.min_severity),
            quiet=quiet,
            send_resolved=args.resolved,
        )
    except ChannelURLError as exc:
        print(f"{PROG} add: {exc}{'' if url else f' (give it as {URL_ENV})'}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{PROG} add: --quiet: {exc}", file=sys.stderr)
        return 2
    if args.test and send_test(channel) != 0:
        print(f"{PROG} add: nothing stored", file=sys.stderr)
        return 1
    store.save([*store.prefs(), channel.prefs], {channel.id: channel.url})
    print(f"added channel {channel.id}: {channel.label} ({describe(channel)})")
    return 0


def describe(channel: Channel) -> str:
    p = channel.prefs
    parts = [f"{p.min_severity.label} and above"]
    if p.quiet is not None:
        parts.append(f"quiet {p.quiet} except CRITICAL")
    if p.send_resolved:
        parts.append("resolutions too")
    return ", ".join(parts)


def test_url(url: str, timeout_s: float = TEST_TIMEOUT_S) -> int:
    from notify.channel import Channel
    from notify.services import check_url
    from notify.store import new_channel_id
    from notify.urls import ChannelURLError

    try:
        channel = Channel.from_url(new_channel_id(), check_url(url))
    except ChannelURLError as exc:
        print(f"{PROG} test: {exc}", file=sys.stderr)
        return 2
    return send_test(channel, timeout_s)


def send_test(channel: Channel, timeout_s: float = TEST_TIMEOUT_S) -> int:
    """Send the test message now; one line saying how it went (exit 0 sent, 1 not)."""
    from notify.sender import PushSender

    result = PushSender(timeout_s=timeout_s).send_test(channel).result(timeout_s * 3 + 5)
    if result.ok:
        print(f"test message sent to {channel.label} in {result.elapsed_s:.2f} s")
        return 0
    print(f"{PROG} test: {channel.label}: {result.reason}", file=sys.stderr)
    return 1


def list_channels(store: ChannelStore, as_json: bool) -> int:
    prefs = store.prefs()
    if as_json:
        print(json_text({"channels": [p.to_mapping() for p in prefs]}))
        return 0
    if not prefs:
        print("no push channel is stored: add one with `channels add`, or in the app's Settings")
        return 0
    rows = [
        [
            p.id,
            p.label,
            "yes" if p.enabled else "no",
            p.min_severity.label,
            str(p.quiet) if p.quiet else "",
            "yes" if p.send_resolved else "no",
        ]
        for p in prefs
    ]
    print(table(LIST_COLUMNS, rows))
    return 0
