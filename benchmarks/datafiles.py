"""Reading the candle CSVs of ../shared/data (never committed) for the evaluations and fits.

A CSV has a ``timestamp`` column (ISO-8601 UTC, or epoch seconds/milliseconds) and open, high,
low, close, volume; any other numeric column (funding_rate, open_interest,
long_liquidation_usd, …) is kept in ``extra``. The bar length is the most common step between
timestamps. Bad input stops with one line naming the file and the problem.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from risk.types import Candles

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CASCADE_WATCH_DATA", ROOT.parent / "shared" / "data"))
"""../shared/data beside the repository; CASCADE_WATCH_DATA points elsewhere (a git worktree
kept in another folder)."""
HOUR_MS = 3_600_000

FIT_FILES = (
    "bitstamp-btcusd-1h-2018-2022.csv",
    "binance-btcusdt-perp-1h.csv",
    "binance-ethusdt-perp-1h.csv",
)
"""The files the shipped move distribution is fit on (issue 15: Bitstamp 2018–22, Binance
perpetuals 2019–22 and 2025–26)."""

_TIMEFRAMES = {60_000: "1m", 300_000: "5m", 900_000: "15m", HOUR_MS: "1h", 4 * HOUR_MS: "4h"}


class DataError(SystemExit):
    """A one-line complaint about an input file: uncaught, Python prints it and exits 1."""


def parse_ts(text: str) -> int:
    t = text.strip()
    if t.replace(".", "", 1).isdigit():
        v = float(t)
        return int(v if v > 1e11 else v * 1000)
    return int(datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)


def fmt_ts(ms: int, with_time: bool = True) -> str:
    d = datetime.fromtimestamp(ms / 1000, UTC)
    return d.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


@dataclass(frozen=True, slots=True, eq=False)
class CandleFile:
    path: Path
    candles: Candles
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def symbol_of(path: Path) -> str:
    name = path.name.lower()
    return "ETH/USDT" if "eth" in name else "BTC/USDT"


def load_candles(path: Path, symbol: str | None = None) -> CandleFile:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader)]
            rows = [r for r in reader if r]
    except (OSError, UnicodeDecodeError, StopIteration) as exc:
        raise DataError(f"{path}: cannot read it as a CSV ({exc})") from None
    if "timestamp" not in header:
        raise DataError(f"{path}: no 'timestamp' column (columns: {', '.join(header)})")
    missing = [c for c in ("open", "high", "low", "close", "volume") if c not in header]
    if missing:
        raise DataError(f"{path}: missing columns {', '.join(missing)}; is it a candle file?")
    if len(rows) < 3:
        raise DataError(f"{path}: fewer than three rows")
    it = header.index("timestamp")
    try:
        ts = np.array([parse_ts(r[it]) for r in rows], dtype=np.int64)
    except (ValueError, IndexError) as exc:
        raise DataError(f"{path}: a timestamp cannot be read ({exc})") from None
    if np.any(np.diff(ts) <= 0):
        raise DataError(f"{path}: timestamps are not strictly increasing")
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(header):
        if j == it:
            continue
        try:
            cols[name] = np.array([float(r[j]) if r[j].strip() else math.nan for r in rows])
        except (ValueError, IndexError):
            continue  # a text column (symbol, date)
    step = int(np.bincount(np.unique(np.diff(ts), return_inverse=True)[1]).argmax())
    steps = np.unique(np.diff(ts))
    bar_ms = int(steps[step])
    tf = _TIMEFRAMES.get(bar_ms)
    if tf is None:
        raise DataError(f"{path}: bars {bar_ms / 60000:g} minutes apart; expected 1h or 4h")
    core = {k: cols[k] for k in ("open", "high", "low", "close", "volume")}
    candles = Candles(
        symbol or symbol_of(path),
        tf,
        ts,
        core["open"],
        core["high"],
        core["low"],
        core["close"],
        np.nan_to_num(core["volume"]),
        cols.get("open_interest"),
        cols.get("taker_buy_volume"),
    )
    extra = {k: v for k, v in cols.items() if k not in core}
    return CandleFile(path, candles, extra)


def shared_candle_files() -> list[Path]:
    """Every candle CSV in ../shared/data (the per-exchange open-interest files are not
    candles: they have a price but no OHLC)."""
    if not SHARED_DATA.is_dir():
        return []
    out = []
    for p in sorted(SHARED_DATA.glob("*.csv")):
        with p.open(encoding="utf-8") as fh:
            head = fh.readline().strip().lower().split(",")
        if {"open", "high", "low", "close"} <= set(head):
            out.append(p)
    return out
