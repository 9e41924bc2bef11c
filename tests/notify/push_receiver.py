"""A local HTTP receiver standing in for the push services: apprise's ``json://`` target.

It records every POST (the JSON apprise sends: version, title, message, type) with its arrival
time, and can be told to answer with an error status or to answer late.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    at: float
    """time.time() when the body was read."""
    path: str
    body: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.body.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))

    @property
    def type(self) -> str:
        return str(self.body.get("type", ""))


class PushReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 200
        self.delay_s = 0.0
        self.attempts = 0
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._cond:
                    receiver.attempts += 1
                    status, delay = receiver.status, receiver.delay_s
                if delay:
                    time.sleep(delay)
                if status == 200:
                    with receiver._cond:
                        receiver.received.append(
                            Received(time.time(), self.path, json.loads(raw or b"{}"))
                        )
                        receiver._cond.notify_all()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/"

    def __enter__(self) -> PushReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Wait until at least ``n`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < n and time.monotonic() < deadline:
                self._cond.wait(max(0.0, deadline - time.monotonic()))
            return list(self.received)

    def set(self, status: int = 200, delay_s: float = 0.0) -> None:
        with self._cond:
            self.status, self.delay_s = status, delay_s
