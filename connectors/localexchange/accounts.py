"""Accounts held by the local exchange and their risk, computed by the project's risk engine.

Each account lives on one exchange and settles in one coin (USDT, USDC on Hyperliquid). Its
positions are cross-margin. Equity, maintenance and liquidation prices come from
``risk.report.build_report`` with the built-in tiers of ``resources.default_tiers``, so the local
exchange reports exactly what the app would compute. When the account's margin ratio reaches
100 % the account is liquidated: every position is closed at the mark of that moment and the
maintenance margin left goes to the insurance fund as the clearance fee (Binance's rule; the
others are close enough for a demo).
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
from resources import default_tiers
from risk.liquidation import account_totals
from risk.report import AccountReport, build_report
from risk.rules import rules_for
from risk.types import (
    Account,
    MarginMode,
    MarginTier,
    Position,
    Side,
    TierBasis,
    base_asset,
    tier_index,
)

log = logging.getLogger(__name__)

EXCHANGES = ("binanceusdm", "bybit", "okx", "hyperliquid")
LEVERAGE = 20
"""The leverage every local position is set to; it sets initial margin, not maintenance."""
CONTRACT_SIZE = {("okx", "BTC"): 0.01, ("okx", "ETH"): 0.1}
"""OKX swaps trade in contracts of ctVal base units; the others trade base units."""


def contract_size(exchange: str, base: str) -> float:
    return CONTRACT_SIZE.get((exchange, base), 1.0)


def settle_coin(exchange: str) -> str:
    return "USDC" if exchange == "hyperliquid" else "USDT"


@cache
def tiers_for(exchange: str, base: str) -> tuple[MarginTier, ...]:
    return default_tiers(exchange, base)


@dataclass
class Holding:
    """A position as the account stores it: size in base units."""

    base: str
    side: Side
    size: float
    entry: float
    opened_ms: int = 0


@dataclass(frozen=True)
class Liquidation:
    """What happened when an account was liquidated."""

    account_id: int
    exchange: str
    time_ms: int
    marks: dict[str, float]
    equity: float
    maintenance: float
    wallet_before: float
    wallet_after: float
    closed: tuple[tuple[str, str, float, float], ...]
    """(base, side, size, close price) of each closed position."""


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


@dataclass(frozen=True)
class AccountView:
    """An account at one tick."""

    time_ms: int
    wallet_balance: float
    equity: float
    unrealized_pnl: float
    maintenance: float
    margin_ratio: float
    positions: tuple[PositionView, ...]
    report: AccountReport | None

    @property
    def initial_margin(self) -> float:
        return sum(p.notional / LEVERAGE for p in self.positions)


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

    @property
    def settle(self) -> str:
        return settle_coin(self.exchange)

    @property
    def uid(self) -> int:
        return 100_000_000 + self.id

    def _risk_account(self, marks: dict[str, float], t_ms: int) -> Account:
        positions = []
        for h in self.holdings:
            cs = contract_size(self.exchange, h.base)
            positions.append(
                Position(
                    symbol=h.base,
                    side=h.side,
                    contracts=h.size / cs,
                    entry_price=h.entry,
                    mark_price=marks[h.base],
                    tiers=tiers_for(self.exchange, h.base),
                    contract_size=cs,
                    margin_mode=MarginMode.CROSS,
                )
            )
        return Account(self.exchange, self.wallet_balance, tuple(positions), as_of_ms=t_ms)

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
        marks = {h.base: market.mark(h.base, t_ms) for h in self.holdings}
        if not self.holdings:
            w = self.wallet_balance
            return AccountView(t_ms, w, w, 0.0, 0.0, 0.0, (), None)
        account = self._risk_account(marks, t_ms)
        rules = rules_for(self.exchange)
        report = build_report(account, rules=rules)
        views = []
        for h, pos, rep in zip(self.holdings, account.positions, report.positions, strict=True):
            basis = pos.contracts if pos.tiers[0].basis is TierBasis.SIZE else pos.notional()
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
                )
            )
        return AccountView(
            time_ms=t_ms,
            wallet_balance=self.wallet_balance,
            equity=report.equity,
            unrealized_pnl=report.equity - self.wallet_balance,
            maintenance=report.maintenance_margin,
            margin_ratio=report.margin_ratio,
            positions=tuple(views),
            report=report,
        )

    # -- liquidation ----------------------------------------------------------------------

    def _surplus_on_grid(self, market: Market, times: np.ndarray) -> np.ndarray:
        """equity − maintenance at each time: a vectorised screen with the risk engine's formula
        (the decision itself is confirmed with ``risk.liquidation.account_totals``)."""
        rules = rules_for(self.exchange)
        surplus = np.full(times.shape, self.wallet_balance, dtype=float)
        for h in self.holdings:
            p = market.marks_at(h.base, times)
            tiers = tiers_for(self.exchange, h.base)
            cs = contract_size(self.exchange, h.base)
            basis = (
                np.full(p.shape, h.size / cs) if tiers[0].basis is TierBasis.SIZE else h.size * p
            )
            bounds = np.array([t.max_bound for t in tiers[:-1]])
            idx = np.searchsorted(bounds, basis, side="right")
            rate = (
                np.array([t.maintenance_margin_rate for t in tiers])[idx] + rules.closing_fee_rate
            )
            amount = np.array([t.maintenance_amount for t in tiers])[idx]
            surplus += h.side.sign * h.size * (p - h.entry) - (h.size * p * rate - amount)
        return surplus

    def _liquidate_if_due(self, market: Market, t_ms: int) -> None:
        """Walk the path from the last check to t_ms on the minute grid (prices are linear
        between grid minutes) and liquidate at the first moment the surplus reaches zero."""
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
        marks = {h.base: market.mark(h.base, t_ms) for h in self.holdings}
        account = self._risk_account(marks, t_ms)
        totals = account_totals(account, rules_for(self.exchange))
        before = self.wallet_balance
        after = max(0.0, totals.equity - totals.maintenance)
        event = Liquidation(
            account_id=self.id,
            exchange=self.exchange,
            time_ms=t_ms,
            marks=marks,
            equity=totals.equity,
            maintenance=totals.maintenance,
            wallet_before=before,
            wallet_after=after,
            closed=tuple(
                (h.base, h.side.name.lower(), h.size, marks[h.base]) for h in self.holdings
            ),
        )
        self.wallet_balance = after
        self.holdings = []
        self.liquidations.append(event)
        self._cache = None
        log.info(
            "%s account #%d liquidated at scenario time %d: equity %.2f <= maintenance %.2f",
            self.exchange,
            self.id,
            t_ms,
            totals.equity,
            totals.maintenance,
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
