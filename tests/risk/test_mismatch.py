"""Our liquidation price is held against the exchange's only where both were computed at the
same prices: after a stream moved a mark, the exchange's figure from the last account read is
of another moment (in a cross account every position's price depends on every mark)."""

from __future__ import annotations

from dataclasses import replace

from resources import default_tiers
from risk.report import MISMATCH_TOLERANCE, build_report
from risk.types import Account, Figure, Position, Side, Source

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
READ_MS = 1_762_250_000_000


def account(read_ms: int, exchange_btc: float) -> Account:
    return Account(
        "binanceusdm",
        27_000.0,
        (
            Position(
                BTC,
                Side.LONG,
                3.0,
                109_000.0,
                104_500.0,
                default_tiers("binanceusdm", "BTC"),
                exchange_liquidation_price=Figure(exchange_btc, Source.EXCHANGE, read_ms),
                mark_as_of_ms=read_ms,
            ),
            Position(
                ETH,
                Side.LONG,
                8.0,
                3_850.0,
                3_500.0,
                default_tiers("binanceusdm", "ETH"),
                mark_as_of_ms=read_ms,
            ),
        ),
        as_of_ms=read_ms,
    )


def test_a_gap_at_the_same_marks_is_reported_and_one_after_a_stream_mark_is_not() -> None:
    ours = build_report(account(READ_MS, 1.0)).positions[0].liquidation_price
    assert ours is not None
    off = ours.value * (1 + 3 * MISMATCH_TOLERANCE)
    read = account(READ_MS, off)
    gap = build_report(read).positions[0].mismatch
    assert gap is not None and abs(gap - (1 - 1 / (1 + 3 * MISMATCH_TOLERANCE))) < 1e-9

    # ETH's mark arrives over the stream a second later: BTC's cross liquidation price moved
    # with it, the exchange's figure did not
    streamed = replace(
        read,
        positions=(
            read.positions[0],
            replace(read.positions[1], mark_price=3_400.0, mark_as_of_ms=READ_MS + 1_000),
        ),
    )
    report = build_report(streamed)
    btc = report.positions[0]
    assert btc.mismatch is None
    assert btc.exchange_liquidation_price is not None  # kept, with its time, for the record
    assert btc.liquidation_price is not None and btc.liquidation_price.value > ours.value
