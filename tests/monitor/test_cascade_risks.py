"""Rule 3's inputs: the cascade from every qualifying support near the leader's price."""

from __future__ import annotations

import numpy as np

from monitor.jobs import account_cascade_risks
from monitor.state import MarketSlot
from risk.levels import Level, LevelKind, Levels
from risk.types import Account, Candles, MarginTier, Position, Side

BTC = "BTC/USDT:USDT"
H = 3_600_000


def zone(low: float, high: float, score: float = 2.0) -> Level:
    return Level(low, high, (low + high) / 2, score, LevelKind.SWING, 3, ("3 touches",))


def leader_slot(supports: tuple[Level, ...]) -> MarketSlot:
    n = 48
    close = np.full(n, 100_000.0)
    candles = Candles(
        BTC, "1h", np.arange(n, dtype=np.int64) * H, close, close * 1.001, close * 0.999,
        close, np.full(n, 500.0),
    )  # fmt: skip
    slot = MarketSlot(BTC, candles=candles, sigma_daily=0.03)
    slot.levels = Levels(BTC, 100_000.0, None, 400.0, supports, ())
    return slot


def account() -> Account:
    tiers = (MarginTier(0.0, 1e12, 0.004, 125.0, 0.0),)
    btc = Position(BTC, Side.LONG, 2.0, 100_000.0, 100_000.0, tiers=tiers)
    return Account("binanceusdm", 30_000.0, (btc,))


def test_every_qualifying_support_in_the_band_is_assessed() -> None:
    near, farther = zone(99_500.0, 99_800.0), zone(98_700.0, 99_000.0)
    weak = zone(99_000.0, 99_200.0, score=0.4)
    outside = zone(90_000.0, 90_500.0)
    slot = leader_slot((near, weak, farther, outside))
    risks = account_cascade_risks(account(), slot, {}, band=0.015)
    assert [r.level for r in risks] == [near.high, farther.high]
    assert all(r.symbol == BTC and r.direction == -1 and r.sentence for r in risks)
    assert all(r.reach_price < r.level for r in risks)


def test_no_support_in_the_band_means_no_risk() -> None:
    slot = leader_slot((zone(90_000.0, 90_500.0),))
    assert account_cascade_risks(account(), slot, {}, band=0.015) == []
