"""Desktop notifications against a fake freedesktop notification service on a private
session bus: the notice arrives with the urgency byte of its severity, a click comes back
as the warning's key; with no service the tray balloon takes over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from alerts.vocabulary import Severity
from tests.ui.dbus_session import FakeNotificationService, private_session_bus
from ui.desktop_notify import DesktopNotifications, NativeNotifier, native_available


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNotificationService]:
    with private_session_bus() as (address, fake):
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        assert fake is not None
        yield fake


def test_native_notice_carries_urgency_and_comes_back_when_clicked(
    qtbot: QtBot, bus: FakeNotificationService
) -> None:
    assert native_available()
    notes = DesktopNotifications(None)
    try:
        with qtbot.waitSignal(notes.native.sigResult, timeout=10_000) as res:  # type: ignore[union-attr]
            notes.notify(
                "CRITICAL · Main", "BTC −5.0 % liquidates the account.", Severity.CRITICAL, "k1"
            )
        assert res.args == ["k1", True]
        notes.notify("WARNING · Main", "ETH is 9 % from liquidation.", Severity.WARNING, "k2")
        calls = bus.wait_for(2)
        assert len(calls) == 2
        crit, warn = calls
        assert crit["app_name"] == "Cascade Watch"
        assert crit["summary"] == "CRITICAL · Main"
        assert crit["body"] == "BTC −5.0 % liquidates the account."
        assert crit["hints"]["urgency"] == ["y", 2]
        assert warn["hints"]["urgency"] == ["y", 1]
        assert "default" in crit["actions"]
        assert notes.route == "native"
        with qtbot.waitSignal(notes.sigOpen, timeout=10_000) as opened:
            bus.click(crit["id"])
        assert opened.args == ["k1"]
    finally:
        notes.close()


def test_without_a_notification_service_the_tray_takes_over(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[str, str]] = []

    class Tray:
        class _Sig:
            def connect(self, _fn: object) -> None:
                return None

        messageClicked = _Sig()

        def showMessage(self, title: str, body: str, *_: object) -> None:
            shown.append((title, body))

    with private_session_bus(with_service=False) as (address, _):
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        native = NativeNotifier()
        notes = DesktopNotifications(Tray(), native=native)  # type: ignore[arg-type]
        try:
            for i in range(3):
                with qtbot.waitSignal(native.sigResult, timeout=10_000) as res:
                    notes.notify(f"WARNING {i}", "text", Severity.WARNING, f"k{i}")
                assert res.args == [f"k{i}", False]
            assert shown == [("WARNING 0", "text"), ("WARNING 1", "text"), ("WARNING 2", "text")]
            assert notes.route == "tray" and notes.native is None
            notes.notify("CRITICAL", "again", Severity.CRITICAL, "k9")
            assert shown[-1] == ("CRITICAL", "again")
        finally:
            notes.close()
