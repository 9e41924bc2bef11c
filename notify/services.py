"""apprise's side of a channel: its plugins, a notification service built from a URL, and
``check_url``, which says in one line (never repeating the URL beyond its scheme) why apprise
cannot use one.

apprise is imported here only, once, with its log detached from ours (``notify.applog``).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

from notify.applog import captured, install
from notify.urls import ChannelURLError, scheme_of, secret_parts


@functools.cache
def _plugins() -> Any:
    """apprise's plugin registry, loaded once: its log detached from ours first, and the
    standard library's DeprecationWarning for ``imghdr`` (apprise's e-mail plugin imports it)
    kept out of the application's warnings."""
    install()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*imghdr", category=DeprecationWarning)
        from apprise.manager_plugins import NotificationManager

        manager = NotificationManager()  # type: ignore[no-untyped-call]
        manager.load_modules()  # type: ignore[no-untyped-call]
    return manager


def known_scheme(scheme: str) -> bool:
    return bool(scheme) and scheme.lower() in _plugins()


def check_url(url: str) -> str:
    """The URL, stripped, when apprise can build a notification service from it; else
    ``ChannelURLError`` naming what is wrong (never the URL itself, only its scheme)."""
    text = url.strip()
    if not text:
        raise ChannelURLError("the channel URL is empty")
    scheme = scheme_of(text)
    if not scheme:
        raise ChannelURLError(
            "the channel URL has no scheme: it must look like tgram://…, ntfys://…, json://…"
        )
    if not known_scheme(scheme):
        raise ChannelURLError(
            f"unknown notification scheme {scheme}:// (apprise has no such service)"
        )
    if build_service(text) is None:
        raise ChannelURLError(
            f"the {scheme}:// URL is malformed: a part the service needs is missing or invalid"
        )
    return text


def build_service(url: str) -> Any:
    """apprise's notification object for the URL, or None when it cannot be built. apprise's
    own log lines (which may hold the URL) are silenced while it parses."""
    _plugins()
    import apprise

    with captured(secret_parts(url)):
        return apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)


@functools.cache
def _asset() -> Any:
    _plugins()
    import apprise

    return apprise.AppriseAsset(
        app_id="Cascade Watch", app_desc="Cascade Watch warnings", secure_logging=True
    )
