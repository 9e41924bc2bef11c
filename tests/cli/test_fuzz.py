"""Fuzzing the command line (hypothesis): no traceback, no invalid JSON, whatever the input.

- ``check`` on account files: built from the documented fields with extreme and wrong values,
  mutations of a valid file (a value anywhere replaced by any JSON value, a field dropped or
  added), and raw text. Every run ends with exit status 0 and output (``--json``: strict
  RFC 8259 JSON, parsed with a parser that rejects NaN and Infinity, with every liquidation
  price positive and finite or null) or status 2 and one line on stderr naming the problem.
- every command's flags: argument lists drawn from the command's own parser (each option,
  with values from a list of troublemakers: NaN, infinity, 0, negatives, huge numbers, text,
  broken URLs and paths), run in-process through ``cli.main``. ``watch`` and
  ``localexchange`` stop as soon as they have started (their stop signal is asked at once);
  ``report`` reaches only 127.0.0.1; ``app`` is parsed, not started (it needs a window).

Runs in-process, so it is quick: about 20 s in the suite. A longer run (CI, last):
``CASCADE_FUZZ_EXAMPLES=2000 pytest tests/cli/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
import cli.logs as cli_logs
from cli.shutdown import StopSignals
from resources import default_tiers
from risk.accountfile import parse_account_file
from risk.report import build_report
from risk.rules import EXCHANGES
from risk.types import Account
from tests.cli.test_check import EXAMPLE

EXAMPLES = int(os.environ.get("CASCADE_FUZZ_EXAMPLES", "0"))


def examples(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        # the same examples on every run unless more are asked for: a threshold below that
        # depends on what was drawn, and CI must not fail on a draw
        derandomize=not EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def refuse_constant(name: str) -> float:
    raise AssertionError(f"{name} is not JSON (RFC 8259)")


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``cli.main(argv)`` with stdout and stderr captured; argparse's SystemExit is a status
    like any other. Any other exception escapes: that is a traceback, and fails the test.
    The logging a command sets up for its process (cli/logs.py) is taken down after it."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
    finally:
        for h in root.handlers[:]:
            if h not in handlers:
                root.removeHandler(h)
                h.close()
        root.setLevel(level)
    return code, out.getvalue(), err.getvalue()


def assert_one_line(err: str, prefix: str = "cascade-watch") -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    assert "Traceback" not in err


# --- check ----------------------------------------------------------------------------------

EXTREMES = st.sampled_from(
    [0, -0.0, -1, 1e-320, 5e-324, 1e-12, 1e-9, 0.5, 1, 3.7, 1e9, 1e13, 1e15, 1e18, 1e300,
     1.7976931348623157e308, -1e308, 10**400, -(10**400), 2**63, 123456789012345678901234567890]
)  # fmt: skip
NUMBERS = st.one_of(
    EXTREMES,
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e-6, max_value=1e7),
    st.integers(min_value=-(10**20), max_value=10**20),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SYMBOLS = st.sampled_from(["BTC/USDT:USDT", "ETH/USDT:USDT", "BTC", "ETH-USDT-SWAP", "SOL"])


@st.composite
def tiers(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    low: Any = 0
    for _ in range(draw(st.integers(1, 3))):
        high = draw(st.one_of(NUMBERS, st.just(None)))
        row = {"min_notional": low, "max_notional": high,
               "maintenance_margin_rate": draw(st.one_of(st.floats(0, 0.5), NUMBERS)),
               "maintenance_amount": draw(st.one_of(st.just(0), NUMBERS))}  # fmt: skip
        rows.append({k: v for k, v in row.items() if v is not None or draw(st.booleans())})
        low = high if draw(st.integers(0, 9)) else draw(NUMBERS)
    return rows


@st.composite
def positions(draw: st.DrawFn) -> dict[str, Any]:
    p: dict[str, Any] = {
        "symbol": draw(SYMBOLS),
        "side": draw(st.sampled_from(["long", "short", "buy"])),
        "contracts": draw(st.one_of(st.floats(1e-3, 100), NUMBERS)),
        "entry_price": draw(st.one_of(st.floats(1, 2e5), NUMBERS)),
        "mark_price": draw(st.one_of(st.floats(1, 2e5), NUMBERS)),
    }
    optional = {
        "contract_size": st.one_of(st.sampled_from([1, 0.01, 0.001]), NUMBERS),
        "leverage": st.one_of(st.floats(1, 125), NUMBERS),
        "margin_mode": st.sampled_from(["cross", "isolated", "portfolio"]),
        "isolated_margin": st.one_of(st.floats(0, 1e5), NUMBERS),
        "max_leverage": st.one_of(st.sampled_from([0.5, 1, 20, 40, 50]), NUMBERS),
        "tiers": tiers(),
        "contract_type": st.sampled_from(["linear", "inverse", "option"]),
        "settle": st.sampled_from(["USDT", "USDC", "BTC", "XYZ"]),
    }
    for key, strategy in optional.items():
        if draw(st.integers(0, 3)) == 0:
            p[key] = draw(strategy)
    return p


@st.composite
def account_files(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {
        "exchange": draw(st.sampled_from([*EXCHANGES, "binance"])),
        "wallet_balance": draw(st.one_of(st.floats(-1e4, 1e6), NUMBERS)),
        "positions": draw(st.lists(positions(), max_size=4)),
    }
    if data["positions"] and draw(st.booleans()):
        data["leader"] = data["positions"][0]["symbol"]
    if draw(st.integers(0, 3)) == 0:
        data["betas"] = {draw(SYMBOLS): draw(st.one_of(st.floats(-3, 3), NUMBERS))}
    if draw(st.integers(0, 5)) == 0:
        data["margin_mode"] = draw(st.sampled_from(["cross", "isolated"]))
    if draw(st.integers(0, 3)) == 0:
        data["settle"] = draw(st.sampled_from(["USDT", "USDC", "BTC"]))
    if draw(st.integers(0, 3)) == 0:
        data["pool_mode"] = draw(st.sampled_from(["shared", "separate", "portfolio"]))
    if draw(st.integers(0, 4)) == 0:
        data["taker_fee_rate"] = draw(st.one_of(st.floats(0, 0.01), NUMBERS))
    if draw(st.integers(0, 2)) == 0:
        data["collateral"] = draw(st.lists(collateral(), max_size=3))
    return data


@st.composite
def collateral(draw: st.DrawFn) -> dict[str, Any]:
    c: dict[str, Any] = {
        "coin": draw(st.sampled_from(["BTC", "ETH", "USDC", "USDT"])),
        "balance": draw(st.one_of(st.floats(-10, 1e5), NUMBERS)),
    }
    if draw(st.booleans()):
        c["price"] = draw(st.one_of(st.floats(0.5, 2e5), NUMBERS))
    if draw(st.integers(0, 2)) == 0:
        ratio = st.one_of(st.floats(0, 1), NUMBERS)
        c["tiers"] = [{"max_amount": draw(NUMBERS), "ratio": draw(ratio)},
                      {"ratio": draw(ratio)}]  # fmt: skip
    if draw(st.integers(0, 3)) == 0:
        c["liability_ratio"] = draw(st.one_of(st.floats(0, 2), NUMBERS))
    return c


@st.composite
def mutated_files(draw: st.DrawFn) -> Any:
    """The documented example with one thing changed anywhere in it."""
    data = json.loads(json.dumps(EXAMPLE))
    node: Any = data
    while isinstance(node, dict | list) and node and draw(st.integers(0, 2)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list) or draw(st.integers(0, 3)) == 0:
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace" or isinstance(node, list):
                node[key] = draw(JSON_VALUES)
            elif action == "delete":
                del node[key]
            else:
                node[draw(st.text(max_size=10))] = draw(JSON_VALUES)
            return data
        node = node[key]
    return draw(JSON_VALUES) if draw(st.integers(0, 4)) == 0 else data


def check_once(tmp_path: Path, text: str | bytes, as_json: bool) -> None:
    path = tmp_path / "account.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, out, err = run_cli(["check", str(path), *(["--json"] if as_json else [])])
    assert code in (0, 2), (code, out, err)
    if code == 2:
        assert_one_line(err, "cascade-watch check:")
        assert out == ""
        return
    assert err == ""
    if not as_json:
        assert "account" in out
        return
    result = json.loads(out, parse_constant=refuse_constant)
    for p in result["positions"]:
        liq = p["liquidation_price"]
        assert liq is None or (math.isfinite(liq) and liq > 0), p
        for key in ("size", "entry_price", "mark_price"):
            assert isinstance(p[key], float) and p[key] > 0
    account = result["account"]
    assert account["margin_ratio"] is None or account["margin_ratio"] >= 0


@examples(300)
@given(data=account_files(), as_json=st.booleans())
def test_check_built_account_files(tmp_path: Path, data: Any, as_json: bool) -> None:
    check_once(tmp_path, json.dumps(data), as_json)


@examples(200)
@given(data=mutated_files(), as_json=st.booleans())
def test_check_mutated_account_files(tmp_path: Path, data: Any, as_json: bool) -> None:
    check_once(tmp_path, json.dumps(data), as_json)


@examples(60)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200)))
def test_check_raw_text(tmp_path: Path, text: str | bytes) -> None:
    check_once(tmp_path, text, as_json=True)


# --- every command's flags ------------------------------------------------------------------

TROUBLE = ["nan", "NaN", "inf", "-inf", "0", "-0", "-1", "1e308", "1e-320", "0x10", "", " ",
           "10" * 200, "abc", "1.5", "60", "3", "2025-11-04", "nope", "\x1b[31m", "é"]  # fmt: skip
URLS = ["http://[::1", "http://127.0.0.1:1", "https://127.0.0.1:1/path", "ftp://127.0.0.1",
        "127.0.0.1:1", "http://", "http://127.0.0.1:99999",
        "http://user:pw@127.0.0.1:1"]  # fmt: skip
PATH_OPTIONS = {"data_dir", "warnings", "snapshots", "screenshot", "file"}


GOOD = {
    "speed": ["60", "600", "0.5"],
    "port": ["0"],
    "seek": ["0", "1.5"],
    "poll": ["1", "5"],
    "timeout": ["0.5", "2"],
    "after": ["0"],
    "account": ["1", "2"],
    "label": ["main", ""],
    "fault": ["429", "latency:binanceusdm:delay=0.1", "nope"],
    "ws_port": ["0"],
    "days": ["7", "60"],
    "quiet": ["23:00-07:00", "25:00-7"],
    "channel": ["1", "2"],
    "url": ["json://127.0.0.1:1/hook", "nope://x", "ntfy://"],
}
"""Values a command accepts, drawn as often as the troublemakers, so most runs get past the
parser into the command itself."""


def option_values(action: argparse.Action, paths: list[str]) -> st.SearchStrategy[str]:
    if action.dest in PATH_OPTIONS:
        return st.sampled_from(paths)
    if action.dest == "api_url":
        return st.sampled_from(URLS + TROUBLE[:6])
    trouble = st.sampled_from(TROUBLE)
    good = GOOD.get(action.dest) or [str(c) for c in action.choices or ()]
    if not good:
        return trouble
    return st.integers(0, 3).flatmap(lambda i: trouble if i == 0 else st.sampled_from(good))


NEVER_DRAWN = {"refresh"}
"""``events --refresh`` fetches the subscribed calendar feeds from the internet by design."""
LOOPBACK_URL = ["--api-url", "http://127.0.0.1:1"]
"""Given to the commands that read an exchange when the draw gave none: never the real one."""


def subcommand_parser(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:  # type: ignore[type-arg]
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


@st.composite
def options_of(draw: st.DrawFn, parser: argparse.ArgumentParser, paths: list[str]) -> list[str]:
    """Options of one parser, in any order, with values good and bad; a parser with
    sub-commands (``accounts add``) gets one of them and its own options."""
    actions = [
        a
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
        and a.dest not in NEVER_DRAWN
    ]
    required = [a for a in actions if a.required]
    optional = [a for a in actions if not a.required]
    argv: list[str] = []
    chosen = draw(st.lists(st.sampled_from(optional), max_size=5, unique_by=id)) if optional else []
    if draw(st.integers(0, 9)):
        chosen = required + chosen
    for action in draw(st.permutations(chosen)):
        if not action.option_strings:
            argv.append(draw(option_values(action, paths)))
            continue
        argv.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            argv.append(draw(option_values(action, paths)))
    sub = subcommand_parser(parser)
    if sub is not None and draw(st.integers(0, 9)):
        name = draw(st.sampled_from(sorted(sub.choices)))
        argv += [name, *draw(options_of(sub.choices[name], paths))]
    return argv


@st.composite
def argument_lists(draw: st.DrawFn, command: str, paths: list[str]) -> list[str]:
    """Options of ``command``'s own parser (``cli.build_parser``), with values good and bad."""
    sub = subcommand_parser(cli.build_parser(command))
    assert sub is not None
    argv = [command, *draw(options_of(sub.choices[command], paths))]
    reads_an_exchange = command == "report" or argv[:2] == ["accounts", "add"]
    if reads_an_exchange and "--api-url" not in argv:
        argv += LOOPBACK_URL
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--nope", "extra", "-x"])))
    return argv


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths the fuzz may pass; the data folder, the working directory and the API
    credentials all inside the test's folder; a stop asked the moment a loop starts."""
    home = tmp_path / "data"
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "account.json").write_text(json.dumps(EXAMPLE))
    (tmp_path / "a-folder").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CASCADE_DATA_DIR", str(home))
    monkeypatch.setenv("CASCADE_SECRET_BACKEND", "file")
    for name in ("CASCADE_API_KEY", "CASCADE_API_SECRET", "CASCADE_API_PASSWORD"):
        monkeypatch.setenv(name, "fuzz")
    monkeypatch.setenv("CASCADE_WALLET", "0x" + "1" * 40)
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("a fuzz passphrase\n")
    passphrase.chmod(0o600)
    monkeypatch.setenv("CASCADE_PASSPHRASE_FILE", str(passphrase))
    monkeypatch.setattr(StopSignals, "wait", lambda self, timeout=None: True)
    # the process-wide crash file (faulthandler) belongs to a real run, not to pytest's
    monkeypatch.setattr(cli_logs, "enable_crash_traces", lambda path: None)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    paths = [str(home), str(tmp_path / "a-file"), str(tmp_path / "a-folder"), "",
             str(tmp_path / "account.json"), str(tmp_path / "new" / "out.csv"),
             str(tmp_path / "a-file" / "below"), "rel/out.csv"]  # fmt: skip
    # (no NUL character: a command line cannot carry one)
    yield paths
    busy.close()


def assert_clean_outcome(argv: list[str], code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (argv, code, out, err)
    assert "Traceback" not in out + err, (argv, err)
    if code == 2:
        assert_one_line(err if err.strip() else out)
    if code == 0 and "--json" in argv:
        json.loads(out, parse_constant=refuse_constant)


COMMAND_EXAMPLES = {
    "check": 60, "export": 60, "report": 40, "localexchange": 15, "watch": 25,
    "accounts": 40, "channels": 40, "events": 30,
}  # fmt: skip
assert set(COMMAND_EXAMPLES) == set(cli.COMMANDS) - {"app"}, "a command is not fuzzed"


@pytest.mark.parametrize("command", list(COMMAND_EXAMPLES))
def test_every_command_flag_combination(command: str, sandbox: list[str]) -> None:
    ran: list[int] = []

    @examples(COMMAND_EXAMPLES[command])
    @given(argv=argument_lists(command, sandbox))
    def run(argv: list[str]) -> None:
        code, out, err = run_cli(argv)
        assert_clean_outcome(argv, code, out, err)
        if "--help)" not in err:  # not the parser's one line (cli.arguments.OneLineParser)
            ran.append(code)

    run()
    # not vacuous: most argument lists got past the parser into the command itself
    assert len(ran) >= COMMAND_EXAMPLES[command] // 4, ran


@examples(60)
@given(data=st.data())
def test_the_app_flags_parse_or_say_what_is_wrong(data: st.DataObject) -> None:
    """The desktop app's flags, parsed as ``cli.main`` parses them (running it needs a window:
    tests/ui/)."""
    argv = data.draw(argument_lists("app", ["", "x.png", "shots/shot.png"]))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli.build_parser("app").parse_args(argv)
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
    assert code in (0, 2)
    if code == 2:
        assert_one_line(err.getvalue())


@st.composite
def well_formed_tiers(draw: st.DrawFn, notional: float) -> list[dict[str, Any]]:
    """Contiguous tiers around ``notional`` with Binance's continuous deduction (cum)."""
    bounds = sorted(draw(st.lists(st.floats(0.05, 20), min_size=0, max_size=3, unique=True)))
    rates = sorted(draw(st.lists(st.floats(0.001, 0.3), min_size=len(bounds) + 1,
                                 max_size=len(bounds) + 1)))  # fmt: skip
    rows, low, amount = [], 0.0, 0.0
    for i, rate in enumerate(rates):
        if i:
            amount += low * (rate - rates[i - 1])
        high = notional * bounds[i] if i < len(bounds) else None
        rows.append({"min_notional": low, "max_notional": high,
                     "maintenance_margin_rate": rate, "maintenance_amount": amount})  # fmt: skip
        low = high if high is not None else low
    return rows


@st.composite
def domain_accounts(draw: st.DrawFn) -> dict[str, Any]:
    """Sound accounts spread over the whole domain: prices from 1e-12 to 1e9 USD, notionals
    from a cent to 1e10 USD, marks up to e× away from the entry."""
    exchange = draw(st.sampled_from(EXCHANGES))
    positions, total = [], 0.0
    for i in range(draw(st.integers(1, 3))):
        entry = 10 ** draw(st.floats(-11.5, 8.5))
        mark = entry * math.exp(draw(st.floats(-1, 1)))
        notional = 10 ** draw(st.floats(-2, 10))
        size = notional / entry
        if not (1e-12 <= size <= 1e18 and 1e-12 <= mark <= 1e9 and size * mark <= 1e13):
            continue
        total += notional
        positions.append({"symbol": f"S{i}", "side": draw(st.sampled_from(["long", "short"])),
                          "contracts": size, "entry_price": entry, "mark_price": mark,
                          "tiers": draw(well_formed_tiers(notional))})  # fmt: skip
    wallet = total * draw(st.floats(0.02, 3))
    return {"exchange": exchange, "wallet_balance": wallet, "positions": positions}


def ratio_at(account: Account, symbol: str, price: float) -> float:
    """The account's margin ratio with ``symbol``'s mark at ``price`` (every leg of it)."""
    moved = tuple(
        replace(p, mark_price=price) if p.symbol == symbol else p for p in account.positions
    )
    return build_report(replace(account, positions=moved)).margin_ratio


@examples(300)
@given(data=domain_accounts())
def test_a_liquidation_price_is_where_the_account_first_reaches_liquidation(data: Any) -> None:
    """Inside the model's domain the answer is right, not only well-formed: for a cross
    position, moving its mark to the liquidation price printed liquidates the account (margin
    ratio 1), and no point between the mark and that price does."""
    parsed = parse_account_file(data, default_tiers)
    account = parsed.account
    report = build_report(account)
    if report.liquidated:
        return
    for position, shown in zip(account.positions, report.positions, strict=True):
        if shown.liquidation_price is None:
            continue
        liq = shown.liquidation_price.value
        mark = position.mark_price
        assert math.isfinite(liq) and liq > 0
        assert ratio_at(account, position.symbol, liq) >= 1 - 1e-6, (position, liq)
        for t in (0.25, 0.5, 0.9, 0.999):
            between = mark + t * (liq - mark)
            assert ratio_at(account, position.symbol, between) < 1 + 1e-6, (position, liq, t)
