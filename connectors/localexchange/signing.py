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
    """(the signed text, the signature) of a Binance request: every parameter before the final
    ``signature=`` of the query string, then the form body, concatenated (Binance's rule)."""
    body_text = body.decode(errors="replace")
    for text in (raw_query, body_text):
        marker = text.rfind("signature=")
        if marker >= 0 and (marker == 0 or text[marker - 1] == "&"):
            signature = text[marker + len("signature=") :].split("&")[0]
            before = text[: max(0, marker - 1)]
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
