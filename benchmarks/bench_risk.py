"""Risk engine speed: the exact solver beside scipy's brentq on the same functions, a full
report, and growth with positions.

Targets (issue 14): the exact solver faster than brentq on every account shape; a full report
of 50 positions (what every poll and every step of the scenario slider computes) under 0.5 ms;
growth linear in positions. Issue 15: the chance of liquidation (inside the report) and its
remedy add under 1 ms to a 50-position report. Prints figures; asserts nothing (these machines
are shared and noisy: read the medians).

The brentq baseline solves the same questions — each position's liquidation price (its
underlying moving, the rest held) and the joint move both ways — on the same compiled pools
(``PoolModel.value_at``: the project's PnL, maintenance and collateral functions), bracketing
each root between the mark and a zero price (or 20× the mark upwards): it finds a root only
where the bracket changes sign, so it misses a root hidden between two others (a tier jump), and
``misses`` counts where its answer differs from the exact one by more than 1e-6.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import brentq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resources import default_tiers, move_model
from risk.liquidation import AccountModel, PoolModel, underlying_betas
from risk.remedy import cross_remedy
from risk.report import build_report
from risk.rules import RuleSet, rules_for
from risk.types import (
    Account,
    Collateral,
    CollateralTier,
    ContractType,
    MarginTier,
    PoolMode,
    Position,
    Side,
)

Betas = dict[str, float]
Shape = tuple[Account, Betas, str]


def binance_linear(n: int, seed: int = 7) -> Shape:
    """n USDT perpetuals on BTC- and ETH-like underlyings, Binance's 10-bracket tables."""
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
    return Account("binanceusdm", notional * 0.25, tuple(positions)), betas, positions[0].symbol


def bybit_shared(n: int, seed: int = 11) -> Shape:
    """A Bybit Unified Trading Account: USDT and USDC perpetuals and BTC inverse contracts in
    one pool with BTC and ETH collateral at a 95 % value ratio."""
    rng = np.random.default_rng(seed)
    tiers = default_tiers("bybit", "BTC")
    inv_tiers = default_tiers("bybit", "BTC", ContractType.INVERSE)
    positions = []
    betas = {}
    for i in range(n):
        mark = 100_000 * rng.uniform(0.5, 1.5)
        side = Side.LONG if rng.random() < 0.6 else Side.SHORT
        if i % 5 == 4:
            usd = rng.uniform(5_000, 400_000)
            positions.append(
                Position(
                    f"X{i}USD",
                    side,
                    usd,
                    mark * rng.uniform(0.9, 1.1),
                    mark,
                    inv_tiers,
                    leverage=10,
                    contract_type=ContractType.INVERSE,
                )
            )
        else:
            size = rng.uniform(5_000, 400_000) / mark
            settle = "USDC" if i % 3 == 0 else ""
            positions.append(
                Position(
                    f"X{i}/USDT:USDT",
                    side,
                    size,
                    mark * rng.uniform(0.9, 1.1),
                    mark,
                    tiers,
                    leverage=20,
                    settle=settle,
                )
            )
        betas[positions[-1].symbol] = rng.uniform(0.8, 1.6)
    ratio = (CollateralTier(math.inf, 0.95),)
    collateral = (
        *(Collateral(f"X{i}", 0.5, positions[i].mark_price, ratio) for i in range(0, n, 10)),
        Collateral("USDC", 20_000),
    )
    wallet = sum(p.size * p.mark_price for p in positions if not p.inverse) * 0.1
    account = Account(
        "bybit", wallet, tuple(positions), pool_mode=PoolMode.SHARED, collateral=collateral
    )
    return account, betas, positions[0].symbol


def okx_coin_pools(n: int, seed: int = 13) -> Shape:
    """OKX single-currency margin: coin-margined swaps in one pool per coin (size-based
    tiers), beside a USDT pool."""
    rng = np.random.default_rng(seed)
    coins = [f"C{k}" for k in range(max(1, n // 5))]
    inv_tiers = default_tiers("okx", "BTC", ContractType.INVERSE)
    tiers = default_tiers("okx", "BTC")
    positions = []
    betas = {}
    marks = {c: 100_000 * rng.uniform(0.2, 1.5) for c in coins}
    for i in range(n):
        coin = coins[i % len(coins)]
        mark = marks[coin]
        side = Side.LONG if rng.random() < 0.6 else Side.SHORT
        if i % 4 == 3:
            positions.append(
                Position(
                    f"{coin}-USDT-SWAP-{i}",
                    side,
                    rng.uniform(10, 2_000),
                    mark * 0.95,
                    mark,
                    tiers,
                    contract_size=0.01,
                )
            )
        else:
            positions.append(
                Position(
                    f"{coin}-USD-SWAP-{i}",
                    side,
                    rng.uniform(10, 3_000),
                    mark * 1.02,
                    mark,
                    inv_tiers,
                    contract_size=100,
                    contract_type=ContractType.INVERSE,
                )
            )
        betas[positions[-1].symbol] = 1.0
    collateral = tuple(Collateral(c, 3.0, marks[c]) for c in coins)
    account = Account("okx", 200_000, tuple(positions), collateral=collateral)
    return account, betas, positions[0].symbol


def hedged(n: int, seed: int = 17) -> Shape:
    """Binance hedge mode: every symbol a LONG and a SHORT leg on the same mark."""
    rng = np.random.default_rng(seed)
    tiers = default_tiers("binanceusdm", "BTC")
    positions = []
    for i in range(n // 2):
        mark = 100_000 * rng.uniform(0.5, 1.5)
        for side in (Side.LONG, Side.SHORT):
            size = rng.uniform(5_000, 400_000) / mark
            positions.append(
                Position(f"H{i}/USDT:USDT", side, size, mark * rng.uniform(0.9, 1.1), mark, tiers)
            )
    wallet = sum(p.notional() for p in positions) * 0.05
    return Account("binanceusdm", wallet, tuple(positions)), {}, positions[0].symbol


def jumping(n: int, seed: int = 19) -> Shape:
    """User-supplied tables whose maintenance jumps at a bound (no maintenance amount)."""
    rng = np.random.default_rng(seed)
    positions = []
    for i in range(n):
        mark = 100_000 * rng.uniform(0.5, 1.5)
        size = rng.uniform(5_000, 400_000) / mark
        bound = size * mark * rng.uniform(1.02, 1.3)
        tiers = (MarginTier(0, bound, 0.005), MarginTier(bound, math.inf, 0.08))
        side = Side.LONG if rng.random() < 0.7 else Side.SHORT
        positions.append(Position(f"J{i}/USDT:USDT", side, size, mark, mark, tiers))
    wallet = sum(p.notional() for p in positions) * 0.12
    return Account("binanceusdm", wallet, tuple(positions)), {}, positions[0].symbol


SHAPES: dict[str, Callable[[int], Shape]] = {
    "binance linear, 10-bracket tiers": binance_linear,
    "bybit UTA shared pool, USDC + inverse + collateral": bybit_shared,
    "okx coin-margined pools": okx_coin_pools,
    "binance hedge mode": hedged,
    "user tiers that jump": jumping,
}


def exact(account: Account, betas: dict[str, float], leader: str) -> list[float | None]:
    model = AccountModel(account, rules_for(account.exchange))
    out = [model.liquidation_price(p) for p in account.positions]
    jm = model.joint_move(leader, betas)
    return [*out, jm.down, jm.up]


def _brent(f: Callable[[float], float], lo: float, hi: float) -> float | None:
    a, b = f(lo), f(hi)
    if a * b > 0:
        return None
    return float(brentq(f, lo, hi, xtol=1e-12, rtol=1e-12))


def baseline(account: Account, betas: dict[str, float], leader: str) -> list[float | None]:
    """brentq on the same functions: a position's liquidation price on its pool's surplus with
    its underlying moving — the constant part summed once, the moving positions through the
    project's own ``Position.unrealized_pnl`` and ``RuleSet.maintenance`` (a shared pool with
    collateral slices through ``PoolModel.value_at``) —, the joint move on
    ``PoolModel.value_at``; brackets from the mark to ~zero price and to 20× the mark."""
    rules = rules_for(account.exchange)
    model = AccountModel(account, rules)
    out: list[float | None] = []
    for p in account.positions:
        pool = model.pool_of(p)
        u = p.base
        movers = [t for t in pool.positions if t.under == u]
        coin = pool.assets.get(u)
        bal = coin.balance * coin.price if coin is not None and coin.under == u else 0.0

        def own(g: float, movers: list = movers, bal: float = bal) -> float:  # type: ignore[type-arg]
            total = bal * g
            for t in movers:
                q = t.position
                price = q.mark_price * g
                value = q.unrealized_pnl(price) - rules.maintenance(q, price)
                total += t.v * (value * g if q.inverse else value)
            return total

        if pool.plain:
            c = pool.equity0 - pool.maintenance0 - own(1.0)

            def f(t: float, c: float = c, own=own) -> float:  # type: ignore[no-untyped-def]
                return c + own(1.0 + t)
        else:

            def f(t: float, pool: PoolModel = pool, u: str = u) -> float:
                eq, mm = pool.value_at({u: 1.0 + t})
                return eq - mm

        if f(0.0) <= 0:
            out.append(p.mark_price)
            continue
        down = _brent(f, -1.0 + 1e-9, 0.0)
        up = None if down is not None and abs(down) < 1e-12 else _brent(f, 0.0, 19.0)
        ts = [t for t in (down, up) if t is not None]
        out.append(None if not ts else p.mark_price * (1 + min(ts, key=abs)))
    k = underlying_betas(account, leader, betas)
    down_all: float | None = None
    up_all: float | None = None
    for pool in model.pools:
        if not pool.positions:
            continue

        def g(t: float, pool: PoolModel = pool) -> float:
            eq, mm = pool.value_at({u: 1.0 + ku * t for u, ku in k.items()})
            return eq - mm

        lim = 1.0 / max(k.values()) - 1e-9
        d = _brent(g, -lim, 0.0)
        up2 = _brent(g, 0.0, 19.0)
        if d is not None and (down_all is None or d > down_all):
            down_all = d
        if up2 is not None and (up_all is None or up2 < up_all):
            up_all = up2
    return [*out, down_all, up_all]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    timed(fn, max(3, repeat // 10))
    return statistics.median(timed(fn, repeat)) * 1e3


def misses(a: list[float | None], b: list[float | None]) -> int:
    bad = 0
    for x, y in zip(a, b, strict=True):
        if (x is None) != (y is None) or (
            x is not None and y is not None and abs(x - y) > 1e-6 * max(1.0, abs(x))
        ):
            bad += 1
    return bad


def main() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs (a shared machine: compare within a run)")
    print("exact solver vs scipy brentq, same pools and functions, 50 positions")
    print(
        f"  {'account shape':<52} {'exact ms':>9} {'brentq ms':>10} {'speed-up':>9} "
        f"{'brentq misses':>14}"
    )
    for name, make in SHAPES.items():
        account, betas, leader = make(50)
        ours = median_ms(lambda a=account, b=betas, ld=leader: exact(a, b, ld), 60)
        theirs = median_ms(lambda a=account, b=betas, ld=leader: baseline(a, b, ld), 10)
        miss = misses(exact(account, betas, leader), baseline(account, betas, leader))
        print(
            f"  {name:<52} {ours:>9.3f} {theirs:>10.3f} {theirs / ours:>8.1f}x "
            f"{miss:>10} / {len(account.positions) + 2}"
        )

    print("full report (build_report, the shipped rule set), 50 positions  (target < 0.5 ms)")
    print(f"  {'account shape':<52} {'median ms':>9} {'p95 ms':>9}")
    for name, make in SHAPES.items():
        account, betas, leader = make(50)
        rules = rules_for(account.exchange)
        sigma = {p.symbol: 0.03 for p in account.positions}

        def report(
            a: Account = account,
            r: RuleSet = rules,
            ld: str = leader,
            b: Betas = betas,
            s: Betas = sigma,
        ) -> None:
            build_report(a, rules=r, leader=ld, betas=b, sigma_daily=s)

        timed(report, 50)
        times = timed(report, 500)
        med = statistics.median(times) * 1e3
        p95 = sorted(times)[int(0.95 * len(times))] * 1e3
        print(f"  {name:<52} {med:>9.3f} {p95:>9.3f}")

    rules = rules_for("binanceusdm")
    print("growth (full report, binance linear):")
    for n in (10, 50, 200, 800):
        acc, b, ld = binance_linear(n)
        s = {p.symbol: 0.03 for p in acc.positions}
        ms = median_ms(
            lambda a=acc, bb=b, l2=ld, ss=s: build_report(
                a, rules=rules, leader=l2, betas=bb, sigma_daily=ss
            ),
            40 if n < 800 else 10,
        )
        print(f"  {n:>4} positions: {ms:8.3f} ms  = {ms * 1e3 / n:6.1f} µs per position")

    chance_and_remedy(rules)


def chance_and_remedy(rules: RuleSet) -> None:
    """The report with the chance of liquidation against the plain one, plus the remedy solved
    in full (the account is thinned until the warning is on: P(24 h) ≥ 10 %)."""
    account, betas, leader = binance_linear(50)
    model = move_model()
    sigma = {p.symbol: 0.03 for p in account.positions}
    sigma_h = {p.symbol: 0.006 for p in account.positions}
    notional = sum(p.notional() for p in account.positions)
    risky, rep, margin = account, None, 0.0
    for margin in (0.25, 0.15, 0.10, 0.08, 0.06, 0.05, 0.04, 0.03):
        risky = replace(account, wallet_balance=notional * margin)
        rep = build_report(
            risky, rules=rules, leader=leader, betas=betas, sigma_daily=sigma, moves=model,
            sigma_hourly=sigma_h,
        )  # fmt: skip
        if rep.odds is not None and rep.odds.p24 >= 0.10:
            break
    assert rep is not None and rep.odds is not None
    fix = cross_remedy(risky, rules, leader, betas, model, rep.odds, 0.05)
    cut = "" if fix.cut_symbol is None else f" or cut {fix.cut_symbol} by {fix.cut_fraction:.0%}"
    print(
        f"chance of liquidation, risky variant (wallet {margin:.0%} of notional): P(24 h) "
        f"{rep.odds.p24:.1%}; to 5 %: add {fix.collateral:,.0f} USDT{cut}"
    )

    def plain() -> None:
        build_report(risky, rules=rules, leader=leader, betas=betas, sigma_daily=sigma)

    def with_chance_and_remedy() -> None:
        r = build_report(
            risky, rules=rules, leader=leader, betas=betas, sigma_daily=sigma, moves=model,
            sigma_hourly=sigma_h,
        )  # fmt: skip
        assert r.odds is not None
        cross_remedy(risky, rules, leader, betas, model, r.odds, 0.05)

    base = median_ms(plain, 300)
    full = median_ms(with_chance_and_remedy, 300)
    print(
        f"report + P(4 h, 24 h) for the account and 50 positions + remedy: median {full:.3f} ms "
        f"against {base:.3f} ms without: adds {full - base:.3f} ms  (target: adds < 1 ms)"
    )


if __name__ == "__main__":
    main()
