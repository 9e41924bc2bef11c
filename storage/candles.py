"""Price bars per symbol and timeframe (``db.candles``), upserted by their open time."""

from __future__ import annotations

import numpy as np

from risk.types import Candles
from storage.connection import Connections
from storage.records import MAX_TS


def _cell(column: np.ndarray | None, i: int) -> float | None:
    if column is None:
        return None
    v = float(column[i])
    return None if v != v else v


class CandleRepository:
    def __init__(self, connections: Connections) -> None:
        self._db = connections

    def save(self, candles: Candles) -> int:
        """Insert or update the bars (a later bar replaces one at the same ts; open interest
        and taker volume already stored are kept when the new bar lacks them); returns how
        many were written."""
        rows = [
            (
                candles.symbol,
                candles.timeframe,
                int(candles.ts_ms[i]),
                _cell(candles.open, i),
                _cell(candles.high, i),
                _cell(candles.low, i),
                _cell(candles.close, i),
                _cell(candles.volume, i),
                _cell(candles.open_interest, i),
                _cell(candles.taker_buy_volume, i),
            )
            for i in range(len(candles))
        ]
        with self._db.transaction() as conn:
            conn.executemany(
                """INSERT INTO candles (symbol, timeframe, ts_ms, open, high, low, close, volume,
                   open_interest, taker_buy_volume) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (symbol, timeframe, ts_ms) DO UPDATE SET open = excluded.open,
                   high = excluded.high, low = excluded.low, close = excluded.close,
                   volume = excluded.volume,
                   open_interest = coalesce(excluded.open_interest, open_interest),
                   taker_buy_volume = coalesce(excluded.taker_buy_volume, taker_buy_volume)""",
                rows,
            )
        return len(rows)

    def load(
        self,
        symbol: str,
        timeframe: str,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> Candles:
        """Bars with since_ms <= ts < until_ms, oldest first; optional columns are None when
        no bar in the range has them."""
        lo = -MAX_TS if since_ms is None else since_ms
        hi = MAX_TS if until_ms is None else until_ms
        with self._db.read() as conn:
            rows = conn.execute(
                """SELECT ts_ms, open, high, low, close, volume, open_interest, taker_buy_volume
                   FROM candles WHERE symbol = ? AND timeframe = ? AND ts_ms >= ? AND ts_ms < ?
                   ORDER BY ts_ms""",
                (symbol, timeframe, lo, hi),
            ).fetchall()
        data = np.array(rows, dtype=np.float64).reshape(len(rows), 8)
        optional = [None if np.all(np.isnan(data[:, j])) else data[:, j].copy() for j in (6, 7)]
        return Candles(
            symbol,
            timeframe,
            data[:, 0].astype(np.int64),
            open=data[:, 1].copy(),
            high=data[:, 2].copy(),
            low=data[:, 3].copy(),
            close=data[:, 4].copy(),
            volume=data[:, 5].copy(),
            open_interest=optional[0],
            taker_buy_volume=optional[1],
        )
