"""`python main.py check --json` on each exchange's documented examples and recorded bodies,
and the new fields' bad input (settle coin, pool mode, inverse contracts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from main import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def check(tmp_path, capsys, data) -> dict:  # type: ignore[type-arg]
    path = tmp_path / "account.json"
    path.write_text(json.dumps(data))
    assert main(["check", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_bybit_recorded_ltc_position_mm(tmp_path, capsys):
    """The recorded Bybit UTA LTCUSDT position (tests/fixtures/bybit_fetchPositions.json):
    positionMM 0.81072399, reproduced to 1e-6 from its size, entry and leverage."""
    row = json.loads((FIXTURES / "bybit_fetchPositions.json").read_text())["cases"][0]
    row = row["httpResponse"]["result"]["list"][0]
    out = check(tmp_path, capsys, {
        "exchange": "bybit", "wallet_balance": 10,
        "positions": [{"symbol": "LTCUSDT", "side": "long", "contracts": float(row["size"]),
                       "entry_price": float(row["avgPrice"]), "mark_price": float(row["markPrice"]),
                       "leverage": float(row["leverage"]),
                       "tiers": [{"min_notional": 0, "max_notional": 200000,
                                  "maintenance_margin_rate": 0.01}]}]})  # fmt: skip
    assert out["positions"][0]["maintenance_margin"] == pytest.approx(
        float(row["positionMM"]), abs=1e-6
    )
    assert out["account"]["currency"] == "USD" and out["pools"][0]["mode"] == "shared"


@pytest.mark.parametrize(
    "side,entry,leverage,expected",
    [
        ("long", 20_000, 50, 19_700),
        ("short", 20_000, 50, 20_300),
        ("long", 60_000, 20, 57_300),
        ("long", 10_000, 50, 9_850),
        ("short", 8_000, 40, 8_160),
    ],
)
def test_bybit_isolated_examples_to_the_tick(tmp_path, capsys, side, entry, leverage, expected):
    """Bybit "Liquidation Price (USDT Contract)" and the UTA isolated article, shipped rules."""
    out = check(tmp_path, capsys, {
        "exchange": "bybit", "wallet_balance": 0,
        "positions": [{"symbol": "BTCUSDT", "side": side, "contracts": 1, "entry_price": entry,
                       "mark_price": entry, "leverage": leverage, "margin_mode": "isolated",
                       "tiers": [{"min_notional": 0,
                                  "maintenance_margin_rate": 0.005}]}]})  # fmt: skip
    assert round(out["positions"][0]["liquidation_price"], 1) == expected
    assert out["account"]["liquidated"] is False


def test_binance_faq_cross_example_to_the_cent(tmp_path, capsys):
    """Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts", the cross
    example as transcribed in freqtrade tests/exchange/test_binance.py: BTC 26,316.89 and
    ETH 1,153.26."""
    out = check(tmp_path, capsys, {
        "exchange": "binanceusdm", "wallet_balance": 1535443.01,
        "positions": [
            {"symbol": "BTCUSDT", "side": "long", "contracts": 109.488, "entry_price": 32481.98,
             "mark_price": 31967.27, "tiers": [{"min_notional": 0, "maintenance_margin_rate": 0.025,
                                                "maintenance_amount": 16300}]},
            {"symbol": "ETHUSDT", "side": "long", "contracts": 3683.979, "entry_price": 1456.84,
             "mark_price": 1335.18, "tiers": [{"min_notional": 0, "maintenance_margin_rate": 0.10,
                                               "maintenance_amount": 135365}]}]})  # fmt: skip
    lps = [round(p["liquidation_price"], 2) for p in out["positions"]]
    assert lps == [26316.89, 1153.26]


def test_okx_single_currency_pools_die_one_at_a_time(tmp_path, capsys):
    out = check(tmp_path, capsys, {
        "exchange": "okx", "wallet_balance": 10000, "settle": "USDT", "pool_mode": "separate",
        "collateral": [{"coin": "USDC", "balance": 10000}],
        "positions": [
            {"symbol": "BTC-USDT-SWAP", "side": "long", "contracts": 100, "contract_size": 0.01,
             "entry_price": 100000, "mark_price": 100000,
             "tiers": [{"min_notional": 0, "maintenance_margin_rate": 0.004}]},
            {"symbol": "BTC-USDC-SWAP", "side": "short", "settle": "USDC", "contracts": 100,
             "contract_size": 0.01, "entry_price": 100000, "mark_price": 100000,
             "tiers": [{"min_notional": 0, "maintenance_margin_rate": 0.004}]}]})  # fmt: skip
    account = out["account"]
    assert account["joint_move_down_pool"] == "USDT"
    assert account["joint_move_down"] == pytest.approx(90_000 / 0.9955 / 100_000 - 1)
    assert [p["pool"] for p in out["positions"]] == ["USDT", "USDC"]


def test_an_inverse_position_with_built_in_tiers(tmp_path, capsys):
    out = check(tmp_path, capsys, {
        "exchange": "binanceusdm", "wallet_balance": 0,
        "collateral": [{"coin": "BTC", "balance": 0.5}],
        "positions": [{"symbol": "BTCUSD_PERP", "side": "long", "contract_type": "inverse",
                       "contracts": 500, "contract_size": 100, "entry_price": 100000,
                       "mark_price": 100000}]})  # fmt: skip
    pos = out["positions"][0]
    assert pos["settle"] == "BTC" and pos["pool"] == "BTC" and pos["contract_type"] == "inverse"
    assert pos["notional"] == pytest.approx(0.5)
    # 0.5 + 50,000·(1/100,000 − 1/p) = 50,000/p · 0.4 %  ->  p = 50,200 / 1
    assert pos["liquidation_price"] == pytest.approx(50_000 * 1.004 / 1.0)
    assert out["pools"][0]["currency"] == "BTC"


def test_an_empty_account_is_not_liquidated(tmp_path, capsys):
    out = check(tmp_path, capsys, {"exchange": "okx", "wallet_balance": 0, "positions": []})
    assert out["account"]["liquidated"] is False


@pytest.mark.parametrize(
    "data,expected",
    [
        (
            {
                "exchange": "binanceusdm",
                "wallet_balance": 1,
                "positions": [
                    {
                        "symbol": "BTCUSD_PERP",
                        "side": "long",
                        "contract_type": "inverse",
                        "contracts": 1,
                        "entry_price": 1,
                        "mark_price": 1,
                    }
                ],
            },
            "positions[0].contract_size: an inverse contract needs its contract size",
        ),
        (
            {"exchange": "hyperliquid", "wallet_balance": 1, "settle": "USDT", "positions": []},
            "settle: hyperliquid has no USDT-settled contracts",
        ),
        (
            {
                "exchange": "okx",
                "wallet_balance": 1,
                "positions": [
                    {
                        "symbol": "BTC-EUR-SWAP",
                        "side": "long",
                        "settle": "EUR",
                        "contracts": 1,
                        "entry_price": 1,
                        "mark_price": 1,
                    }
                ],
            },
            "positions[0].settle: okx has no EUR-settled contracts",
        ),
        (
            {"exchange": "bybit", "wallet_balance": 1, "pool_mode": "separate", "positions": []},
            "pool_mode: bybit does not offer 'separate' margin pools",
        ),
        (
            {"exchange": "okx", "wallet_balance": 1, "pool_mode": "portfolio", "positions": []},
            "pool_mode: pool mode must be 'separate' or 'shared'",
        ),
        (
            {
                "exchange": "hyperliquid",
                "wallet_balance": 1,
                "positions": [
                    {
                        "symbol": "BTC",
                        "side": "long",
                        "contract_type": "inverse",
                        "contracts": 1,
                        "contract_size": 1,
                        "entry_price": 1,
                        "mark_price": 1,
                    }
                ],
            },
            "positions[0].contract_type: hyperliquid has no inverse",
        ),
        (
            {
                "exchange": "okx",
                "wallet_balance": 1,
                "positions": [
                    {
                        "symbol": "BTC-USD-SWAP",
                        "side": "long",
                        "contract_type": "inverse",
                        "settle": "USDT",
                        "contracts": 1,
                        "contract_size": 100,
                        "entry_price": 1,
                        "mark_price": 1,
                    }
                ],
            },
            "positions[0].settle: an inverse contract settles in its base coin BTC",
        ),
        (
            {
                "exchange": "okx",
                "wallet_balance": 1,
                "collateral": [{"coin": "BTC"}],
                "positions": [],
            },
            "collateral[0].balance: is missing",
        ),
    ],
)
def test_bad_new_fields_get_one_line(tmp_path, capsys, data, expected):
    path = tmp_path / "account.json"
    path.write_text(json.dumps(data))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
