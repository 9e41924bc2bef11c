"""Live streams: ccxt.pro in one asyncio thread of its own, for every account and venue.

``StreamHub`` keeps, per venue address, one public ccxt.pro client streaming the mark of every
held and watched symbol (Binance and OKX mark-price streams, Bybit and Hyperliquid tickers,
which carry the mark) and the venue's public liquidation prints (Binance ``forceOrder``,
Bybit ``allLiquidation``, OKX ``liquidation-orders``; Hyperliquid publishes none), and per
account one private client streaming its positions (and its wallet where the venue pushes it
on events: Binance, Bybit, OKX). It reports through plain callbacks (``StreamCallbacks``),
called on the stream thread: keep them short and hand the work on.

What the streams say is what arrived, nothing more: a mark tick, a liquidation print, an
account that changed (``AccountPush``). Account-level figures (maintenance, tiers) stay with
the REST poll; an ``AccountPush`` tells the caller to re-read the account now
(``PushKind.RESYNC`` after a private stream came back: whatever happened while it was down).

Failure handling, per feed (one venue's marks of one symbol, its liquidations of one symbol,
one account): a watch that fails is retried with exponential backoff (0.5 s doubling to 30 s,
with jitter); a mark feed that hears nothing for ``silence_s`` (per venue, several times its
push cadence) is marked stale and its connection dropped and made again; every client pings
every ``KEEPALIVE_MS`` and gives up after two missed pongs. A frame that cannot be read drops
its connection (it is reconnected) instead of stalling ccxt's receive loop. Trouble is
logged once per episode and group of feeds that share links (a venue's public feeds; one
account's): a WARNING when the first of them goes stale, later failures of the same episode
at DEBUG, an INFO when all of them have been live again for ``STABLE_S`` — with no traceback
and no address, key or listen key in the text. Before dialling, a feed consults the rate limits
and bans shared with the REST connectors (connectors/ratelimit.py): while the venue holds
this address (or key) it stays stale, saying why, and sends nothing. Prints that arrive are
delivered before any error is handled; prints published while a connection was down are not
recoverable (the venues keep no public history of them), which ``StreamStatus`` makes visible
as a stale period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol

import ccxt  # type: ignore[import-untyped]  # ccxt ships no stubs and no py.typed
import ccxt.pro  # type: ignore[import-untyped]
from ccxt.async_support.base.ws.cache import ArrayCache  # type: ignore[import-untyped]

from connectors.credentials import Credentials
from connectors.errors import EXCHANGE_NAMES, exchange_code_and_text, scrub, translate
from connectors.ratelimit import RATE_LIMITS, RateLimits, address_of, key_id, record_limit
from connectors.types import ErrorKind
from connectors.venues import VENUES, point_at
from risk.types import Side

logger = logging.getLogger(__name__)

KEEPALIVE_MS = 10_000
"""Client pings (WebSocket or the venue's own) every 10 s; two missed pongs drop the link."""
SILENCE_S: Mapping[str, float] = {
    "binanceusdm": 5.0,
    "bybit": 10.0,
    "okx": 25.0,
    "hyperliquid": 10.0,
}
"""A mark feed that hears nothing for this long is stale. Binance pushes marks every second;
Bybit and Hyperliquid on every change (many a second in a live market); OKX every 200 ms on a
change and every 10 s without one."""
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 10.0
"""A feed counts as recovered (the episode is over) after this long live without a failure."""
CHECK_S = 1.0
"""How often a waiting feed looks at its silence and its connection."""
LIQUIDATION_FEEDS = ("binanceusdm", "bybit", "okx")
FULL_STATE_PUSHES = ("hyperliquid",)
"""Venues whose position push is the whole account (the others push what changed)."""


class StreamState(Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    STALE = "stale"
    NOT_OFFERED = "not offered"
    """The venue has no such public stream (Hyperliquid's liquidations)."""


class FeedKind(Enum):
    MARKS = "marks"
    LIQUIDATIONS = "liquidations"
    ACCOUNT = "account"


class PushKind(Enum):
    POSITIONS = "positions"
    """The venue pushed positions that differ from the last ones pushed."""
    BALANCE = "balance"
    """The venue pushed a wallet change (a fill, funding, a transfer, a liquidation)."""
    RESYNC = "resync"
    """The private stream (re)started: what happened while it was down is unknown."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a venue is: ``api_url`` / ``ws_url`` replace its REST / WebSocket hosts (paths
    kept); None talks to the real venue."""

    exchange: str
    api_url: str | None = None
    ws_url: str | None = None


@dataclass(frozen=True, slots=True)
class MarkTick:
    exchange: str
    symbol: str
    """ccxt's unified symbol ('BTC/USDT:USDT')."""
    mark: float
    index: float | None
    exchange_ms: int | None
    """The venue's timestamp of the mark, when it gives one."""
    received_ms: int
    endpoint: Endpoint | None = None
    """The address it came from (one venue may be watched at two: the venue and a testnet)."""


@dataclass(frozen=True, slots=True)
class LiquidationPrint:
    exchange: str
    symbol: str
    side: Side
    """The side of the position that was liquidated (LONG: the venue sold it)."""
    price: float
    amount: float
    """In base units."""
    time_ms: int
    endpoint: Endpoint | None = None

    @property
    def notional(self) -> float:
        return self.price * self.amount


@dataclass(frozen=True, slots=True)
class PushedPosition:
    symbol: str
    side: Side
    size: float
    """Base units; 0 for a position the venue says is closed."""
    entry_price: float | None


@dataclass(frozen=True, slots=True)
class AccountPush:
    key: str
    exchange: str
    kind: PushKind
    received_ms: int
    positions: tuple[PushedPosition, ...] = ()
    wallet: float | None = None


@dataclass(frozen=True, slots=True)
class StreamStatus:
    exchange: str
    kind: FeedKind
    symbol: str | None
    """None for an account feed."""
    account_key: str | None
    state: StreamState
    since_ms: int
    last_message_ms: int | None
    reason: str | None = None
    reconnects: int = 0
    endpoint: Endpoint | None = None


class StreamCallbacks(Protocol):
    def on_mark(self, tick: MarkTick) -> None: ...

    def on_liquidations(self, prints: tuple[LiquidationPrint, ...]) -> None: ...

    def on_account_push(self, push: AccountPush) -> None: ...

    def on_stream_status(self, status: StreamStatus) -> None: ...


class NullStreamCallbacks:
    def on_mark(self, tick: MarkTick) -> None:
        pass

    def on_liquidations(self, prints: tuple[LiquidationPrint, ...]) -> None:
        pass

    def on_account_push(self, push: AccountPush) -> None:
        pass

    def on_stream_status(self, status: StreamStatus) -> None:
        pass


class StreamFailure(Exception):
    """A feed failed in a way its own watch call did not report (silence, a bad frame)."""


# --- ccxt.pro clients ----------------------------------------------------------------------


def make_client(endpoint: Endpoint, credentials: Credentials | None, timeout_ms: int) -> Any:
    """A ccxt.pro client for the endpoint, with the venue's configuration (connectors.venues),
    its hosts replaced when the endpoint says so, and our keep-alive."""
    venue = VENUES[endpoint.exchange]
    cfg = venue.config(credentials or Credentials(), timeout_ms)
    if credentials is None:
        for name in ("apiKey", "secret", "password", "walletAddress"):
            cfg.pop(name, None)
    if endpoint.exchange == "binanceusdm":
        # every public subscription on one connection (Binance allows 200 streams on one)
        cfg["options"]["streamLimits"] = {"linear": 1}
    client = getattr(ccxt.pro, venue.ccxt_id)(cfg)
    api = dict(client.urls["api"])
    ws = api.pop("ws")
    if endpoint.api_url:
        api = point_at(api, endpoint.api_url)
    if endpoint.ws_url:
        ws = point_at(ws, endpoint.ws_url)
    client.urls["api"] = {**api, "ws": ws}
    client.streaming = {**client.streaming, "keepAlive": KEEPALIVE_MS}
    return client


def _guard_requests(
    client: Any, endpoint: Endpoint, limits: RateLimits, clock: Callable[[], float]
) -> None:
    """The REST requests a ccxt.pro client makes on its own (markets, Binance's listen key,
    position snapshots) obey the rate limits and bans shared with the connectors, and the
    limits they meet are recorded there: while the venue holds this address (or key) such a
    request fails at once, sending nothing."""
    send = client.fetch
    exchange = endpoint.exchange
    address = address_of(endpoint.api_url)
    key = key_id(str(client.apiKey or client.walletAddress or ""))

    async def fetch(*args: Any, **kwargs: Any) -> Any:
        now = clock()
        hold = limits.active(exchange, address, key, now)
        if hold is not None:
            raise ccxt.RateLimitExceeded(
                f"{exchange} held for {hold.until - now:.0f} s by a rate limit or ban"
            )
        try:
            return await send(*args, **kwargs)
        except ccxt.BaseError as exc:
            err = translate(exc, exchange, headers=getattr(client, "last_response_headers", None))
            if err.kind is ErrorKind.RATE_LIMITED:
                code, _ = exchange_code_and_text(str(exc))
                offset = float(client.options.get("timeDifference") or 0)
                record_limit(
                    limits,
                    exchange,
                    address,
                    key,
                    str(exc),
                    code,
                    err.retry_after,
                    time.time() * 1000 - offset,
                    clock(),
                )
            raise

    client.fetch = fetch


class LiquidationTap(ArrayCache):  # type: ignore[misc]  # ccxt is untyped
    """ccxt.pro's cache of public liquidations, which also keeps every print per symbol
    until the hub takes it.

    A watch resolves with the first print that arrives after it was called: ccxt.pro's
    Binance, Bybit and OKX handlers resolve one future per print, so the other prints of a
    frame (Bybit's ``allLiquidation`` sends several) and those arriving before the next watch
    would be returned by no watch at all. They all pass through this cache; the hub drains
    it after each watch instead of reading the watch's result."""

    def __init__(self, max_size: int | None = None) -> None:
        super().__init__(max_size)
        self.pending: dict[str, list[Any]] = {}

    def append(self, item: Any) -> None:
        super().append(item)
        symbol = item.get("symbol") if isinstance(item, Mapping) else None
        if symbol is not None:
            bucket = self.pending.setdefault(str(symbol), [])
            bucket.append(item)
            if len(bucket) > TAP_LIMIT:
                del bucket[: len(bucket) - TAP_LIMIT]

    def drain(self, symbol: str) -> list[Any]:
        return self.pending.pop(symbol, [])


TAP_LIMIT = 10_000
"""Prints kept per symbol between two drains at most (a drain follows every watch)."""


def _guard_frames(client: Any, on_bad_frame: Callable[[BaseException], None]) -> None:
    """Make every WebSocket connection of ``client`` drop (and so reconnect) on a frame it
    cannot read, instead of raising inside ccxt's receive loop (which stops reading and
    leaves the link silent)."""
    make = client.client

    def guarded_client(url: str) -> Any:
        ws = make(url)
        if not getattr(ws, "_cw_guarded", False):
            handle = ws.handle_message

            def handle_message(message: Any) -> None:
                try:
                    handle(message)
                except Exception as exc:
                    on_bad_frame(exc)
                    ws.on_error(ccxt.NetworkError(f"unreadable frame ({type(exc).__name__})"))

            ws.handle_message = handle_message
            ws._cw_guarded = True
        return ws

    client.client = guarded_client


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def mark_of(exchange: str, ticker: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(mark, index) from what ccxt.pro returned for a mark or ticker watch."""
    if exchange == "hyperliquid":
        info = ticker.get("info") or {}
        return _float(info.get("markPx")), _float(info.get("oraclePx"))
    return _float(ticker.get("markPrice")), _float(ticker.get("indexPrice"))


def liquidated_side(exchange: str, liquidation: Mapping[str, Any]) -> Side | None:
    """The side of the position a public liquidation print closed, from the venue's own
    fields (ccxt passes the raw order side through, whose meaning differs per venue)."""
    info = liquidation.get("info") or {}
    if exchange == "binanceusdm":
        side = str(info.get("S", "")).upper()  # the liquidation order's side
        return Side.LONG if side == "SELL" else Side.SHORT if side == "BUY" else None
    if exchange == "bybit":
        side = str(info.get("S") or info.get("side") or "")  # the position's side
        return Side.LONG if side == "Buy" else Side.SHORT if side == "Sell" else None
    if exchange == "okx":
        details = info.get("details") or [{}]
        pos = str(details[0].get("posSide", ""))
        if pos in ("long", "short"):
            return Side.parse(pos)
        side = str(details[0].get("side", ""))
        return Side.LONG if side == "sell" else Side.SHORT if side == "buy" else None
    return None


def wallet_of(exchange: str, balance: Mapping[str, Any]) -> float | None:
    """The settle coin's wallet balance (without unrealised PnL) from a pushed balance."""
    info: Any = balance.get("info")
    try:
        if exchange == "binanceusdm":
            rows = info["a"]["B"]
            return next(_float(r["wb"]) for r in rows if r.get("a") == "USDT")
        if exchange == "bybit":
            coins = info[0]["coin"]
            return next(_float(c["walletBalance"]) for c in coins if c.get("coin") == "USDT")
        if exchange == "okx":
            details = info["data"][0]["details"]
            return next(_float(d["cashBal"]) for d in details if d.get("ccy") == "USDT")
    except (KeyError, IndexError, TypeError, StopIteration):
        return None
    return None


# --- feeds ---------------------------------------------------------------------------------


@dataclass
class _Feed:
    """One stream: a venue's marks or liquidations of a symbol, or one account."""

    kind: FeedKind
    exchange: str
    symbol: str | None
    account_key: str | None = None
    task: asyncio.Task[None] | None = None
    state: StreamState = StreamState.CONNECTING
    since_ms: int = 0
    last_message_ms: int | None = None
    live_since: float | None = None
    reconnects: int = 0
    reason: str | None = None
    last_message_mono: float = field(default_factory=time.monotonic)
    watch_started: float = field(default_factory=time.monotonic)
    stopped: bool = False
    endpoint: Endpoint | None = None

    def label(self) -> str:
        name = EXCHANGE_NAMES.get(self.exchange, self.exchange)
        if self.kind is FeedKind.ACCOUNT:
            return f"{name} account stream"
        return f"{name} {self.kind.value} of {self.symbol}"

    @property
    def group(self) -> tuple[str, str]:
        """Feeds that share links fail together and are logged as one episode: a venue's
        public feeds, or one account's."""
        return (self.exchange, self.account_key or "")


@dataclass
class _Episode:
    """A run of failures of one group of feeds, from the first failure until every feed of
    the group has been live for STABLE_S."""

    started: float
    first: str
    failures: int = 0


class _Venue:
    """The public client of one endpoint and its feeds."""

    def __init__(self, endpoint: Endpoint, hub: StreamHub):
        self.endpoint = endpoint
        self.hub = hub
        self.client: Any = None
        self.loaded = asyncio.Lock()
        self.feeds: dict[tuple[FeedKind, str], _Feed] = {}

    async def ready(self) -> Any:
        async with self.loaded:
            if self.client is None:
                client = make_client(self.endpoint, None, self.hub.timeout_ms)
                _guard_frames(client, lambda e: self.hub._bad_frame(self.endpoint.exchange, e))
                _guard_requests(client, self.endpoint, self.hub.rate_limits, self.hub.clock)
                limit = client.safe_integer(client.options, "liquidationsLimit", 1000)
                client.liquidations = LiquidationTap(limit)
                try:
                    await client.load_markets()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await client.close()
                    raise
                self.client = client
            return self.client


class StreamHub:
    """Every live stream of the app, on one asyncio loop in one thread.

    ``watch_symbols(endpoint, symbols)`` sets the symbols whose marks (and liquidations)
    are streamed from a venue; ``watch_account(key, endpoint, credentials)`` streams one
    account's positions; ``drop_account(key)``; ``statuses()``; ``start()`` / ``stop()``.
    All of them may be called from any thread; callbacks run on the stream thread.
    """

    def __init__(
        self,
        callbacks: StreamCallbacks,
        *,
        clock: Callable[[], float] = time.time,
        silence_s: Mapping[str, float] | None = None,
        timeout_ms: int = 10_000,
        liquidations: bool = True,
        rate_limits: RateLimits = RATE_LIMITS,
    ) -> None:
        self.callbacks = callbacks
        self.rate_limits = rate_limits
        self.clock = clock
        self.silence_s = {**SILENCE_S, **(silence_s or {})}
        self.timeout_ms = timeout_ms
        self.liquidations = liquidations
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._venues: dict[Endpoint, _Venue] = {}
        self._accounts: dict[str, tuple[_Feed, Any]] = {}
        self._status_lock = threading.Lock()
        self._statuses: dict[
            tuple[Endpoint | None, FeedKind, str | None, str | None], StreamStatus
        ] = {}
        self._stray_logged: dict[str, float] = {}
        self._episodes: dict[tuple[str, str], _Episode] = {}
        self._stopping = False
        self._secrets: set[str] = set()

    # --- life cycle --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_running()

    def start(self) -> StreamHub:
        if self._thread is not None:
            return self
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="streams", daemon=True)
        self._thread.start()
        self._started.wait(5.0)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        loop = self._loop
        if loop is None:
            return
        self._stopping = True
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._loop = None
        self._started.clear()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self._stray_exception)
        self._loop = loop
        self._started.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        feeds = [f for v in self._venues.values() for f in v.feeds.values()]
        feeds += [f for f, _ in self._accounts.values()]
        for feed in feeds:
            feed.stopped = True
            if feed.task is not None:
                feed.task.cancel()
        for feed in feeds:
            if feed.task is not None:
                with contextlib.suppress(BaseException):
                    await feed.task
        clients = [v.client for v in self._venues.values() if v.client is not None]
        clients += [c for _, c in self._accounts.values()]
        for client in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), 2.0)
        self._venues.clear()
        self._accounts.clear()

    def _submit(self, coro: Coroutine[Any, Any, None]) -> None:
        loop = self._loop
        if loop is None:
            coro.close()
            raise RuntimeError("the stream hub is not running; call start() first")
        asyncio.run_coroutine_threadsafe(coro, loop)

    # --- what to watch -------------------------------------------------------------------------

    def watch_symbols(self, endpoint: Endpoint, symbols: Iterable[str]) -> None:
        """Stream the marks (and public liquidations) of exactly these symbols from the
        venue at ``endpoint`` (unified ccxt symbols)."""
        self._submit(self._set_symbols(endpoint, frozenset(symbols)))

    def watch_account(self, key: str, endpoint: Endpoint, credentials: Credentials) -> None:
        """Stream one account's positions (and wallet events); ``key`` names it in pushes."""
        self._secrets.update(v for v in (*credentials.secret_values(), credentials.api_key) if v)
        self._submit(self._add_account(key, endpoint, credentials))

    def drop_account(self, key: str) -> None:
        self._submit(self._remove_account(key))

    def statuses(self) -> tuple[StreamStatus, ...]:
        with self._status_lock:
            return tuple(self._statuses.values())

    async def _set_symbols(self, endpoint: Endpoint, symbols: frozenset[str]) -> None:
        venue = self._venues.get(endpoint)
        if venue is None:
            venue = self._venues[endpoint] = _Venue(endpoint, self)
        wanted: set[tuple[FeedKind, str]] = {(FeedKind.MARKS, s) for s in symbols}
        if self.liquidations:
            wanted |= {(FeedKind.LIQUIDATIONS, s) for s in symbols}
        for key in list(venue.feeds):
            if key not in wanted:
                feed = venue.feeds.pop(key)
                feed.stopped = True
                if feed.task is not None:
                    feed.task.cancel()
                self._forget_status(feed)
        for kind, symbol in sorted(wanted - set(venue.feeds), key=lambda k: (k[0].value, k[1])):
            feed = _Feed(
                kind, endpoint.exchange, symbol, since_ms=self._now_ms(), endpoint=endpoint
            )
            venue.feeds[(kind, symbol)] = feed
            if kind is FeedKind.LIQUIDATIONS and endpoint.exchange not in LIQUIDATION_FEEDS:
                self._set_state(feed, StreamState.NOT_OFFERED, "the venue publishes none")
                continue
            self._set_state(feed, StreamState.CONNECTING, None)
            feed.task = asyncio.ensure_future(self._run_public(venue, feed))

    async def _add_account(self, key: str, endpoint: Endpoint, credentials: Credentials) -> None:
        await self._remove_account(key)
        feed = _Feed(
            FeedKind.ACCOUNT,
            endpoint.exchange,
            None,
            key,
            since_ms=self._now_ms(),
            endpoint=endpoint,
        )
        client = make_client(endpoint, credentials, self.timeout_ms)
        _guard_frames(client, lambda e: self._bad_frame(endpoint.exchange, e))
        _guard_requests(client, endpoint, self.rate_limits, self.clock)
        self._accounts[key] = (feed, client)
        self._set_state(feed, StreamState.CONNECTING, None)
        feed.task = asyncio.ensure_future(self._run_account(endpoint, feed, client))

    async def _remove_account(self, key: str) -> None:
        entry = self._accounts.pop(key, None)
        if entry is None:
            return
        feed, client = entry
        feed.stopped = True
        if feed.task is not None:
            feed.task.cancel()
            with contextlib.suppress(BaseException):
                await feed.task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.close(), 2.0)
        self._forget_status(feed)

    # --- running a feed ------------------------------------------------------------------------

    async def _run_public(self, venue: _Venue, feed: _Feed) -> None:
        attempt = 0
        address = address_of(venue.endpoint.api_url)
        while not feed.stopped:
            try:
                await self._wait_for_hold(feed, address, "")
                client = await venue.ready()
                await self._watch_loop(feed, client)
            except asyncio.CancelledError:
                if feed.stopped or self._stopping:
                    raise
                attempt = await self._failed(feed, StreamFailure("connection closed"), attempt)
            except Exception as exc:
                attempt = await self._failed(feed, exc, attempt)

    async def _run_account(self, endpoint: Endpoint, feed: _Feed, client: Any) -> None:
        attempt = 0
        last: dict[str, PushedPosition] = {}
        address = address_of(endpoint.api_url)
        key = key_id(str(client.apiKey or client.walletAddress or ""))
        while not feed.stopped:
            try:
                await self._wait_for_hold(feed, address, key)
                if client.markets is None:
                    venue = self._venues.get(endpoint)
                    source = venue.client if venue is not None else None
                    if source is not None and source.markets is not None:
                        client.set_markets_from_exchange(source)
                    else:
                        await client.load_markets()
                resynced = False
                watchers = [self._positions_loop(feed, client, last)]
                if endpoint.exchange in ("binanceusdm", "bybit", "okx"):
                    watchers.append(self._balance_loop(feed, client))
                tasks = [asyncio.ensure_future(w) for w in watchers]
                try:
                    while True:
                        done, _ = await asyncio.wait(
                            tasks, timeout=CHECK_S, return_when=asyncio.FIRST_COMPLETED
                        )
                        for t in done:
                            t.result()  # a watcher ends only by raising
                        if self._connected(client):
                            self._heard(feed, message=False)
                        if not resynced and feed.state is StreamState.LIVE:
                            resynced = True
                            self._push(
                                AccountPush(
                                    feed.account_key or "",
                                    feed.exchange,
                                    PushKind.RESYNC,
                                    self._now_ms(),
                                )
                            )
                        self._check_stable(feed)
                finally:
                    for t in tasks:
                        t.cancel()
                    for t in tasks:
                        with contextlib.suppress(BaseException):
                            await t
            except asyncio.CancelledError:
                if feed.stopped or self._stopping:
                    raise
                attempt = await self._failed(feed, StreamFailure("connection closed"), attempt)
            except Exception as exc:
                attempt = await self._failed(feed, exc, attempt)

    async def _wait_for_hold(self, feed: _Feed, address: str, key: str) -> None:
        """Send nothing while the venue holds this address or key (a rate limit or a ban met
        by any connector); the feed is stale meanwhile, saying why."""
        logged = False
        while not feed.stopped:
            now = self.clock()
            hold = self.rate_limits.active(feed.exchange, address, key, now)
            if hold is None:
                return
            name = EXCHANGE_NAMES.get(feed.exchange, feed.exchange)
            why = "has banned this IP address" if hold.banned else "asked us to slow down"
            reason = f"{name} {why}; reconnecting in {hold.until - now:.0f} s"
            if not logged and feed.group not in self._episodes:
                self._episodes[feed.group] = _Episode(time.monotonic(), feed.label())
                logger.warning("%s is stale: %s", feed.label(), reason)
            logged = True
            feed.live_since = None
            self._set_state(feed, StreamState.STALE, reason)
            await asyncio.sleep(min(max(hold.until - now, 0.1), BACKOFF_MAX_S))

    async def _positions_loop(
        self, feed: _Feed, client: Any, last: dict[str, PushedPosition]
    ) -> None:
        while True:
            positions = await client.watch_positions()
            self._heard(feed)
            changed = []
            seen = set()
            for p in positions or ():
                pushed = self._pushed_position(client, p)
                if pushed is None:
                    continue
                key = f"{pushed.symbol}|{pushed.side.value}"
                seen.add(key)
                previous = last.get(key)
                if previous != pushed:
                    last[key] = pushed
                    changed.append(pushed)
            if feed.exchange in FULL_STATE_PUSHES:
                # the push is the whole account: a position missing from it is closed
                for key, previous in list(last.items()):
                    if key not in seen and previous.size != 0:
                        closed = replace(previous, size=0.0, entry_price=None)
                        last[key] = closed
                        changed.append(closed)
            if changed:
                self._push(
                    AccountPush(
                        feed.account_key or "",
                        feed.exchange,
                        PushKind.POSITIONS,
                        self._now_ms(),
                        tuple(changed),
                    )
                )

    async def _balance_loop(self, feed: _Feed, client: Any) -> None:
        last: float | None = None
        while True:
            balance = await client.watch_balance()
            self._heard(feed)
            wallet = wallet_of(feed.exchange, balance)
            if wallet is not None and wallet != last:
                first = last is None
                last = wallet
                if first and feed.exchange == "okx":
                    continue  # OKX opens with a snapshot, not an event
                self._push(
                    AccountPush(
                        feed.account_key or "",
                        feed.exchange,
                        PushKind.BALANCE,
                        self._now_ms(),
                        wallet=wallet,
                    )
                )

    @staticmethod
    def _pushed_position(client: Any, p: Mapping[str, Any]) -> PushedPosition | None:
        symbol = p.get("symbol")
        if not symbol:
            return None
        contracts = _float(p.get("contracts")) or 0.0
        size_of = _float(p.get("contractSize"))
        if size_of is None:
            with contextlib.suppress(Exception):
                size_of = _float(client.market(symbol).get("contractSize"))
        side_text = str(p.get("side") or "").lower()
        if side_text not in ("long", "short"):
            if contracts != 0:
                return None
            side_text = "long"
        entry = _float(p.get("entryPrice"))
        return PushedPosition(
            str(symbol), Side.parse(side_text), contracts * (size_of or 1.0), entry or None
        )

    async def _watch_loop(self, feed: _Feed, client: Any) -> None:
        """Await one update after another; between them, watch for silence."""
        silence = self.silence_s.get(feed.exchange, 10.0) if feed.kind is FeedKind.MARKS else None
        feed.watch_started = time.monotonic()
        while not feed.stopped:
            task = asyncio.ensure_future(self._public_watch(feed, client))
            try:
                while True:
                    done, _ = await asyncio.wait({task}, timeout=CHECK_S)
                    if done:
                        break
                    now = time.monotonic()
                    if feed.kind is FeedKind.LIQUIDATIONS and self._connected(client):
                        self._heard(feed, message=False)
                    quiet_since = max(feed.last_message_mono, feed.watch_started)
                    if silence is not None and now - quiet_since > silence:
                        raise StreamFailure(f"no mark for {now - quiet_since:.0f} s")
                    self._check_stable(feed)
            except BaseException:
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
                raise
            if task.cancelled():
                raise StreamFailure("connection closed")
            self._deliver(feed, client, task.result())

    async def _public_watch(self, feed: _Feed, client: Any) -> Any:
        symbol = feed.symbol
        ex = feed.exchange
        if feed.kind is FeedKind.MARKS:
            if ex in ("binanceusdm", "okx"):
                return await client.watch_mark_price(symbol)
            return await client.watch_ticker(symbol)
        if ex == "bybit":
            return await client.watch_liquidations(symbol)
        return await client.watch_liquidations_for_symbols([symbol])

    def _deliver(self, feed: _Feed, client: Any, result: Any) -> None:
        now_ms = self._now_ms()
        if feed.kind is FeedKind.MARKS:
            mark, index = mark_of(feed.exchange, result or {})
            if mark is None or mark <= 0:
                raise StreamFailure("a mark update without a mark price")
            self._heard(feed)
            stamp = result.get("timestamp")
            tick = MarkTick(
                feed.exchange,
                str(feed.symbol),
                mark,
                index,
                int(stamp) if stamp is not None else None,
                now_ms,
                feed.endpoint,
            )
            self._emit(self.callbacks.on_mark, tick)
            return
        prints = []
        tap = getattr(client, "liquidations", None)
        heard = tap.drain(str(feed.symbol)) if isinstance(tap, LiquidationTap) else result
        for liq in heard or ():
            side = liquidated_side(feed.exchange, liq)
            price = _float(liq.get("price"))
            contracts = _float(liq.get("contracts"))
            if side is None or price is None or contracts is None or liq.get("symbol") is None:
                continue
            size_of = _float(liq.get("contractSize"))
            if size_of is None:
                with contextlib.suppress(Exception):
                    size_of = _float(client.market(liq["symbol"]).get("contractSize"))
            stamp = liq.get("timestamp")
            prints.append(
                LiquidationPrint(
                    feed.exchange,
                    str(liq["symbol"]),
                    side,
                    price,
                    contracts * (size_of or 1.0),
                    int(stamp) if stamp is not None else now_ms,
                    feed.endpoint,
                )
            )
        self._heard(feed)
        if prints:
            self._emit(self.callbacks.on_liquidations, tuple(prints))

    @staticmethod
    def _connected(client: Any) -> bool:
        """Whether every link the client has dialled is up (links it never dialled, such as
        ccxt's Binance authentication bookkeeping, do not count)."""
        up = 0
        for ws in list((getattr(client, "clients", None) or {}).values()):
            if ws.error is not None or getattr(ws, "connecting", False):
                return False
            if ws.connection is None:
                continue
            if ws.closed():
                return False
            up += 1
        return up > 0

    # --- states and logging --------------------------------------------------------------------

    def _heard(self, feed: _Feed, *, message: bool = True) -> None:
        now = time.monotonic()
        if message:
            feed.last_message_mono = now
            feed.last_message_ms = self._now_ms()
        if feed.state is not StreamState.LIVE:
            feed.live_since = now
            self._set_state(feed, StreamState.LIVE, None)
        self._check_stable(feed)

    def _group_feeds(self, group: tuple[str, str]) -> list[_Feed]:
        feeds = [f for v in self._venues.values() for f in v.feeds.values()]
        feeds += [f for f, _ in self._accounts.values()]
        return [f for f in feeds if f.group == group and not f.stopped]

    def _check_stable(self, feed: _Feed) -> None:
        episode = self._episodes.get(feed.group)
        if episode is None:
            return
        now = time.monotonic()
        feeds = [f for f in self._group_feeds(feed.group) if f.state is not StreamState.NOT_OFFERED]
        if not all(
            f.state is StreamState.LIVE
            and f.live_since is not None
            and now - f.live_since >= STABLE_S
            for f in feeds
        ):
            return
        del self._episodes[feed.group]
        back = max((f.live_since or now) for f in feeds) if feeds else now
        what = "account stream" if feed.account_key else "streams"
        logger.info(
            "%s %s live again after %.0f s (%d failure%s)",
            EXCHANGE_NAMES.get(feed.exchange, feed.exchange),
            what,
            back - episode.started,
            episode.failures,
            "" if episode.failures == 1 else "s",
        )

    async def _failed(self, feed: _Feed, exc: BaseException, attempt: int) -> int:
        """Mark the feed stale, log the episode, and wait out the backoff; returns the attempt
        count. A feed that had been live for ``STABLE_S`` starts its backoff afresh."""
        if feed.live_since is not None and time.monotonic() - feed.live_since >= STABLE_S:
            attempt = 0
        reason = self._reason(feed, exc)
        episode = self._episodes.get(feed.group)
        if episode is None:
            episode = self._episodes[feed.group] = _Episode(time.monotonic(), feed.label())
            logger.warning("%s is stale: %s; reconnecting", feed.label(), reason)
        else:
            logger.debug("%s failing: %s", feed.label(), reason)
        episode.failures += 1
        feed.reconnects += 1
        feed.live_since = None
        self._set_state(feed, StreamState.STALE, reason)
        if isinstance(exc, StreamFailure):
            await self._drop_connections(feed)
        attempt += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (attempt - 1))
        if isinstance(exc, ccxt.BadSymbol | ccxt.NotSupported | ccxt.AuthenticationError):
            delay = BACKOFF_MAX_S
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        return attempt

    async def _drop_connections(self, feed: _Feed) -> None:
        """Drop the WebSocket links a stale feed rides on, so the next watch dials afresh."""
        client: Any = None
        if feed.kind is FeedKind.ACCOUNT:
            entry = self._accounts.get(feed.account_key or "")
            client = entry[1] if entry else None
        else:
            for venue in self._venues.values():
                if feed in venue.feeds.values():
                    client = venue.client
        for ws in list((getattr(client, "clients", None) or {}).values()):
            with contextlib.suppress(Exception):
                ws.on_error(ccxt.NetworkError("stream went silent"))

    def _reason(self, feed: _Feed, exc: BaseException) -> str:
        if isinstance(exc, StreamFailure):
            text = str(exc)
        elif isinstance(exc, ccxt.AuthenticationError):
            text = "the venue refused the stream's login (check the key)"
        elif isinstance(exc, ccxt.BadSymbol):
            text = f"the venue does not list {feed.symbol}"
        elif isinstance(exc, ccxt.RequestTimeout):
            text = "the connection timed out"
        elif isinstance(exc, ccxt.NetworkError):
            text = "the connection failed or was closed"
        elif isinstance(exc, ccxt.BaseError):
            text = f"the venue answered with an error ({type(exc).__name__})"
        else:
            text = f"unexpected {type(exc).__name__}"
        return scrub(text, self._secrets)

    def _bad_frame(self, exchange: str, exc: BaseException) -> None:
        name = EXCHANGE_NAMES.get(exchange, exchange)
        logger.debug("%s sent a frame that could not be read (%s)", name, type(exc).__name__)

    def _stray_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Errors no one awaited (ccxt's background snapshot fetches, closed links): one line
        per kind and minute, no traceback."""
        exc = context.get("exception")
        kind = type(exc).__name__ if exc is not None else "error"
        now = time.monotonic()
        level = logging.DEBUG
        if now - self._stray_logged.get(kind, -1e9) >= 60.0:
            self._stray_logged[kind] = now
            level = logging.INFO
        text = scrub(str(exc) if exc is not None else str(context.get("message")), self._secrets)
        logger.log(level, "stream background task failed: %s: %s", kind, text[:200])

    def _set_state(self, feed: _Feed, state: StreamState, reason: str | None) -> None:
        if feed.state is not state or feed.reason != reason or not feed.since_ms:
            if feed.state is not state:
                feed.since_ms = self._now_ms()
            feed.state = state
            feed.reason = reason
        status = StreamStatus(
            feed.exchange,
            feed.kind,
            feed.symbol,
            feed.account_key,
            state,
            feed.since_ms,
            feed.last_message_ms,
            reason,
            feed.reconnects,
            feed.endpoint,
        )
        key = (feed.endpoint, feed.kind, feed.symbol, feed.account_key)
        with self._status_lock:
            previous = self._statuses.get(key)
            self._statuses[key] = status
        if previous is None or replace(previous, last_message_ms=None) != replace(
            status, last_message_ms=None
        ):
            self._emit(self.callbacks.on_stream_status, status)

    def _forget_status(self, feed: _Feed) -> None:
        with self._status_lock:
            self._statuses.pop((feed.endpoint, feed.kind, feed.symbol, feed.account_key), None)

    def _push(self, push: AccountPush) -> None:
        self._emit(self.callbacks.on_account_push, push)

    def _emit(self, fn: Callable[[Any], None], value: Any) -> None:
        try:
            fn(value)
        except Exception:
            logger.exception("stream callback failed")

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)
