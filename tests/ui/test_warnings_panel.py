"""The warnings panel's history says why a warning resolved."""

from __future__ import annotations

from alerts import Change, ResolveReason, Severity, WarningRule
from monitor.events import WarningEvent
from storage.records import WarningRecord
from ui.warnings_panel import WarningsPanel


def record() -> WarningRecord:
    return WarningRecord(
        "joint_move|1|BTC/USDT:USDT",
        WarningRule.JOINT_MOVE,
        Severity.CRITICAL,
        "BTC −4.1 % liquidates the whole cross account.",
        1,
        ("BTC/USDT:USDT",),
        0,
        0,
    )


def test_the_history_says_why_a_warning_resolved(qtbot) -> None:
    panel = WarningsPanel()
    qtbot.addWidget(panel)
    panel.add_event(WarningEvent(Change.FIRED, record()))
    panel.add_event(WarningEvent(Change.RESOLVED, record(), ResolveReason.CLOSED))
    table = panel.history_table
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    assert table.item(0, 1).text() == "resolved"
    assert table.item(0, 3).text() == (
        "The position was closed. It said: BTC −4.1 % liquidates the whole cross account."
    )
    assert table.item(1, 3).text() == "BTC −4.1 % liquidates the whole cross account."
    assert not panel.active


def test_a_warning_ended_by_a_liquidation_says_so(qtbot) -> None:
    panel = WarningsPanel()
    qtbot.addWidget(panel)
    panel.add_event(WarningEvent(Change.FIRED, record()))
    panel.add_event(WarningEvent(Change.RESOLVED, record(), ResolveReason.LIQUIDATED))
    table = panel.history_table
    qtbot.waitUntil(lambda: table.rowCount() == 2)
    assert table.item(0, 3).text() == (
        "It ended in a liquidation. It said: BTC −4.1 % liquidates the whole cross account."
    )
