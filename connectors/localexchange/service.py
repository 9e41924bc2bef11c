"""LocalExchange: the scenario, the accounts, the faults and the HTTP server in one object."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import Message
from typing import Any

from connectors.credentials import Credentials
from connectors.localexchange import server as http
from connectors.localexchange.accounts import (
    EXCHANGES,
    STAND_INS,
    AccountStore,
    AccountView,
    Liquidation,
    LocalAccount,
    new_credentials,
    parse_holdings,
)
from connectors.localexchange.clock import ScenarioClock
from connectors.localexchange.faults import Faults
from connectors.localexchange.liquidations import LiquidationTape
from connectors.localexchange.listenkeys import ListenKeys
from connectors.localexchange.market import Market
from connectors.localexchange.protocol import Response
from connectors.localexchange.scenario import Scenario
from connectors.localexchange.wsserver import WsServer
from risk.types import PoolMode, base_asset

log = logging.getLogger(__name__)

TICK_MS = 1000
"""Scenario time is read in whole ticks, so the requests of one poll see the same numbers and
per-tick computations are cached."""

ALIASES = {"binance": "binanceusdm", "binanceusdm": "binanceusdm"}


def canonical_exchange(exchange: str) -> str:
    name = ALIASES.get(exchange, exchange)
    if name not in EXCHANGES:
        raise ValueError(f"unknown exchange {exchange!r}; expected one of {', '.join(EXCHANGES)}")
    return name


def demo_credentials(exchange: str, name: str = "demo") -> Credentials:
    """Fixed credentials of a scenario account ("demo" by default), so the printed keys stay
    the same from run to run."""
    suffix = "" if name == "demo" else f" {name}"
    digest = hashlib.sha256(f"cascade-watch local demo {exchange}{suffix}".encode()).hexdigest()
    if exchange == "hyperliquid":
        return Credentials(wallet="0x" + digest[:40])
    secret = hashlib.sha256(f"cascade-watch local secret {exchange}{suffix}".encode()).hexdigest()
    password = "Demo-Pass-1" if exchange == "okx" else ""
    return Credentials(api_key=digest, secret=secret, password=password)


class LocalExchange:
    """An HTTP server on 127.0.0.1 speaking the REST APIs of Binance USDⓈ-M, Bybit v5, OKX v5
    and Hyperliquid, and a WebSocket server beside it speaking their streaming APIs, replaying
    a scenario (prices, the market's liquidations, the demo accounts). ``clock`` (wall seconds)
    drives scenario time only; the exchanges' own clocks, used to check request timestamps,
    are the real wall clock."""

    def __init__(
        self,
        scenario: str = "2025-11-04",
        speed: float = 1.0,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        *,
        host: str = "127.0.0.1",
        control: bool = False,
        ws_port: int = 0,
    ):
        self.scenario = Scenario.load(scenario)
        for base, spec in self.scenario.symbols.items():
            if spec.tiers_like:
                STAND_INS[base] = spec.tiers_like
        self.market = Market(self.scenario)
        self.tape = LiquidationTape(self.scenario)
        self.listen_keys = ListenKeys()
        self.clock = ScenarioClock(self.scenario.start_ms, speed, clock)
        self.faults = Faults()
        self.store = AccountStore()
        self.request_log: deque[tuple[str, str]] = deque(maxlen=100_000)
        self._times_lock = threading.Lock()
        self._wall_at: dict[int, int] = {}
        self.stopping = threading.Event()
        self._host = host
        self.control = control
        """Whether /_control/faults switches faults while it runs (the localexchange command)."""
        self._port = port
        self._server: http.LocalServer | None = None
        self._ws_port = ws_port
        self._ws: WsServer | None = None
        accounts = dict(self.scenario.accounts) or {"demo": {}}
        for name, spec in accounts.items():
            for exchange in EXCHANGES:
                self.store.add(
                    LocalAccount(
                        exchange=exchange,
                        credentials=demo_credentials(exchange, name),
                        wallet_balance=float(spec.get("wallet_balance", 10_000.0)),
                        holdings=parse_holdings(spec.get("positions"), self.scenario.start_ms),
                        label=name,
                        checked_ms=self.tick_ms(),
                        balances={str(k): float(v) for k, v in spec.get("balances", {}).items()},
                    )
                )

    # -- life cycle -----------------------------------------------------------------------

    def start(self) -> LocalExchange:
        if self._server is None:
            self.stopping.clear()
            self._server = http.serve(self._host, self._port, self._dispatch)
            self._ws = WsServer(self, self._host, self._ws_port).start()
            threading.Thread(target=self._warm, name="localexchange-warm", daemon=True).start()
            log.info(
                "local exchange serving %s on %s and %s",
                self.scenario.name,
                self.base_url,
                self.ws_url,
            )
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._ws is not None:
            self._ws.stop()
            self._ws = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None

    def __enter__(self) -> LocalExchange:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local exchange is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """Where the streaming APIs live: ``ws://127.0.0.1:<port>`` (paths as on the venues)."""
        if self._ws is None:
            raise RuntimeError("the local exchange is not running; call start() first")
        return self._ws.url

    @property
    def ws(self) -> WsServer:
        if self._ws is None:
            raise RuntimeError("the local exchange is not running; call start() first")
        return self._ws

    def _warm(self) -> None:
        """Build the day blocks behind a year of daily candles before the first chart asks."""
        t = self.tick_ms()
        day = 86_400_000
        for base in self.market.bases:
            for since in range(self.market.history_start_ms, t, 20 * day):
                if self.stopping.is_set():
                    return
                self.market.bars(base, day, t, since_ms=since, limit=20)

    def _dispatch(self, method: str, target: str, headers: Message, body: bytes) -> Response | None:
        return http.dispatch(self, method, target, headers, body)

    # -- accounts -------------------------------------------------------------------------

    def credentials(self, exchange: str, name: str = "demo") -> Credentials:
        """A scenario account's credentials, the demo's by default (Hyperliquid: its wallet
        address only). Scenarios may hold more accounts (e.g. "coin_margined")."""
        return demo_credentials(canonical_exchange(exchange), name)

    def add_account(
        self,
        exchange: str,
        credentials: Credentials | None = None,
        *,
        can_trade: bool = False,
        can_withdraw: bool = False,
        wallet_balance: float | None = None,
        positions: list[dict[str, Any]] | None = None,
        balances: dict[str, float] | None = None,
        pool_mode: PoolMode | None = None,
    ) -> Credentials:
        """Register another account; without ``credentials`` new random ones are made.
        Without ``wallet_balance`` and ``positions`` it copies the scenario's demo account.
        ``balances`` are its other coins (USDC, the BTC of coin-margined contracts);
        ``pool_mode`` defaults to the exchange's (Bybit shared, the others separate)."""
        exchange = canonical_exchange(exchange)
        creds = credentials or new_credentials(exchange)
        demo = self.scenario.accounts.get("demo", {})
        wallet = (
            float(demo.get("wallet_balance", 10_000.0))
            if wallet_balance is None
            else wallet_balance
        )
        holdings = parse_holdings(
            demo.get("positions") if positions is None else positions, self.tick_ms()
        )
        self.store.add(
            LocalAccount(
                exchange=exchange,
                credentials=creds,
                wallet_balance=float(wallet),
                holdings=holdings,
                can_trade=can_trade,
                can_withdraw=can_withdraw,
                checked_ms=self.tick_ms(),
                balances=dict(balances or {}),
                pool_mode=pool_mode,
            )
        )
        return creds

    def account(self, exchange: str, key: str | None = None) -> LocalAccount:
        """The account behind a key (default: the demo account), for tests and the CLI."""
        exchange = canonical_exchange(exchange)
        if key is None:
            creds = self.credentials(exchange)
            key = creds.wallet if exchange == "hyperliquid" else creds.api_key
        account = self.store.get(exchange, key)
        if account is None:
            raise KeyError(f"no {exchange} account with that key")
        return account

    def account_view(self, account: LocalAccount, t_ms: int | None = None) -> AccountView:
        return account.view(self.market, self.tick_ms() if t_ms is None else t_ms)

    @property
    def liquidations(self) -> list[Liquidation]:
        """Every liquidation so far, oldest first (every account is brought up to now)."""
        t = self.tick_ms()
        for account in self.store.all():
            account.view(self.market, t)
        return sorted(
            (e for a in self.store.all() for e in a.liquidations), key=lambda e: e.time_ms
        )

    # -- time and prices ------------------------------------------------------------------

    def scenario_time_ms(self) -> int:
        return self.clock.now_ms()

    def tick_ms(self) -> int:
        return self.clock.now_ms() // TICK_MS * TICK_MS

    def server_time_ms(self, exchange: str, path: str = "", info_type: str | None = None) -> int:
        return int(time.time() * 1000) + self.faults.skew_ms(exchange, path, info_type)

    def exchange_time_at(self, exchange: str, scenario_ms: int) -> int:
        """The exchange's clock (wall time plus any injected skew) when the scenario reached
        ``scenario_ms``, which must not be ahead of it: what the exchange's records of an
        account's own events carry, as a real exchange stamps them when they happen. Worked
        out from the current pace the first time it is asked, then fixed, so a record keeps
        its time when the pace changes."""
        with self._times_lock:
            wall_ms = self._wall_at.get(scenario_ms)
            if wall_ms is None:
                now_ms = time.time() * 1000
                behind = max(0.0, self.scenario_time_ms() - scenario_ms) / self.clock.speed
                wall_ms = int(now_ms - behind)
                self._wall_at[scenario_ms] = wall_ms
        return wall_ms + self.faults.skew_ms(exchange, "", None)

    def pause(self) -> None:
        self.clock.pause()

    def resume(self) -> None:
        self.clock.resume()

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)

    def seek(self, offset_seconds: float) -> None:
        """Jump to offset_seconds after the scenario start. Accounts are checked for
        liquidation along the way when they are next read; a jump back does not undo one."""
        self.clock.seek(offset_seconds)

    def set_mark(self, symbol_base: str, price: float) -> None:
        """Pin an asset's mark (e.g. "BTC") at ``price`` from the current tick on."""
        self.market.set_mark(base_asset(symbol_base), price, self.tick_ms())
        for account in self.store.all():
            with account.lock:
                account._cache = None
        if self._ws is not None:
            self._ws.wake()
