"""The warnings panel: its history says why a warning resolved; the warnings still calling for
attention are listed above the acknowledged and snoozed ones."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from alerts import Change, ResolveReason, Severity, WarningRule, WarningState
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


def warning(key: str, severity: Severity, first_seen_ms: int) -> WarningRecord:
    return WarningRecord(
        key, WarningRule.JOINT_MOVE, severity, key, 1, ("BTC/USDT:USDT",), first_seen_ms, 0
    )


def shown(panel: WarningsPanel) -> list[tuple[str, str]]:
    """(warning, state) of each row of the Active table, top to bottom."""
    t = panel.active_table
    return [(t.item(r, 1).text(), t.item(r, 4).text()) for r in range(t.rowCount())]


def test_acknowledged_and_snoozed_warnings_sort_below_active_ones(qtbot) -> None:
    panel = WarningsPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    for key, severity, seen in (("a", Severity.CRITICAL, 1), ("b", Severity.WARNING, 2)):
        panel.add_event(WarningEvent(Change.FIRED, warning(key, severity, seen)))
    qtbot.waitUntil(lambda: panel.active_table.rowCount() == 2)
    assert [w for w, _ in shown(panel)] == ["a", "b"]  # most severe first
    # the trader selects the critical one and presses Acknowledge
    table = panel.active_table
    rect = table.visualItemRect(table.item(0, 1))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(panel.sigAcknowledge) as ack:
        qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    assert ack.args == ["a"]
    quiet = replace(warning("a", Severity.CRITICAL, 1), state=WarningState.ACKNOWLEDGED)
    panel.add_event(WarningEvent(Change.ACKNOWLEDGED, quiet))  # the monitor's answer
    qtbot.waitUntil(lambda: shown(panel)[0][0] == "b")
    assert shown(panel) == [("b", "active"), ("a", "acknowledged")]
