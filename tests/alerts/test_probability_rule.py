"""The headline warning: the chance of liquidation, with the engine's remedy, and the event
warnings sized by the data; the policy's defaults."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from alerts import AccountState, MarketState, ScheduledEvent, Severity, Thresholds, WarningRule
from alerts.market_rules import scheduled_event
from alerts.policy import evaluate
from alerts.probability_rule import liquidation_probability, round_up
from resources import default_tiers, event_moves, move_model
from risk.probability import EventMoves
from risk.report import build_report
from risk.types import Account, MarginMode, Position, Side
from tests.monitor.monitor_fakes import BTC, ETH, demo_like_account

T = Thresholds()
BETAS = {ETH: 1.3}


def state(wallet: float, sigma: float = 0.006, account: Account | None = None) -> AccountState:
    acc = account or demo_like_account(wallet)
    rep = build_report(
        acc,
        betas=BETAS,
        moves=move_model(),
        sigma_hourly={BTC: sigma, ETH: sigma * 1.3},
    )
    return AccountState(1, acc, rep)


MARKET = MarketState(betas=BETAS, moves=move_model(), event_moves=event_moves())


def test_the_chance_sets_the_severity():
    calm = state(40_000)
    assert calm.report.odds is not None and calm.report.odds.p24 < T.probability_warning
    assert liquidation_probability(calm, MARKET, T) == []
    warm = state(19_000, sigma=0.005)
    odds = warm.report.odds
    assert odds is not None and T.probability_warning <= odds.p24 < T.probability_critical
    [c] = liquidation_probability(warm, MARKET, T)
    assert c.rule is WarningRule.LIQUIDATION_PROBABILITY and c.severity is Severity.WARNING
    assert c.metric == pytest.approx(odds.p24)
    hot = state(19_000, sigma=0.012)
    [c] = liquidation_probability(hot, MARKET, T)
    assert c.severity is Severity.CRITICAL


def test_the_message_says_what_why_and_what_to_do_and_its_remedy_works():
    s = state(19_000, sigma=0.006)
    [c] = liquidation_probability(s, MARKET, T)
    odds = s.report.odds
    assert odds is not None
    m = re.match(
        r"BTC −(\d+\.\d) % \(at ([\d,]+)\) liquidates the whole cross account\. In the current "
        r"volatility that happens within 24 h with a (\d+) % chance \(4 h: (\d+) %\)\. Adding "
        r"([\d,]+) USDT, or cutting the BTC long by (\d+) %, brings it under 5 %\.",
        c.message,
    )
    assert m, c.message
    assert int(m.group(3)) == round(odds.p24 * 100)
    added = float(m.group(5).replace(",", ""))
    cut = int(m.group(6)) / 100
    # The advice, rounded up as printed, brings the chance under 5 % — by the engine.
    topped = replace(s.account, wallet_balance=s.account.wallet_balance + added)
    after = state(0, account=topped).report.odds
    assert after is not None and after.p24 <= 0.05
    btc = next(p for p in s.account.positions if p.symbol == BTC)
    trimmed = replace(
        s.account,
        positions=tuple(
            replace(p, contracts=p.contracts * (1 - cut)) if p.symbol == BTC else p
            for p in s.account.positions
        ),
        wallet_balance=s.account.wallet_balance + cut * btc.unrealized_pnl(),
    )
    after_cut = state(0, account=trimmed).report.odds
    assert after_cut is not None and after_cut.p24 <= 0.05


def test_round_up_never_falls_short():
    assert round_up(3_351.0) == 3_400.0
    assert round_up(3_400.0) == 3_400.0
    assert round_up(87.2) == 88.0


def test_an_isolated_position_is_warned_through_its_own_price():
    tiers = default_tiers("binanceusdm", "ETH")
    iso = Position(
        ETH, Side.LONG, 20.0, 3_000.0, 2_950.0, tiers,
        margin_mode=MarginMode.ISOLATED, leverage=20.0,
    )  # fmt: skip
    acc = Account("binanceusdm", 5_000.0, (iso,))
    s = state(0, sigma=0.006, account=acc)
    [c] = liquidation_probability(s, MARKET, T)
    assert c.symbols == (ETH,)
    assert "liquidates your isolated ETH long" in c.message
    assert "USDT of margin brings it under 5 %." in c.message


def test_by_default_only_the_chance_and_the_events_warn():
    s = state(17_800, sigma=0.001)  # near by distance, but a quiet market: a small chance
    assert s.report.odds is not None and s.report.odds.p24 < T.probability_warning
    assert evaluate(s, MARKET, T, {}, 0) == []
    fixed = T.with_overrides({"fixed_percent": True})
    rules = {c.rule for c in evaluate(s, MARKET, fixed, {}, 0)}
    assert {WarningRule.JOINT_MOVE, WarningRule.LIQUIDATION_DISTANCE} <= rules


def test_switches_are_booleans():
    assert T.with_overrides({"cascade_alerts": True}).cascade_alerts is True
    with pytest.raises(ValueError, match="fixed_percent=1"):
        T.with_overrides({"fixed_percent": 1})


AT = 1_768_311_000_000
MIN = 60_000


def test_a_release_is_sized_by_the_moves_after_past_ones():
    # Eight past releases moved BTC 0.5 to 4 σ√4 below; at 0.6 % an hour the account's 3.95 %
    # fall is 3.4 of them: two of the eight reached it, (2 + ½)/(8 + 1).
    down = np.r_[np.full(6, 0.5), 3.5, 4.0]
    sized = {"cpi": EventMoves("cpi", 4.0, down, np.zeros(8))}
    events = [ScheduledEvent("US CPI release", AT, kind="cpi")]
    near = state(19_000, sigma=0.006).report
    [c] = scheduled_event(near, 1, events, AT - 60 * MIN, T, sized)
    assert c.severity is Severity.WARNING
    assert "a move like those after past CPI releases would liquidate" in c.message
    assert c.metric == pytest.approx(2.5 / 9)
    [c] = scheduled_event(near, 1, events, AT - 15 * MIN, T, sized)
    assert c.severity is Severity.CRITICAL
    # Far from liquidation the chance is small, and the rule stays silent.
    far = state(40_000, sigma=0.006).report
    assert scheduled_event(far, 1, events, AT - 30 * MIN, T, sized) == []


def test_the_shipped_event_moves_size_a_cpi_release():
    events = [ScheduledEvent("US CPI release", AT, kind="cpi")]
    near = state(15_000, sigma=0.006).report  # BTC −1.9 % liquidates it
    conds = scheduled_event(near, 1, events, AT - 30 * MIN, T, event_moves())
    [c] = conds
    assert c.metric is not None and c.metric >= T.event_probability
    assert "past releases, in today's volatility" in c.message
