"""A calendar feed served over real HTTP on 127.0.0.1, for the monitor's and the window's
tests: it answers every GET with the status and body the test sets."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.paths import FIXTURES

FIXTURE = (FIXTURES / "release-calendar.ics").read_bytes()


class FeedServer:
    """An HTTP server on 127.0.0.1 answering every GET with ``status`` and ``body``."""

    def __init__(self) -> None:
        self.status, self.body, self.hits = 200, FIXTURE, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(outer.status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/bls.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
