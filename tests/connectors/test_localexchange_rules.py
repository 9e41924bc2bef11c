"""The local exchange enforces what Binance enforces on signed requests, and its faults can be
switched while it runs (issue 13, item 10).

As found: it accepted any recvWindow (Binance caps it at 60,000 ms) and parameters sent after
``signature=``, unsigned (Binance wants the signature last). Requests here are signed by hand
as Binance documents it (HMAC-SHA256 of totalParams), so each rule is tested on its own."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.localexchange import LocalExchange
from connectors.localexchange.control import FAULTS_PATH
from connectors.localexchange.faults import Faults, parse_spec
from connectors.localexchange.signing import hmac_hex


@pytest.fixture(scope="module")
def lx() -> Iterator[LocalExchange]:
    with LocalExchange(scenario="2025-11-04", port=0, control=True) as server:
        yield server


def call(
    lx: LocalExchange,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    request = urllib.request.Request(
        lx.base_url + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, decoded(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as e:
        with e:
            return e.code, decoded(e.read()), dict(e.headers)


def decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw.decode(errors="replace")


def signed_account(
    lx: LocalExchange, query: str, body: bytes | None = None, sign: str = ""
) -> tuple[int, Any]:
    """GET /fapi/v3/account with the demo key; ``query`` signed unless ``sign`` is given."""
    creds = lx.credentials("binanceusdm")
    signature = sign or hmac_hex(creds.secret, query)
    status, payload, _ = call(
        lx,
        f"/fapi/v3/account?{query}&signature={signature}"
        if "signature=" not in query
        else f"/fapi/v3/account?{query}",
        method="POST" if body is not None else "GET",
        body=body,
        headers={"X-MBX-APIKEY": creds.api_key},
    )
    return status, payload


def now_ms() -> int:
    return int(time.time() * 1000)


def test_recv_window_is_capped_at_60000_ms(lx: LocalExchange) -> None:
    status, _ = signed_account(lx, f"timestamp={now_ms()}&recvWindow=60000")
    assert status == 200
    status, payload = signed_account(lx, f"timestamp={now_ms()}&recvWindow=60001")
    assert (status, payload["code"]) == (400, -1131)
    assert payload["msg"] == "recvWindow must be less than 60000."
    status, payload = signed_account(lx, f"timestamp={now_ms()}&recvWindow=0")
    assert payload["code"] == -1131


def test_a_stale_request_inside_a_huge_window_is_refused(lx: LocalExchange) -> None:
    """The cap is what makes a stale signed request useless: an hour old cannot pass."""
    status, payload = signed_account(lx, f"timestamp={now_ms() - 3_600_000}&recvWindow=3600000")
    assert status == 400 and payload["code"] == -1131


def test_nothing_is_accepted_after_the_signature(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm")
    query = f"timestamp={now_ms()}"
    good = hmac_hex(creds.secret, query)
    assert signed_account(lx, f"{query}&signature={good}")[0] == 200
    status, payload = signed_account(lx, f"{query}&signature={good}&recvWindow=60000")
    assert (status, payload["code"]) == (400, -1022)
    status, payload = signed_account(lx, f"{query}&signature={good}", body=b"symbol=BTCUSDT")
    assert (status, payload["code"]) == (400, -1022)
    status, payload = signed_account(lx, f"{query}&signature=")
    assert (status, payload["code"]) == (400, -1022)


def test_a_signature_in_the_body_covers_query_and_body(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm")
    query, form = f"timestamp={now_ms()}", "recvWindow=5000"
    signature = hmac_hex(creds.secret, query + form)
    status, _, _ = call(
        lx,
        f"/fapi/v3/account?{query}",
        method="POST",
        body=f"{form}&signature={signature}".encode(),
        headers={"X-MBX-APIKEY": creds.api_key},
    )
    assert status == 200


# --- faults: checked when given, switched while running ------------------------------------


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("nope", "unknown fault 'nope'"),
        ("418,exchange=kraken", "unknown exchange 'kraken'"),
        ("418,seconds=3", "a 418 fault takes no 'seconds'"),
        ("latency,seconds=abc", "seconds must be a number"),
        ("latency,seconds=nan", "finite"),
        ("latency,seconds=-1", "at least 0"),
        ("5xx,status=200", "HTTP status code"),
        ("429,times=0", "times must be a whole number"),
        ("429,times=1.5", "times must be a whole number"),
        ("429,retry_after", "name=value"),
        ("429,retry_after=1,retry_after=2", "given twice"),
        ("", "starts with its kind"),
    ],
)
def test_a_bad_fault_rule_is_refused_in_one_line(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as info:
        kind, kwargs = parse_spec(spec)
        Faults().inject(kind, **kwargs)
    assert "\n" not in str(info.value)


def test_the_control_endpoint_switches_faults_while_it_runs(lx: LocalExchange) -> None:
    try:
        status, payload, _ = call(lx, FAULTS_PATH)
        assert (status, payload) == (200, {"faults": []})
        status, payload, _ = call(
            lx, FAULTS_PATH, method="POST", body=b"418,exchange=binanceusdm,ban_s=120"
        )
        assert status == 201 and payload["faults"][0]["kind"] == "418"
        status, body, headers = call(lx, "/fapi/v1/time")
        assert status == 418 and 118 <= int(headers["Retry-After"]) <= 120
        until = int(body["msg"].split("banned until ")[1].split(".")[0])
        assert abs(until - (now_ms() + 120_000)) < 3_000
        assert call(lx, "/v5/market/time")[0] == 200, "only Binance is banned"
        status, payload, _ = call(
            lx,
            FAULTS_PATH,
            method="POST",
            body=json.dumps({"kind": "5xx", "exchange": "okx", "status": 503}).encode(),
        )
        assert status == 201 and len(payload["faults"]) == 2
        assert call(lx, "/api/v5/public/time")[0] == 503
        status, payload, _ = call(lx, FAULTS_PATH, method="POST", body=b"418,seconds=2")
        assert status == 400 and "takes no 'seconds'" in payload["error"]
        assert call(lx, FAULTS_PATH + "?kind=418", method="DELETE")[1]["faults"][0]["kind"] == "5xx"
        assert call(lx, "/fapi/v1/time")[0] == 200
        assert call(lx, FAULTS_PATH, method="DELETE")[1] == {"faults": []}
        assert call(lx, "/api/v5/public/time")[0] == 200
    finally:
        lx.faults.clear()


def test_the_control_endpoint_is_off_unless_asked_for() -> None:
    with LocalExchange(scenario="2025-11-04", port=0) as plain:
        status, _, _ = call(plain, FAULTS_PATH, method="POST", body=b"418")
        assert status == 404 and not plain.faults.describe()
