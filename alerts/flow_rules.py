"""A cascade under way: the market's longs (or shorts) are being liquidated far above their
usual rate, the price is moving the way that liquidates them, and this account's own
liquidation is within the reach of such falls.

The condition and its evidence are ``risk.liqflow``'s (read its docstring before changing a
figure): at 4 h the liquidation flow did not beat the price move it comes with, and the
5-minute multiple is carried down from 4-h data by a scaling law, an extrapolation no public
minute-level history can test. The warning describes what is happening, with its numbers,
minutes after it starts; it is not a forecast that beats the price alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import formatting as fmt
from alerts.account_rules import leader_mark
from alerts.state import LiquidationFlows
from alerts.thresholds import Thresholds
from alerts.vocabulary import Active, Condition, Severity, WarningRule, warning_key
from risk.liqflow import CascadeUnderWay, NormSource, cascade_under_way
from risk.report import AccountReport, PositionReport
from risk.types import Side, base_asset

_NONE: Active = {}


def account_liquidation_price(report: AccountReport, pos: PositionReport) -> float | None:
    """Where this position's symbol liquidates the account: its own liquidation price, or for
    the joint move's leader in a cross account the leader's price of the joint move (the other
    positions following by beta), whichever comes first."""
    own = pos.shown_liquidation_price
    prices = [own.value] if own is not None else []
    jm = report.joint_move
    mark = leader_mark(report)
    if jm is not None and mark is not None and pos.symbol == jm.leader:
        move = jm.down if pos.side is Side.LONG else jm.up
        if move is not None:
            prices.append(mark * (1 + move))
    if not prices:
        return None
    return max(prices) if pos.side is Side.LONG else min(prices)


def cascade_under_way_rule(
    report: AccountReport,
    account_id: int,
    liquidations: Mapping[str, LiquidationFlows],
    thresholds: Thresholds,
    active: Active = _NONE,
) -> list[Condition]:
    """For each position: its own side's liquidations on some venue over the last 5 minutes
    at least ``flow.multiple`` × their norm, its mark moved ``flow.move_sigmas`` toward its
    liquidation over 10 minutes, and that liquidation within ``flow.reach_sigmas`` of a 4-h
    move. Critical within the median further fall. An open warning holds its thresholds
    relaxed by the hysteresis."""
    out: list[Condition] = []
    for pos in report.positions:
        live = liquidations.get(pos.symbol)
        if live is None or live.mark_before is None or not live.sigma_daily:
            continue
        key = warning_key(WarningRule.CASCADE_UNDER_WAY, account_id, (pos.symbol,))
        t = thresholds
        flow_t = t.flow
        flow_t = replace(
            flow_t,
            multiple=t.tightened(flow_t.multiple, key, active),
            move_sigmas=t.tightened(flow_t.move_sigmas, key, active),
            reach_sigmas=t.relaxed(flow_t.reach_sigmas, key, active),
        )
        liq = account_liquidation_price(report, pos)
        best: CascadeUnderWay | None = None
        for flow in live.flows:
            found = cascade_under_way(
                flow, pos.side, pos.mark_price, live.mark_before, live.sigma_daily, liq, flow_t
            )
            if found is not None and (best is None or found.flow.multiple > best.flow.multiple):
                best = found
        if best is not None:
            severity = Severity.CRITICAL if best.critical else Severity.WARNING
            out.append(
                Condition(
                    WarningRule.CASCADE_UNDER_WAY,
                    severity,
                    account_id,
                    (pos.symbol,),
                    message(best, pos.symbol),
                    best.flow.multiple,
                )
            )
    return out


def message(c: CascadeUnderWay, symbol: str) -> str:
    """'$4.7 M of BTC longs liquidated in 5 min on Binance, 129× the usual (CoinGlass prior);
    BTC −1.6 % in 10 min (13.8 σ); your account is liquidated at BTC 110,174, 2.1 % away.'"""
    asset = base_asset(symbol)
    side = "longs" if c.position_side is Side.LONG else "shorts"
    flow = c.flow
    minutes = flow.window_ms // 60_000
    norm = "7-day norm" if flow.norm_source is NormSource.HISTORY else "norm from CoinGlass history"
    return (
        f"{fmt.usd(flow.notional)} of {asset} {side} liquidated in {minutes} min on "
        f"{fmt.venue(flow.venue)}, {flow.multiple:,.0f}× the usual ({norm}); "
        f"{asset} {fmt.pct(c.move)} in {c.move_window_ms // 60_000} min "
        f"({c.move_sigmas:.1f} σ); your account is liquidated at {asset} "
        f"{fmt.price(c.liquidation_price)}, {c.distance * 100:.1f} % away: a cascade is under way."
    )
