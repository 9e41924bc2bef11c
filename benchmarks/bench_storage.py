"""Storage benchmarks: write rate, a month of the real watch loop (the database file's size,
table by table), reading a week for the chart from what that month wrote.

Run: python benchmarks/bench_storage.py [--keep DIR] [--days 30] [--full-days 2]
     python benchmarks/bench_storage.py --validate 5     (checks the month's scaling)
Prints figures; asserts nothing. Targets (issues 4 and 13): 20,000 position rows/s written in
batches; under 200 MB after 30 days of 5 accounts × 20 positions polled every 2 s, with
warnings and market data, through the monitor's own save and prune; under 50 ms to read a
week of one account.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.credentials import Credentials
from connectors.types import Capability, ConnectorError, ErrorKind, KeyPermissions
from monitor.events import NullCallbacks, WarningEvent
from monitor.ports import OpenInterestHistory
from monitor.service import (
    MARKET_INTERVAL_S,
    PRUNE_FIRST_S,
    PRUNE_INTERVAL_S,
    WatchService,
)
from monitor.state import AccountConfig
from resources import default_tiers
from risk.types import Account, Candles, Figure, MarketStats, OrderBook, Position, Side, Source
from storage.database import Database
from storage.records import AccountRecord
from storage.retention import DAY_MS, HOUR_MS, MINUTE_MS
from storage.sample import BASE_PRICES, ReportWalk

ACCOUNTS = 5
POSITIONS = 20
SYMBOLS = POSITIONS
POLL_MS = 2000
STEP_2S = 2e-4
NOW_MS = 1_767_225_600_000  # 2026-01-01 00:00 UTC, aligned on a day


class Clock:
    """The simulation's clock: seconds since the epoch, set by the loop."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def set(self, t: float) -> None:
        self.t = t


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def bench_writes(folder: Path) -> None:
    db = Database.open(folder / "writes.db")
    ids = [db.accounts.add(AccountRecord("bybit", f"a{i}")).id or 0 for i in range(ACCOUNTS)]
    walks = [ReportWalk(POSITIONS, seed=i) for i in range(ACCOUNTS)]
    reports = [[w.next() for _ in range(1000)] for w in walks]
    batch = 50
    t = NOW_MS
    started = time.perf_counter()
    rows = 0
    for k in range(0, 1000, batch):
        items = []
        for j in range(k, k + batch):
            t += POLL_MS
            items += [(ids[a], reports[a][j], t) for a in range(ACCOUNTS)]
        db.snapshots.save_many(items)
        rows += len(items) * POSITIONS
    elapsed = time.perf_counter() - started
    print(f"writes, batches of {batch * ACCOUNTS} snapshots ({batch * ACCOUNTS * POSITIONS} rows):")
    print(f"  {rows / elapsed:,.0f} position rows/s ({rows:,} rows in {elapsed:.2f} s)")
    started = time.perf_counter()
    n = 500
    for j in range(n):
        t += POLL_MS
        db.snapshots.save(ids[j % ACCOUNTS], reports[j % ACCOUNTS][j], t)
    elapsed = time.perf_counter() - started
    print(
        f"  one poll per transaction: {n / elapsed:,.0f} snapshots/s = "
        f"{n * POSITIONS / elapsed:,.0f} position rows/s"
    )
    db.close()


class SimulatedMarket:
    """The prices a month of the watch sees: a random walk per symbol on a one-minute grid
    (3 % daily volatility), from 50 days before the start (the candle history the monitor
    fetches) to the end. Marks between two grid minutes are interpolated."""

    def __init__(self, start_ms: int, days: float, seed: int = 7) -> None:
        self.first_ms = start_ms - 50 * DAY_MS
        n = int((start_ms + (days + 1) * DAY_MS - self.first_ms) // MINUTE_MS) // 1440 * 1440
        rng = np.random.default_rng(seed)
        base = np.array([BASE_PRICES[i % len(BASE_PRICES)] for i in range(SYMBOLS)])
        steps = rng.normal(0.0, 0.03 / np.sqrt(1440), (SYMBOLS, n))
        self.minutes = base[:, None] * np.exp(np.cumsum(steps, axis=1))
        self.symbols = tuple(f"S{i}/USDT:USDT" for i in range(SYMBOLS))
        self.index = {s: i for i, s in enumerate(self.symbols)}
        hours = self.minutes.reshape(SYMBOLS, -1, 60)
        self.hourly = (hours[:, :, 0], hours.max(axis=2), hours.min(axis=2), hours[:, :, -1])

    def mark(self, i: int, now_ms: int) -> float:
        x = (now_ms - self.first_ms) / MINUTE_MS
        k = int(x)
        a, b = self.minutes[i, k], self.minutes[i, k + 1]
        return float(a + (b - a) * (x - k))

    def candles(self, symbol: str, timeframe: str, now_ms: int, limit: int) -> Candles:
        """Bars up to now (the last one still open), as a venue serves them."""
        i = self.index[symbol]
        per = {"1h": 1, "4h": 4, "1d": 24}[timeframe]
        now_h = (now_ms - self.first_ms) // HOUR_MS
        first = max(0, (now_h // per - limit + 1) * per)
        last = now_h // per * per + per
        o, h, lo, c = (a[i, first:last].reshape(-1, per) for a in self.hourly)
        opens, highs, lows, closes = o[:, 0], h.max(axis=1), lo.min(axis=1), c[:, -1].copy()
        mark = self.mark(i, now_ms)
        closes[-1] = mark
        ts = self.first_ms + np.arange(first, last, per, dtype=np.int64) * HOUR_MS
        volume = np.full(ts.shape, 1e6 / BASE_PRICES[i % len(BASE_PRICES)])
        return Candles(symbol, timeframe, ts, opens, np.maximum(highs, mark),
                       np.minimum(lows, mark), closes, volume)  # fmt: skip


class SimulatedVenue:
    """One account on the simulated market, as a connector serves it (monitor.ports.Connector):
    20 cross positions of 20,000 USD each (all long on even accounts, mixed on odd ones), the
    wallet 6 % to 16 % of the notional, so that the joint-move and distance warnings fire,
    escalate and resolve as prices walk. No optional reads, no order book, no funding."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, market: SimulatedMarket, clock: Callable[[], float], n: int) -> None:
        self.market, self.clock = market, clock
        self.tiers = default_tiers("binanceusdm", "BTC")
        self.entries = [market.mark(i, market.first_ms + 50 * DAY_MS) for i in range(SYMBOLS)]
        self.sides = [Side.LONG if n % 2 == 0 or i % 3 else Side.SHORT for i in range(SYMBOLS)]
        self.wallet = 20_000 * SYMBOLS * (0.06 + 0.025 * n)

    def fetch_account(self) -> Account:
        now = int(self.clock() * 1000)
        positions = tuple(
            Position(
                s,
                self.sides[i],
                20_000 / self.entries[i],
                self.entries[i],
                self.market.mark(i, now),
                self.tiers,
            )
            for i, s in enumerate(self.market.symbols)
        )
        return Account("binanceusdm", self.wallet, positions)

    def fetch_candles(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 500
    ) -> Candles:
        return self.market.candles(symbol, timeframe, int(self.clock() * 1000), limit)

    def fetch_market(self, symbol: str) -> MarketStats:
        """The mark only: no funding rate or open interest, so the crowding rule (which
        writes nothing) stays idle instead of taking z-scores of a month of samples per poll."""
        now = int(self.clock() * 1000)
        mark = self.market.mark(self.market.index[symbol], now)
        return MarketStats(symbol, mark_price=Figure(mark, Source.EXCHANGE, now))

    def fetch_order_book(self, symbol: str, depth: int = 100) -> OrderBook:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "no book")

    def key_permissions(self) -> KeyPermissions:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def fetch_open_interest_history(
        self, symbol: str, timeframe: str = "1h", limit: int = 500
    ) -> OpenInterestHistory:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def fetch_funding_history(self, symbol: str, limit: int = 100) -> tuple[float, ...]:
        raise ConnectorError(ErrorKind.NOT_SUPPORTED, "not offered")

    def close(self) -> None:
        return None


class Counter(NullCallbacks):
    def __init__(self) -> None:
        self.changes: dict[str, int] = {}

    def on_warning(self, e: WarningEvent) -> None:
        self.changes[e.change.value] = self.changes.get(e.change.value, 0) + 1


def table_sizes(db: Database) -> dict[str, int]:
    """Bytes of pages per table (its indexes included), from SQLite's dbstat."""
    rows = db.sqlite.execute(
        """SELECT coalesce(m.tbl_name, d.name), sum(d.pgsize) FROM dbstat d
           LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1 ORDER BY 2 DESC"""
    ).fetchall()
    return {str(name): int(size) for name, size in rows}


def simulate(path: Path, days: float, full_days: float, accounts: int) -> Database:
    """Run the watch loop's own jobs (monitor.jobs through monitor.service.WatchService) on
    a fake clock for ``days``: every account polled (read, report, snapshot saved, warnings
    evaluated and stored), the market refreshed (candles stored on each new bar, levels, map
    and cascade recomputed), storage pruned, each at the service's cadence; returns the
    database, open."""
    db = Database.open(path)
    for n in range(accounts):
        db.accounts.add(AccountRecord("binanceusdm", f"account {n}"))
    start_ms = NOW_MS - int(days * DAY_MS)
    clock = Clock(start_ms / 1000)
    market = SimulatedMarket(start_ms, days)
    callbacks = Counter()
    venues: dict[int, SimulatedVenue] = {}

    def venue(config: AccountConfig, credentials: Credentials, _: Callable[[], float]) -> Any:
        n = int(config.account_id) - 1
        return venues.setdefault(n, SimulatedVenue(market, clock, n))

    service = WatchService(
        db, None, callbacks, clock=clock, connector_factory=venue, poll_interval_s=POLL_MS / 1000
    )
    full_from = NOW_MS - int(full_days * DAY_MS)
    next_market = start_ms + int(MARKET_INTERVAL_S * 1000)
    next_prune = start_ms + int(PRUNE_FIRST_S * 1000)
    t = start_ms
    polls = peak = day = 0
    started = time.perf_counter()
    while t < NOW_MS:
        clock.set(t / 1000)
        service.tick()
        polls += accounts
        if t >= next_market:
            service.jobs.refresh_markets()
            next_market += int(MARKET_INTERVAL_S * 1000)
        if t >= next_prune:
            service.jobs.prune()
            next_prune += int(PRUNE_INTERVAL_S * 1000)
            peak = max(peak, db.file_size())
        if (t - start_ms) // DAY_MS > day:
            day = (t - start_ms) // DAY_MS
            print(f"    day {day:>2}: {mb(db.file_size())}, {polls:,} polls, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        if t + POLL_MS >= full_from:
            t += POLL_MS
        else:  # the minute's last poll: the one retention keeps
            t = (t // MINUTE_MS + 1) * MINUTE_MS + MINUTE_MS - POLL_MS
    elapsed = time.perf_counter() - started
    db.checkpoint()
    size = db.file_size()
    print(f"  simulated {days:g} days in {elapsed:.0f} s: {polls:,} account polls, warnings "
          f"{callbacks.changes}")  # fmt: skip
    print(f"  database file {mb(size)} (largest seen after a prune: {mb(max(peak, size))})")
    for name, n in table_sizes(db).items():
        rows = db.sqlite.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0]
        print(f"    {name:<22} {mb(n):>9}  {rows:>9,} rows")
    return db


def bench_month(folder: Path, days: float, full_days: float, accounts: int) -> Database:
    print(
        f"\nthe real watch loop for {days:g} days: {accounts} accounts × {SYMBOLS} positions "
        f"polled every {POLL_MS // 1000} s.\n"
        f"  Method: a fake clock drives the monitor's own jobs (WatchService.tick: read, report,\n"
        f"  save the snapshot, evaluate and store the warnings; jobs.refresh_markets every\n"
        f"  {MARKET_INTERVAL_S:g} s: candles stored on each new bar, levels, map and cascade\n"
        f"  recomputed on it; jobs.prune {PRUNE_FIRST_S:g} s after start, then every "
        f"{PRUNE_INTERVAL_S:g} s)\n"
        f"  against a simulated venue (20 symbols, a random walk, shared by the accounts).\n"
        f"  Scaled honestly: the last {full_days:g} days are polled every 2 s; before them each\n"
        f"  account is polled once a minute, at the minute's last 2-second slot, which is the\n"
        f"  one snapshot per minute retention keeps of those days (the 29 others it would drop\n"
        f"  after 48 h are not computed). The per-minute recompute job is not run: it writes\n"
        f"  nothing (levels are not stored since schema v5) and the recompute on each new bar is."
    )
    return simulate(folder / "month.db", days, full_days, accounts)


def bench_reads(db: Database) -> None:
    """Chart reads on the month the loop wrote."""
    ids = [a.id or 0 for a in db.accounts.all()]
    print("\nreading a week of one account for the chart (from that database):")
    for res, what in ((MINUTE_MS, "at chart resolution (resolution_ms=60_000)"), (0, "in full")):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            series = db.snapshots.query(ids[0], NOW_MS - 7 * DAY_MS, NOW_MS, resolution_ms=res)
            times.append(time.perf_counter() - started)
        print(
            f"  {what}: {len(series):,} snapshots × {len(series.positions)} positions: median "
            f"{statistics.median(times) * 1000:.1f} ms, first {times[0] * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms"
        )
    result_box: list[float] = []

    def read_in_thread() -> None:
        started = time.perf_counter()
        db.snapshots.query(ids[1], NOW_MS - 7 * DAY_MS, NOW_MS, resolution_ms=MINUTE_MS)
        result_box.append(time.perf_counter() - started)

    thread = threading.Thread(target=read_in_thread)
    thread.start()
    thread.join()
    print(
        f"  at chart resolution from a fresh thread (new reader connection): "
        f"{result_box[0] * 1000:.1f} ms"
    )
    started = time.perf_counter()
    series = db.snapshots.query(ids[0], NOW_MS - 30 * DAY_MS, NOW_MS, resolution_ms=HOUR_MS)
    print(
        f"  30 days at one per hour ({len(series):,} snapshots): "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )


def run(folder: Path, args: argparse.Namespace) -> None:
    if args.validate:
        validate(folder, args.validate)
        return
    bench_writes(folder)
    db = bench_month(folder, args.days, args.full_days, args.accounts)
    try:
        bench_reads(db)
    finally:
        db.close()


def validate(folder: Path, days: float) -> None:
    """The scaling's check: one account for ``days``, polled every 2 s throughout, against
    the same with only the last 2 days at 2 s (the month's method); the files should match."""
    print(f"\nvalidating the method: 1 account, {days:g} days, polled every 2 s throughout:")
    full = simulate(folder / "full.db", days, days, 1)
    full_size = full.file_size()
    full.close()
    print("  against the last 2 days at 2 s, the minutes before at their last slot:")
    scaled = simulate(folder / "scaled.db", days, 2, 1)
    scaled_size = scaled.file_size()
    scaled.close()
    print(f"  full {mb(full_size)}, scaled {mb(scaled_size)}: "
          f"{(scaled_size / full_size - 1) * 100:+.1f} %")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", help="write the databases here and keep them")
    parser.add_argument("--days", type=float, default=30.0, help="days of watch to simulate")
    parser.add_argument(
        "--full-days", type=float, default=2.0, help="the last days polled every 2 s"
    )
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    parser.add_argument(
        "--validate", type=float, metavar="DAYS", help="check the scaling on one account instead"
    )
    args = parser.parse_args()
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        run(folder, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp), args)


if __name__ == "__main__":
    main()
