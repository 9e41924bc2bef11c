"""The exchange connector: one ccxt client per account, read-only, risk types out."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ccxt  # type: ignore[import-untyped]  # ccxt ships no stubs and no py.typed
import numpy as np

from connectors.credentials import Credentials
from connectors.errors import EXCHANGE_NAMES, exchange_code_and_text, translate
from connectors.parsing import MarketRef, UnknownMarket, build_account
from connectors.ratelimit import (
    RATE_LIMITS,
    Hold,
    RateLimits,
    address_of,
    key_id,
    record_limit,
)
from connectors.redaction import display_url, register_secrets, url_password
from connectors.types import (
    Capability,
    ConnectorError,
    ErrorKind,
    KeyPermissions,
    permissions_warning,
)
from connectors.venues import VENUES, Settings, Venue, point_at
from formatting import safe_text
from resources import default_tiers
from risk.types import (
    Account,
    Candles,
    ContractType,
    Figure,
    ForcedClose,
    MarginTier,
    MarketStats,
    OrderBook,
    Source,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

TIER_TTL_S = 3600.0
TIER_RETRY_S = 60.0
MARKET_RELOAD_S = 60.0
WALLET_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
"""ccxt's message for an HTTP error starts "<exchange id> <status> <reason> <body>"."""
SETTINGS_FATAL = frozenset(
    {ErrorKind.AUTH, ErrorKind.CLOCK_SKEW, ErrorKind.RATE_LIMITED, ErrorKind.NETWORK}
)
"""Settings errors that fail the poll; others (the endpoint down, not offered, not permitted)
leave the last settings or the exchange's defaults in use, with a note."""
CLOCK_NOTE_THRESHOLD_S = 1.0
"""Offsets below this are not worth telling the user about (exchanges allow 5-10 s)."""


class _SharedMarkets:
    """Loaded ccxt markets shared by every connector of one exchange and base URL, so ten
    accounts on one exchange load its market list once (ccxt's set_markets_from_exchange)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._sources: dict[tuple[str, str], Any] = {}

    def load(self, key: tuple[str, str], client: Any, reload: bool = False) -> None:
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            source = self._sources.get(key)
            if source is not None and not reload:
                if source is not client:
                    # ccxt indexes these helper options without checking they exist.
                    for helper in source.options.get("marketHelperProps") or ():
                        source.options.setdefault(helper, None)
                    client.set_markets_from_exchange(source)
                return
            client.load_markets(reload=reload)
            self._sources[key] = client


SHARED_MARKETS = _SharedMarkets()


class ExchangeConnector:
    """Read-only adapter from one exchange account to the risk engine's types.

    Contract (what the monitor relies on):

    - ``ExchangeConnector(exchange, credentials, api_url=None, label="", timeout_ms=10000,
      clock=time.time, rate_limits=RATE_LIMITS)``: exchange is one of binanceusdm, bybit,
      okx, hyperliquid
      (credentials: key + secret, + passphrase for OKX, a wallet address for Hyperliquid;
      ConnectorError(AUTH) at once when they are missing). No I/O happens here.
      ``api_url`` replaces every host of the exchange's REST API (testnet,
      demo, proxy, the local exchange); None talks to the real exchange. ``clock`` gives
      seconds since the epoch; every timestamp the connector stamps, the hourly tier refresh
      and the rate-limit back-off read it. ``rate_limits`` (connectors/ratelimit.py) is shared
      by every connector of the process: a rate limit or ban one of them meets holds all
      those with the same exchange and base URL (and key, for per-key limits).
    - ``fetch_account() -> risk.types.Account``: one poll. Open positions only, with marks,
      maintenance tiers (with maintenance amounts), the exchange's liquidation price as
      ``Figure(EXCHANGE)`` when it gives one, and the exchange's account maintenance margin
      and margin ratio (maintenance / equity, liquidation at 1; OKX's mgnRatio inverted) and
      margin balance as Figures labelled with the exchange field they are; each coin's wallet,
      the pool mode read from the exchange, coin-margined positions, the account's own taker
      rate where the exchange says it; anything worth telling the user goes to
      ``Account.notes``. Markets are loaded on the first call (once per exchange and base URL,
      shared between connectors), tiers and the account's settings (pool mode, fee, collateral
      rules) once an hour. The poll builds no report: whoever builds one (the monitor, the
      ``report`` command) passes it to ``connectors.mismatches.log_mismatches`` to log where our
      liquidation price and the exchange's differ by more than 0.5 %.
    - ``key_permissions() -> KeyPermissions``: one request (none for Hyperliquid).
    - ``fetch_candles(symbol, timeframe="1h", since_ms=None, limit=500) -> Candles``
    - ``fetch_market(symbol) -> MarketStats`` (funding rate, open interest in base units,
      mark price; a figure the exchange does not offer is None).
    - ``fetch_order_book(symbol, depth=100) -> OrderBook`` (sizes in base units).
    - ``fetch_funding_history(symbol, limit=100) -> tuple[float, ...]`` oldest first.
    - ``fetch_open_interest_history(symbol, timeframe="1h", limit=500)`` oldest first.
    - ``fetch_liquidations(since_ms, kinds) -> tuple[ForcedClose, ...]``: the account's
      positions of these contract kinds the exchange's liquidation engine closed since
      ``since_ms``, from the exchange's own record, oldest first; one request per kind (OKX:
      one for both; connectors/venues.py names each venue's).
    - ``capabilities``: the optional reads above it offers (``connectors.types.Capability``);
      the monitor calls no other.
    - ``requests_made``: HTTP requests sent so far; ``close()`` releases the HTTP session.

    Errors: every method raises only ``ConnectorError`` (kind, one-line message without URL or
    secret, retry_after seconds or None). After a rate-limit answer or a ban (Retry-After,
    Binance's "banned until") no connector sharing the limit sends anything until it has
    passed: each raises RATE_LIMITED at once, before any request. A clock-skew
    rejection makes it measure the offset to the exchange's clock, compensate and retry once;
    the poll then succeeds with a note in ``Account.notes`` ("your computer's clock is off by
    …; sync it"), or raises CLOCK_SKEW.

    Threads: one connector may be called from any thread; calls are serialised by a lock (the
    ccxt client and its HTTP session are not thread-safe). Use one connector per account to
    poll accounts concurrently.
    """

    capabilities = frozenset(Capability)
    """Every optional read; where a venue lacks one the call returns an empty answer."""

    def __init__(
        self,
        exchange: str,
        credentials: Credentials,
        api_url: str | None = None,
        label: str = "",
        timeout_ms: int = 10000,
        clock: Callable[[], float] = time.time,
        rate_limits: RateLimits = RATE_LIMITS,
    ) -> None:
        if exchange not in VENUES:
            raise ConnectorError(
                ErrorKind.NOT_SUPPORTED,
                f"unknown exchange {exchange!r}; expected one of {', '.join(VENUES)}",
            )
        if api_url is not None:
            api_url = api_url.strip()
            register_secrets((url_password(api_url),))
            try:
                parts = urlsplit(api_url)
                valid = parts.scheme in ("http", "https") and bool(parts.hostname)
                parts.port  # noqa: B018 - raises ValueError for a port out of range
            except ValueError:
                valid = False
            if not valid:
                raise ConnectorError(
                    ErrorKind.NOT_SUPPORTED,
                    f"the API address {safe_text(display_url(api_url))!r} is not a web address: "
                    "it must start with http:// or https:// and name a host",
                )
        self.exchange = exchange
        self.label = label
        self.api_url = api_url or None
        self._venue: Venue = VENUES[exchange]
        self._secrets = (*credentials.secret_values(), credentials.api_key)
        self._timeout_ms = timeout_ms
        self._clock = clock
        self._limits = rate_limits
        self._address = address_of(api_url)
        self._key = key_id(credentials.api_key or credentials.wallet)
        self._lock = threading.RLock()
        self._requests = 0
        self._markets: dict[str, MarketRef] | None = None
        self._tiers: dict[str, tuple[MarginTier, ...]] = {}
        self._tiers_at: dict[str, float] = {}
        self._builtin: set[str] = set()
        self._settings: Settings = {}
        self._settings_at = -1e18
        self._markets_reloaded_at = -1e18
        self._clock_note: str | None = None
        self._check_credentials(credentials)
        self._client = self._make_client(credentials)

    # --- construction -----------------------------------------------------------------------

    def _check_credentials(self, credentials: Credentials) -> None:
        name = EXCHANGE_NAMES[self.exchange]
        if not self._venue.needs_key:
            if not WALLET_ADDRESS.fullmatch(credentials.wallet):
                raise ConnectorError(
                    ErrorKind.AUTH, f"{name} needs a wallet address (0x and 40 hex digits)"
                )
            return
        if not (credentials.api_key and credentials.secret):
            raise ConnectorError(ErrorKind.AUTH, f"{name} needs an API key and secret")
        for what, value in (
            ("API key", credentials.api_key),
            ("secret", credentials.secret),
            ("passphrase", credentials.password),
        ):
            if value != value.strip():
                raise ConnectorError(
                    ErrorKind.AUTH,
                    f"the {what} has spaces or line breaks around it (a copy-paste slip?); "
                    "enter it again without them",
                )
        if self.exchange == "okx" and not credentials.password:
            raise ConnectorError(ErrorKind.AUTH, "OKX needs the API key's passphrase")

    def _make_client(self, credentials: Credentials) -> Any:
        client = getattr(ccxt, self._venue.ccxt_id)(
            self._venue.config(credentials, self._timeout_ms)
        )
        if self.api_url:
            client.urls["api"] = point_at(client.urls["api"], self.api_url)
        send = client.fetch

        def counted_fetch(*args: Any, **kwargs: Any) -> Any:
            self._check_hold()
            self._requests += 1
            try:
                return send(*args, **kwargs)
            except Exception as exc:
                self._note_limit(exc)
                raise

        client.fetch = counted_fetch
        return client

    @property
    def requests_made(self) -> int:
        return self._requests

    def close(self) -> None:
        with self._lock:
            session = getattr(self._client, "session", None)
            if session is not None:
                session.close()

    def __repr__(self) -> str:
        where = f" via {display_url(self.api_url)}" if self.api_url else ""
        return f"ExchangeConnector({self.exchange}{where}, label={self.label!r})"

    # --- the error boundary -----------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _guarded(self, action: Callable[[], T]) -> T:
        """Run action under the lock; every failure leaves as a ConnectorError."""
        with self._lock:
            self._check_hold()
            try:
                return self._with_clock_retry(action)
            except ConnectorError as err:
                if err.kind is ErrorKind.RATE_LIMITED:
                    self._check_hold()  # the shared hold's wait: Retry-After or the ban's end
                raise

    # --- shared rate limits and bans --------------------------------------------------------

    def _check_hold(self) -> None:
        """Raise RATE_LIMITED, sending nothing, while a limit or ban this connector shares is
        in force (whichever connector met it)."""
        now = self._clock()
        hold = self._limits.active(self.exchange, self._address, self._key, now)
        if hold is not None:
            raise ConnectorError(
                ErrorKind.RATE_LIMITED, self._hold_message(hold, now), hold.until - now
            )

    def _hold_message(self, hold: Hold, now: float) -> str:
        name = EXCHANGE_NAMES[self.exchange]
        wait = hold.until - now
        if hold.banned:
            return (
                f"{name} has banned this IP address for too many requests; nothing is sent "
                f"to it for another {wait:.0f} s"
            )
        return f"{name} asked us to slow down; next request in {wait:.0f} s"

    def _note_limit(self, exc: BaseException) -> None:
        """Record a rate-limit answer (Retry-After, Binance's ban expiry) for every connector
        that shares the limit."""
        err = self._translate(exc)
        if err.kind is not ErrorKind.RATE_LIMITED:
            return
        raw = str(exc)
        code, _ = exchange_code_and_text(raw)
        local_minus_exchange_ms = float(self._client.options.get("timeDifference") or 0)
        now = self._clock()
        hold, before = record_limit(
            self._limits,
            self.exchange,
            self._address,
            self._key,
            raw,
            code,
            err.retry_after,
            time.time() * 1000 - local_minus_exchange_ms,
            now,
        )
        if before is None or hold.until > before.until + 1:
            logger.warning(
                "%s: %s (%s limit)", self.exchange, self._hold_message(hold, now), hold.scope.value
            )

    def _translate(self, exc: BaseException) -> ConnectorError:
        headers = getattr(self._client, "last_response_headers", None)
        if not isinstance(exc, ccxt.BaseError | ConnectorError):
            logger.debug("%s: unexpected response", self.exchange, exc_info=exc)
        return translate(
            exc, self.exchange, secrets=self._secrets, headers=headers, timeout_ms=self._timeout_ms
        )

    def _with_clock_retry(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except Exception as exc:
            err = self._translate(exc)
            if err.kind is not ErrorKind.CLOCK_SKEW:
                raise err from None
        offset_s = self._sync_clock()
        self._clock_note = (
            self._skew_message(offset_s) + " (compensated for now)"
            if abs(offset_s) >= CLOCK_NOTE_THRESHOLD_S
            else None
        )
        if self._clock_note:
            logger.warning("%s: %s", self.exchange, self._clock_note)
        try:
            return action()
        except Exception as exc:
            err = self._translate(exc)
            if err.kind is ErrorKind.CLOCK_SKEW:
                raise ConnectorError(ErrorKind.CLOCK_SKEW, self._skew_message(offset_s)) from None
            raise err from None

    def _sync_clock(self) -> float:
        """Measure local − exchange time and make ccxt sign with the exchange's clock."""
        self._client.options["timeDifference"] = 0
        try:
            offset_ms = self._client.load_time_difference()
        except Exception as exc:
            raise self._translate(exc) from None
        self._client.options["adjustForTimeDifference"] = True
        return float(offset_ms) / 1000.0

    def _skew_message(self, offset_s: float) -> str:
        direction = "ahead of" if offset_s > 0 else "behind"
        return (
            f"your computer's clock is off by {abs(offset_s):.1f} s ({direction} "
            f"{EXCHANGE_NAMES[self.exchange]}'s); sync it"
        )

    # --- markets and tiers ------------------------------------------------------------------

    def _ensure_markets(self) -> dict[str, MarketRef]:
        if self._markets is None:
            SHARED_MARKETS.load((self.exchange, self.api_url or ""), self._client)
            self._markets = self._venue.index_markets(self._client.markets)
        return self._markets

    def _market_ref(self, market_id: str) -> MarketRef:
        ref = self._ensure_markets().get(market_id)
        if ref is None and self._clock() - self._markets_reloaded_at >= MARKET_RELOAD_S:
            # A listing newer than our market list: reload it, at most once a minute.
            self._markets_reloaded_at = self._clock()
            SHARED_MARKETS.load((self.exchange, self.api_url or ""), self._client, reload=True)
            self._markets = self._venue.index_markets(self._client.markets)
            ref = self._markets.get(market_id)
        if ref is None:
            # an expiring future or a product we do not load: listed, not supported yet
            raise UnknownMarket(market_id)
        return ref

    def _refresh_tiers(self, symbols: set[str]) -> list[str]:
        """Fetch tiers for held symbols that have none or are older than an hour; returns notes
        for the user (tiers from the built-in tables, a failed refresh)."""
        now = self._clock()
        stale = {s for s in symbols if now - self._tiers_at.get(s, -1e18) >= TIER_TTL_S}
        if not stale:
            return self._builtin_notes(symbols)
        refs = [r for r in self._ensure_markets().values() if r.symbol in stale]
        try:
            fetched = self._venue.fetch_tiers(self._client, refs)
        except Exception as exc:
            if not stale <= set(self._tiers):
                raise
            # A failed hourly refresh keeps the last tiers and tries again in a minute rather
            # than failing the poll.
            err = self._translate(exc)
            for symbol in stale:
                self._tiers_at[symbol] = now - TIER_TTL_S + TIER_RETRY_S
            logger.warning("%s: tiers not refreshed: %s", self.exchange, err.message)
            return [f"maintenance tiers not refreshed ({err.message}); using the last ones"]
        fetched = {symbol: tiers for symbol, tiers in fetched.items() if tiers}
        for symbol, tiers in fetched.items():
            self._tiers[symbol] = tiers
            self._tiers_at[symbol] = now
            self._builtin.discard(symbol)
        kinds = {r.symbol: r.contract_type for r in refs}
        for symbol in stale - set(fetched):
            if symbol not in self._tiers:
                try:
                    self._tiers[symbol] = default_tiers(
                        self.exchange, symbol, kinds.get(symbol, ContractType.LINEAR)
                    )
                except (ValueError, KeyError):
                    raise ConnectorError(
                        ErrorKind.MALFORMED,
                        f"{EXCHANGE_NAMES[self.exchange]} gave no maintenance tiers for {symbol}",
                    ) from None
                self._builtin.add(symbol)
            self._tiers_at[symbol] = now
        return self._builtin_notes(symbols)

    def _builtin_notes(self, symbols: set[str]) -> list[str]:
        return [
            f"{symbol}: the exchange gave no maintenance tiers; using the built-in table"
            for symbol in sorted(self._builtin & symbols)
        ]

    # --- the poll ---------------------------------------------------------------------------

    def fetch_account(self) -> Account:
        return self._guarded(self._read_account)

    def _refresh_settings(self) -> list[str]:
        """The account's pool mode, fee rate and collateral rules, once an hour; a failed
        refresh keeps the last ones (or the exchange's defaults) with a note."""
        now = self._clock()
        if now - self._settings_at < TIER_TTL_S:
            return []
        try:
            self._settings = self._venue.read_settings(self._client)
        except Exception as exc:
            err = self._translate(exc)
            if err.kind in SETTINGS_FATAL:
                raise err from None
            self._settings_at = now - TIER_TTL_S + TIER_RETRY_S
            logger.warning("%s: account settings not read: %s", self.exchange, err.message)
            what = "the last ones" if self._settings else "the exchange's defaults"
            return [f"account mode and fee rate not read ({err.message}); using {what}"]
        self._settings_at = now
        return []

    def _read_account(self) -> Account:
        self._ensure_markets()
        setting_notes = self._refresh_settings()
        # dated when it was asked for: what the exchange answers is no older than that, and a
        # stream's mark heard while the read was under way is newer than the read's
        as_of_ms = self._now_ms()
        raw = self._venue.read_account(self._client, self._market_ref, self._settings)
        notes = setting_notes + self._refresh_tiers({p.symbol for p in raw.positions})
        if self._clock_note:
            notes.append(self._clock_note)
        return build_account(
            self.exchange,
            raw,
            self._tiers.__getitem__,
            as_of_ms=as_of_ms,
            label=self.label,
            notes=notes,
        )

    # --- key permissions --------------------------------------------------------------------

    def key_permissions(self) -> KeyPermissions:
        if not self._venue.needs_key:
            return KeyPermissions(True, False, False, True, None)
        try:
            can_trade, can_withdraw = self._guarded(
                lambda: self._venue.key_permissions(self._client)
            )
        except ConnectorError as err:
            if err.kind in (ErrorKind.NOT_SUPPORTED, ErrorKind.PERMISSION):
                return KeyPermissions(True, None, None, False, None)
            raise
        return KeyPermissions(
            True, can_trade, can_withdraw, True, permissions_warning(can_trade, can_withdraw)
        )

    # --- market data ------------------------------------------------------------------------

    def _unified(self, symbol: str) -> tuple[str, float]:
        self._ensure_markets()
        try:
            market = self._client.market(symbol)
        except ccxt.BadSymbol:
            raise ConnectorError(
                ErrorKind.UNKNOWN_SYMBOL,
                f"{EXCHANGE_NAMES[self.exchange]} does not list {symbol}",
            ) from None
        return str(market["symbol"]), float(market.get("contractSize") or 1.0)

    def fetch_candles(
        self, symbol: str, timeframe: str = "1h", since_ms: int | None = None, limit: int = 500
    ) -> Candles:
        def read() -> Candles:
            unified, _ = self._unified(symbol)
            rows = self._client.fetch_ohlcv(unified, timeframe, since_ms, limit)
            a = np.asarray(rows, dtype=float).reshape(-1, 6)
            return Candles(
                unified,
                timeframe,
                a[:, 0].astype(np.int64),
                a[:, 1].copy(),
                a[:, 2].copy(),
                a[:, 3].copy(),
                a[:, 4].copy(),
                a[:, 5].copy(),
            )

        return self._guarded(read)

    def fetch_market(self, symbol: str) -> MarketStats:
        def read() -> MarketStats:
            unified, contract_size = self._unified(symbol)
            funding = self._optional(lambda: self._client.fetch_funding_rate(unified))
            oi = self._optional(lambda: self._client.fetch_open_interest(unified))
            now = self._now_ms()
            rate = mark = oi_base = None
            if funding:
                ts = funding.get("timestamp") or now
                if funding.get("fundingRate") is not None:
                    rate = Figure(float(funding["fundingRate"]), Source.EXCHANGE, ts)
                if funding.get("markPrice"):
                    mark = Figure(float(funding["markPrice"]), Source.EXCHANGE, ts)
            if mark is None and self._client.has.get("fetchMarkPrice"):
                ticker = self._optional(lambda: self._client.fetch_mark_price(unified))
                if ticker and ticker.get("markPrice"):
                    ts = ticker.get("timestamp") or now
                    mark = Figure(float(ticker["markPrice"]), Source.EXCHANGE, ts)
            if oi:
                amount = oi.get("openInterestAmount")
                if amount is None and oi.get("baseVolume") is not None:
                    amount = oi["baseVolume"]
                elif amount is not None and self.exchange == "okx":
                    amount = float(amount) * contract_size
                if amount is not None:
                    ts = oi.get("timestamp") or now
                    oi_base = Figure(float(amount), Source.EXCHANGE, ts)
            return MarketStats(unified, rate, oi_base, mark)

        return self._guarded(read)

    @staticmethod
    def _optional(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except ccxt.NotSupported:
            return None

    def fetch_open_interest_history(
        self, symbol: str, timeframe: str = "1h", limit: int = 500
    ) -> tuple[np.ndarray, np.ndarray]:
        """(snapshot times in ms, open interest in base units), oldest first; both empty where
        the exchange offers no history (Binance keeps the last 30 days, at most 500 rows)."""

        def read() -> tuple[np.ndarray, np.ndarray]:
            unified, contract_size = self._unified(symbol)
            rows = None
            if self._client.has.get("fetchOpenInterestHistory"):
                rows = self._optional(
                    lambda: self._client.fetch_open_interest_history(
                        unified, timeframe, None, limit
                    )
                )
            ts: list[int] = []
            amounts: list[float] = []
            for r in rows or ():
                amount = r.get("openInterestAmount")
                if amount is None:
                    amount = r.get("baseVolume")
                if amount is None or r.get("timestamp") is None:
                    continue
                if self.exchange == "okx":
                    amount = float(amount) * contract_size
                ts.append(int(r["timestamp"]))
                amounts.append(float(amount))
            t = np.asarray(ts, dtype=np.int64)
            order = np.argsort(t, kind="stable")
            return t[order], np.asarray(amounts, dtype=float)[order]

        return self._guarded(read)

    def fetch_liquidations(
        self, since_ms: int, kinds: Collection[ContractType] = (ContractType.LINEAR,)
    ) -> tuple[ForcedClose, ...]:
        """The account's own positions of these kinds the exchange liquidated since
        ``since_ms`` (our clock; sent on the exchange's, when ccxt has measured the offset),
        oldest first."""

        def read() -> tuple[ForcedClose, ...]:
            markets = self._ensure_markets()
            local_minus_exchange = int(self._client.options.get("timeDifference") or 0)
            closes = self._venue.fetch_liquidations(
                self._client, since_ms - local_minus_exchange, markets.get, kinds
            )
            return tuple(sorted(closes, key=lambda c: c.time_ms))

        return self._guarded(read)

    def fetch_funding_history(self, symbol: str, limit: int = 100) -> tuple[float, ...]:
        """Past funding rates, oldest first (empty where the exchange offers none)."""

        def read() -> tuple[float, ...]:
            unified, _ = self._unified(symbol)
            rows = self._optional(
                lambda: self._client.fetch_funding_rate_history(unified, None, limit)
            )
            return tuple(float(r["fundingRate"]) for r in rows or () if r.get("fundingRate"))

        return self._guarded(read)

    def fetch_order_book(self, symbol: str, depth: int = 100) -> OrderBook:
        def read() -> OrderBook:
            unified, contract_size = self._unified(symbol)
            book = self._client.fetch_order_book(unified, depth)

            def side(rows: list[list[float]]) -> np.ndarray:
                a = np.asarray([r[:2] for r in rows[:depth]], dtype=float).reshape(-1, 2)
                a[:, 1] *= contract_size
                return a

            return OrderBook(
                unified,
                side(book.get("bids") or []),
                side(book.get("asks") or []),
                book.get("timestamp") or self._now_ms(),
            )

        return self._guarded(read)
