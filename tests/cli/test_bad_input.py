"""The inputs issue 13 found giving a traceback or a wrong answer: each is now one line naming
the problem, exit status 2, or a right answer. (The fuzz over every input is test_fuzz.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_check import EXAMPLE
from tests.cli.test_fuzz import refuse_constant, run_cli
from tests.paths import REPO_ROOT


def account(**position: object) -> dict[str, object]:
    pos = {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 1.5, "entry_price": 108000,
           "mark_price": 106500, **position}  # fmt: skip
    return {"exchange": "binanceusdm", "wallet_balance": 20000, "positions": [pos]}


def check(tmp_path: Path, text: str, *flags: str) -> tuple[int, str, str]:
    path = tmp_path / "account.json"
    path.write_text(text)
    return run_cli(["check", str(path), *flags])


def assert_refused(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    "text,words",
    [
        ('{"exchange": "binanceusdm", "wallet_balance": 2' + "0" * 400 + ', "positions": []}',
         ["wallet_balance", "far too large (401 digits)"]),
        ('{"exchange": "binanceusdm", "wallet_balance": 2' + "0" * 5000 + ', "positions": []}',
         ["far too many digits"]),
        ("[" * 100_000 + "]" * 100_000, ["nested far too deeply"]),
        ('{"exchange": "binanceusdm", "wallet_balance": NaN, "positions": []}',
         ["NaN is not a JSON number"]),
        (json.dumps({"exchange": "hyperliquid", "wallet_balance": 5000, "positions": [
            {"symbol": "BTC", "side": "long", "contracts": 0.2, "entry_price": 100000,
             "mark_price": 101000, "max_leverage": 0.5}]}),
         ["positions[0].max_leverage", "at least 1"]),
    ],
)  # fmt: skip
def test_check_refuses_what_once_gave_a_traceback(
    tmp_path: Path, text: str, words: list[str]
) -> None:
    assert_refused(*check(tmp_path, text), *words)


def test_json_stays_valid_for_1e308_contracts_because_they_are_refused(tmp_path: Path) -> None:
    """1e308 contracts once printed Infinity (not JSON); the notional is outside the model's
    domain, so the file is refused naming the field and the range. Inside the domain the
    output is strict JSON."""
    code, out, err = check(tmp_path, json.dumps(account(contracts=1e308)), "--json")
    assert_refused(code, out, err, "positions[0].contracts", "1e-12 to 1e+18")
    code, out, _ = check(tmp_path, json.dumps(account(contracts=1e6)), "--json")
    assert code == 0
    json.loads(out, parse_constant=refuse_constant)


def test_a_deduction_that_makes_maintenance_negative_is_refused(tmp_path: Path) -> None:
    """It was accepted and the account reported as never liquidated."""
    tiers = [{"min_notional": 0, "max_notional": 1e9, "maintenance_margin_rate": 0.004,
              "maintenance_amount": 5000}]  # fmt: skip
    code, out, err = check(tmp_path, json.dumps(account(tiers=tiers)), "--json")
    assert_refused(code, out, err, "positions[0].tiers[0].maintenance_amount", "negative")
    tiers = [
        {"min_notional": 0, "max_notional": 50_000, "maintenance_margin_rate": 0.004},
        {"min_notional": 50_000, "max_notional": 1e9, "maintenance_margin_rate": 0.005,
         "maintenance_amount": 50},  # Binance's cum: 50,000 × (0.005 − 0.004), continuous
    ]  # fmt: skip
    assert check(tmp_path, json.dumps(account(tiers=tiers)))[0] == 0
    # only the bracket that applies, as the Binance FAQ writes it: fine at this notional
    tiers = [{"min_notional": 0, "maintenance_margin_rate": 0.025, "maintenance_amount": 3000}]
    assert check(tmp_path, json.dumps(account(tiers=tiers)))[0] == 0


@pytest.mark.parametrize("mark", [1e8, 1e9])
def test_a_far_mark_inside_the_domain_gives_the_same_liquidation_price(
    tmp_path: Path, mark: float
) -> None:
    """One cross long: its liquidation price does not depend on where the mark is."""
    code, out, _ = check(tmp_path, json.dumps(account()), "--json")
    near = json.loads(out)["positions"][0]["liquidation_price"]
    code, out, _ = check(tmp_path, json.dumps(account(mark_price=mark)), "--json")
    assert code == 0
    assert json.loads(out)["positions"][0]["liquidation_price"] == pytest.approx(near, rel=1e-9)


@pytest.mark.parametrize("mark", [1e12, 1e200, 1e308])
def test_a_mark_outside_the_domain_is_refused_naming_the_range(tmp_path: Path, mark: float) -> None:
    """A mark of 1e308 gave no liquidation price (and 1e200 one of 0) though ~95,109
    liquidates: beyond 1e9 USD the result is not computed but refused."""
    code, out, err = check(tmp_path, json.dumps(account(mark_price=mark)), "--json")
    assert_refused(code, out, err, "positions[0].mark_price", "a price of 1e-12 to 1e+09")


def test_check_into_head_ends_quietly(tmp_path: Path) -> None:
    """`check … | head`: the reader leaves after one line; no traceback."""
    data = json.loads(json.dumps(EXAMPLE))
    data["positions"] = [data["positions"][1]] * 300  # ~130 KB of JSON: more than a pipe holds
    del data["leader"], data["betas"]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(data))
    done = subprocess.run(
        f"{sys.executable} main.py check {path} --json | head -1",
        shell=True, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stdout == "{\n" and done.stderr == ""


@pytest.mark.parametrize(
    "argv,words",
    [
        (["report", "--exchange", "binanceusdm", "--api-url", "http://[::1"],
         ["--api-url", "not a valid URL", "Invalid IPv6 URL"]),
        (["report", "--exchange", "binanceusdm", "--timeout", "nan"], ["--timeout", "'nan'"]),
        (["report", "--exchange", "binanceusdm", "--timeout", "inf"], ["--timeout", "'inf'"]),
        (["localexchange", "--speed", "nan"], ["--speed", "'nan'"]),
        (["localexchange", "--port", "70000"], ["--port", "0 to 65535"]),
        (["watch", "--demo", "--speed", "0"], ["--speed", "between 0.01 and 100000"]),
        (["watch", "--demo", "--scenario", "nope"], ["--scenario", "invalid choice: 'nope'"]),
        (["export", "--warnings", "w.csv", "--account", "1" * 400], ["--account", "2^63"]),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_line(argv: list[str], words: list[str]) -> None:
    code, out, err = run_cli(argv)
    assert_refused(code, out, err, f"cascade-watch {argv[0]}: argument", *words)
    assert f"(see cascade-watch {argv[0]} --help)" in err


def test_a_password_in_a_bad_url_is_not_echoed() -> None:
    code, _, err = run_cli(["report", "--exchange", "okx", "--api-url", "http://me:s3cret@[::1"])
    assert code == 2 and "s3cret" not in err


def test_watch_with_a_file_for_its_data_folder_is_one_line(tmp_path: Path) -> None:
    """Found by the flag fuzz: the folder lock was taken outside the error handling."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    code, _, err = run_cli(["watch", "--demo", "--data-dir", str(a_file)])
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot use the data folder" in err
