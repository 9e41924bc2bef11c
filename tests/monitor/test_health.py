"""The watch loop's own health rules: unreachable, key rejected, clock skew, stale data."""

from __future__ import annotations

from alerts import Severity, WarningRule
from connectors.types import ErrorKind
from monitor.health import ConnectionStatus, health_conditions, is_stale, stale_after_ms


def test_health_rules() -> None:
    ok = ConnectionStatus(None, None, 1_000, 5_000)
    assert health_conditions(ok, 1, "Main") == []
    down = ConnectionStatus(ErrorKind.NETWORK, "cannot reach Binance", 16_000, 5_000, failures=3)
    rules = {c.rule: c for c in health_conditions(down, 1, "Main")}
    assert set(rules) == {WarningRule.UNREACHABLE, WarningRule.STALE_DATA}
    assert "16 s old" in rules[WarningRule.STALE_DATA].message
    key = ConnectionStatus(ErrorKind.AUTH, "rejected", None, 5_000, failures=1)
    [c] = health_conditions(key, 1, "Main")
    assert c.rule is WarningRule.KEY_REJECTED and c.severity is Severity.CRITICAL
    skew = ConnectionStatus(ErrorKind.CLOCK_SKEW, "clock off", 2_000, 5_000, failures=1)
    assert health_conditions(skew, 1, "Main")[0].rule is WarningRule.CLOCK_SKEW


def test_stale_is_three_polls_by_default_and_critical_past_four_times_that() -> None:
    assert stale_after_ms(5_000) == 15_000
    assert not is_stale(15_000, 15_000) and is_stale(15_001, 15_000)
    assert not is_stale(None, 15_000)
    [c] = health_conditions(ConnectionStatus(None, None, 60_001, 5_000), 1, "Main")
    assert c.rule is WarningRule.STALE_DATA and c.severity is Severity.CRITICAL
