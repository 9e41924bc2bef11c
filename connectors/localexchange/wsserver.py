"""The WebSocket side of the local exchange: one aiohttp server on 127.0.0.1 in a thread of its
own, speaking each venue's streaming protocol as ccxt.pro expects it.

The path picks the venue, as on the real hosts (``wss://fstream.binance.com/market/ws/0``,
``wss://stream.bybit.com/v5/public/linear``, ``wss://ws.okx.com:8443/ws/v5/public``,
``wss://api.hyperliquid.xyz/ws``), so a ccxt.pro client is pointed here by swapping the host
and keeping the paths. Each connection is a ``Session`` of its venue (ws_binance, ws_bybit,
ws_okx, ws_hyperliquid): it answers subscriptions, pings and logins, and a pump sends what is
due (marks at the venue's cadence, liquidation prints as the scenario reaches them, the
account when it changes). ``wake()`` pushes the marks at once (a pinned mark).

Faults (``lx.faults.inject``; the endpoint matches the path or the channel): ``ws_drop``,
``ws_silent`` and ``ws_malformed``, described in connectors/localexchange/faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import threading
import time

from aiohttp import WSMsgType, web

from connectors.localexchange import ws_binance, ws_bybit, ws_hyperliquid, ws_okx
from connectors.localexchange.wssession import Session, StreamState

log = logging.getLogger(__name__)

PUMP_S = 0.05
"""How often a connection looks for frames that are due (wall seconds)."""


def route(path: str) -> type[Session] | None:
    """The venue whose streaming API lives at ``path`` (the real hosts' paths)."""
    if path == "/ws":
        return ws_hyperliquid.HyperliquidSession
    if path.startswith(("/market/ws", "/public/ws", "/private/ws")):
        return ws_binance.BinanceSession
    if path in ("/v5/public/linear", "/v5/private"):
        return ws_bybit.BybitSession
    if path in ("/ws/v5/public", "/ws/v5/private", "/ws/v5/business"):
        return ws_okx.OkxSession
    return None


class WsServer:
    """The aiohttp server and its thread. ``start()`` returns once it listens."""

    def __init__(self, lx: StreamState, host: str = "127.0.0.1", port: int = 0):
        self.lx = lx
        self.host = host
        self.requested_port = port
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._live: dict[Session, tuple[web.WebSocketResponse, web.Request, asyncio.Event]] = {}
        self.pushed_marks_at: float = 0.0
        """perf_counter() of the last push that ``wake()`` asked for (for the benchmark)."""
        self.connections = 0

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self) -> WsServer:
        self._thread = threading.Thread(target=self._run, name="localexchange-ws", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error
        if not self._ready.is_set():
            raise OSError("the local exchange's WebSocket server did not start")
        return self

    def stop(self) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        # right after start() the loop may not run yet: what is queued here runs once it does
        done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            done.result(5.0)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5.0)
        self.loop = None

    def wake(self) -> None:
        """Push every mark subscription now (thread-safe)."""
        loop = self.loop
        if loop is None:
            return

        def go() -> None:
            for session, (_, _, event) in list(self._live.items()):
                session.woken = True
                event.set()

        loop.call_soon_threadsafe(go)

    def drop_all(self) -> None:
        """Drop every connection at once, without a close frame (thread-safe)."""
        loop = self.loop
        if loop is None:
            return

        def go() -> None:
            for _, request, _ in list(self._live.values()):
                if request.transport is not None:
                    request.transport.abort()

        loop.call_soon_threadsafe(go)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as e:
            self._error = e
            loop.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.requested_port, reuse_address=True)
        await site.start()
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.requested_port

    async def _shutdown(self) -> None:
        for session, (_ws, request, event) in list(self._live.items()):
            session.closed = True
            event.set()
            if request.transport is not None:
                request.transport.abort()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- one connection -------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        cls = route(path)
        if cls is None:
            return web.Response(status=404, text="Not Found")
        session = cls(self.lx, path, dict(request.query))
        refusal = session.accept()
        if refusal is not None:
            return web.Response(status=400, text=refusal)
        ws = web.WebSocketResponse(autoping=False, compress=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        self.connections += 1
        event = asyncio.Event()
        self._live[session] = (ws, request, event)
        pump = asyncio.ensure_future(self._pump(session, ws, request, event))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    session.on_text(msg.data)
                    event.set()
                elif msg.type == WSMsgType.PING:
                    if not self._silenced(session, "ping", pongs=True):
                        await ws.pong(msg.data)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            session.closed = True
            event.set()
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
            self._live.pop(session, None)
        return ws

    def _silenced(self, session: Session, channel: str, *, pongs: bool = False) -> bool:
        for f in self.lx.faults.take_ws(session.exchange, session.path, channel, ("ws_silent",)):
            if pongs and f.params.get("pongs", True):
                continue
            return True
        return False

    async def _pump(
        self,
        session: Session,
        ws: web.WebSocketResponse,
        request: web.Request,
        event: asyncio.Event,
    ) -> None:
        faults = self.lx.faults
        while not session.closed and not ws.closed:
            drops = faults.take_ws(session.exchange, session.path, "", ("ws_drop",))
            if drops:
                await self._drop(request, session, bool(drops[0].params.get("mid_frame")))
                return
            woken = session.woken
            try:
                frames = session.outbox + session.due(time.monotonic())
            except Exception:
                log.exception("local exchange stream %s failed", session.path)
                frames = list(session.outbox)
            session.outbox.clear()
            for frame in frames:
                text = frame.text()
                if frame.data:
                    if self._silenced(session, frame.channel):
                        continue
                    cut = faults.take_ws(
                        session.exchange, session.path, frame.channel, ("ws_malformed",)
                    )
                    if cut:
                        text = text[: max(1, len(text) // 2)]
                elif frame.channel == "pong" and self._silenced(session, "pong", pongs=True):
                    continue
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    return
            if woken:
                session.woken = False
                self.pushed_marks_at = time.perf_counter()
            event.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), PUMP_S)

    async def _drop(self, request: web.Request, session: Session, mid_frame: bool) -> None:
        session.closed = True
        transport = request.transport
        if transport is None:
            return
        if mid_frame:
            payload = json.dumps({"note": "this frame is cut off" + " " * 200}).encode()
            header = struct.pack("!BBH", 0x81, 126, len(payload))
            transport.write(header + payload[: len(payload) // 2])
            await asyncio.sleep(0.01)
        transport.abort()
