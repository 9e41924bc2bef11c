"""``python main.py localexchange``: run the local exchange alone until Ctrl-C.

Faults can be switched on to rehearse an outage: at start with ``--fault`` (repeatable), and
while it runs through its control endpoint on 127.0.0.1 (connectors/localexchange/control.py),
both taking a rule as one line: ``418,exchange=binanceusdm,ban_s=120``.

``--json`` prints one JSON object instead of the table, with ccxt's own credential names, so
any ccxt or ccxt.pro client can be pointed at it by swapping the venue's host for the URL and
keeping the venue's paths::

    {"exchanges": {"binanceusdm": {"rest": URL, "ws": URL, "apiKey": .., "secret": ..},
                   "bybit": {..}, "okx": {.., "password": ..},
                   "hyperliquid": {"rest": URL, "ws": URL, "walletAddress": ..}}}
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime

from cli import arguments
from cli.render import Column, json_text, table
from cli.shutdown import StopSignals
from connectors.localexchange.accounts import EXCHANGES
from connectors.localexchange.control import FAULTS_PATH
from connectors.localexchange.faults import KINDS, parse_spec
from connectors.localexchange.scenario import scenario_names
from connectors.localexchange.service import LocalExchange
from formatting import safe_text

log = logging.getLogger(__name__)

CREDENTIAL_COLUMNS = (
    Column("exchange"),
    Column("key (or wallet)"),
    Column("secret"),
    Column("passphrase"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scenario",
        default="2025-11-04",
        choices=scenario_names(),
        help="the scenario to replay (default: %(default)s)",
    )
    parser.add_argument(
        "--speed",
        type=arguments.speed,
        default=1.0,
        help="scenario seconds per wall second (default: %(default)s)",
    )
    parser.add_argument(
        "--port", type=arguments.port, default=0, help="port on 127.0.0.1 (default: any free port)"
    )
    parser.add_argument(
        "--ws-port",
        type=arguments.port,
        default=0,
        help="port of the streaming (WebSocket) side on 127.0.0.1 (default: any free port)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the addresses and the demo credentials as one JSON object",
    )
    parser.add_argument(
        "--seek",
        type=arguments.between(0, 10_000, "hours"),
        default=0.0,
        metavar="HOURS",
        help="start this many hours into the scenario (default: %(default)s)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="RULE",
        help="inject a fault from the start, e.g. 418,exchange=binanceusdm,ban_s=120 or "
        "latency,exchange=okx,seconds=2,times=5 (kinds: " + ", ".join(KINDS) + "; see "
        "connectors/localexchange/faults.py); repeatable. While it runs, POST the same line "
        f"to {FAULTS_PATH} (GET lists the faults, DELETE clears them)",
    )


def endpoints(lx: LocalExchange) -> dict[str, dict[str, dict[str, str]]]:
    """Where each venue is and its demo credentials, under ccxt's own names."""
    out: dict[str, dict[str, str]] = {}
    for exchange in EXCHANGES:
        creds = lx.credentials(exchange)
        entry = {"rest": lx.base_url, "ws": lx.ws_url}
        if exchange == "hyperliquid":
            entry["walletAddress"] = creds.wallet
        else:
            entry["apiKey"] = creds.api_key
            entry["secret"] = creds.secret
            if exchange == "okx":
                entry["password"] = creds.password
        out[exchange] = entry
    return {"exchanges": out}


def describe(lx: LocalExchange) -> str:
    """The addresses and the demo credentials, for a person to paste into the app."""
    lines = [
        f"Local exchange replaying '{lx.scenario.name}': {lx.scenario.title}",
        f"  address: {lx.base_url}   streams: {lx.ws_url}   speed: x{lx.clock.speed:g}",
    ]
    for name in ["demo", *(n for n in lx.scenario.accounts if n != "demo")]:
        rows = []
        for exchange in EXCHANGES:
            creds = lx.credentials(exchange, name)
            if exchange == "hyperliquid":
                rows.append([exchange, creds.wallet, "", ""])
            else:
                rows.append([exchange, creds.api_key, creds.secret, creds.password])
        if name != "demo":
            lines.append(f"  the '{name}' account:")
        lines.append(table(CREDENTIAL_COLUMNS, rows))
    faults = lx.faults.describe()
    if faults:
        lines.append("  faults: " + "; ".join(_fault_line(f) for f in faults))
    lines.append(
        f"  rehearse an outage: curl -d '418,exchange=binanceusdm,ban_s=120' "
        f"{lx.base_url}{FAULTS_PATH}   (curl -X DELETE … to clear)"
    )
    lines.append("These are local demo credentials only. Press Ctrl-C to stop.")
    return "\n".join(lines)


def _fault_line(fault: dict[str, object]) -> str:
    where = ", ".join(str(fault[k]) for k in ("exchange", "endpoint") if fault[k])
    params = fault["params"]
    extra = ", ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, dict) else ""
    return f"{fault['kind']} ({where or 'every exchange'}{', ' + extra if extra else ''})"


def run(args: argparse.Namespace) -> int:
    rules = []
    for spec in args.fault:
        try:
            rules.append(parse_spec(spec))
        except ValueError as e:
            fail = f"cascade-watch localexchange: --fault {safe_text(spec)}: {safe_text(e)}"
            print(fail, file=sys.stderr)
            return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from connectors.redaction import install_redaction

    install_redaction()
    lx = LocalExchange(
        scenario=args.scenario,
        speed=args.speed,
        port=args.port,
        control=True,
        ws_port=args.ws_port,
    )
    for (kind, kwargs), spec in zip(rules, args.fault, strict=True):
        try:
            lx.faults.inject(kind, **kwargs)
        except ValueError as e:
            fail = f"cascade-watch localexchange: --fault {safe_text(spec)}: {safe_text(e)}"
            print(fail, file=sys.stderr)
            return 2
    with StopSignals() as stop:
        return serve(lx, args, stop)


def serve(lx: LocalExchange, args: argparse.Namespace, stop: StopSignals) -> int:
    """Run the local exchange until a stop is asked, logging each liquidation."""
    try:
        lx.start()
    except OSError as e:
        lx.stop()
        ports = f"{args.port} / {args.ws_port}"
        print(
            f"cascade-watch localexchange: cannot listen on 127.0.0.1 ports {ports}: "
            f"{e.strerror or e}",
            file=sys.stderr,
        )
        return 1
    if args.seek:
        lx.seek(args.seek * 3600)
    print(json_text(endpoints(lx)) if args.json else describe(lx), flush=True)
    reported = 0
    try:
        while not stop.wait(0.5):
            events = lx.liquidations
            for event in events[reported:]:
                log.warning(
                    "%s account #%d liquidated at %s: %s",
                    event.exchange,
                    event.account_id,
                    datetime.fromtimestamp(event.time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    ", ".join(f"{base} {mark:,.2f}" for base, mark in event.marks.items()),
                )
            reported = len(events)
    finally:
        lx.stop()
    # with --json, standard output holds the one JSON object and nothing else
    print("local exchange stopped", file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0
