"""Synthetic account reports for the benchmarks, the tests and the crash-safety child.

A random walk of marks over a fixed set of symbols; each position's liquidation prices move
with its mark the way a cross account's do. Not used by the app itself.
"""

from __future__ import annotations

import numpy as np

from risk.liquidation import JointMove
from risk.report import AccountReport, PositionReport
from risk.types import Figure, MarginMode, Side, Source
from storage.records import PositionSeries, SnapshotSeries

BASE_PRICES = (97_000.0, 3_400.0, 180.0, 0.62, 2.4, 0.35, 28.0, 7.1, 14.5, 0.00002)


class ReportWalk:
    """Successive reports of one account with ``n_positions`` positions, marks following a
    random walk of ``step`` relative standard deviation per call, rounded to 5 significant
    digits as exchange ticks are."""

    def __init__(self, n_positions: int, seed: int = 0, step: float = 2e-4) -> None:
        self.rng = np.random.default_rng(seed)
        self.step = step
        self.symbols = tuple(f"SYM{i}/USDT:USDT" for i in range(n_positions))
        self.sides = tuple(Side.LONG if i % 3 else Side.SHORT for i in range(n_positions))
        base = np.array([BASE_PRICES[i % len(BASE_PRICES)] for i in range(n_positions)])
        self.marks = base * (1 + 0.1 * self.rng.random(n_positions))
        self.sizes = np.round(20_000 / self.marks, 3) + 0.001
        self.liq_gap = 0.15 + 0.2 * self.rng.random(n_positions)

    def next(self, as_of_ms: int | None = None) -> AccountReport:
        self.marks = self.marks * np.exp(self.step * self.rng.standard_normal(len(self.marks)))
        digits = 4 - np.floor(np.log10(self.marks))
        marks = np.array([round(m, int(d)) for m, d in zip(self.marks, digits, strict=True)])
        positions = []
        for i, symbol in enumerate(self.symbols):
            side = self.sides[i]
            liq = marks[i] * (1 - side.sign * self.liq_gap[i])
            exchange_liq = round(liq * (1 + 1e-4), int(digits[i]))
            positions.append(
                PositionReport(
                    symbol=symbol,
                    side=side,
                    margin_mode=MarginMode.CROSS,
                    size=float(self.sizes[i]),
                    entry_price=float(marks[i]),
                    mark_price=float(marks[i]),
                    notional=float(self.sizes[i] * marks[i]),
                    unrealized_pnl=0.0,
                    maintenance_margin=float(self.sizes[i] * marks[i] * 0.005),
                    liquidation_price=Figure(float(liq), Source.COMPUTED, as_of_ms),
                    exchange_liquidation_price=Figure(exchange_liq, Source.EXCHANGE, as_of_ms),
                    distance=float(liq / marks[i] - 1),
                    distance_sigma=None,
                    touch_probability=None,
                    mismatch=None,
                )
            )
        notional = float(np.sum(self.sizes * marks)) or 1000.0
        equity = notional / 5 * (1 + 0.01 * float(self.rng.standard_normal()))
        maintenance = notional * 0.005
        return AccountReport(
            exchange="bybit",
            label="sample",
            as_of_ms=as_of_ms,
            wallet_balance=equity,
            equity=equity,
            maintenance_margin=maintenance,
            margin_ratio=maintenance / equity,
            joint_move=JointMove(self.symbols[0], -0.18, 0.25) if self.symbols else None,
            positions=tuple(positions),
        )


def walk_series(
    account_id: int,
    ts_ms: np.ndarray,
    n_positions: int,
    step: float,
    seed: int = 0,
) -> SnapshotSeries:
    """A SnapshotSeries of a random walk at ``ts_ms``, built with NumPy (no reports): what
    the database holds after retention, produced directly for the size benchmark."""
    rng = np.random.default_rng(seed)
    n = ts_ms.shape[0]
    base = np.array([BASE_PRICES[i % len(BASE_PRICES)] for i in range(n_positions)])
    walk = np.cumsum(step * rng.standard_normal((n_positions, n)), axis=1)
    raw = base[:, None] * np.exp(walk)
    digits = 4 - np.floor(np.log10(raw))
    marks = np.round(raw * 10.0**digits) / 10.0**digits
    sizes = np.round(20_000 / base, 3) + 0.001
    gap = 0.15 + 0.2 * rng.random(n_positions)
    sign = np.array([-1.0 if i % 3 == 0 else 1.0 for i in range(n_positions)])
    liq = marks * (1 - sign * gap)[:, None]
    exchange_liq = np.round(liq * (1 + 1e-4) * 10.0**digits) / 10.0**digits
    positions = {}
    for i in range(n_positions):
        key = (f"SYM{i}/USDT:USDT", "long" if sign[i] > 0 else "short")
        positions[key] = PositionSeries(
            key[0],
            key[1],
            size=np.full(n, sizes[i]),
            mark=marks[i],
            liquidation=liq[i],
            exchange_liquidation=exchange_liq[i],
            distance=liq[i] / marks[i] - 1,
        )
    notional = (sizes[:, None] * marks).sum(axis=0)
    equity = notional / 5 * (1 + 0.01 * rng.standard_normal(n))
    maintenance = notional * 0.005
    leader = np.empty(n, dtype=object)
    leader[:] = "SYM0/USDT:USDT"
    return SnapshotSeries(
        account_id,
        ts_ms.astype(np.int64),
        equity=equity,
        maintenance=maintenance,
        margin_ratio=maintenance / equity,
        joint_down=np.full(n, -0.18),
        joint_up=np.full(n, 0.25),
        joint_leader=leader,
        positions=positions,
    )
