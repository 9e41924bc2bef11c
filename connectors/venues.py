"""What differs per exchange: ccxt configuration, the account requests, tiers, key permissions.

Each ``Venue`` issues the fewest requests its exchange allows for one account poll:

| exchange    | per poll                                                         | requests |
|-------------|------------------------------------------------------------------|----------|
| binanceusdm | GET /fapi/v3/account, /fapi/v3/positionRisk, COIN-M              | 4        |
|             | /dapi/v1/account, /dapi/v1/positionRisk                          |          |
| bybit       | GET /v5/account/wallet-balance, /v5/position/list × linear USDT, | 4        |
|             | linear USDC, inverse                                             |          |
| okx         | GET /api/v5/account/balance, /api/v5/account/positions (linear   | 2        |
|             | and coin-margined swaps)                                         |          |
| hyperliquid | POST /info clearinghouseState (positionValue carries the mark)   | 1        |

Asked only when positions vanish (never on a steady poll), the account's own liquidations, from
the exchange's record of them, one request per kind of contract that vanished: Binance GET
/fapi/v1/forceOrders (and /dapi/v1/forceOrders for COIN-M), autoCloseType=LIQUIDATION; Bybit
GET /v5/execution/list, execType=BustTrade, category linear (inverse); Hyperliquid POST /info
userFillsByTime (fills whose ``liquidation.liquidatedUser`` is the account): each through
ccxt's ``fetch_my_liquidations``; OKX, which ccxt does not map, GET
/api/v5/account/positions-history (type 3 liquidation, 4 partial liquidation; linear and
coin-margined swaps in one).

Tiers and the account's settings are fetched apart from the poll, once an hour, and cached by
the connector. Tiers: Binance one /fapi/v1/leverageBracket for every symbol (and
/dapi/v2/leverageBracket for COIN-M); Bybit one /v5/market/risk-limit and OKX one
/api/v5/public/position-tiers per held symbol; Hyperliquid one POST /info meta for every coin
(its marginTables, else each coin's maxLeverage). Settings: Binance's asset mode
(GET /fapi/v1/multiAssetsMargin ``multiAssetsMargin``) and, in multi-assets mode, the asset
index (GET /fapi/v1/assetIndex: index, bidRate, askRate); Bybit's collateral value ratios
(GET /v5/account/collateral-info; a Unified Trading Account always pools); OKX's account level
(GET /api/v5/account/config ``acctLv``: 2 single-currency, 3 multi-currency margin) and taker
rate (GET /api/v5/account/trade-fee). ccxt's unified fetch_positions is not used for Binance
because it fetches leverageBracket again on its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import ccxt  # type: ignore[import-untyped]  # ccxt ships no stubs and no py.typed

from connectors import parsing
from connectors.credentials import Credentials
from connectors.parsing import MarketRef, RawAccount
from risk.types import ContractType, ForcedClose, MarginTier

Settings = dict[str, Any]
"""Keyword arguments of the venue's account parser that change rarely (refreshed hourly)."""

COIN_M_UNREADABLE = (ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.BadRequest)


def point_at(urls: Any, base_url: str) -> Any:
    """ccxt's ``urls['api']`` with every host replaced by base_url, paths kept
    (https://fapi.binance.com/fapi/v1 -> BASE/fapi/v1; https://api.{hostname} -> BASE)."""
    base = base_url.rstrip("/")
    if isinstance(urls, str):
        path = urlsplit(urls).path if "://" in urls else ""
        return base + path
    if isinstance(urls, Mapping):
        return {k: point_at(v, base_url) for k, v in urls.items()}
    return urls


def contract_size(client: Any) -> Callable[[str], float | None]:
    """A loaded market's contract size by unified symbol (None for a market not loaded)."""

    def size(symbol: str) -> float | None:
        market = (client.markets or {}).get(symbol) or {}
        return parsing.num(market.get("contractSize"))

    return size


class Venue:
    """One exchange's requests and parsing; stateless, the connector owns the client."""

    exchange: ClassVar[str]
    ccxt_id: ClassVar[str]
    needs_key: ClassVar[bool] = True
    liquidation_record: ClassVar[str] = ""
    """Where the exchange records an account's liquidations, as a trader reads it."""
    liquidation_side_field: ClassVar[str | None] = None
    """The raw record's field naming the position side (hedge mode), if it has one."""

    def config(self, credentials: Credentials, timeout_ms: int) -> dict[str, Any]:
        return {
            "apiKey": credentials.api_key,
            "secret": credentials.secret,
            "password": credentials.password,
            "timeout": timeout_ms,
            # Polls are paced by the monitor and rate-limit answers honoured through
            # ConnectorError.retry_after; ccxt's sync throttle sleeps rateLimit × cost before
            # every request, which would cost a Binance poll hundreds of milliseconds.
            "enableRateLimit": False,
            "has": {"fetchCurrencies": False},
            "options": {"fetchCurrencies": False, "adjustForTimeDifference": False},
        }

    def index_markets(self, markets: Mapping[str, Mapping[str, Any]]) -> dict[str, MarketRef]:
        """Raw position ids -> MarketRef, over the loaded perpetual markets."""
        out = {}
        for m in markets.values():
            if not m.get("swap"):
                continue
            out[str(m["id"])] = self._ref(m)
        return out

    def _ref(self, m: Mapping[str, Any]) -> MarketRef:
        limits = (m.get("limits") or {}).get("leverage") or {}
        return MarketRef(
            symbol=str(m["symbol"]),
            contract_size=float(m.get("contractSize") or 1.0),
            max_leverage=parsing.num(limits.get("max")),
            tier_key=str(m["id"]),
            contract_type=ContractType.INVERSE if m.get("inverse") else ContractType.LINEAR,
            settle=str(m.get("settle") or "USDT"),
        )

    def read_settings(self, client: Any) -> Settings:
        """The account's pool mode, fee rate and collateral rules (refreshed hourly)."""
        return {}

    def read_account(
        self, client: Any, market: parsing.MarketLookup, settings: Settings
    ) -> RawAccount:
        raise NotImplementedError

    def fetch_tiers(
        self, client: Any, refs: Iterable[MarketRef]
    ) -> dict[str, tuple[MarginTier, ...]]:
        """Tiers by unified symbol for at least the given markets."""
        raise NotImplementedError

    def key_permissions(self, client: Any) -> tuple[bool, bool]:
        """(can_trade, can_withdraw) as the exchange reports them."""
        raise ccxt.NotSupported("no key-permission endpoint")

    def fetch_liquidations(
        self,
        client: Any,
        since_ms: int,
        market: parsing.KnownMarket,
        kinds: Iterable[ContractType],
    ) -> list[ForcedClose]:
        """The account's positions of the given kinds the liquidation engine closed since
        ``since_ms`` (the exchange's clock): ccxt's ``fetch_my_liquidations``, one request per
        kind (its ``subType``). ``market`` finds a listed perpetual by its id (None for one no
        longer listed)."""
        out: list[ForcedClose] = []
        for kind in sorted(set(kinds), key=lambda k: k.value):
            rows = client.fetch_my_liquidations(None, since_ms, None, {"subType": kind.value})
            out += parsing.ccxt_forced_closes(
                rows, self.liquidation_record, contract_size(client), self.liquidation_side_field
            )
        return out


class BinanceUsdm(Venue):
    exchange = "binanceusdm"
    ccxt_id = "binanceusdm"
    liquidation_record = "Binance's force orders"
    liquidation_side_field = "positionSide"

    def config(self, credentials: Credentials, timeout_ms: int) -> dict[str, Any]:
        cfg = super().config(credentials, timeout_ms)
        cfg["options"]["fetchMarkets"] = {"types": ["linear", "inverse"]}
        return cfg

    def read_settings(self, client: Any) -> Settings:
        body = client.fapiPrivateGetMultiAssetsMargin()
        multi = str(body.get("multiAssetsMargin", "false")).lower() == "true"
        settings: Settings = {"multi_assets": multi}
        if multi:
            settings["asset_index"] = parsing.binance_asset_index(client.fapiPublicGetAssetIndex())
        return settings

    def read_account(
        self, client: Any, market: parsing.MarketLookup, settings: Settings
    ) -> RawAccount:
        account = client.fapiPrivateV3GetAccount()
        risks = client.fapiPrivateV3GetPositionRisk()
        notes: tuple[str, ...] = ()
        try:
            coinm = client.dapiPrivateGetAccount()
            coinm_risks = client.dapiPrivateGetPositionRisk()
        except COIN_M_UNREADABLE:
            coinm, coinm_risks = None, []
            notes = ("Binance COIN-M futures could not be read with this key",)
        raw = parsing.binance_account(
            account, risks, market, coinm_account=coinm, coinm_risks=coinm_risks, **settings
        )
        return dataclasses.replace(raw, notes=(*raw.notes, *notes)) if notes else raw

    def fetch_tiers(
        self, client: Any, refs: Iterable[MarketRef]
    ) -> dict[str, tuple[MarginTier, ...]]:
        refs = list(refs)
        by_id = parsing.binance_tiers(client.fapiPrivateGetLeverageBracket())
        if any(r.contract_type is ContractType.INVERSE for r in refs):
            by_id.update(parsing.binance_tiers(client.dapiPrivateV2GetLeverageBracket()))
        out = {}
        for market_id, tiers in by_id.items():
            m = client.markets_by_id.get(market_id)
            if m:
                out[m[0]["symbol"]] = tiers
        return out

    def key_permissions(self, client: Any) -> tuple[bool, bool]:
        body = client.sapiGetAccountApiRestrictions()
        can_trade = any(
            bool(body.get(k))
            for k in (
                "enableFutures",
                "enableSpotAndMarginTrading",
                "enableMargin",
                "enableOptions",
            )
        )
        return can_trade, bool(body.get("enableWithdrawals"))


class Bybit(Venue):
    exchange = "bybit"
    ccxt_id = "bybit"
    liquidation_record = "Bybit's BustTrade executions"
    settle_coins: ClassVar[tuple[str, ...]] = ("USDT", "USDC")

    def config(self, credentials: Credentials, timeout_ms: int) -> dict[str, Any]:
        cfg = super().config(credentials, timeout_ms)
        cfg["options"].update(
            {
                "fetchMarkets": {"types": ["linear", "inverse"]},
                "enableUnifiedAccount": True,
                "enableUnifiedMargin": False,
            }
        )
        return cfg

    def read_settings(self, client: Any) -> Settings:
        body = client.privateGetV5AccountCollateralInfo()
        return {"collateral_ratios": parsing.bybit_collateral_ratios(body)}

    def read_account(
        self, client: Any, market: parsing.MarketLookup, settings: Settings
    ) -> RawAccount:
        wallet = client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
        lists = [
            client.privateGetV5PositionList(
                {"category": "linear", "settleCoin": coin, "limit": 200}
            )
            for coin in self.settle_coins
        ]
        lists.append(client.privateGetV5PositionList({"category": "inverse", "limit": 200}))
        return parsing.bybit_account(wallet, lists, market, **settings)

    def fetch_tiers(
        self, client: Any, refs: Iterable[MarketRef]
    ) -> dict[str, tuple[MarginTier, ...]]:
        def category(ref: MarketRef) -> str:
            return "inverse" if ref.contract_type is ContractType.INVERSE else "linear"

        return {
            ref.symbol: parsing.bybit_tiers(
                client.publicGetV5MarketRiskLimit(
                    {"category": category(ref), "symbol": ref.tier_key}
                )
            )
            for ref in refs
        }

    def key_permissions(self, client: Any) -> tuple[bool, bool]:
        return parsing.bybit_key_permissions(client.privateGetV5UserQueryApi())


class Okx(Venue):
    exchange = "okx"
    ccxt_id = "okx"
    liquidation_record = "OKX's position history"

    def config(self, credentials: Credentials, timeout_ms: int) -> dict[str, Any]:
        cfg = super().config(credentials, timeout_ms)
        cfg["options"].update({"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"})
        return cfg

    def _ref(self, m: Mapping[str, Any]) -> MarketRef:
        ref = super()._ref(m)
        family = str((m.get("info") or {}).get("instFamily") or "")
        return dataclasses.replace(ref, tier_key=family)

    def read_settings(self, client: Any) -> Settings:
        mode, name = parsing.okx_config(client.privateGetAccountConfig())
        fee = parsing.okx_taker_rate(client.privateGetAccountTradeFee({"instType": "SWAP"}))
        return {"pool_mode": mode, "mode_name": name, "taker_rate": fee}

    def read_account(
        self, client: Any, market: parsing.MarketLookup, settings: Settings
    ) -> RawAccount:
        balance = client.privateGetAccountBalance()
        positions = client.privateGetAccountPositions({"instType": "SWAP"})
        return parsing.okx_account(balance, positions, market, **settings)

    def fetch_tiers(
        self, client: Any, refs: Iterable[MarketRef]
    ) -> dict[str, tuple[MarginTier, ...]]:
        return {
            ref.symbol: parsing.okx_tiers(
                client.publicGetPublicPositionTiers(
                    {"instType": "SWAP", "tdMode": "cross", "instFamily": ref.tier_key}
                )
            )
            for ref in refs
        }

    def key_permissions(self, client: Any) -> tuple[bool, bool]:
        return parsing.okx_key_permissions(client.privateGetAccountConfig())

    def fetch_liquidations(
        self,
        client: Any,
        since_ms: int,
        market: parsing.KnownMarket,
        kinds: Iterable[ContractType],
    ) -> list[ForcedClose]:
        """ccxt 4.5 has no fetch_my_liquidations for OKX: the raw position history of every
        swap, linear and coin-margined in one request, records updated after ``since_ms``
        (``before`` is "newer than this uTime")."""
        body = client.privateGetAccountPositionsHistory(
            {"instType": "SWAP", "before": str(since_ms), "limit": "100"}
        )
        return parsing.okx_forced_closes(body, market, self.liquidation_record)


class Hyperliquid(Venue):
    exchange = "hyperliquid"
    ccxt_id = "hyperliquid"
    needs_key = False
    liquidation_record = "Hyperliquid's liquidation fills"

    def config(self, credentials: Credentials, timeout_ms: int) -> dict[str, Any]:
        return {
            "walletAddress": credentials.wallet,
            "timeout": timeout_ms,
            "enableRateLimit": False,
            "has": {"fetchCurrencies": False},
            "options": {"fetchMarkets": {"types": ["swap"]}, "fetchCurrencies": False},
        }

    def index_markets(self, markets: Mapping[str, Mapping[str, Any]]) -> dict[str, MarketRef]:
        """clearinghouseState names a position by its coin ('BTC'), not by the asset index."""
        out = {}
        for m in markets.values():
            if not m.get("swap"):
                continue
            info = m.get("info") or {}
            coin = str(info.get("name") or m.get("baseName") or m["base"])
            ref = self._ref(m)
            max_lev = parsing.num(info.get("maxLeverage")) or ref.max_leverage
            out[coin] = MarketRef(ref.symbol, ref.contract_size, max_lev, coin)
        return out

    def fetch_liquidations(
        self,
        client: Any,
        since_ms: int,
        market: parsing.KnownMarket,
        kinds: Iterable[ContractType],
    ) -> list[ForcedClose]:
        """Linear perpetuals only (Hyperliquid lists no other): one userFillsByTime."""
        rows = client.fetch_my_liquidations(None, since_ms)
        return parsing.ccxt_forced_closes(rows, self.liquidation_record, contract_size(client))

    def read_account(
        self, client: Any, market: parsing.MarketLookup, settings: Settings
    ) -> RawAccount:
        state = client.publicPostInfo({"type": "clearinghouseState", "user": client.walletAddress})
        return parsing.hyperliquid_account(state, market)

    def fetch_tiers(
        self, client: Any, refs: Iterable[MarketRef]
    ) -> dict[str, tuple[MarginTier, ...]]:
        by_coin = parsing.hyperliquid_meta_tiers(client.publicPostInfo({"type": "meta"}))
        return {ref.symbol: by_coin[ref.tier_key] for ref in refs if ref.tier_key in by_coin}


REQUESTS_PER_POLL = {"binanceusdm": 4, "bybit": 4, "okx": 2, "hyperliquid": 1}
"""HTTP requests of one steady-state fetch_account (markets and tiers cached)."""

VENUES: dict[str, Venue] = {v.exchange: v for v in (BinanceUsdm(), Bybit(), Okx(), Hyperliquid())}
