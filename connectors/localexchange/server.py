"""The HTTP side: a threading server on loopback that routes each request to its exchange.

Connections are kept alive (HTTP/1.1 with Content-Length) and Nagle is off, so a poll of a few
requests over one ccxt session stays well under a millisecond of network time per request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from connectors.localexchange import binance, bybit, control, hyperliquid, okx
from connectors.localexchange.faults import Fault, Faults
from connectors.localexchange.listenkeys import ListenKeys
from connectors.localexchange.market import Market
from connectors.localexchange.protocol import Accounts, ApiError, Request, Response, json_response

log = logging.getLogger(__name__)


class ExchangeState(Protocol):
    """What the HTTP side answers from (the service, LocalExchange, is one): the market, the
    accounts, the faults to inject, the clocks, and the log of requests seen."""

    @property
    def market(self) -> Market: ...

    @property
    def store(self) -> Accounts: ...

    @property
    def faults(self) -> Faults: ...

    @property
    def listen_keys(self) -> ListenKeys: ...

    @property
    def stopping(self) -> threading.Event: ...

    @property
    def request_log(self) -> deque[tuple[str, str]]: ...

    @property
    def control(self) -> bool:
        """Whether /_control/ switches faults (connectors/localexchange/control.py)."""
        ...

    def server_time_ms(self, exchange: str, path: str = "", info_type: str | None = None) -> int:
        """The exchange's own clock (wall time plus any injected skew), in ms."""
        ...

    def tick_ms(self) -> int:
        """The scenario time of the current tick, in ms."""
        ...

    def exchange_time_at(self, exchange: str, scenario_ms: int) -> int:
        """The exchange's clock when the scenario reached ``scenario_ms`` (fixed once given)."""
        ...


MODULES = {
    "binanceusdm": binance,
    "bybit": bybit,
    "okx": okx,
    "hyperliquid": hyperliquid,
}


def exchange_of(path: str) -> str | None:
    if path.startswith(("/fapi/", "/dapi/", "/sapi/", "/futures/data/")):
        return "binanceusdm"
    if path.startswith("/v5/"):
        return "bybit"
    if path.startswith("/api/v5/"):
        return "okx"
    if path in ("/info", "/exchange"):
        return "hyperliquid"
    return None


def _not_found(exchange: str | None, path: str) -> Response:
    if exchange == "binanceusdm":
        return json_response({"code": -5000, "msg": f"Path {path}, Method GET is invalid"}, 404)
    if exchange == "okx":
        return json_response({"msg": "Not Found", "code": "404"}, 404)
    return Response(404, b"Not Found", {"Content-Type": "text/plain"})


def _fault_response(exchange: str, fault: Fault) -> Response:
    kind = fault.kind
    module = MODULES[exchange]
    if kind in ("429", "418", "maintenance"):
        now = time.time()
        status, payload = module.error_body(kind)
        until = fault.ban_until
        if until is not None and exchange == "binanceusdm":
            status, payload = binance.ban_body(int(until * 1000))
        headers = {}
        if kind != "maintenance":
            headers["Retry-After"] = str(fault.retry_after(now))
        if isinstance(payload, str):
            content = "text/html" if payload.startswith("<") else "application/json"
            return Response(status, payload.encode(), {"Content-Type": content, **headers})
        return json_response(payload, status, headers)
    if kind == "5xx":
        status = int(fault.params.get("status", 502))
        page = f"<html><head><title>{status}</title></head><body>{status} Bad Gateway</body></html>"
        return Response(status, page.encode(), {"Content-Type": "text/html"})
    # malformed: a body cut off in the middle of a JSON object
    status = int(fault.params.get("status", 200))
    return Response(
        status, b'{"code":0,"data":[{"symbol":"BTC', {"Content-Type": "application/json"}
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: LocalServer

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        response = self.server.lx_dispatch(self.command, self.path, self.headers, body)
        if response is None:
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)


class LocalServer(ThreadingHTTPServer):
    """Tracks its open connections so that stopping it also drops the kept-alive ones: a
    stopped exchange must look down to a client that still holds a connection."""

    daemon_threads = True
    allow_reuse_address = True
    lx_dispatch: Callable[..., Response | None]

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]):
        super().__init__(address, handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (a watch stopping, a connection the exchange
        itself dropped) is routine: one DEBUG line, not socketserver's traceback on stderr.
        Anything else is one WARNING line with its cause (the traceback at DEBUG)."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            log.debug("a client of the local exchange went away: %s", exc)
            return
        log.warning("the local exchange failed to answer %s: %r", client_address, exc)
        log.debug("the local exchange's failure", exc_info=True)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


def serve(host: str, port: int, dispatch: Callable[..., Response | None]) -> LocalServer:
    server = LocalServer((host, port), Handler)
    server.lx_dispatch = dispatch
    thread = threading.Thread(target=server.serve_forever, name="localexchange", daemon=True)
    thread.start()
    return server


def dispatch(
    lx: ExchangeState, method: str, target: str, headers: Message, body: bytes
) -> Response | None:
    """Answer one request, or None to drop the connection (a hung request)."""
    url = urlsplit(target)
    path = url.path
    if lx.control and path.startswith(control.PREFIX):
        return control.handle(lx.faults, method, path, url.query, body)
    exchange = exchange_of(path)
    lx.request_log.append((method, path))
    if exchange is None:
        return _not_found(None, path)
    json_body = None
    info_type = None
    if exchange == "hyperliquid":
        try:
            json_body = json.loads(body or b"{}")
            info_type = json_body.get("type") if isinstance(json_body, dict) else None
        except ValueError:
            return Response(
                422,
                b"Failed to deserialize the JSON body into the target type",
                {"Content-Type": "text/plain"},
            )
    for fault in lx.faults.take(exchange, path, info_type):
        if fault.kind == "latency":
            if lx.stopping.wait(float(fault.params.get("seconds", 0.5))):
                return None
        elif fault.kind == "timeout":
            lx.stopping.wait(float(fault.params.get("seconds", 60.0)))
            return None
        else:
            return _fault_response(exchange, fault)
    request = Request(
        method=method,
        path=path,
        raw_query=url.query,
        query=dict(parse_qsl(url.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        exchange=exchange,
        server_ms=lx.server_time_ms(exchange, path, info_type),
        scenario_ms=lx.tick_ms(),
        market=lx.market,
        accounts=lx.store,
        exchange_time=lambda scenario_ms: lx.exchange_time_at(exchange, scenario_ms),
        json_body=json_body,
        listen_keys=lx.listen_keys,
    )
    module = MODULES[exchange]
    try:
        if exchange == "hyperliquid":
            return hyperliquid.handle(request, info_type)
        handler: Callable[[Request], Response] | None = module.ROUTES.get(path)
        if handler is None:
            return _not_found(exchange, path)
        return handler(request)
    except ApiError as e:
        return e.response
    except Exception:
        log.exception("local exchange failed on %s %s", method, path)
        return json_response({"error": "internal error"}, 500)
