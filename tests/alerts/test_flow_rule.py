""" "A cascade is under way" (alerts/flow_rules.py) with the shipped thresholds: the three parts
of the condition, the account's own liquidation price, hysteresis, severity and the message."""

from __future__ import annotations

import math

import pytest

import formatting as fmt
from alerts import (
    AccountState,
    LiquidationFlows,
    MarketState,
    Severity,
    Thresholds,
    WarningRule,
    evaluate,
    warning_key,
)
from alerts.flow_rules import account_liquidation_price, cascade_under_way_rule
from risk.liqflow import Flow, NormSource, sigma_over
from risk.report import AccountReport, build_report
from risk.types import Side
from tests.monitor.monitor_fakes import BTC, ETH, demo_like_account

T = Thresholds()
NOW = 1_756_070_000_000
SIGMA = 0.025
NORM = 36_738.0


def report(wallet: float = 16_600.0) -> AccountReport:
    return build_report(demo_like_account(wallet), betas={ETH: 1.3})


def flows(
    multiple: float = 60.0,
    sigmas: float = 2.5,
    side: Side = Side.LONG,
    mark: float = 106_000.0,
    source: NormSource = NormSource.PRIOR,
) -> dict[str, LiquidationFlows]:
    """BTC's flow on Binance at ``multiple`` × the norm, and a move of ``sigmas`` 10-minute
    standard deviations down (up for shorts) to ``mark``."""
    move = sigmas * sigma_over(SIGMA, T.flow.move_window_ms) * (1 if side is Side.LONG else -1)
    flow = Flow("binanceusdm", BTC, side, T.flow.window_ms, NORM * multiple, NORM, source, NOW)
    return {BTC: LiquidationFlows(BTC, (flow,), mark, mark * math.exp(move), SIGMA)}


def test_fires_with_the_flow_the_move_and_the_account_within_reach() -> None:
    r = report()
    liq = account_liquidation_price(r, r.positions[0])
    assert liq is not None and 0 < (106_000 - liq) / 106_000 < 3.1 * sigma_over(
        SIGMA, 4 * 3_600_000
    )
    [c] = cascade_under_way_rule(r, 7, flows(), T)
    assert c.rule is WarningRule.CASCADE_UNDER_WAY and c.symbols == (BTC,)
    assert c.severity is Severity.WARNING and c.metric == pytest.approx(60.0)
    assert c.message.startswith("$2.2 M of BTC longs liquidated in 5 min on Binance, 60× the usual")
    assert "BTC −0.5 % in 10 min (2.5 σ)" in c.message
    assert f"your account is liquidated at BTC {fmt.price(liq)}, 2.7 % away" in c.message


@pytest.mark.parametrize(
    ("kwargs", "wallet", "why"),
    [
        ({"multiple": 40.0}, 16_600.0, "the flow is under 48 ×"),
        ({"sigmas": 1.5}, 16_600.0, "the price hardly moved"),
        ({"sigmas": -2.5}, 16_600.0, "the price rose"),
        ({"side": Side.SHORT}, 16_600.0, "shorts are liquidated, the account is long"),
        ({}, 25_000.0, "the account's liquidation is out of reach"),
    ],
)
def test_each_part_is_needed(kwargs: dict[str, object], wallet: float, why: str) -> None:
    assert cascade_under_way_rule(report(wallet), 7, flows(**kwargs), T) == [], why  # type: ignore[arg-type]


def test_no_flow_or_no_mark_history_says_nothing() -> None:
    r = report()
    assert cascade_under_way_rule(r, 7, {}, T) == []
    f = flows()[BTC]
    blind = LiquidationFlows(BTC, f.flows, f.mark, None, SIGMA)
    assert cascade_under_way_rule(r, 7, {BTC: blind}, T) == []


def test_an_open_warning_holds_until_the_flow_clears_the_hysteresis() -> None:
    r = report()
    key = warning_key(WarningRule.CASCADE_UNDER_WAY, 7, (BTC,))
    assert cascade_under_way_rule(r, 7, flows(multiple=45.0), T) == []
    held = cascade_under_way_rule(r, 7, flows(multiple=45.0), T, {key: Severity.WARNING})
    assert len(held) == 1  # 45 ≥ 48 / 1.1
    assert cascade_under_way_rule(r, 7, flows(multiple=42.0), T, {key: Severity.WARNING}) == []


def test_critical_within_the_median_further_fall() -> None:
    r = report(12_800.0)
    liq = account_liquidation_price(r, r.positions[0])
    assert liq is not None
    assert (106_000 - liq) / 106_000 <= 0.9 * sigma_over(SIGMA, 4 * 3_600_000)
    [c] = cascade_under_way_rule(r, 7, flows(), T)
    assert c.severity is Severity.CRITICAL


def test_the_joint_move_is_where_the_cross_account_dies() -> None:
    r = report()
    btc = r.positions[0]
    jm = r.joint_move
    assert jm is not None and jm.down is not None and btc.liquidation_price is not None
    joint = 106_000.0 * (1 + jm.down)
    assert joint > btc.liquidation_price.value  # the ETH long brings it nearer
    assert account_liquidation_price(r, btc) == pytest.approx(joint)


def test_evaluate_runs_it_with_the_seven_day_norm() -> None:
    r = report()
    state = AccountState(7, demo_like_account(16_600.0), r)
    market = MarketState(liquidations=flows(source=NormSource.HISTORY))
    conds = [
        c for c in evaluate(state, market, T, {}, NOW) if c.rule is WarningRule.CASCADE_UNDER_WAY
    ]
    assert len(conds) == 1 and "(7-day norm)" in conds[0].message


def test_the_setting_switches_it_off() -> None:
    from settings.registry import FLOW_ALERTS, Values

    assert FLOW_ALERTS.default is True and Values.defaults().thresholds().flow_alerts
    r = report()
    state = AccountState(7, demo_like_account(16_600.0), r)
    market = MarketState(liquidations=flows())
    off = T.with_overrides({"flow_alerts": False})
    assert not [
        c for c in evaluate(state, market, off, {}, NOW) if c.rule is WarningRule.CASCADE_UNDER_WAY
    ]
