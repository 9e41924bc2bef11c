"""Properties of the exact solver on inverse contracts, separate pools and tier tables that
jump, checked with hypothesis against direct evaluation of the rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from risk.liquidation import AccountModel, joint_move, liquidation_price
from risk.rules import RULE_SETS
from risk.types import (
    Account,
    ContractType,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
    cumulative_amounts,
)

RATES = [0.004, 0.005, 0.01, 0.025, 0.05, 0.1]
COIN_BOUNDS = [0, 5, 20, 50, 200, 1000]


@st.composite
def coin_tiers(draw):
    n = draw(st.integers(1, len(RATES)))
    rows = [
        (COIN_BOUNDS[i], COIN_BOUNDS[i + 1] if i + 1 < n else math.inf, RATES[i]) for i in range(n)
    ]
    return cumulative_amounts(rows)


@st.composite
def inverse_accounts(draw):
    """A coin-margined account: BTC contracts (USD size), margined in BTC, on an exchange that
    offers them, cross or isolated."""
    exchange = draw(st.sampled_from(["binanceusdm", "bybit", "okx"]))
    mark = draw(st.floats(5_000, 200_000))
    positions = []
    for i in range(draw(st.integers(1, 3))):
        entry = mark * draw(st.floats(0.7, 1.3))
        usd = draw(st.floats(100, 5_000_000))
        mode = draw(st.sampled_from([MarginMode.CROSS, MarginMode.CROSS, MarginMode.ISOLATED]))
        positions.append(
            Position(
                "BTCUSD" if i == 0 else f"BTCUSD_Q{i}",
                draw(st.sampled_from(Side)),
                usd / 100,
                entry,
                mark * draw(st.floats(0.98, 1.02)),
                draw(coin_tiers()),
                contract_size=100,
                margin_mode=mode,
                leverage=draw(st.floats(1.5, 50)),
                contract_type=ContractType.INVERSE,
            )
        )
    coins = sum(p.size / mark for p in positions)
    wallet = coins * draw(st.floats(0.02, 1.5))
    from risk.types import Collateral

    return Account(exchange, 0.0, tuple(positions), collateral=(Collateral("BTC", wallet),))


def coin_surplus(account, rules, moved, factor):
    """Equity − maintenance of the BTC pool in BTC, every BTC contract at mark × factor."""
    equity = account.balance_of("BTC")
    mm = 0.0
    for p in account.positions:
        if p.margin_mode is MarginMode.CROSS:
            px = p.mark_price * factor
            equity += p.unrealized_pnl(px)
            mm += rules.maintenance(p, px)
    return equity, mm


@settings(max_examples=300, deadline=None)
@given(inverse_accounts())
def test_inverse_equity_equals_maintenance_at_the_liquidation_price(account):
    rules = RULE_SETS[account.exchange]
    model = AccountModel(account, rules)
    for pos in account.positions:
        if pos.margin_mode is MarginMode.CROSS:
            eq0, mm0 = coin_surplus(account, rules, pos, 1.0)
            assume(eq0 > mm0)
        lp = liquidation_price(account, rules, pos, model)
        if lp is None:
            continue
        assert lp > 0
        factor = lp / pos.mark_price
        if pos.margin_mode is MarginMode.CROSS:
            equity, mm = coin_surplus(account, rules, pos, factor)
        else:
            equity = rules.isolated_collateral(pos) + pos.unrealized_pnl(lp)
            mm = rules.maintenance(pos, lp)
            if rules.at_entry(pos) is False and equity <= mm and lp == pos.mark_price:
                continue  # already past it
        scale = max(1e-9, sum(p.size / p.mark_price for p in account.positions))
        assert equity == pytest.approx(mm, abs=1e-9 * scale)


@settings(max_examples=200, deadline=None)
@given(inverse_accounts())
def test_an_inverse_long_always_has_a_liquidation_price_below_its_mark(account):
    """A coin-margined long loses coin without bound as the price falls to zero."""
    rules = RULE_SETS[account.exchange]
    for pos in account.positions:
        if pos.margin_mode is MarginMode.ISOLATED and pos.side is Side.LONG:
            lp = liquidation_price(account, rules, pos)
            assert lp is not None and 0 < lp <= pos.mark_price


@st.composite
def two_pool_accounts(draw):
    """An OKX single-currency account: linear BTC and ETH positions settled in USDT or USDC."""
    from risk.types import Collateral

    tiers = cumulative_amounts(
        [(0, 50_000, 0.004), (50_000, 250_000, 0.005), (250_000, math.inf, 0.01)]
    )
    positions = []
    for i in range(draw(st.integers(2, 4))):
        base = draw(st.sampled_from(["BTC", "ETH"]))
        settle = draw(st.sampled_from(["USDT", "USDC"]))
        mark = (100_000 if base == "BTC" else 3_500) * draw(st.floats(0.8, 1.2))
        positions.append(
            Position(
                f"{base}-{settle}-SWAP-{i}",
                draw(st.sampled_from(Side)),
                draw(st.floats(1_000, 300_000)) / mark,
                mark * draw(st.floats(0.8, 1.2)),
                mark,
                tiers,
                settle=settle,
            )
        )
    notional = sum(p.notional() for p in positions)
    wallets = [notional * draw(st.floats(0.02, 0.8)) for _ in range(2)]
    return Account(
        "okx",
        wallets[0],
        tuple(positions),
        settle="USDT",
        pool_mode=PoolMode.SEPARATE,
        collateral=(Collateral("USDC", wallets[1]),),
    )


@settings(max_examples=200, deadline=None)
@given(two_pool_accounts(), st.floats(0.5, 2.0))
def test_the_joint_move_is_the_first_pool_to_die(account, beta):
    """Separate pools are solved alone; the account's joint move in each direction is the
    nearest of the pools' own joint moves, and names that pool."""
    rules = RULE_SETS["okx"]
    leader = (
        next(p.symbol for p in account.positions if p.base == "BTC")
        if any(p.base == "BTC" for p in account.positions)
        else account.positions[0].symbol
    )
    betas = {p.symbol: beta for p in account.positions if p.base == "ETH"}
    jm = joint_move(account, rules, leader, betas)
    own = {}
    for coin in ("USDT", "USDC"):
        held = tuple(p for p in account.positions if p.settle == coin)
        if not held:
            continue
        alone = Account("okx", account.balance_of(coin), held, settle=coin)
        own[coin] = joint_move(alone, rules, leader, betas)
    downs = {c: m.down for c, m in own.items() if m.down is not None}
    ups = {c: m.up for c, m in own.items() if m.up is not None}
    if downs:
        first = max(downs, key=lambda c: downs[c])
        assert jm.down == pytest.approx(downs[first], abs=1e-12)
        assert jm.down_pool == first or downs[jm.down_pool] == pytest.approx(downs[first])
    else:
        assert jm.down is None
    if jm.down != 0.0:
        if ups:
            first = min(ups, key=lambda c: ups[c])
            assert jm.up == pytest.approx(ups[first], abs=1e-12)
        else:
            assert jm.up is None


@st.composite
def jumping_tiers(draw):
    """User tables: arbitrary rates and amounts, so the maintenance may jump at a bound."""
    n = draw(st.integers(2, 5))
    bounds = sorted(
        draw(st.lists(st.floats(1_000, 2_000_000), min_size=n - 1, max_size=n - 1, unique=True))
    )
    edges = [0.0, *bounds, math.inf]
    return tuple(
        MarginTier(
            edges[i],
            edges[i + 1],
            draw(st.floats(0.001, 0.5)),
            draw(st.floats(0, 5_000)) if i else 0.0,
        )
        for i in range(n)
    )


@settings(max_examples=300, deadline=None)
@given(
    st.floats(1_000, 100_000),
    st.floats(0.01, 20),
    st.sampled_from(Side),
    jumping_tiers(),
    st.floats(0.01, 1.0),
)
def test_the_liquidation_price_is_the_first_price_where_the_surplus_fails(
    mark, size, side, tiers, wallet_share
):
    """Whatever the table, no price between the mark and the computed liquidation price leaves
    the account at or under its maintenance, and the computed price does (or is the limit of
    prices that do, at a jump). Checked on a dense grid in both directions."""
    rules = RULE_SETS["binanceusdm"]
    pos = Position("BTCUSDT", side, size, mark, mark, tiers)
    account = Account("binanceusdm", size * mark * wallet_share, (pos,))

    def surplus(p: float) -> float:
        return account.wallet_balance + pos.unrealized_pnl(p) - rules.maintenance(pos, p)

    assume(surplus(mark) > 0)
    lp = liquidation_price(account, rules, pos)
    grid_down = np.linspace(mark, mark * 1e-3, 4_001)[1:]
    grid_up = np.linspace(mark, mark * 50, 4_001)[1:]
    first_down = next((p for p in grid_down if surplus(p) <= 0), None)
    first_up = next((p for p in grid_up if surplus(p) <= 0), None)
    candidates = [p for p in (first_down, first_up) if p is not None]
    if lp is None:
        assert not candidates
        return
    # nothing strictly between the mark and lp fails
    between = np.linspace(mark, lp, 2_001)[1:-1]
    assert all(surplus(p) > -1e-9 * size * mark for p in between)
    # the surplus fails at lp (zero there, or just past it where the maintenance jumps)
    beyond = lp * (1 + (1e-9 if lp > mark else -1e-9))
    assert abs(surplus(lp)) <= 1e-7 * size * mark or surplus(beyond) <= 0
    # and neither side of the grid fails nearer to the mark (a long can die in a rise)
    for first, step in (
        (first_down, grid_down[0] - grid_down[1]),
        (first_up, grid_up[1] - grid_up[0]),
    ):
        if first is not None:
            assert abs(first - mark) >= abs(lp - mark) - step


@st.composite
def mixed_accounts(draw):
    """Linear positions with arbitrary (jumping) tables and inverse ones with coin tables, on
    a few underlyings, hedge legs included."""
    from risk.types import Collateral

    positions = []
    for i in range(draw(st.integers(1, 6))):
        base = draw(st.sampled_from(["A", "B", "C"]))
        mark = {"A": 100_000.0, "B": 3_000.0, "C": 50.0}[base] * draw(st.floats(0.8, 1.2))
        side = draw(st.sampled_from(Side))
        if draw(st.booleans()):
            positions.append(
                Position(
                    f"{base}USD-{i}",
                    side,
                    draw(st.floats(100, 2_000_000)) / 100,
                    mark,
                    mark * draw(st.floats(0.9, 1.1)),
                    draw(coin_tiers()),
                    contract_size=100,
                    contract_type=ContractType.INVERSE,
                )
            )
        else:
            positions.append(
                Position(
                    f"{base}-{i}",
                    side,
                    draw(st.floats(1_000, 2_000_000)) / mark,
                    mark * draw(st.floats(0.8, 1.2)),
                    mark,
                    draw(jumping_tiers()),
                )
            )
    coins = tuple(Collateral(c, draw(st.floats(0, 20))) for c in ("A", "B", "C"))
    wallet = sum(p.size * p.mark_price for p in positions if not p.inverse) * draw(
        st.floats(0.02, 1.0)
    )
    return Account("binanceusdm", wallet, tuple(positions), collateral=coins)


@settings(max_examples=200, deadline=None)
@given(mixed_accounts(), st.floats(0.5, 2.0))
def test_the_vectorised_solves_equal_the_walk(account, beta):
    """Many movers are solved in NumPy and lone positions in one closed-form pass: both must
    give exactly what the segment-by-segment walk gives."""
    import risk.liquidation as engine

    rules = RULE_SETS[account.exchange]
    betas = {p.symbol: beta for p in account.positions if p.base != "A"}
    results = []
    for threshold in (10**9, 1):
        old = engine.VECTOR_MOVERS
        engine.VECTOR_MOVERS = threshold
        try:
            model = AccountModel(account, rules)
            lps = [model.liquidation_price(p) for p in account.positions]
            jm = model.joint_move(account.positions[0].symbol, betas)
        finally:
            engine.VECTOR_MOVERS = old
        results.append((lps, jm.down, jm.up))
    (walk_lps, walk_down, walk_up), (vec_lps, vec_down, vec_up) = results
    for a, b in [*zip(walk_lps, vec_lps, strict=True), (walk_down, vec_down), (walk_up, vec_up)]:
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12)


@st.composite
def shared_pool_accounts(draw):
    """A shared pool (Bybit's Unified Trading Account, Binance multi-assets, OKX
    multi-currency): USDT and USDC perpetuals and inverse contracts on a few underlyings,
    hedge legs, and coins posted as collateral valued slice by slice (a haircut per slice, a
    liability ratio when negative) or at par."""
    from risk.types import Collateral, CollateralTier

    exchange = draw(st.sampled_from(["bybit", "binanceusdm", "okx"]))
    marks = {"A": 100_000.0, "B": 3_000.0, "C": 50.0}
    marks = {u: m * draw(st.floats(0.8, 1.2)) for u, m in marks.items()}
    positions = []
    for i in range(draw(st.integers(1, 16))):
        base = draw(st.sampled_from(["A", "B", "C"]))
        mark = marks[base]
        sides = (
            [Side.LONG, Side.SHORT]
            if draw(st.integers(0, 4)) == 0
            else [draw(st.sampled_from(Side))]
        )
        inverse = draw(st.booleans()) and draw(st.booleans())
        for side in sides:
            if inverse:
                positions.append(
                    Position(
                        f"{base}USD-{i}",
                        side,
                        draw(st.floats(100, 2_000_000)) / 100,
                        mark * draw(st.floats(0.8, 1.2)),
                        mark,
                        draw(coin_tiers()),
                        contract_size=100,
                        leverage=draw(st.floats(1.5, 50)),
                        contract_type=ContractType.INVERSE,
                    )
                )
            else:
                positions.append(
                    Position(
                        f"{base}-{i}",
                        side,
                        draw(st.floats(1_000, 2_000_000)) / mark,
                        mark * draw(st.floats(0.8, 1.2)),
                        mark,
                        draw(st.one_of(jumping_tiers(), coin_tiers())),
                        leverage=draw(st.floats(1.5, 50)),
                        settle=draw(st.sampled_from(["", "USDC"])),
                    )
                )
    coins = []
    for coin in ("A", "B", "C"):
        if draw(st.booleans()):
            tiers = ()
            if draw(st.booleans()):
                tiers = (
                    CollateralTier(draw(st.floats(0.5, 50)), draw(st.floats(0.8, 1.0))),
                    CollateralTier(math.inf, draw(st.floats(0.3, 0.8))),
                )
            coins.append(
                Collateral(
                    coin,
                    draw(st.floats(-5, 20)),
                    marks[coin],
                    tiers,
                    draw(st.sampled_from([1.0, 1.05])),
                )
            )
    if draw(st.booleans()):
        coins.append(Collateral("USDC", draw(st.floats(0, 50_000))))
    wallet = sum(p.size * p.mark_price for p in positions if not p.inverse) * draw(
        st.floats(0.02, 1.0)
    )
    return Account(
        exchange, wallet, tuple(positions), pool_mode=PoolMode.SHARED, collateral=tuple(coins)
    )


@settings(max_examples=200, deadline=None)
@given(shared_pool_accounts(), st.floats(0.5, 2.0))
def test_the_vectorised_solves_equal_the_walk_in_a_shared_pool(account, beta):
    """In a shared pool, with coins valued slice by slice, inverse contracts counted at their
    coin's price and hedge legs on one underlying, the solve per underlying (one NumPy pass)
    and the vectorised joint move give what the segment-by-segment walk gives."""
    import risk.liquidation as engine

    rules = RULE_SETS[account.exchange]
    betas = {p.symbol: beta for p in account.positions if p.base != "A"}
    results = []
    for threshold in (10**9, 1):
        old = engine.VECTOR_MOVERS
        engine.VECTOR_MOVERS = threshold
        try:
            model = AccountModel(account, rules)
            lps = [model.liquidation_price(p) for p in account.positions]
            jm = model.joint_move(account.positions[0].symbol, betas)
        finally:
            engine.VECTOR_MOVERS = old
        results.append((lps, jm.down, jm.up))
    (walk_lps, walk_down, walk_up), (vec_lps, vec_down, vec_up) = results
    for a, b in [*zip(walk_lps, vec_lps, strict=True), (walk_down, vec_down), (walk_up, vec_up)]:
        assert (a is None) == (b is None)
        if a is not None:
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.one_of(shared_pool_accounts(), mixed_accounts()))
def test_the_closed_form_per_underlying_equals_the_segment_walk(account):
    """A position's price is solved once per underlying of its pool, in closed form on the
    segments between its positions' kinks (plain Python for few positions, NumPy for many),
    a coin valued slice by slice counted as its value at the marks times the move where only
    its price moves: the segment-by-segment walk along that underlying must agree."""
    import risk.liquidation as engine

    rules = RULE_SETS[account.exchange]
    for threshold in (10**9, 1):
        old = engine.VECTOR_MOVERS
        engine.VECTOR_MOVERS = threshold
        try:
            model = AccountModel(account, rules)
            solved = {
                (id(pool), u): pool.own_factor(u) for pool in model.pools for u in pool.by_under
            }
            engine.VECTOR_MOVERS = 10**9  # the walk, segment by segment
            for pool in model.pools:
                for u in pool.by_under:
                    down = pool.first_root({u: 1.0}, -1)
                    up = None if down == 0.0 else pool.first_root({u: 1.0}, +1)
                    moves = [t for t in (down, up) if t is not None]
                    walk = 1.0 + min(moves, key=abs) if moves else None
                    fast = solved[(id(pool), u)]
                    assert (fast is None) == (walk is None)
                    if walk is not None:
                        assert fast == pytest.approx(walk, rel=1e-9, abs=1e-12)
        finally:
            engine.VECTOR_MOVERS = old
