"""Accounts held by the local exchange and their risk, computed by the project's risk engine.

Each account lives on one exchange with a settle coin (USDT, USDC on Hyperliquid) and may hold
other coins (``balances``: a USDC wallet, the BTC of coin-margined contracts), linear positions
settled in USDT or USDC and inverse (coin-margined) ones, in the pool mode its exchange uses by
default (Bybit's Unified Trading Account pools everything; Binance single-asset mode and OKX
single-currency margin keep each coin apart; see ``PoolMode``). Positions are cross-margin.
Equity, maintenance and liquidation prices come from ``risk.report.build_report`` with the
built-in tiers of ``resources.default_tiers``, so the local exchange reports exactly what the
app would compute. When a pool's margin ratio reaches 100 % that pool is liquidated: its
positions are closed at the marks of that moment and the maintenance margin left goes to the
insurance fund as the clearance fee (Binance's rule; the others are close enough for a demo).
"""

from __future__ import annotations

import itertools
import logging
import secrets
import threading
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from connectors.credentials import Credentials
from connectors.localexchange.market import Market
from connectors.localexchange.scenario import MINUTE_MS
from resources import default_tiers, inverse_contract_size
from risk.liquidation import STABLECOINS, AccountModel
from risk.report import AccountReport, build_report
from risk.rules import rules_for
from risk.types import (
    Account,
    Collateral,
    CollateralTier,
    ContractType,
    MarginMode,
    MarginTier,
    PoolMode,
    Position,
    Side,
    base_asset,
    tier_index,
)

log = logging.getLogger(__name__)

EXCHANGES = ("binanceusdm", "bybit", "okx", "hyperliquid")
LEVERAGE = 20
"""The leverage every local position is set to; it sets initial margin, not maintenance."""
CONTRACT_SIZE = {("okx", "BTC"): 0.01, ("okx", "ETH"): 0.1}
"""OKX swaps trade in contracts of ctVal base units; the others trade base units."""


POOL_MODE = {
    "binanceusdm": PoolMode.SEPARATE,
    "bybit": PoolMode.SHARED,
    "okx": PoolMode.SEPARATE,
    "hyperliquid": PoolMode.SEPARATE,
}
"""Each exchange's default: Binance single-asset mode, Bybit's Unified Trading Account, OKX
single-currency margin (acctLv 2)."""
TAKER_FEE = {"okx": 0.0005, "bybit": 0.00055}
COLLATERAL_RATIO = {"BTC": 0.95, "ETH": 0.95}
"""What a coin counts for in a shared pool (Binance's 5 % haircut on BTC and ETH; used for Bybit
and OKX's shared modes too)."""


def contract_size(exchange: str, base: str, inverse: bool = False) -> float:
    """Base units per contract (linear), USD per contract (inverse)."""
    if inverse:
        return inverse_contract_size(exchange, base)
    return CONTRACT_SIZE.get((exchange, base), 1.0)


def settle_coin(exchange: str) -> str:
    return "USDC" if exchange == "hyperliquid" else "USDT"


STAND_INS: dict[str, str] = {}
"""Assets a scenario lists without built-in tiers -> the asset whose tiers they use (set from
the scenario's ``tiers_like``; the benchmarks' synthetic assets)."""


@cache
def tiers_for(exchange: str, base: str, inverse: bool = False) -> tuple[MarginTier, ...]:
    kind = ContractType.INVERSE if inverse else ContractType.LINEAR
    try:
        return default_tiers(exchange, base, kind)
    except ValueError:
        like = STAND_INS.get(base)
        if like is None:
            raise
        return default_tiers(exchange, like, kind)


@dataclass
class Holding:
    """A position as the account stores it: size in base units (linear) or USD (inverse),
    ``settle`` the coin of a linear one ("" = the account's)."""

    base: str
    side: Side
    size: float
    entry: float
    opened_ms: int = 0
    settle: str = ""
    inverse: bool = False


@dataclass(frozen=True)
class ClosedPosition:
    """A position the liquidation closed, at the mark of that moment: size in base units
    (linear, settled in ``settle``) or USD (``inverse``), as its ``Holding`` had it."""

    base: str
    side: Side
    size: float
    entry: float
    price: float
    opened_ms: int
    settle: str
    inverse: bool = False


@dataclass(frozen=True)
class Liquidation:
    """What happened when an account was liquidated. The exchanges' records of it (Binance's
    force orders, Bybit's BustTrade executions, OKX's position history, Hyperliquid's fills)
    are served from ``closed``; ``number`` (the account's first, second… liquidation) makes
    their ids."""

    account_id: int
    exchange: str
    time_ms: int
    marks: dict[str, float]
    equity: float
    maintenance: float
    wallet_before: float
    wallet_after: float
    closed: tuple[ClosedPosition, ...]
    number: int = 1


@dataclass(frozen=True)
class PositionView:
    """One position at one tick, in the units the exchange reports."""

    base: str
    side: Side
    size: float
    contracts: float
    contract_size: float
    entry: float
    mark: float
    notional: float
    unrealized_pnl: float
    maintenance: float
    liquidation_price: float | None
    max_leverage: float | None
    opened_ms: int
    settle: str = "USDT"
    inverse: bool = False

    @property
    def initial_margin(self) -> float:
        """Value at entry / leverage, in the settle coin."""
        value = self.size / self.entry if self.inverse else self.size * self.entry
        return value / LEVERAGE


@dataclass(frozen=True)
class CoinView:
    """One coin of the account: wallet, cross PnL and maintenance of what settles in it, and
    its USD price."""

    coin: str
    wallet: float
    unrealized_pnl: float
    maintenance: float
    initial_margin: float
    price: float

    @property
    def equity(self) -> float:
        return self.wallet + self.unrealized_pnl


@dataclass(frozen=True)
class AccountView:
    """An account at one tick. The account-level figures are those of its primary pool (the
    settle coin's, or the shared USD pool); ``coins`` breaks them down by coin."""

    time_ms: int
    wallet_balance: float
    equity: float
    unrealized_pnl: float
    maintenance: float
    margin_ratio: float
    positions: tuple[PositionView, ...]
    report: AccountReport | None
    coins: tuple[CoinView, ...] = ()
    pool_mode: PoolMode = PoolMode.SEPARATE
    settle: str = "USDT"

    @property
    def initial_margin(self) -> float:
        return sum(p.initial_margin for p in self.positions if not p.inverse)

    def coin(self, name: str) -> CoinView:
        for c in self.coins:
            if c.coin == name:
                return c
        return CoinView(name, 0.0, 0.0, 0.0, 0.0, 1.0)

    def linear(self) -> tuple[PositionView, ...]:
        return tuple(p for p in self.positions if not p.inverse)

    def inverse(self) -> tuple[PositionView, ...]:
        return tuple(p for p in self.positions if p.inverse)


_ids = itertools.count(1)


@dataclass
class LocalAccount:
    exchange: str
    credentials: Credentials
    wallet_balance: float
    holdings: list[Holding]
    can_trade: bool = False
    can_withdraw: bool = False
    label: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    checked_ms: int | None = None
    liquidations: list[Liquidation] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: tuple[int, AccountView] | None = field(default=None, repr=False)
    balances: dict[str, float] = field(default_factory=dict)
    """Coins other than the settle coin (USDC, the BTC of coin-margined contracts)."""
    pool_mode: PoolMode | None = None

    def __post_init__(self) -> None:
        if self.pool_mode is None:
            self.pool_mode = POOL_MODE.get(self.exchange, PoolMode.SEPARATE)
        if self.exchange == "hyperliquid":
            # USDC perpetuals only: no coin-margined contracts, no coin collateral
            self.holdings = [h for h in self.holdings if not h.inverse]
            self.balances = {}

    @property
    def settle(self) -> str:
        return settle_coin(self.exchange)

    @property
    def taker_fee_rate(self) -> float | None:
        return TAKER_FEE.get(self.exchange)

    def balance(self, coin: str) -> float:
        return self.wallet_balance if coin == self.settle else self.balances.get(coin, 0.0)

    @property
    def uid(self) -> int:
        return 100_000_000 + self.id

    def _risk_account(self, marks: dict[str, float], t_ms: int) -> Account:
        positions = []
        for h in self.holdings:
            cs = contract_size(self.exchange, h.base, h.inverse)
            positions.append(
                Position(
                    symbol=f"{h.base}USD" if h.inverse else h.base,
                    side=h.side,
                    contracts=h.size / cs,
                    entry_price=h.entry,
                    mark_price=marks[h.base],
                    tiers=tiers_for(self.exchange, h.base, h.inverse),
                    contract_size=cs,
                    margin_mode=MarginMode.CROSS,
                    leverage=LEVERAGE,
                    contract_type=ContractType.INVERSE if h.inverse else ContractType.LINEAR,
                    settle="" if h.inverse or h.settle in ("", self.settle) else h.settle,
                )
            )
        shared = self.pool_mode is PoolMode.SHARED
        collateral = []
        for coin, balance in self.balances.items():
            stable = coin in STABLECOINS
            ratio = COLLATERAL_RATIO.get(coin, 1.0) if shared else 1.0
            tiers = (CollateralTier(float("inf"), ratio),) if ratio != 1.0 else ()
            price = 1.0 if stable else marks.get(coin, 1.0)
            collateral.append(Collateral(coin, balance, price, tiers))
        assert self.pool_mode is not None
        return Account(
            self.exchange,
            self.wallet_balance,
            tuple(positions),
            as_of_ms=t_ms,
            settle=self.settle,
            pool_mode=self.pool_mode,
            collateral=tuple(collateral),
            taker_fee_rate=self.taker_fee_rate,
        )

    def _marks(self, market: Market, t_ms: float) -> dict[str, float]:
        bases = {h.base for h in self.holdings}
        bases |= {c for c in self.balances if c not in STABLECOINS and c in market.bases}
        return {b: market.mark(b, t_ms) for b in bases}

    def view(self, market: Market, t_ms: int) -> AccountView:
        """The account at scenario time t_ms (cached per tick; liquidates first if due)."""
        with self.lock:
            self._liquidate_if_due(market, t_ms)
            cached = self._cache
            if cached is not None and cached[0] == t_ms:
                return cached[1]
            view = self._compute_view(market, t_ms)
            self._cache = (t_ms, view)
            return view

    def _compute_view(self, market: Market, t_ms: int) -> AccountView:
        marks = self._marks(market, t_ms)
        assert self.pool_mode is not None
        if not self.holdings:
            w = self.wallet_balance
            coins = tuple(
                CoinView(c, self.balance(c), 0.0, 0.0, 0.0, marks.get(c, 1.0))
                for c in (self.settle, *self.balances)
            )
            return AccountView(t_ms, w, w, 0.0, 0.0, 0.0, (), None, coins, self.pool_mode,
                               self.settle)  # fmt: skip
        account = self._risk_account(marks, t_ms)
        rules = rules_for(self.exchange)
        report = build_report(account, rules=rules)
        views = []
        for h, pos, rep in zip(self.holdings, account.positions, report.positions, strict=True):
            basis = rules.tier_value(pos, pos.mark_price)
            tier = pos.tiers[tier_index(pos.tiers, basis)]
            lp = rep.liquidation_price
            views.append(
                PositionView(
                    base=h.base,
                    side=h.side,
                    size=h.size,
                    contracts=pos.contracts,
                    contract_size=pos.contract_size,
                    entry=h.entry,
                    mark=pos.mark_price,
                    notional=rep.notional,
                    unrealized_pnl=rep.unrealized_pnl,
                    maintenance=rep.maintenance_margin,
                    liquidation_price=None if lp is None else max(0.0, lp.value),
                    max_leverage=tier.max_leverage,
                    opened_ms=h.opened_ms,
                    settle=rep.settle,
                    inverse=h.inverse,
                )
            )
        coin_views: list[CoinView] = []
        for coin in dict.fromkeys([self.settle, *self.balances, *(v.settle for v in views)]):
            held = [v for v in views if v.settle == coin]
            coin_views.append(
                CoinView(
                    coin,
                    self.balance(coin),
                    sum(v.unrealized_pnl for v in held),
                    sum(v.maintenance for v in held),
                    sum(v.initial_margin for v in held),
                    marks.get(coin, 1.0) if coin not in STABLECOINS else 1.0,
                )
            )
        primary = next(
            (p for p in report.pools if p.currency in ("USD", self.settle)), report.pools[0]
        )
        return AccountView(
            time_ms=t_ms,
            wallet_balance=primary.wallet_balance,
            equity=primary.equity,
            unrealized_pnl=primary.equity - primary.wallet_balance,
            maintenance=primary.maintenance_margin,
            margin_ratio=primary.margin_ratio,
            positions=tuple(views),
            report=report,
            coins=tuple(coin_views),
            pool_mode=self.pool_mode,
            settle=self.settle,
        )

    # -- liquidation ----------------------------------------------------------------------

    def _surplus_on_grid(self, market: Market, times: np.ndarray) -> np.ndarray:
        """The smallest pool surplus (equity − maintenance, in each pool's unit) at each time,
        through the risk engine's own compiled pools (``PoolModel.value_grid``): every
        underlying at mark(t) / mark(times[0]) times the marks at times[0]."""
        t0 = float(times[0])
        marks = self._marks(market, t0)
        account = self._risk_account(marks, int(t0))
        model = AccountModel(account, rules_for(self.exchange).with_taker_fee(self.taker_fee_rate))
        g = {b: market.marks_at(b, times) / m for b, m in marks.items()}
        surplus = np.full(times.shape, np.inf)
        for pool in model.pools:
            if pool.positions:
                eq, mm = pool.value_grid(g)
                surplus = np.minimum(surplus, eq - mm)
        return surplus

    def _liquidate_if_due(self, market: Market, t_ms: int) -> None:
        """Walk the path from the last check to t_ms on the minute grid (prices are linear
        between grid minutes) and liquidate at the first moment a pool's surplus reaches zero."""
        last = self.checked_ms
        if last is None or t_ms < last:
            self.checked_ms = t_ms
            last = t_ms
        if not self.holdings or (t_ms == last and self._cache is not None):
            self.checked_ms = t_ms
            return
        grid = np.arange((last // MINUTE_MS + 1) * MINUTE_MS, t_ms, MINUTE_MS, dtype=np.int64)
        times = np.concatenate(([last], grid, [t_ms])).astype(float)
        surplus = self._surplus_on_grid(market, times)
        below = np.nonzero(surplus <= 0)[0]
        self.checked_ms = t_ms
        if below.size == 0:
            return
        k = int(below[0])
        when = times[k]
        if k > 0:
            s0, s1 = surplus[k - 1], surplus[k]
            when = times[k - 1] + (times[k] - times[k - 1]) * s0 / (s0 - s1)
        self._liquidate(market, int(np.ceil(when)))

    def _liquidate(self, market: Market, t_ms: int) -> None:
        """Close the positions of every pool at or past its maintenance; what is left of each
        such pool (never below zero) stays in its coin (a shared pool's in the settle coin)."""
        marks = self._marks(market, t_ms)
        account = self._risk_account(marks, t_ms)
        report = build_report(account, rules=rules_for(self.exchange))
        dead = {p.currency for p in report.pools if p.liquidated}
        if not dead:
            return
        closing = [
            (h, rep)
            for h, rep in zip(self.holdings, report.positions, strict=True)
            if rep.pool in dead
        ]
        pools = [p for p in report.pools if p.currency in dead]
        equity = sum(p.equity for p in pools)
        maintenance = sum(p.maintenance_margin for p in pools)
        before = self.wallet_balance
        for pool in pools:
            left = max(0.0, pool.equity - pool.maintenance_margin)
            if pool.currency == "USD":
                self.wallet_balance = left
                self.balances = {c: 0.0 for c in self.balances}
            elif pool.currency == self.settle:
                self.wallet_balance = left
            else:
                self.balances[pool.currency] = left
        event = Liquidation(
            account_id=self.id,
            exchange=self.exchange,
            time_ms=t_ms,
            marks=marks,
            equity=equity,
            maintenance=maintenance,
            wallet_before=before,
            wallet_after=self.wallet_balance,
            closed=tuple(
                ClosedPosition(
                    h.base,
                    h.side,
                    h.size,
                    h.entry,
                    marks[h.base],
                    h.opened_ms,
                    h.settle or self.settle,
                    h.inverse,
                )
                for h, _ in closing
            ),
            number=len(self.liquidations) + 1,
        )
        closed = {id(h) for h, _ in closing}
        self.holdings = [h for h in self.holdings if id(h) not in closed]
        self.liquidations.append(event)
        self._cache = None
        log.info(
            "%s account #%d liquidated (%s) at scenario time %d: equity %.2f <= maintenance %.2f",
            self.exchange,
            self.id,
            ", ".join(sorted(dead)),
            t_ms,
            equity,
            maintenance,
        )


def parse_holdings(positions: list[dict[str, object]] | None, opened_ms: int) -> list[Holding]:
    out = []
    for p in positions or []:
        size = float(p["size"])  # type: ignore[arg-type]
        entry = float(p["entry"])  # type: ignore[arg-type]
        if size <= 0 or entry <= 0:
            raise ValueError(f"a position needs a positive size and entry, got {p}")
        out.append(
            Holding(
                base=base_asset(str(p["symbol"])),
                side=Side.parse(str(p.get("side", "long"))),
                size=size,
                entry=entry,
                opened_ms=int(p.get("opened_ms", opened_ms)),  # type: ignore[call-overload]
                settle=str(p.get("settle", "")),
                inverse=bool(p.get("inverse", False)),
            )
        )
    return out


def new_credentials(exchange: str) -> Credentials:
    if exchange == "hyperliquid":
        return Credentials(wallet="0x" + secrets.token_hex(20))
    password = secrets.token_urlsafe(12) if exchange == "okx" else ""
    return Credentials(
        api_key=secrets.token_hex(16), secret=secrets.token_hex(32), password=password
    )


class AccountStore:
    """Accounts by exchange and API key (Hyperliquid: by wallet address)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[tuple[str, str], LocalAccount] = {}

    @staticmethod
    def _key(exchange: str, credentials: Credentials) -> tuple[str, str]:
        if exchange == "hyperliquid":
            return exchange, credentials.wallet.lower()
        return exchange, credentials.api_key

    def add(self, account: LocalAccount) -> LocalAccount:
        if account.exchange not in EXCHANGES:
            raise ValueError(f"unknown exchange {account.exchange!r}; expected one of {EXCHANGES}")
        key = self._key(account.exchange, account.credentials)
        if not key[1]:
            raise ValueError("an account needs an API key (Hyperliquid: a wallet address)")
        with self._lock:
            if key in self._by_key:
                raise ValueError(f"{account.exchange} already has an account with that key")
            self._by_key[key] = account
        return account

    def get(self, exchange: str, key: str) -> LocalAccount | None:
        if exchange == "hyperliquid":
            key = key.lower()
        return self._by_key.get((exchange, key))

    def all(self) -> list[LocalAccount]:
        with self._lock:
            return list(self._by_key.values())
