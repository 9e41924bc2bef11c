"""``python main.py localexchange --json``: one JSON object with ccxt's credential names, which
real ccxt (REST) and ccxt.pro (WebSocket) clients use as they are, by swapping the venue's host
for the printed URL; Ctrl-C stops it cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from typing import Any

import ccxt
import ccxt.pro
import pytest

from connectors.venues import point_at
from tests.paths import REPO_ROOT

OPTIONS: dict[str, dict[str, Any]] = {
    "binanceusdm": {"options": {"fetchCurrencies": False}},
    "bybit": {
        "has": {"fetchCurrencies": False},
        "options": {"fetchMarkets": {"types": ["linear"]}, "enableUnifiedAccount": True},
    },
    "okx": {"options": {"fetchMarkets": {"types": ["swap"]}}},
    "hyperliquid": {"options": {"fetchMarkets": {"types": ["swap"]}}},
}
SYMBOL = {"hyperliquid": "BTC/USDC:USDC"}


def read_json_object(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    text = ""
    while True:
        line = proc.stdout.readline()
        assert line, "the command ended before printing its JSON"
        text += line
        try:
            return dict(json.loads(text))
        except ValueError:
            continue


@pytest.mark.slow
def test_json_endpoints_work_for_ccxt_and_ccxt_pro() -> None:
    proc = subprocess.Popen(
        [sys.executable, "main.py", "localexchange", "--json", "--speed", "60"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        data = read_json_object(proc)
        assert set(data) == {"exchanges"}
        venues = data["exchanges"]
        assert set(venues) == {"binanceusdm", "bybit", "okx", "hyperliquid"}
        assert set(venues["okx"]) == {"rest", "ws", "apiKey", "secret", "password"}
        assert set(venues["binanceusdm"]) == {"rest", "ws", "apiKey", "secret"}
        assert set(venues["hyperliquid"]) == {"rest", "ws", "walletAddress"}

        for name, entry in venues.items():
            creds = {k: v for k, v in entry.items() if k not in ("rest", "ws")}
            rest = getattr(ccxt, name)({**creds, **OPTIONS[name]})
            rest.urls["api"] = point_at(rest.urls["api"], entry["rest"])
            balance = rest.fetch_balance()
            assert balance["total"], name

            async def stream(name: str = name, entry: dict[str, str] = entry) -> float:
                creds = {k: v for k, v in entry.items() if k not in ("rest", "ws")}
                client = getattr(ccxt.pro, name)({**creds, **OPTIONS[name]})
                api = dict(client.urls["api"])
                ws = api.pop("ws")
                client.urls["api"] = {
                    **point_at(api, entry["rest"]),
                    "ws": point_at(ws, entry["ws"]),
                }
                try:
                    ticker = await asyncio.wait_for(
                        client.watch_ticker(SYMBOL.get(name, "BTC/USDT:USDT")), 10
                    )
                    positions = await asyncio.wait_for(client.watch_positions(), 10)
                    assert positions, name
                    return float(ticker["last"] or ticker["close"] or 0)
                finally:
                    await client.close()

            assert asyncio.run(stream()) > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
