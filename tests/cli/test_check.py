"""`python main.py check`: the offline calculator, good input and bad."""

import json
import subprocess
import sys

import pytest

from main import main
from tests.paths import REPO_ROOT

EXAMPLE = {
    "exchange": "binanceusdm",
    "wallet_balance": 20000,
    "margin_mode": "cross",
    "positions": [
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 1.5, "contract_size": 1,
         "entry_price": 108000, "mark_price": 106500, "leverage": 10, "margin_mode": "cross",
         "isolated_margin": None, "max_leverage": None,
         "tiers": [{"min_notional": 0, "max_notional": 50000, "maintenance_margin_rate": 0.004,
                    "maintenance_amount": 0}]},
        {"symbol": "ETH/USDT:USDT", "side": "long", "contracts": 20, "entry_price": 3900,
         "mark_price": 3700},
    ],
    "leader": "BTC/USDT:USDT",
    "betas": {"ETH/USDT:USDT": 1.3},
}  # fmt: skip


def write(tmp_path, data) -> str:
    path = tmp_path / "account.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_json_output_follows_the_documented_schema(tmp_path, capsys):
    assert main(["check", write(tmp_path, EXAMPLE), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    account = out["account"]
    for key in ("equity", "maintenance_margin", "margin_ratio", "joint_move_to_liquidation"):
        assert isinstance(account[key], float)
    assert account["equity"] == pytest.approx(20000 - 1.5 * 1500 - 20 * 200)
    assert account["margin_ratio"] == pytest.approx(account["maintenance_margin"] / 13750)
    assert -0.2 < account["joint_move_to_liquidation"] < 0
    assert [p["symbol"] for p in out["positions"]] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    for p in out["positions"]:
        assert p["distance"] == pytest.approx(p["liquidation_price"] / p["mark_price"] - 1)
        assert p["liquidation_price"] < p["mark_price"]


def test_the_table_is_readable(tmp_path, capsys):
    assert main(["check", write(tmp_path, EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "margin ratio" in out and "BTC/USDT:USDT" in out and "joint move" in out


def test_built_in_tiers_are_used_when_none_are_given(tmp_path, capsys):
    data = {"exchange": "hyperliquid", "wallet_balance": 5000, "positions": [
        {"symbol": "BTC/USDC:USDC", "side": "short", "contracts": 0.2, "entry_price": 100000,
         "mark_price": 101000}]}  # fmt: skip
    assert main(["check", write(tmp_path, data), "--json"]) == 0
    pos = json.loads(capsys.readouterr().out)["positions"][0]
    assert pos["liquidation_price"] > 101000
    assert pos["maintenance_margin"] == pytest.approx(0.2 * 101000 / 80)  # 40x -> 1.25 %


def test_an_uncollateralisable_account_reports_null_not_zero(tmp_path, capsys):
    data = {"exchange": "binanceusdm", "wallet_balance": 200000, "positions": [
        {"symbol": "BTCUSDT", "side": "long", "contracts": 1, "entry_price": 100000,
         "mark_price": 100000}]}  # fmt: skip
    assert main(["check", write(tmp_path, data), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["positions"][0]["liquidation_price"] is None
    assert out["positions"][0]["distance"] is None
    assert out["account"]["joint_move_to_liquidation"] is None


def broken(**changes):
    data = json.loads(json.dumps(EXAMPLE))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return data


@pytest.mark.parametrize(
    "data,expected",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be an object"),
        (broken(exchange="binance-usdm"), "exchange: unknown exchange"),
        (broken(exchange="bybitt"), "did you mean 'bybit'"),
        (broken(wallet_balance=KeyError), "wallet_balance: is missing"),
        (broken(wallet_balance="20000"), "wallet_balance: must be a number, got the text '20000'"),
        (
            broken(wallet_ballance=5),
            "wallet_ballance: unknown field; did you mean 'wallet_balance'",
        ),
        (broken(positions__0__contracts=-1.5), "positions[0].contracts: must be greater than 0"),
        (broken(positions__0__side="buy"), "positions[0].side: side must be 'long' or 'short'"),
        (broken(positions__1__entry_price=KeyError), "positions[1].entry_price: is missing"),
        (broken(positions__1__mark_price=True), "positions[1].mark_price: must be a number"),
        (broken(positions__0__entry_prise=1), "did you mean 'entry_price'"),
        (broken(positions__0__margin_mode="portfolio"), "positions[0].margin_mode"),
        (broken(positions="BTC"), "positions: must be a list"),
        (broken(leader="SOL/USDT:USDT"), "leader: 'SOL/USDT:USDT' is not the symbol"),
        (broken(betas={"ETH/USDT:USDT": "high"}), "betas.ETH/USDT:USDT: must be a number"),
    ],
)
def test_bad_input_gets_one_line_naming_the_problem(tmp_path, capsys, data, expected):
    assert main(["check", write(tmp_path, data)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_missing_file_and_unknown_symbol_tiers(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
    data = {"exchange": "okx", "wallet_balance": 1000, "positions": [
        {"symbol": "PEPE-USDT-SWAP", "side": "long", "contracts": 1, "entry_price": 1,
         "mark_price": 1}]}  # fmt: skip
    assert main(["check", write(tmp_path, data)]) == 2
    assert "positions[0].tiers: no built-in maintenance tiers for PEPE" in capsys.readouterr().err


def test_the_real_command_line(tmp_path):
    """Through a real interpreter, as a trader would run it."""
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "check", write(tmp_path, EXAMPLE), "--json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["positions"][0]["side"] == "long"
    bad = subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), "check", write(tmp_path, "{")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_check_starts_without_qt_or_ccxt(tmp_path):
    """The offline calculator imports only what it needs: no Qt, no ccxt, no scheduler."""
    probe = (
        "import sys\n"
        "from main import main\n"
        f"code = main(['check', {write(tmp_path, EXAMPLE)!r}, '--json'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph',"
        " 'ccxt', 'apscheduler', 'sqlite_utils', 'keyring'})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stderr
    assert json.loads(done.stdout)["positions"][0]["symbol"] == "BTC/USDT:USDT"


def test_a_liquidated_account_prints_strict_json(tmp_path, capsys):
    """Equity below zero: the margin ratio is not a number, and the JSON says null (RFC 8259
    has no NaN or Infinity)."""
    data = {"exchange": "binanceusdm", "wallet_balance": 100, "positions": [
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 1, "entry_price": 100000,
         "mark_price": 90000}]}  # fmt: skip
    assert main(["check", write(tmp_path, data), "--json"]) == 0

    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    account = json.loads(capsys.readouterr().out, parse_constant=refuse)["account"]
    assert account["liquidated"] is True and account["margin_ratio"] is None
    assert main(["check", write(tmp_path, data)]) == 0
    assert "margin ratio LIQUIDATED" in capsys.readouterr().out
