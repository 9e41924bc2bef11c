"""The warning rules: pure functions of a report and market figures."""

from __future__ import annotations

import math

import pytest

from alerts import (
    AccountState,
    CascadeRisk,
    Crowding,
    ScheduledEvent,
    Severity,
    ThresholdError,
    Thresholds,
    WarningRule,
    undecided_symbols,
    warning_key,
)
from alerts.account_rules import joint_move, liquidation, liquidation_distance
from alerts.market_rules import calendar_coverage, cascade_support, crowding, scheduled_event
from risk.indicators import zscore
from risk.report import build_report
from risk.types import Account, ForcedClose, Side
from tests.monitor.monitor_fakes import BTC, ETH, demo_like_account

T = Thresholds()


def report(wallet: float, **marks: float):
    return build_report(demo_like_account(wallet, **marks), betas={ETH: 1.3})


def by_symbol(conds):
    return {c.symbols: c for c in conds}


def test_distance_thresholds_and_severity():
    # BTC at -6.3 %, ETH at -9.3 % from their liquidation prices.
    conds = by_symbol(liquidation_distance(report(17_800), 1, T))
    assert conds[(BTC,)].severity is Severity.WARNING
    assert conds[(ETH,)].severity is Severity.WARNING
    assert "BTC long: liquidation at" in conds[(BTC,)].message
    conds = by_symbol(liquidation_distance(report(15_000), 1, T))
    assert conds[(BTC,)].severity is Severity.CRITICAL  # -3.6 %
    assert liquidation_distance(report(30_000), 1, T) == []


def test_distance_hysteresis_keeps_an_active_warning_until_threshold_times_1_1():
    r = report(20_000)  # BTC -8.4 %, ETH -12.4 %
    eth = warning_key(WarningRule.LIQUIDATION_DISTANCE, 1, (ETH,))
    fresh = by_symbol(liquidation_distance(r, 1, T))
    assert (ETH,) not in fresh  # 12.4 % > 10 %
    held = by_symbol(liquidation_distance(r, 1, T, active={eth: Severity.WARNING}))
    assert (ETH,) not in held  # 12.4 % > 11 %: clears even when active
    r2 = report(18_800)
    eth_d = abs(next(p.distance for p in r2.positions if p.symbol == ETH))
    assert 0.10 < eth_d < 0.11
    assert (ETH,) not in by_symbol(liquidation_distance(r2, 1, T))
    kept = by_symbol(liquidation_distance(r2, 1, T, active={eth: Severity.WARNING}))[(ETH,)]
    # the words never contradict the figure: -10.x % is not "within 10 %"
    assert "within 10 % of the mark" not in kept.message
    assert "still within the 10 % warning band (it clears beyond 11 %)" in kept.message
    inside = by_symbol(liquidation_distance(report(17_800), 1, T, active={eth: Severity.WARNING}))
    assert "within 10 % of the mark" in inside[(ETH,)].message


def test_a_joint_move_kept_by_hysteresis_says_so():
    key = warning_key(WarningRule.JOINT_MOVE, 1, (BTC, ETH))
    r = next(
        rep
        for wallet in range(30_000, 34_000, 25)
        if (rep := report(wallet)).joint_move is not None
        and 0.10 < abs(rep.joint_move.nearest) < 0.11
    )
    assert joint_move(r, 1, T) == []
    [kept] = joint_move(r, 1, T, active={key: Severity.WARNING})
    assert "still within the 10 % warning band (it clears beyond 11 %)" in kept.message


def test_distance_in_sigmas_and_touch_probability():
    acc = demo_like_account(30_000)
    r = build_report(acc, betas={ETH: 1.3}, sigma_daily={BTC: 0.10, ETH: 0.08})
    conds = by_symbol(liquidation_distance(r, 1, T))
    assert set(conds) == {(BTC,)}, "a 10 % daily sigma puts BTC's 17.9 % within 2 sigma"
    assert any("σ" in c.message or "chance" in c.message for c in conds.values())


def test_joint_move_message_and_levels():
    [c] = joint_move(report(17_800), 1, T)
    assert c.severity is Severity.CRITICAL
    assert c.message.startswith("BTC −3.3 %")
    assert "liquidates the whole cross account, your ETH long included" in c.message
    [c] = joint_move(report(22_000), 1, T)
    assert c.severity is Severity.WARNING
    assert joint_move(report(40_000), 1, T) == []


def test_cascade_support_needs_proximity_domino_and_reach():
    r = report(20_000)  # joint move -4.46 % -> BTC ~101,270
    risk = CascadeRisk(BTC, 105_000.0, 1.4, 100_500.0, -1, "If 105,000 breaks, ...")
    [c] = cascade_support(r, 1, [risk], T)
    assert c.rule is WarningRule.CASCADE_SUPPORT
    assert "If 105,000 breaks" in c.message
    assert "domino ratio 1.4" in c.message
    # Too far from the support (BTC 106,000 vs 100,000: 6 %).
    far = CascadeRisk(BTC, 100_000.0, 1.4, 95_000.0, -1)
    assert cascade_support(r, 1, [far], T) == []
    # One ATR wider than 1.5 % brings it in.
    assert cascade_support(r, 1, [far], T, atr=6_500.0) != []
    # Domino ratio below 1: not cascade-prone.
    weak = CascadeRisk(BTC, 105_000.0, 0.6, 103_000.0, -1)
    assert cascade_support(r, 1, [weak], T) == []
    # The cascade stops above the account's liquidation: out of reach.
    short_reach = CascadeRisk(BTC, 105_000.0, 1.2, 102_500.0, -1)
    assert cascade_support(r, 1, [short_reach], T) == []


HOUR = 3_600_000
MIN = 60_000


@pytest.mark.parametrize(
    ("before_ms", "expected"),
    [
        (61 * MIN, None),
        (60 * MIN, Severity.WARNING),
        (16 * MIN, Severity.WARNING),
        (15 * MIN, Severity.CRITICAL),
        (0, Severity.CRITICAL),
        (-30 * MIN, Severity.CRITICAL),
        (-31 * MIN, None),
    ],
)
def test_scheduled_event_windows(before_ms, expected):
    at = 1_768_311_000_000
    events = [ScheduledEvent("US CPI release", at, {"BTC": 0.04})]
    conds = scheduled_event(report(17_800), 1, events, at - before_ms, T)
    if expected is None:
        assert conds == []
    else:
        [c] = conds
        assert c.severity is expected
        assert "US CPI release" in c.message


def test_scheduled_event_only_when_headroom_below_typical_move():
    at = 1_768_311_000_000
    events = [ScheduledEvent("FOMC decision", at, {"BTC": 0.04})]
    assert scheduled_event(report(22_000), 1, events, at - 30 * MIN, T) == []
    wide = [ScheduledEvent("FOMC decision", at, {"*": 0.08})]
    assert scheduled_event(report(22_000), 1, wide, at - 30 * MIN, T) != []


def test_calendar_coverage_is_info_below_thirty_days_and_silent_above():
    assert T.event_coverage_days == 30
    assert calendar_coverage(1, 30.0, T) == [] and calendar_coverage(1, None, T) == []
    (cond,) = calendar_coverage(1, 12.4, T)
    assert cond.severity is Severity.INFO and cond.account_id == 1 and cond.symbols == ()
    assert cond.message.startswith(
        "Scheduled events (FOMC, CPI) are known for fewer than 30 days (the last is 12 days away)"
    )
    (none,) = calendar_coverage(1, 0.0, T)
    assert "(none is known)" in none.message and none.metric == 0.0


def test_crowding_only_on_the_crowded_side():
    r = report(30_000)
    hot = {BTC: Crowding(BTC, 0.0005, 2.5, 2.2), ETH: Crowding(ETH, 0.0001, 0.5, None)}
    [c] = crowding(r, 1, hot, T)
    assert c.symbols == (BTC,) and c.severity is Severity.WARNING
    shorts_crowded = {BTC: Crowding(BTC, -0.0005, -2.5, 2.5)}
    assert crowding(r, 1, shorts_crowded, T) == []


def test_zscore():
    assert zscore([1.0] * 20) is None
    assert zscore([1.0, 2.0] * 3) is None
    z = zscore([0.0, 1.0] * 10, 3.0)
    assert z is not None and math.isclose(z, 5.0)


def test_thresholds_overrides():
    t = T.with_overrides({"distance_warning": 0.2, "event_lead_ms": [120, 30]})
    assert t.distance_warning == 0.2 and t.event_lead_ms == (120, 30)


def test_unknown_or_mistyped_thresholds_are_refused_by_name():
    with pytest.raises(ThresholdError, match="unknown thresholds: colour, unknown"):
        T.with_overrides({"distance_warning": 0.2, "unknown": 1, "colour": "red"})
    with pytest.raises(ThresholdError, match="distance_warning='far'"):
        T.with_overrides({"distance_warning": "far"})
    with pytest.raises(ThresholdError, match="event_after_ms=True"):
        T.with_overrides({"event_after_ms": True})


def test_hysteresis_delays_de_escalation_but_never_brings_escalation_forward():
    """An open WARNING must not turn CRITICAL at 5.4 % (the relaxed 5.5 %): the relaxed
    threshold belongs to a warning that is already critical."""
    btc = warning_key(WarningRule.LIQUIDATION_DISTANCE, 1, (BTC,))
    r = next(
        rep
        for wallet in range(15_000, 18_000, 25)
        if 0.050 < abs((rep := report(wallet)).positions[0].distance) < 0.055
    )
    assert by_symbol(liquidation_distance(r, 1, T))[(BTC,)].severity is Severity.WARNING
    as_warning = liquidation_distance(r, 1, T, active={btc: Severity.WARNING})
    assert by_symbol(as_warning)[(BTC,)].severity is Severity.WARNING
    as_critical = liquidation_distance(r, 1, T, active={btc: Severity.CRITICAL})
    assert by_symbol(as_critical)[(BTC,)].severity is Severity.CRITICAL


def gone(before, after, reads=2, closes=None) -> AccountState:
    return AccountState(
        1, Account("binanceusdm", after.wallet_balance, ()), after, before, reads, closes
    )


def test_positions_gone_near_liquidation_with_a_wallet_loss_read_as_a_liquidation():
    before = report(15_000)  # BTC -3.6 % from its liquidation price
    emptied = build_report(Account("binanceusdm", 1_200.0, ()))
    cond = liquidation(gone(before, emptied), T)
    assert cond is not None and cond.severity is Severity.CRITICAL
    assert cond.symbols == tuple(sorted((BTC, ETH)))
    assert "wallet fell from 15,000.00 to 1,200.00" in cond.message
    assert "appears to have been liquidated" in cond.message
    # closing far from liquidation, or without a loss, is not a liquidation
    assert liquidation(gone(report(40_000), emptied), T) is None
    richer = build_report(Account("binanceusdm", 16_000.0, ()))
    assert liquidation(gone(before, richer), T) is None


def test_one_read_of_positions_gone_is_not_enough_without_the_exchanges_record():
    """A Binance poll is two requests: the wallet can be read before the liquidation and the
    positions after it. The first read that shows them gone decides nothing; its warnings
    wait (undecided) rather than resolve as closed."""
    before = report(15_000)
    torn = build_report(Account("binanceusdm", 15_000.0, ()))
    assert liquidation(gone(before, torn, reads=1), T) is None
    assert undecided_symbols(gone(before, torn, reads=1)) == tuple(sorted((BTC, ETH)))
    emptied = build_report(Account("binanceusdm", 1_200.0, ()))
    assert liquidation(gone(before, emptied, reads=1), T) is None
    assert liquidation(gone(before, emptied, reads=2), T) is not None
    assert undecided_symbols(gone(before, emptied, reads=2)) == ()


def test_the_exchanges_record_decides_liquidated_or_closed():
    before = report(15_000)
    torn = build_report(Account("binanceusdm", 15_000.0, ()))
    record = (
        ForcedClose(BTC, Side.LONG, 1, 0.6, 101_000.0, "Binance's force orders"),
        ForcedClose(BTC, Side.LONG, 2, 0.4, 100_500.0, "Binance's force orders"),
    )
    # named by the record: liquidated at once, even on a torn first read, far or near
    cond = liquidation(gone(before, torn, reads=1, closes=record), T)
    assert cond is not None and cond.rule is WarningRule.LIQUIDATED
    assert cond.symbols == (BTC,)
    assert cond.message == (
        "Your BTC long (1 BTC at 100,800.0) was liquidated (Binance's force orders)."
    )
    assert undecided_symbols(gone(before, torn, reads=1, closes=record)) == ()
    emptied = build_report(Account("binanceusdm", 1_200.0, ()))
    later = liquidation(gone(before, emptied, reads=2, closes=record), T)
    assert later is not None and "The wallet fell from 15,000.00 to 1,200.00." in later.message
    far = liquidation(gone(report(40_000), emptied, closes=record), T)
    assert far is not None
    # the record says nothing of them: closed, whatever the wallet did
    assert liquidation(gone(before, emptied, reads=2, closes=()), T) is None
    assert undecided_symbols(gone(before, emptied, reads=1, closes=())) == tuple(sorted((BTC, ETH)))
