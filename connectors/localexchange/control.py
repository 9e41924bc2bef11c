"""The local exchange's control endpoint: switch faults on and off while it runs, so anyone can
rehearse an outage against the app or ``watch`` (enabled by the ``localexchange`` command).

    GET    /_control/faults            the active rules, as JSON
    POST   /_control/faults            add one: a line as ``localexchange --fault`` takes it
                                       (``418,exchange=binanceusdm,ban_s=120``), or a JSON
                                       object {"kind": "418", "exchange": ..., "ban_s": 120}
    DELETE /_control/faults[?kind=K]   clear every rule (or those of one kind)

The server listens on 127.0.0.1 only. A rule that cannot be read is answered 400 with one line.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from connectors.localexchange.faults import Faults, parse_spec
from connectors.localexchange.protocol import Response, json_response

PREFIX = "/_control/"
FAULTS_PATH = "/_control/faults"


def _refused(problem: str, status: int = 400) -> Response:
    return json_response({"error": problem}, status)


def _rule(body: bytes) -> tuple[str, dict[str, Any]]:
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
            raise ValueError('a JSON rule is an object with a "kind"')
        kind = data.pop("kind")
        return kind, data
    return parse_spec(text)


def handle(faults: Faults, method: str, path: str, query: str, body: bytes) -> Response:
    if path != FAULTS_PATH:
        return _refused(f"no control at {path}; try {FAULTS_PATH}", 404)
    if method == "GET":
        return json_response({"faults": faults.describe()})
    if method == "POST":
        try:
            kind, kwargs = _rule(body)
            faults.inject(kind, **kwargs)
        except (ValueError, TypeError) as e:
            return _refused(str(e))
        return json_response({"faults": faults.describe()}, 201)
    if method == "DELETE":
        faults.clear(dict(parse_qsl(query)).get("kind"))
        return json_response({"faults": faults.describe()})
    return _refused(f"{method} is not supported here; use GET, POST or DELETE", 405)
