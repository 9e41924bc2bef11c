"""The headline warning: the chance of being liquidated within 24 h, what moves the account
there, and what brings the chance down.

"BTC −4.1 % (at 101,850) liquidates the whole cross account. In the current volatility that
happens within 24 h with a 22 % chance (4 h: 7 %). Adding 3,400 USDT, or cutting the BTC long by
30 %, brings it under 5 %."

The chance is the report's own (``AccountReport.odds`` for the cross account through its joint
move, ``PositionReport.odds`` for an isolated position through its own price: one
computation). The remedy is ``risk.remedy``'s exact solve, rounded so that the advice is never
short: the collateral up to two significant figures, the cut up to a whole percent. When the
leader's supports and liquidation map are known, a clause says what the map puts below the
nearest support on the way to the liquidation — labelled a scenario, never a forecast (the
cascade model has no skill out of sample; docs/architecture.md).
"""

from __future__ import annotations

import math

import formatting as fmt
from alerts.account_rules import leader_mark
from alerts.state import AccountState, LeaderMarket, MarketState
from alerts.thresholds import Thresholds
from alerts.vocabulary import Active, Condition, Severity, WarningRule, warning_key
from risk.cascade import LIQUIDATION_SCALE, SCENARIO_LABEL
from risk.probability import Odds
from risk.remedy import Remedy, cross_remedy, isolated_remedy
from risk.report import AccountReport, PositionReport
from risk.rules import rules_for
from risk.types import MarginMode, Side, base_asset

_NONE: Active = {}


def liquidation_probability(
    state: AccountState,
    market: MarketState,
    thresholds: Thresholds,
    active: Active = _NONE,
) -> list[Condition]:
    """A warning for the cross account when its P(24 h) reaches the warning threshold
    (critical at the critical one), and one for each isolated position likewise."""
    out: list[Condition] = []
    cross = _cross(state, market, thresholds, active)
    if cross is not None:
        out.append(cross)
    for pos in state.report.positions:
        if pos.margin_mode is MarginMode.ISOLATED:
            cond = _isolated(state, pos, market, thresholds, active)
            if cond is not None:
                out.append(cond)
    return out


def _severity(p: float, key: str, t: Thresholds, active: Active) -> Severity | None:
    if p >= t.tightened(t.probability_critical, key, active, Severity.CRITICAL):
        return Severity.CRITICAL
    if p >= t.tightened(t.probability_warning, key, active, Severity.WARNING):
        return Severity.WARNING
    return None


def chance_text(odds: Odds) -> str:
    """ "within 24 h with a 22 % chance (4 h: 7 %)"."""
    return f"within 24 h with a {_pct(odds.p24)} chance (4 h: {_pct(odds.p4)})"


def _pct(p: float) -> str:
    if p >= 0.995:
        return "near-certain"
    if p < 0.01:
        return "under 1 %"
    return f"{p * 100:.0f} %"


def _cross(
    state: AccountState, market: MarketState, t: Thresholds, active: Active
) -> Condition | None:
    report = state.report
    odds, jm = report.odds, report.joint_move
    if odds is None or jm is None:
        return None
    symbols = tuple(p.symbol for p in report.positions if p.margin_mode is MarginMode.CROSS)
    key = warning_key(WarningRule.LIQUIDATION_PROBABILITY, state.account_id, symbols)
    severity = _severity(odds.p24, key, t, active)
    if severity is None:
        return None
    leader = base_asset(jm.leader)
    move = _likeliest_move(odds)
    mark = leader_mark(report)
    at = f" (at {whole(mark * (1 + move))})" if mark and move is not None else ""
    what = "your account" if len(symbols) == 1 else "the whole cross account"
    head = (
        f"{leader} {fmt.pct(move)}{at} liquidates {what}."
        if move is not None
        else f"Your cross account is at its liquidation ({leader} {whole(mark or 0.0)})."
    )
    text = f"{head} In the current volatility that happens {chance_text(odds)}."
    if market.moves is not None and odds.p24 > t.probability_target:
        account = state.account
        fix = cross_remedy(
            account,
            rules_for(account.exchange),
            jm.leader,
            market.betas,
            market.moves,
            odds,
            t.probability_target,
        )
        text += " " + remedy_text(fix, report, settle=_settle(state))
    clause = scenario_clause(report, market.leader, move)
    if clause:
        text += " " + clause
    return Condition(
        WarningRule.LIQUIDATION_PROBABILITY, severity, state.account_id, symbols, text, odds.p24
    )


def _likeliest_move(odds: Odds) -> float | None:
    """The joint move (down or up) that carries most of the chance."""
    if odds.down is None:
        return odds.up
    if odds.up is None:
        return odds.down
    return odds.down if abs(odds.down) <= abs(odds.up) else odds.up


def _settle(state: AccountState) -> str:
    return "USDC" if state.account.exchange == "hyperliquid" else "USDT"


def whole(x: float) -> str:
    """A price or an amount as a trader reads it in a sentence: whole units from 1,000 up
    ("101,850", "3,400"), the shared price format below."""
    return f"{x:,.0f}" if abs(x) >= 1000 else fmt.price(x)


def round_up(x: float, digits: int = 2) -> float:
    """Up to ``digits`` significant figures: 3,351 → 3,400; 87.2 → 88."""
    if x <= 0 or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.ceil(x / step - 1e-9) * step


def remedy_text(fix: Remedy, report: AccountReport, settle: str = "USDT") -> str:
    """ "Adding 3,400 USDT, or cutting the BTC long by 30 %, brings it under 5 %."."""
    target = f"{fix.target * 100:g} %"
    if fix.collateral <= 0:
        return ""
    money = f"Adding {whole(round_up(fix.collateral))} {settle}"
    if fix.isolated_symbol is not None:
        money += " of margin"
    if fix.cut_symbol is not None and fix.cut_fraction is not None and fix.cut_side is not None:
        cut = min(100, math.ceil(fix.cut_fraction * 100 - 1e-9))
        side = "long" if fix.cut_side is Side.LONG else "short"
        return (
            f"{money}, or cutting the {base_asset(fix.cut_symbol)} {side} by {cut} %, "
            f"brings it under {target}."
        )
    return f"{money} brings it under {target}."


def scenario_clause(report: AccountReport, leader: LeaderMarket | None, move: float | None) -> str:
    """What the map puts between the nearest support below the leader's price and the
    account's liquidation, as a scenario: "Scenario, not a forecast: below 104,000 the map
    holds about 45 M USD of long liquidations down to 102,600." Empty without a support between
    the two, or for a rise."""
    mark = leader_mark(report)
    if leader is None or leader.levels is None or leader.liqmap is None or mark is None:
        return ""
    if move is None or move >= 0:
        return ""
    liq_at = mark * (1 + move)
    between = [z for z in leader.levels.supports if z.low < mark and z.high > liq_at]
    if not between:
        return ""
    z = between[0]
    lm = leader.liqmap
    if lm.is_proxy:
        size = "long liquidations (relative sizes only: no open-interest history)"
    else:
        amount = lm.long_between(liq_at, min(z.high, mark)) * LIQUIDATION_SCALE
        size = f"about {fmt.compact_money(amount)} USD of long liquidations"
    return (
        f"{SCENARIO_LABEL.capitalize()}: between the support at {whole(z.mid)} and "
        f"{whole(liq_at)} the liquidation map holds {size}."
    )


def _isolated(
    state: AccountState,
    pos: PositionReport,
    market: MarketState,
    t: Thresholds,
    active: Active,
) -> Condition | None:
    odds = pos.odds
    if odds is None or pos.distance is None:
        return None
    key = warning_key(WarningRule.LIQUIDATION_PROBABILITY, state.account_id, (pos.symbol,))
    severity = _severity(odds.p24, key, t, active)
    if severity is None:
        return None
    liq = pos.shown_liquidation_price
    at = f" (at {whole(liq.value)})" if liq is not None else ""
    side = pos.side.name.lower()
    text = (
        f"{base_asset(pos.symbol)} {fmt.pct(pos.distance)}{at} liquidates your isolated "
        f"{base_asset(pos.symbol)} {side}. In the current volatility that happens "
        f"{chance_text(odds)}."
    )
    if market.moves is not None and odds.p24 > t.probability_target:
        position = next(
            (p for p in state.account.positions if p.symbol == pos.symbol and p.side is pos.side),
            None,
        )
        if position is not None:
            fix = isolated_remedy(
                position, rules_for(state.account.exchange), market.moves, odds,
                t.probability_target,
            )  # fmt: skip
            text += " " + remedy_text(fix, state.report, settle=_settle(state))
    return Condition(
        WarningRule.LIQUIDATION_PROBABILITY,
        severity,
        state.account_id,
        (pos.symbol,),
        text.strip(),
        odds.p24,
    )
