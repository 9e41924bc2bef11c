"""The cascade rule's inputs: the cascade from every qualifying support near the leader's
price."""

from __future__ import annotations

import numpy as np

from alerts.market_rules import cascade_risks
from alerts.state import LeaderMarket
from risk.indicators import daily_volume_notional
from risk.levels import Level, LevelKind, Levels
from risk.types import Account, Candles, MarginTier, Position, Side

BTC = "BTC/USDT:USDT"
H = 3_600_000


def zone(low: float, high: float, score: float = 2.0) -> Level:
    return Level(low, high, (low + high) / 2, score, LevelKind.SWING, 3, ("3 touches",))


def leader(supports: tuple[Level, ...]) -> LeaderMarket:
    n = 48
    close = np.full(n, 100_000.0)
    candles = Candles(
        BTC, "1h", np.arange(n, dtype=np.int64) * H, close, close * 1.001, close * 0.999,
        close, np.full(n, 500.0),
    )  # fmt: skip
    levels = Levels(BTC, 100_000.0, None, 400.0, supports, ())
    return LeaderMarket(
        BTC, 100_000.0, levels, None, None, 0.03, daily_volume_notional(candles), None
    )


def account() -> Account:
    tiers = (MarginTier(0.0, 1e12, 0.004, 125.0, 0.0),)
    btc = Position(BTC, Side.LONG, 2.0, 100_000.0, 100_000.0, tiers=tiers)
    return Account("binanceusdm", 30_000.0, (btc,))


def test_every_qualifying_support_in_the_band_is_assessed() -> None:
    near, farther = zone(99_500.0, 99_800.0), zone(98_700.0, 99_000.0)
    weak = zone(99_000.0, 99_200.0, score=0.4)
    outside = zone(90_000.0, 90_500.0)
    risks = cascade_risks(account(), leader((near, weak, farther, outside)), {}, band=0.015)
    assert [r.level for r in risks] == [near.high, farther.high]
    assert all(r.symbol == BTC and r.direction == -1 and r.sentence for r in risks)
    assert all(r.reach_price < r.level for r in risks)


def test_no_support_in_the_band_means_no_risk() -> None:
    assert cascade_risks(account(), leader((zone(90_000.0, 90_500.0),)), {}, band=0.015) == []
