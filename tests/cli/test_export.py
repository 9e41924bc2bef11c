"""`python main.py export`: warnings and snapshots to CSV, from a real database file."""

import csv
import math

from alerts import Severity, WarningRule, warning_key
from main import main
from risk.report import build_report
from risk.types import Account, MarginTier, Position, Side
from storage.database import open_database
from storage.records import AccountRecord, WarningRecord
from tests.damaged_db import damage_inside_a_block, damage_pages, filled_database


def fill(data_dir):
    db = open_database(data_dir)
    acc = db.accounts.add(AccountRecord("binanceusdm", "main", secret_name="k1"))
    tier = (MarginTier(0, math.inf, 0.005),)
    btc = Position("BTC/USDT:USDT", Side.LONG, 1, 100_000, 98_000, tier)
    report = build_report(Account("binanceusdm", 10_000, (btc,)))
    for i in range(3):
        db.snapshots.save(acc.id, report, 1_800_000_000_000 + i * 5_000)
    key = warning_key(WarningRule.JOINT_MOVE, acc.id, ("BTC/USDT:USDT",))
    db.warnings.upsert(
        WarningRecord(key, WarningRule.JOINT_MOVE, Severity.CRITICAL,
                      "BTC −4 % liquidates the account",
                      acc.id, ("BTC/USDT:USDT",), 1_800_000_000_000, 1_800_000_010_000)
    )  # fmt: skip
    db.close()
    return acc.id


def test_export_writes_both_files(tmp_path, capsys):
    account_id = fill(tmp_path)
    w, s = tmp_path / "w.csv", tmp_path / "s.csv"
    args = ["export", "--data-dir", str(tmp_path), "--warnings", str(w), "--snapshots", str(s)]
    assert main(args) == 0
    out = capsys.readouterr().out
    summary = [line.split() for line in out.splitlines()]
    assert ["warnings", "1", str(w)] in summary and ["snapshot", "rows", "3", str(s)] in summary
    warnings = list(csv.DictReader(w.read_text().splitlines()))
    assert warnings[0]["rule"] == "joint_move" and "liquidates" in warnings[0]["message"]
    rows = list(csv.DictReader(s.read_text().splitlines()))
    assert len(rows) == 3 and {r["account_id"] for r in rows} == {str(account_id)}
    assert float(rows[0]["mark"]) == 98_000


def test_export_says_what_is_wrong(tmp_path, capsys):
    fill(tmp_path)
    assert main(["export", "--data-dir", str(tmp_path)]) == 2
    assert "--warnings" in capsys.readouterr().err
    args = ["export", "--data-dir", str(tmp_path), "--snapshots", str(tmp_path / "s.csv")]
    assert main([*args, "--account", "99"]) == 2
    assert "no account with id 99" in capsys.readouterr().err


def one_line_error(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_database_with_damaged_pages_is_one_line_and_start_fresh_works(tmp_path, capsys):
    """Pages overwritten in the middle of a real file: one line naming the file and the way
    out; with --start-fresh the file is set aside (its bytes intact) and the export runs."""
    filled_database(tmp_path / "cascade.db")
    damage_pages(tmp_path / "cascade.db", 0.6)
    damaged = (tmp_path / "cascade.db").read_bytes()
    w = tmp_path / "w.csv"
    args = ["export", "--data-dir", str(tmp_path), "--warnings", str(w)]
    assert main(args) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "cascade.db is damaged" in line and "--start-fresh" in line
    assert not w.exists()
    assert main([*args, "--start-fresh"]) == 0
    assert ["warnings", "0", str(w)] in [ln.split() for ln in capsys.readouterr().out.splitlines()]
    (kept,) = tmp_path.glob("cascade.db.corrupt-*")
    assert kept.read_bytes() == damaged


def test_damage_inside_a_stored_block_is_one_line_and_start_fresh_works(tmp_path, capsys):
    """The pages are sound but a snapshot block's bytes are not: the export finds it when it
    reads the block (one line, not a zlib traceback), and --start-fresh finds it too."""
    filled_database(tmp_path / "cascade.db")
    damage_inside_a_block(tmp_path / "cascade.db")
    s = tmp_path / "s.csv"
    args = ["export", "--data-dir", str(tmp_path), "--snapshots", str(s)]
    assert main(args) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "block of snapshot history cannot be read" in line and "--start-fresh" in line
    assert not s.exists() and not list(tmp_path.glob(".s.csv.*"))
    assert main([*args, "--start-fresh"]) == 0
    assert len(list(tmp_path.glob("cascade.db.corrupt-*"))) == 1
