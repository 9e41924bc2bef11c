"""Number formatting for traders, shared by the window, the commands and the warning text.

Thousands separators, decimals that suit the size (a small price keeps four significant digits),
and one minus sign everywhere: the true minus (U+2212), never the hyphen. Pure: standard library
only, so the warning policy and the commands use it as the window does.

Times: ``clock`` and ``moment`` print a timestamp in the display zone, which is UTC unless the
desktop app sets the user's own (``set_display_zone``: its time-zone setting); ``utc_clock``
and ``datetime_utc`` always print UTC (the commands, and the tooltips beside a local time).

``safe_text`` is how any user input (a field name, a value, a path, an address) or anything an
exchange sent is echoed in an error: one line, no control characters."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUS = "\u2212"


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _minus(text: str) -> str:
    return text.replace("-", MINUS)


def price(x: float | None) -> str:
    """A price with decimals that suit its size: 98,450.1 / 3,412.55 / 1.234 / 0.5231 /
    0.00001234 (below 1, four significant digits)."""
    if not _finite(x):
        return "—"
    assert x is not None
    a = abs(x)
    if a >= 10_000:
        decimals = 1
    elif a >= 100:
        decimals = 2
    elif a >= 1:
        decimals = 3
    elif a == 0:
        decimals = 1
    else:
        decimals = 3 - math.floor(math.log10(a))
    return _minus(f"{x:,.{decimals}f}")


def grouped(x: float | None, decimals: int = 0) -> str:
    """A number with thousands separators and ``decimals`` places: 112,000 / 0.25."""
    if not _finite(x):
        return "—"
    assert x is not None
    return _minus(f"{x:,.{max(0, decimals)}f}")


def money(x: float | None, signed: bool = False) -> str:
    if not _finite(x):
        return "—"
    assert x is not None
    if round(x, 2) == 0:
        x = 0.0  # never "−0.00"
    return _minus(f"{x:+,.2f}" if signed else f"{x:,.2f}")


def compact_money(x: float | None) -> str:
    """An amount in thousands, millions or billions, two significant figures at least:
    "45 M", "1.2 B", "850 k" (for estimates, where the cents would be noise)."""
    if not _finite(x):
        return "—"
    assert x is not None
    a = abs(x)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= scale:
            v = x / scale
            return _minus(f"{v:,.1f} {unit}" if abs(v) < 10 else f"{v:,.0f} {unit}")
    return _minus(f"{x:,.0f}")


def size(x: float | None) -> str:
    if not _finite(x):
        return "—"
    assert x is not None
    a = abs(x)
    if a >= 1000:
        return _minus(f"{x:,.0f}")
    if a >= 1:
        return _minus(f"{x:,.3f}".rstrip("0").rstrip("."))
    return _minus(f"{x:.4f}".rstrip("0").rstrip("."))


def pct(fraction: float | None, signed: bool = True, decimals: int = 1) -> str:
    """A fraction as a percentage: -0.0734 -> '−7.3 %'."""
    if fraction is None:
        return "—"
    if math.isinf(fraction):
        return "∞"
    if math.isnan(fraction):
        return "—"
    text = f"{fraction * 100:+.{decimals}f} %" if signed else f"{fraction * 100:.{decimals}f} %"
    return _minus(text)


def usd(x: float | None) -> str:
    """A large USD amount, short: 84,600,000 -> '$84.6 M', 36,738 -> '$36.7 k', 950 -> '$950'."""
    if not _finite(x):
        return "—"
    assert x is not None
    a = abs(x)
    for scale, unit in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if a >= scale:
            v = x / scale
            return _minus(f"${v:,.0f}{unit}" if abs(v) >= 100 else f"${v:,.1f}{unit}")
    return _minus(f"${x:,.0f}")


VENUE_NAMES = {
    "binanceusdm": "Binance",
    "bybit": "Bybit",
    "okx": "OKX",
    "hyperliquid": "Hyperliquid",
}
"""The venues' names as a trader knows them."""


def venue(exchange: str) -> str:
    return VENUE_NAMES.get(exchange, exchange)


def sigma(x: float | None) -> str:
    if not _finite(x):
        return "—"
    assert x is not None
    return f"{x:.1f} σ"


def age(ms: int | None) -> str:
    """How old a figure is: 4 s, 3 min, 2 h."""
    if ms is None:
        return "—"
    s = max(0, ms) / 1000
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


LOCAL = "local"
"""The zone setting that means the computer's own time zone."""
_display_zone: str = "UTC"


class ZoneError(ValueError):
    """A time-zone name that is neither ``local`` nor known to the time-zone database."""


def zone(name: str) -> tzinfo | None:
    """The zone called ``name`` (None for ``local``: the computer's own, daylight saving
    included); ZoneError for a name the time-zone database does not know."""
    if name == LOCAL:
        return None
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ZoneError(f"unknown time zone {safe_text(name)!r}") from None


def set_display_zone(name: str) -> None:
    """Print ``clock`` and ``moment`` in this zone (``local``, ``UTC`` or an IANA name)."""
    global _display_zone
    zone(name)
    _display_zone = name


def display_zone() -> str:
    return _display_zone


def _in_zone(ms: int, name: str | None) -> datetime:
    when = datetime.fromtimestamp(ms / 1000, UTC)
    return when.astimezone(zone(_display_zone if name is None else name))


def zone_name(ms: int, name: str | None = None) -> str:
    """The zone's abbreviation at ``ms`` (CET, CEST, UTC, or +04 where it has none)."""
    return _in_zone(ms, name).tzname() or ""


def utc_offset_s(ms: int, name: str | None = None) -> int:
    """Seconds the zone is ahead of UTC at ``ms``."""
    offset = _in_zone(ms, name).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def clock(ms: int | None, name: str | None = None) -> str:
    """The time of day in the display zone (or ``name``): 14:05:09 CET."""
    if ms is None:
        return "—"
    when = _in_zone(ms, name)
    return f"{when:%H:%M:%S} {when.tzname()}"


def moment(ms: int | None, name: str | None = None, seconds: bool = False) -> str:
    """Date and time in the display zone (or ``name``): 2025-11-04 14:05 CET."""
    if ms is None:
        return "—"
    when = _in_zone(ms, name)
    return f"{when:%Y-%m-%d %H:%M{':%S' if seconds else ''}} {when.tzname()}"


def short_moment(ms: int | None, name: str | None = None) -> str:
    """Month, day and time in the display zone (or ``name``): 11-04 13:10 CET."""
    if ms is None:
        return "—"
    when = _in_zone(ms, name)
    return f"{when:%m-%d %H:%M} {when.tzname()}"


def utc_clock(ms: int | None) -> str:
    if ms is None:
        return "—"
    return time.strftime("%H:%M:%S", time.gmtime(ms / 1000)) + " UTC"


def datetime_utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000)) + " UTC"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_span(start_ms: int, end_ms: int) -> str:
    """The UTC days from ``start_ms`` to just before ``end_ms``: 3–4 Nov 2025,
    30 Jun–1 Jul 2025, 31 Dec 2025–1 Jan 2026, or 4 Nov 2025 for one day."""
    a = datetime.fromtimestamp(start_ms / 1000, UTC)
    b = datetime.fromtimestamp(max(start_ms, end_ms - 1) / 1000, UTC)
    if a.date() == b.date():
        return f"{a.day} {_MONTHS[a.month - 1]} {a.year}"
    if a.year != b.year:
        return f"{a.day} {_MONTHS[a.month - 1]} {a.year}–{b.day} {_MONTHS[b.month - 1]} {b.year}"
    if a.month != b.month:
        return f"{a.day} {_MONTHS[a.month - 1]}–{b.day} {_MONTHS[b.month - 1]} {b.year}"
    return f"{a.day}–{b.day} {_MONTHS[a.month - 1]} {a.year}"


SAFE_TEXT_LIMIT = 200


def safe_text(value: object, limit: int = SAFE_TEXT_LIMIT) -> str:
    """Text safe to echo in one line on a terminal or a label: every character that is not
    printable (terminal escape codes, line breaks, tabs, bidirectional overrides, zero-width
    characters) is shown as its escape (\\x1b, \\n, \\u202e), and text longer than
    ``limit`` characters is cut with an ellipsis."""
    text = str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
