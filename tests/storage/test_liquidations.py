"""``db.liquidations``: the market's liquidations per minute, the spans they were recorded
over, and their 30-day retention."""

from __future__ import annotations

import pytest

from storage.database import Database
from storage.records import LiquidationMinute
from storage.retention import DAY_MS, MINUTE_MS

T0 = 1_762_000_020_000  # not on a minute boundary
BTC = "BTC/USDT:USDT"


def test_prints_add_up_per_minute(db: Database) -> None:
    minute = T0 - T0 % MINUTE_MS
    db.liquidations.add(
        [
            LiquidationMinute("binanceusdm", BTC, T0, long_usd=1_000.0, long_count=1),
            LiquidationMinute(
                "binanceusdm",
                BTC,
                T0 + 5_000,
                long_usd=500.0,
                short_usd=20.0,
                long_count=1,
                short_count=1,
            ),
            LiquidationMinute("binanceusdm", BTC, minute + MINUTE_MS, short_usd=7.0, short_count=1),
            LiquidationMinute("bybit", BTC, T0, long_usd=3.0, long_count=1),
        ]
    )
    s = db.liquidations.query("binanceusdm", BTC)
    assert s.minute_ms.tolist() == [minute, minute + MINUTE_MS]
    assert s.long_usd.tolist() == [1_500.0, 0.0]
    assert s.short_usd.tolist() == [20.0, 7.0]
    assert db.liquidations.symbols() == (("binanceusdm", BTC), ("bybit", BTC))
    assert len(db.liquidations.query("binanceusdm", BTC, since_ms=minute + 1)) == 1


def test_coverage_spans_join_and_say_since_when(db: Database) -> None:
    repo = db.liquidations
    repo.cover("okx", BTC, T0, T0 + 10 * MINUTE_MS)
    repo.cover("okx", BTC, T0 + 11 * MINUTE_MS, T0 + 20 * MINUTE_MS)  # a late write: joined
    assert repo.covered_since("okx", BTC, T0 + 20 * MINUTE_MS) == T0
    repo.cover("okx", BTC, T0 + 40 * MINUTE_MS, T0 + 50 * MINUTE_MS)  # after a gap: new span
    assert repo.covered_since("okx", BTC, T0 + 50 * MINUTE_MS) == T0 + 40 * MINUTE_MS
    assert repo.covered_since("okx", BTC, T0 + 60 * MINUTE_MS) is None  # not live now
    assert repo.query("okx", BTC).covered == (
        (T0, T0 + 20 * MINUTE_MS),
        (T0 + 40 * MINUTE_MS, T0 + 50 * MINUTE_MS),
    )


def test_prune_drops_what_is_older_than_30_days(db: Database) -> None:
    old, new = T0 - 31 * DAY_MS, T0 - 29 * DAY_MS
    db.liquidations.add(
        [LiquidationMinute("binanceusdm", BTC, t, long_usd=1.0) for t in (old, new)]
    )
    db.liquidations.cover("binanceusdm", BTC, old, old + MINUTE_MS)
    result = db.prune(T0)
    assert result.done and result.rows_removed >= 1
    left = db.liquidations.query("binanceusdm", BTC)
    assert left.minute_ms.tolist() == [new - new % MINUTE_MS]
    assert left.covered == ()


def test_a_minute_is_keyed_by_its_start(db: Database) -> None:
    db.liquidations.add([LiquidationMinute("okx", BTC, T0 + 59_999, long_usd=2.0)])
    assert db.liquidations.query("okx", BTC).minute_ms.tolist() == [
        pytest.approx((T0 + 59_999) - (T0 + 59_999) % MINUTE_MS)
    ]
