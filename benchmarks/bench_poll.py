"""Requests and wall time per account poll against the local exchange.

    python benchmarks/bench_poll.py [--polls 50] [--accounts 10]

For each exchange: one connector polled repeatedly after a warm-up poll (markets and tiers
cached), then ``--accounts`` connectors polled concurrently from threads. Prints figures only;
nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.exchange import ExchangeConnector
from connectors.localexchange import LocalExchange
from connectors.venues import VENUES

POSITIONS = [
    {"symbol": "BTC", "side": "long", "size": 0.5, "entry": 100000},
    {"symbol": "ETH", "side": "short", "size": 5, "entry": 3500},
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def bench_one(lx: LocalExchange, exchange: str, polls: int) -> tuple[int, int, list[float]]:
    creds = lx.add_account(exchange, wallet_balance=20000, positions=POSITIONS)
    conn = ExchangeConnector(exchange, creds, api_url=lx.base_url)
    conn.fetch_account()
    first = conn.requests_made
    for _ in range(5):
        conn.fetch_account()
    before = conn.requests_made
    times = []
    for _ in range(polls):
        t0 = time.perf_counter()
        conn.fetch_account()
        times.append(time.perf_counter() - t0)
    per_poll = (conn.requests_made - before) // polls
    conn.close()
    return first, per_poll, times


def bench_many(lx: LocalExchange, exchange: str, accounts: int, rounds: int) -> list[float]:
    conns = [
        ExchangeConnector(
            exchange,
            lx.add_account(exchange, wallet_balance=20000, positions=POSITIONS),
            api_url=lx.base_url,
            label=f"acct{i}",
        )
        for i in range(accounts)
    ]
    with ThreadPoolExecutor(max_workers=accounts) as pool:
        list(pool.map(lambda c: c.fetch_account(), conns))
        walls = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            list(pool.map(lambda c: c.fetch_account(), conns))
            walls.append(time.perf_counter() - t0)
    for c in conns:
        c.close()
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    lx = LocalExchange(scenario="2025-11-04", speed=1.0, port=0).start()
    for thread in threading.enumerate():
        if thread.name == "localexchange-warm":  # candle pre-building competes for the GIL
            thread.join(timeout=60)
    try:
        print(f"local exchange at {lx.base_url}; {args.polls} polls after one warm-up poll\n")
        print(
            f"{'exchange':<12} {'first poll':>10} {'per poll':>8}   {'median':>10} "
            f"{'p95':>10}   {args.accounts} accounts concurrently (median wall)"
        )
        for exchange in VENUES:
            first, per_poll, times = bench_one(lx, exchange, args.polls)
            times.sort()
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            walls = bench_many(lx, exchange, args.accounts, args.rounds)
            print(
                f"{exchange:<12} {first:>10} {per_poll:>8}   {ms(statistics.median(times))} "
                f"{ms(p95)}   {ms(statistics.median(walls))}"
            )
        print("\nrequests: 'first poll' includes loading markets and tiers; 'per poll' is steady")
    finally:
        lx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
