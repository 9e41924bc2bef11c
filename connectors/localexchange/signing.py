"""HMAC signatures as each exchange computes them (and as ccxt 4.5.90 sends them)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def hmac_b64(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def binance_payload(raw_query: str, body: bytes) -> tuple[str, str | None]:
    """(the signed text, the signature) of a Binance request: the query string and the form
    body concatenated, up to the ``signature=`` parameter (Binance's totalParams). The signature
    must be the last thing sent ("make sure the signature is the end part of your query string
    or request body"): a parameter after it, in the same part or in a body after a signed
    query, leaves it None (so the request is refused, -1022), never accepted unsigned."""
    body_text = body.decode(errors="replace")
    for text in (raw_query, body_text):
        marker = text.rfind("signature=")
        if marker >= 0 and (marker == 0 or text[marker - 1] == "&"):
            signature = text[marker + len("signature=") :]
            before = text[: max(0, marker - 1)]
            trailing = "&" in signature or (text is raw_query and body_text.strip() != "")
            if trailing or not signature:
                return raw_query + body_text, None
            if text is raw_query:
                return before, signature
            return raw_query + before, signature
    return raw_query + body_text, None


def okx_timestamp_ms(text: str) -> int | None:
    """OKX's OK-ACCESS-TIMESTAMP ("2020-12-08T09:08:57.715Z") in ms, None if unparsable."""
    try:
        return int(
            datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000
        )
    except ValueError:
        return None
