"""The risk engine's shared fixtures: the real market data its evaluations run on.

The real data sets live beside the project (``../shared/data``, described by its README and
data cards) and are never committed; an evaluation that needs one is marked ``realdata`` and
skips, saying which file is missing, where they are absent."""

from __future__ import annotations

import csv
from datetime import datetime

import numpy as np
import pytest

from risk.types import Candles
from tests.paths import SHARED_DATA


def _real_file(name: str) -> str:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"real data {name} not found at {SHARED_DATA.resolve()} (kept beside the repo)")
    return str(path)


@pytest.fixture(scope="session")
def btc_usd_1h() -> Candles:
    """BTC/USD hourly bars from ../shared/data/btc-usd-1h.csv (timestamp, OHLC, volume)."""
    with open(_real_file("btc-usd-1h.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    ts = np.array(
        [int(datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).timestamp() * 1000)
         for r in rows], dtype=np.int64,
    )  # fmt: skip
    cols = {k: np.array([float(r[k]) for r in rows]) for k in ("open", "high", "low", "close")}
    vol = np.array([float(r["volume"]) for r in rows])
    return Candles("BTC/USD", "1h", ts, cols["open"], cols["high"], cols["low"], cols["close"], vol)
