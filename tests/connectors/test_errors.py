"""ccxt exceptions -> ConnectorError: kinds, messages without URLs or secrets, Retry-After."""

from __future__ import annotations

import ccxt
import pytest

from connectors.credentials import Credentials
from connectors.errors import exchange_code_and_text, scrub, translate
from connectors.exchange import ExchangeConnector
from connectors.types import ErrorKind
from connectors.venues import point_at

SECRET = "s3cr3t-abcdefgh"
KEY = "key-ABCDEFGH1234"


@pytest.mark.parametrize(
    ("exc", "exchange", "kind"),
    [
        (
            ccxt.AuthenticationError('binanceusdm {"code":-1022,"msg":"Signature invalid."}'),
            "binanceusdm",
            ErrorKind.AUTH,
        ),
        (
            ccxt.AuthenticationError('binanceusdm {"code":-2015,"msg":"Invalid API-key, IP"}'),
            "binanceusdm",
            ErrorKind.PERMISSION,
        ),
        (
            ccxt.DDoSProtection('binanceusdm {"code":-2015,"msg":"Invalid API-key, IP"}'),
            "binanceusdm",
            ErrorKind.PERMISSION,
        ),
        (
            ccxt.InvalidNonce('binanceusdm {"code":-1021,"msg":"outside of the recvWindow"}'),
            "binanceusdm",
            ErrorKind.CLOCK_SKEW,
        ),
        (
            ccxt.BadRequest('bybit {"retCode":10002,"retMsg":"invalid request, check time"}'),
            "bybit",
            ErrorKind.CLOCK_SKEW,
        ),
        (
            ccxt.ExchangeError('okx {"code":"50102","msg":"Timestamp request expired"}'),
            "okx",
            ErrorKind.CLOCK_SKEW,
        ),
        (
            ccxt.DDoSProtection("binanceusdm 429 Too Many Requests"),
            "binanceusdm",
            ErrorKind.RATE_LIMITED,
        ),
        (
            ccxt.ExchangeNotAvailable("bybit 503 Service Unavailable"),
            "bybit",
            ErrorKind.EXCHANGE_DOWN,
        ),
        (ccxt.OnMaintenance("okx system maintenance"), "okx", ErrorKind.EXCHANGE_DOWN),
        (
            ccxt.RequestTimeout("hyperliquid POST http://x/info request timeout"),
            "hyperliquid",
            ErrorKind.TIMEOUT,
        ),
        (
            ccxt.NetworkError("binanceusdm GET http://x connection refused"),
            "binanceusdm",
            ErrorKind.NETWORK,
        ),
        (
            ccxt.BadSymbol("bybit does not have market symbol FOO/USDT"),
            "bybit",
            ErrorKind.UNKNOWN_SYMBOL,
        ),
        (ccxt.NotSupported("okx fetchFoo() is not supported yet"), "okx", ErrorKind.NOT_SUPPORTED),
        (ccxt.BadResponse("hyperliquid garbage"), "hyperliquid", ErrorKind.MALFORMED),
        (TypeError("'NoneType' object is not subscriptable"), "okx", ErrorKind.MALFORMED),
    ],
)
def test_kinds(exc: BaseException, exchange: str, kind: ErrorKind) -> None:
    err = translate(exc, exchange)
    assert err.kind is kind
    assert "Traceback" not in err.message and "\n" not in err.message


def test_retry_after_is_honoured() -> None:
    err = translate(ccxt.RateLimitExceeded("bybit 429"), "bybit", headers={"Retry-After": "7"})
    assert (err.kind, err.retry_after) == (ErrorKind.RATE_LIMITED, 7.0)
    assert "7 s" in err.message


def test_messages_never_carry_urls_signatures_or_secrets() -> None:
    exc = ccxt.AuthenticationError(
        f"binanceusdm GET https://fapi.binance.com/fapi/v3/account?timestamp=1&signature=abc"
        f'&apiKey={KEY} {{"code":-1022,"msg":"bad secret {SECRET}"}}'
    )
    err = translate(exc, "binanceusdm", secrets=[SECRET, KEY])
    assert err.kind is ErrorKind.AUTH
    for leaked in ("signature=abc", SECRET, KEY, "https://", "fapi.binance.com"):
        assert leaked not in err.message
    assert "-1022" in err.message


def test_scrub_and_code_extraction() -> None:
    assert "<url>" in scrub("GET http://127.0.0.1:5/x?signature=1 failed")
    assert exchange_code_and_text('okx {"code":"1","data":[{"sCode":"50110","sMsg":"IP"}]}') == (
        "1",
        "",
    )
    assert exchange_code_and_text('bybit {"retCode":10004,"retMsg":"error sign!"}') == (
        "10004",
        "error sign!",
    )


def test_point_at_keeps_paths_and_replaces_templated_hosts() -> None:
    urls = {"fapiPrivateV3": "https://fapi.binance.com/fapi/v3", "rest": "https://{hostname}"}
    assert point_at(urls, "http://127.0.0.1:8/") == {
        "fapiPrivateV3": "http://127.0.0.1:8/fapi/v3",
        "rest": "http://127.0.0.1:8",
    }


def test_missing_credentials_are_refused_before_any_request() -> None:
    from connectors.types import ConnectorError

    with pytest.raises(ConnectorError) as info:
        ExchangeConnector("okx", Credentials("k", "s"))
    assert info.value.kind is ErrorKind.AUTH and "passphrase" in info.value.message
    with pytest.raises(ConnectorError):
        ExchangeConnector("hyperliquid", Credentials())


def test_unreachable_exchange_is_a_network_error() -> None:
    from connectors.types import ConnectorError

    conn = ExchangeConnector(
        "binanceusdm", Credentials(KEY, SECRET), api_url="http://127.0.0.1:9", timeout_ms=2000
    )
    with pytest.raises(ConnectorError) as info:
        conn.fetch_account()
    assert info.value.kind is ErrorKind.NETWORK
    assert conn.requests_made == 1
    assert SECRET not in repr(conn) and KEY not in repr(conn)


def test_a_liquidation_price_mismatch_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    from resources import default_tiers
    from risk.types import Account, Figure, Position, Side, Source

    pos = Position(
        symbol="BTC/USDT:USDT",
        side=Side.LONG,
        contracts=1.0,
        entry_price=100_000.0,
        mark_price=100_000.0,
        tiers=default_tiers("binanceusdm", "BTC"),
        exchange_liquidation_price=Figure(70_000.0, Source.EXCHANGE, 0),
    )
    from connectors.mismatches import log_mismatches
    from risk.report import build_report

    report = build_report(Account("binanceusdm", 10_000.0, (pos,)))
    with caplog.at_level("WARNING", logger="connectors.mismatches"):
        log_mismatches(report, "binanceusdm", "main", symbols=("ETH/USDT:USDT",))
        assert not caplog.records
        log_mismatches(report, "binanceusdm", "main")
    (record,) = caplog.records
    assert "BTC/USDT:USDT" in record.getMessage() and "differs" in record.getMessage()
    assert SECRET not in record.getMessage()


def test_a_malformed_wallet_address_is_refused() -> None:
    from connectors.types import ConnectorError

    with pytest.raises(ConnectorError) as info:
        ExchangeConnector("hyperliquid", Credentials(wallet="0x1234"))
    assert info.value.kind is ErrorKind.AUTH


@pytest.mark.parametrize("url", ["notaurl", "ftp://host", "127.0.0.1:8080", "http://"])
def test_an_api_address_that_is_not_a_web_address_is_refused_in_plain_words(url: str) -> None:
    from connectors.credentials import Credentials
    from connectors.exchange import ExchangeConnector
    from connectors.types import ConnectorError

    with pytest.raises(ConnectorError) as info:
        ExchangeConnector("bybit", Credentials(api_key=KEY, secret=SECRET), api_url=url)
    assert "must start with http:// or https://" in info.value.message
    assert SECRET not in info.value.message


def test_whitespace_pasted_around_a_key_is_named_not_sent() -> None:
    from connectors.credentials import Credentials
    from connectors.exchange import ExchangeConnector
    from connectors.types import ConnectorError, ErrorKind

    for creds in (Credentials(api_key=f" {KEY}", secret=SECRET),
                  Credentials(api_key=KEY, secret=f"{SECRET}\n")):  # fmt: skip
        with pytest.raises(ConnectorError) as info:
            ExchangeConnector("binanceusdm", creds, api_url="http://127.0.0.1:9")
        assert info.value.kind is ErrorKind.AUTH and "spaces or line breaks" in info.value.message
        assert SECRET not in info.value.message
