"""Channel URLs: checked by apprise, shown masked, their secret parts known for redaction.

A channel is one apprise URL (``tgram://bot_token/chat_id``, ``ntfys://user:pass@host/topic``,
``json://127.0.0.1:8080/``, …). Any part of it may be a secret: the bot token is the host of a
Telegram URL, a webhook's token sits in its path, an ntfy topic is readable by anyone who
knows it. So every channel URL is treated as a secret as a whole (it lives in the secret
store), and what is shown is ``mask_url``: the scheme, and the host only when it is a real
host name (it has a dot or is ``localhost``), with every other part elided — ``tgram://…/…``,
``mailto://user:…@gmail.com``, ``json://127.0.0.1:8080/``.

Pure text: what apprise makes of a URL is ``notify.services``'. A ``ChannelURLError``'s
message is one line that never repeats the URL beyond its scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ELIDED = "…"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_MIN_SECRET_LEN = 3
"""Shorter parts are not redacted from log text (a one- or two-letter "secret" would eat
ordinary words); they are still never shown or stored outside the secret store."""


class ChannelURLError(ValueError):
    """A channel URL that cannot be used; the message is one line and holds no secret."""


@dataclass(frozen=True, slots=True)
class _Parts:
    scheme: str
    user: str
    password: str
    host: str
    port: str
    path: tuple[str, ...]
    query: tuple[str, ...]
    fragment: str


def _split(url: str) -> _Parts | None:
    m = _SCHEME.match(url.strip())
    if m is None:
        return None
    scheme, rest = m.group(1).lower(), m.group(2)
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if not at:
        userinfo, hostport = "", netloc
    user, _, password = userinfo.partition(":")
    host, port = hostport, ""
    if hostport.startswith("["):
        close = hostport.find("]")
        host, port = hostport[: close + 1], hostport[close + 2 :]
    elif hostport.count(":") == 1:
        host, _, port = hostport.partition(":")
        if not port.isdigit():
            host, port = hostport, ""
    segments = tuple(s for s in path.split("/") if s) if slash else ()
    values = tuple(v for _k, _e, v in (p.partition("=") for p in query.split("&")) if v)
    return _Parts(scheme, user, password, host, port, segments, values, fragment)


def _is_host_name(host: str) -> bool:
    return host == "localhost" or host.startswith("[") or ("." in host and ":" not in host)


def scheme_of(url: str) -> str:
    """The URL's scheme, lower case, or "" when it has none."""
    m = _SCHEME.match(url.strip())
    return m.group(1).lower() if m else ""


def mask_url(url: str) -> str:
    """The URL as it may be shown: scheme, a real host name and port, the login name beside a
    real host; every other part elided. Never raises."""
    parts = _split(url)
    if parts is None:
        return ELIDED
    out = f"{parts.scheme}://"
    if parts.host and _is_host_name(parts.host):
        if parts.user:
            out += parts.user + (f":{ELIDED}" if parts.password else "") + "@"
        out += parts.host + (f":{parts.port}" if parts.port else "")
    elif parts.host or parts.user:
        out += ELIDED
    if parts.path:
        out += "/" + "/".join(ELIDED for _ in parts.path)
    elif url.rstrip().endswith("/") and parts.host:
        out += "/"
    return out


def secret_parts(url: str) -> tuple[str, ...]:
    """The parts of a URL that ``mask_url`` elides, longest first: what a log line or an
    error text must never contain. The whole URL is one of them."""
    parts = _split(url)
    if parts is None:
        return (url.strip(),) if url.strip() else ()
    hidden: set[str] = {url.strip(), parts.password, *parts.path, *parts.query, parts.fragment}
    if not _is_host_name(parts.host):
        hidden.update({parts.host, parts.user})
    return tuple(sorted((s for s in hidden if len(s) >= _MIN_SECRET_LEN), key=len, reverse=True))


LOG_SECRET_LEN = 8
"""Elided parts at least this long are masked in every log line (``log_secrets``)."""


def log_secrets(url: str) -> tuple[str, ...]:
    """What the application log's redaction (``connectors.redaction``) masks for this URL
    wherever it appears: the whole URL, its password, and every other elided part of at least
    ``LOG_SECRET_LEN`` characters (tokens, keys, webhook ids, topics). Shorter path segments
    (``api``, ``push``) are ordinary words in other log lines; apprise's own lines about a
    delivery are redacted of every part (``notify.applog``)."""
    parts = _split(url)
    password = parts.password if parts is not None else ""
    return tuple(
        s for s in secret_parts(url) if len(s) >= LOG_SECRET_LEN or s in (url.strip(), password)
    )


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret part replaced by an ellipsis."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, ELIDED)
    return text
