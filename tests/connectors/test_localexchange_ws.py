"""The local exchange's WebSocket side at the protocol level: logins checked like the REST
side, Binance listen keys over REST, pings, refusals, and the liquidation tape behind the
prints (sized from the public totals cited in resources/scenarios/*.liquidations.json)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import ccxt
import pytest

from connectors.localexchange import SCENARIOS, LocalExchange
from connectors.localexchange.liquidations import LiquidationTape, expected_total
from connectors.localexchange.scenario import HOUR_MS, Scenario
from connectors.localexchange.signing import hmac_b64, hmac_hex
from connectors.venues import VENUES, point_at
from resources import resource_path


@pytest.fixture(scope="module")
def lx() -> Iterator[LocalExchange]:
    server = LocalExchange(scenario="2025-11-04", speed=1.0).start()
    yield server
    server.stop()


async def exchange_frames(url: str, sends: list[Any], want: int, timeout: float = 5.0) -> list[Any]:
    """Connect, send each message, and collect ``want`` text frames (parsed when JSON)."""
    out: list[Any] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        for message in sends:
            await ws.send_str(message if isinstance(message, str) else json.dumps(message))
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            try:
                out.append(json.loads(msg.data))
            except ValueError:
                out.append(msg.data)
    return out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_scenario_names_leave_out_the_liquidation_files() -> None:
    assert set(SCENARIOS) == {"2025-08-24", "2025-11-04", "quiet"}
    for name in SCENARIOS:
        assert resource_path("scenarios", f"{name}.liquidations.json").exists()


def test_bybit_private_stream_checks_the_login(lx: LocalExchange) -> None:
    creds = lx.credentials("bybit")
    expires = str(int(time.time() * 1000) + 10_000)
    good = hmac_hex(creds.secret, "GET/realtime" + expires)
    url = lx.ws_url + "/v5/private"
    refused = run(
        exchange_frames(
            url,
            [
                {"op": "subscribe", "req_id": "1", "args": ["position"]},
                {"op": "auth", "args": [creds.api_key, expires, "0" * 64]},
            ],
            2,
        )
    )
    assert refused[0]["success"] is False and "not authorized" in refused[0]["ret_msg"]
    assert refused[1] == {**refused[1], "success": False, "op": "auth"}
    ok = run(
        exchange_frames(
            url,
            [
                {"op": "auth", "args": [creds.api_key, expires, good]},
                {"op": "subscribe", "req_id": "2", "args": ["position", "wallet"]},
                {"op": "ping", "req_id": "3"},
            ],
            3,
        )
    )
    assert ok[0]["success"] is True and ok[0]["op"] == "auth"
    assert ok[1]["success"] is True and ok[1]["req_id"] == "2"
    assert ok[2]["op"] == "pong" and ok[2]["req_id"] == "3"


@pytest.mark.parametrize(
    ("change", "code"),
    [("passphrase", "60024"), ("sign", "60007"), ("timestamp", "60006"), ("apiKey", "60005")],
)
def test_okx_login_is_checked(lx: LocalExchange, change: str, code: str) -> None:
    creds = lx.credentials("okx")
    stamp = str(int(time.time()))
    arg = {
        "apiKey": creds.api_key,
        "passphrase": creds.password,
        "timestamp": stamp,
        "sign": hmac_b64(creds.secret, stamp + "GET/users/self/verify"),
    }
    url = lx.ws_url + "/ws/v5/private"
    good = run(exchange_frames(url, [{"op": "login", "args": [arg]}, "ping"], 2))
    assert good == [{"event": "login", "code": "0", "msg": "", "connId": good[0]["connId"]}, "pong"]
    bad_value = {"timestamp": str(int(time.time()) - 120)}.get(change, "x" + str(arg[change]))
    bad = run(exchange_frames(url, [{"op": "login", "args": [{**arg, change: bad_value}]}], 1))
    assert bad[0]["event"] == "error" and bad[0]["code"] == code


def test_okx_private_channels_need_a_login(lx: LocalExchange) -> None:
    frames = run(
        exchange_frames(
            lx.ws_url + "/ws/v5/private",
            [{"op": "subscribe", "args": [{"channel": "positions", "instType": "ANY"}]}],
            1,
        )
    )
    assert frames[0]["event"] == "error" and frames[0]["code"] == "60011"


def test_binance_listen_key_over_rest_opens_the_user_stream(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm")
    client = ccxt.binanceusdm(VENUES["binanceusdm"].config(creds, 5000))
    client.urls["api"] = point_at(client.urls["api"], lx.base_url)
    key = client.fapiPrivatePostListenKey()["listenKey"]
    assert client.fapiPrivatePostListenKey()["listenKey"] == key  # the same while it lives
    assert client.fapiPrivatePutListenKey()["listenKey"] == key

    async def connect(listen_key: str) -> int:
        async with aiohttp.ClientSession() as session:
            try:
                async with session.ws_connect(
                    f"{lx.ws_url}/private/ws?listenKey={listen_key}"
                ) as ws:
                    await ws.close()
                    return 101
            except aiohttp.WSServerHandshakeError as e:
                return e.status

    assert run(connect(key)) == 101
    client.fapiPrivateDeleteListenKey()
    assert run(connect(key)) == 400
    with pytest.raises(ccxt.AuthenticationError):
        _post_with_bad_key(lx)


def _post_with_bad_key(lx: LocalExchange) -> None:
    creds = lx.credentials("binanceusdm")
    cfg = VENUES["binanceusdm"].config(creds, 5000)
    cfg["apiKey"] = "0" * 64
    client = ccxt.binanceusdm(cfg)
    client.urls["api"] = point_at(client.urls["api"], lx.base_url)
    client.fapiPrivatePostListenKey()


def test_hyperliquid_answers_pings_and_refuses_bad_subscriptions(lx: LocalExchange) -> None:
    frames = run(
        exchange_frames(
            lx.ws_url + "/ws",
            [
                {"method": "ping"},
                {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "XYZ"}},
                {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "BTC"}},
            ],
            4,
        )
    )
    assert frames[0] == {"channel": "pong"}
    assert frames[1]["channel"] == "error"
    assert frames[2]["channel"] == "subscriptionResponse"
    assert frames[3]["channel"] == "activeAssetCtx" and frames[3]["data"]["coin"] == "BTC"


def test_binance_rejects_an_unknown_stream(lx: LocalExchange) -> None:
    frames = run(
        exchange_frames(
            lx.ws_url + "/market/ws/0",
            [{"method": "SUBSCRIBE", "params": ["nosuchusdt@markPrice@1s"], "id": 7}],
            1,
        )
    )
    assert frames[0]["id"] == 7 and frames[0]["error"]["code"] == 2


def test_mid_frame_drop_cuts_the_connection(lx: LocalExchange) -> None:
    lx.faults.inject("ws_drop", exchange="hyperliquid", mid_frame=1, times=1)

    async def go() -> list[aiohttp.WSMsgType]:
        kinds = []
        async with aiohttp.ClientSession() as session, session.ws_connect(lx.ws_url + "/ws") as ws:
            for _ in range(3):
                msg = await ws.receive(timeout=3.0)
                kinds.append(msg.type)
                if msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
        return kinds

    kinds = run(go())
    assert kinds[-1] in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    assert aiohttp.WSMsgType.TEXT not in kinds


# --- the tape ----------------------------------------------------------------------------------


def test_prints_add_up_to_the_cited_totals() -> None:
    scenario = Scenario.load("2025-11-04")
    tape = LiquidationTape(scenario)
    data = json.loads(resource_path("scenarios", "2025-11-04.liquidations.json").read_text())
    assert all("source" in w and "http" in w["source"] for w in data["windows"])
    assert "http" in data["venue_share"]["source"]
    start, end = scenario.start_ms, scenario.start_ms + 48 * HOUR_MS
    for venue in ("binanceusdm", "bybit"):
        for side in ("long", "short"):
            got = tape.notional(venue, "BTC", side, start - 1, end)
            assert got == pytest.approx(expected_total(tape, venue, "BTC", side), rel=0.06)
    # 3 Nov: 1.27 B across all venues, 89.8 % longs, BTC 31.16 % of it; Binance 17.35 %
    day1 = tape.notional("binanceusdm", "BTC", "long", start - 1, start + 24 * HOUR_MS)
    assert day1 == pytest.approx(1.27e9 * 0.898 * 0.3116 * 0.1735, rel=0.03)


def test_prints_gather_where_the_price_falls_hardest() -> None:
    scenario = Scenario.load("2025-11-04")
    tape = LiquidationTape(scenario)
    path = tape.paths["BTC"]
    hours = range(24, 48)
    moves, longs = [], []
    for h in hours:
        a, b = scenario.start_ms + h * HOUR_MS, scenario.start_ms + (h + 1) * HOUR_MS
        moves.append(path.price(b) / path.price(a) - 1)
        longs.append(tape.notional("bybit", "BTC", "long", a, b))
    worst = min(range(len(moves)), key=lambda i: moves[i])
    best = max(range(len(moves)), key=lambda i: moves[i])
    assert longs[worst] > 2 * longs[best]


def test_quiet_days_print_at_the_ordinary_rate() -> None:
    scenario = Scenario.load("quiet")
    tape = LiquidationTape(scenario)
    data = json.loads(resource_path("scenarios", "quiet.liquidations.json").read_text())
    hourly = data["baseline"]["all_venues"]["BTC"]["long_usd_per_hour"]
    share = data["venue_share"]["share"]["binanceusdm"]
    got = tape.notional(
        "binanceusdm", "BTC", "long", scenario.start_ms, scenario.start_ms + 24 * HOUR_MS
    )
    assert got == pytest.approx(24 * hourly * share, rel=0.25)


def test_binance_and_okx_print_at_most_once_a_second() -> None:
    scenario = Scenario.load("2025-11-04")
    tape = LiquidationTape(scenario)
    a = scenario.start_ms + 40 * HOUR_MS
    for venue in ("binanceusdm", "okx"):
        prints = tape.prints(venue, "BTC", a, a + HOUR_MS)
        seconds = [p.time_ms // 1000 for p in prints]
        assert len(seconds) == len(set(seconds)) > 100
    bybit = tape.prints("bybit", "BTC", a, a + HOUR_MS)
    assert len({p.time_ms // 1000 for p in bybit}) < len(bybit)


def test_a_stop_right_after_start_leaves_nothing_running() -> None:
    """Stopped at once (as `watch` or `localexchange` do on an early Ctrl-C), the WebSocket
    side's event loop had not started running yet and stop() did nothing: its thread, loop
    and port lived on. A port already taken left the loop unclosed. Either leak is a
    ResourceWarning at collection, which fails the test."""
    import gc
    import socket
    import threading

    before = {t.ident for t in threading.enumerate()}
    for _ in range(5):
        LocalExchange(scenario="quiet", speed=60.0).start().stop()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        with pytest.raises(OSError):
            LocalExchange(scenario="quiet", ws_port=busy.getsockname()[1]).start()
    finally:
        busy.close()
    gc.collect()
    alive = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not [t for t in alive if t.name == "localexchange-ws"], alive
