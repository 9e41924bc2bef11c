"""Risk engine speed: a full report of a 50-position account (what every poll and every step of
the scenario slider computes).

Target (issue 2): a full report under 2 ms.
Prints figures; asserts nothing (these machines are shared and noisy: read the medians).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resources import default_tiers
from risk.report import build_report
from risk.rules import rules_for
from risk.types import Account, Position, Side


def account_of(n: int, seed: int = 7) -> tuple[Account, dict[str, float]]:
    rng = np.random.default_rng(seed)
    tiers = {asset: default_tiers("binanceusdm", asset) for asset in ("BTC", "ETH")}
    positions = []
    betas = {}
    for i in range(n):
        asset = "BTC" if i % 2 == 0 else "ETH"
        mark = (100_000 if asset == "BTC" else 3_500) * rng.uniform(0.5, 1.5)
        size = rng.uniform(5_000, 400_000) / mark
        side = Side.LONG if rng.random() < 0.7 else Side.SHORT
        symbol = f"{asset}{i}/USDT:USDT"
        positions.append(
            Position(symbol, side, size, mark * rng.uniform(0.9, 1.1), mark, tiers[asset])
        )
        betas[symbol] = rng.uniform(0.8, 1.6)
    notional = sum(p.notional() for p in positions)
    return Account("binanceusdm", notional * 0.25, tuple(positions)), betas


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    account, betas = account_of(50)
    rules = rules_for("binanceusdm")
    leader = account.positions[0].symbol
    sigma = {p.symbol: 0.03 for p in account.positions}

    def report() -> None:
        build_report(account, rules=rules, leader=leader, betas=betas, sigma_daily=sigma)

    timed(report, 50)
    times = timed(report, 500)
    med = statistics.median(times) * 1e3
    p95 = sorted(times)[int(0.95 * len(times))] * 1e3
    print(f"full report, 50 positions: median {med:.3f} ms, p95 {p95:.3f} ms  (target < 2 ms)")


if __name__ == "__main__":
    main()
