"""The one entry point: which warning conditions hold now for an account in its market."""

from __future__ import annotations

from alerts.account_rules import joint_move, liquidation, liquidation_distance
from alerts.flow_rules import cascade_under_way_rule
from alerts.market_rules import (
    calendar_coverage,
    cascade_band,
    cascade_risks,
    cascade_support,
    crowding,
    scheduled_event,
)
from alerts.probability_rule import liquidation_probability
from alerts.state import AccountState, MarketState
from alerts.thresholds import Thresholds
from alerts.vocabulary import Active, Condition


def evaluate(
    state: AccountState,
    market: MarketState,
    thresholds: Thresholds,
    active: Active,
    now_ms: int,
) -> list[Condition]:
    """Every market rule (``alerts.MARKET_RULES``) on one account. By default: the chance of
    liquidation (the headline), the scheduled events (and whether the calendar reaches far
    enough ahead) and a liquidation (from the exchange's record, or positions gone near
    liquidation on reads in a row); the fixed-% distance and joint-move rules, the
    cascade-prone support and crowding only when the thresholds switch them on
    (``fixed_percent``, ``cascade_alerts``, ``crowding_alerts``: the last two have no
    out-of-sample skill); a cascade under way from the market's liquidation prints
    (``flow_alerts``, on).
    ``active`` is the account's open warnings with their severity (for hysteresis);
    ``now_ms`` places the scheduled events. Pure: the same values give the same conditions."""
    report, aid, t = state.report, state.account_id, thresholds
    conds = liquidation_probability(state, market, t, active)
    if t.fixed_percent:
        conds += liquidation_distance(report, aid, t, active)
        conds += joint_move(report, aid, t, active)
    leader = market.leader
    jm = report.joint_move
    if t.cascade_alerts and leader is not None and jm is not None and leader.symbol == jm.leader:
        band = cascade_band(report, leader, t)
        risks = cascade_risks(state.account, leader, market.betas, band)
        conds += cascade_support(report, aid, risks, t, leader.atr, active)
    conds += scheduled_event(report, aid, market.events, now_ms, t, market.event_moves)
    conds += calendar_coverage(aid, market.events_known_days, t)
    if t.crowding_alerts:
        conds += crowding(report, aid, market.crowding, t, active)
    if t.flow_alerts:
        conds += cascade_under_way_rule(report, aid, market.liquidations, t, active)
    ended = liquidation(state, t)
    if ended is not None:
        conds.append(ended)
    return conds
