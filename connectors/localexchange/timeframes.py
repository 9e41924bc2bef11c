"""Candle intervals as each exchange spells them, in ms (all aligned to the Unix epoch)."""

from __future__ import annotations

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_UNITS = {"m": MINUTE, "h": HOUR, "d": DAY}
SUPPORTED_MS = (
    MINUTE,
    3 * MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    4 * HOUR,
    6 * HOUR,
    8 * HOUR,
    12 * HOUR,
    DAY,
)


def timeframe_ms(text: str) -> int | None:
    """'1m', '4h', '1d' (Binance, Hyperliquid), '1H', '1D', '1Dutc' (OKX), '60', 'D' (Bybit)."""
    t = text.strip()
    if t.endswith("utc"):
        t = t[:-3]
    if t.isdigit():
        ms = int(t) * MINUTE
    elif t in ("D", "1D"):
        ms = DAY
    elif len(t) >= 2 and t[:-1].isdigit() and t[-1].lower() in _UNITS:
        unit = t[-1]
        if unit == "M":  # a month, not a minute
            return None
        ms = int(t[:-1]) * _UNITS[unit.lower()]
    else:
        return None
    return ms if ms in SUPPORTED_MS else None
