"""The log redaction (connectors/redaction.py) and the echo-safe text (formatting.safe_text)."""

from __future__ import annotations

import io
import logging
import secrets as token_source
from collections.abc import Iterator

import pytest

from connectors.credentials import Credentials
from connectors.redaction import (
    REDACTING_FILTER,
    display_url,
    install_redaction,
    redact,
    url_password,
)
from formatting import safe_text


def fresh(prefix: str) -> str:
    return prefix + token_source.token_hex(8)


# What ccxt 4.5 writes at DEBUG (base/exchange.py fetch: "%s %s, Request: %s %s"), one per venue.
LIBRARY_LINES = [
    "GET https://fapi.binance.com/fapi/v3/account?timestamp=1&signature=0a1b2c3d, Request: "
    "{'X-MBX-APIKEY': 'AbCdEf123456', 'User-Agent': 'python-requests'} None",
    "GET https://api.bybit.com/v5/account/wallet-balance?accountType=UNIFIED, Request: "
    "{'X-BAPI-API-KEY': 'AbCdEf123456', 'X-BAPI-TIMESTAMP': '1', 'X-BAPI-RECV-WINDOW': '5000', "
    "'X-BAPI-SIGN': 'feedface99'} None",
    "GET https://www.okx.com/api/v5/account/balance, Request: {'OK-ACCESS-KEY': 'AbCdEf123456', "
    "'OK-ACCESS-PASSPHRASE': 'My-Pass', 'OK-ACCESS-TIMESTAMP': '2025', 'OK-ACCESS-SIGN': 'c2ln='} "
    "None",
    'http://127.0.0.1:8080 "GET /fapi/v3/account?timestamp=1&signature=0a1b2c3d HTTP/1.1" 200',
    "POST https://api.example/x, Request: {'Authorization': 'Basic dXNlcjpwYXNz'} "
    '{"apiKey": "AbCdEf123456", "secret": "shh-1234"}',
]


@pytest.mark.parametrize("line", LIBRARY_LINES)
def test_generic_patterns_mask_unregistered_credentials(line: str) -> None:
    out = redact(line)
    for value in ("AbCdEf123456", "feedface99", "My-Pass", "c2ln=", "0a1b2c3d", "dXNlcjpwYXNz"):
        assert value not in out
    assert "shh-1234" not in out
    assert "***" in out


def test_registered_secrets_are_masked_in_every_form() -> None:
    secret = fresh("Sec/ret+=&")
    Credentials(api_key=fresh("key"), secret=secret, password=fresh("pw"))
    from urllib.parse import quote

    for form in (secret, quote(secret, safe=""), repr(secret)[1:-1]):
        assert secret not in redact(f"x {form} y") and quote(secret, safe="") not in redact(form)


def test_url_user_info_is_never_shown() -> None:
    url = "https://trader:hunter2@proxy.example:8443/binance?x=1"
    assert display_url(url) == "https://proxy.example:8443/binance?x=1"
    assert redact(f"GET {url}") == "GET https://***@proxy.example:8443/binance?x=1"
    assert url_password(url) == "hunter2"
    assert "hunter2" not in display_url("http://u:hunter2@[::1")
    assert display_url("http://127.0.0.1:9/") == "http://127.0.0.1:9/"


def test_an_address_password_is_never_echoed_by_the_connector() -> None:
    from connectors.exchange import ExchangeConnector
    from connectors.types import ConnectorError

    creds = Credentials(api_key="k" * 16, secret="s" * 16)
    for url in (
        "ftp://me:LeakPw-771@host",
        "http://me:LeakPw-771@[::1",
        "http://me:LeakPw-771@h:99999",
    ):
        with pytest.raises(ConnectorError) as info:
            ExchangeConnector("binanceusdm", creds, api_url=url)
        assert "LeakPw-771" not in info.value.message and "me:" not in info.value.message
        assert "\n" not in info.value.message
    conn = ExchangeConnector("binanceusdm", creds, api_url="http://me:LeakPw-772@127.0.0.1:9")
    assert "LeakPw-772" not in repr(conn) and "127.0.0.1:9" in repr(conn)
    assert "LeakPw-772" not in redact("the password LeakPw-772 anywhere")


@pytest.fixture
def terminal() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield stream
    logger.removeHandler(handler)
    logger.propagate = True


def test_the_filter_covers_every_level_tracebacks_and_stacks(terminal: io.StringIO) -> None:
    secret = fresh("LeakSecret")
    Credentials(api_key=fresh("LeakKey"), secret=secret)
    install_redaction()
    logger = logging.getLogger("test.redaction")
    assert REDACTING_FILTER in logger.handlers[0].filters
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        logger.log(level, "value %s", secret)
        try:
            raise RuntimeError(f"failed with {secret}")
        except RuntimeError:
            logger.log(level, "caught", exc_info=True, stack_info=True)
    text = terminal.getvalue()
    assert secret not in text
    assert text.count("RuntimeError: failed with ***") == 5
    assert "CRITICAL value ***" in text


def test_an_unformattable_record_does_not_leak_its_arguments(terminal: io.StringIO) -> None:
    secret = fresh("LeakSecret")
    Credentials(api_key=fresh("LeakKey"), secret=secret)
    install_redaction()
    logging.getLogger("test.redaction").warning("%d items", secret)
    text = terminal.getvalue()
    assert secret not in text and "could not be formatted" in text


def test_the_last_resort_handler_is_covered() -> None:
    install_redaction()
    assert logging.lastResort is not None
    assert REDACTING_FILTER in logging.lastResort.filters


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("two\nlines\r", "two\\nlines\\r"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("naïve 日本", "naïve 日本"),
        ("\x07bell\x00nul", "\\x07bell\\x00nul"),
    ],
)
def test_safe_text_escapes_what_a_terminal_would_obey(raw: str, shown: str) -> None:
    assert safe_text(raw) == shown


def test_safe_text_is_one_bounded_line() -> None:
    out = safe_text("x" * 10_000 + "\n")
    assert len(out) == 201 and out.endswith("…") and "\n" not in out


def test_a_typed_data_folder_is_echoed_safely(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.database import open_database
    from storage.errors import DatabaseUnreadable

    folder = tmp_path / "evil\x1b]0;pwned\x07\nname"
    folder.mkdir()
    (folder / "cascade.db").mkdir()  # a directory where the database should be
    with pytest.raises(DatabaseUnreadable) as info:
        open_database(folder)
    message = str(info.value)
    assert "\x1b" not in message and "\x07" not in message and "\n" not in message
    assert "evil\\x1b]0;pwned\\x07\\nname" in message
