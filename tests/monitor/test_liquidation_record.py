"""Positions that vanish: the monitor asks the exchange's record of liquidations (only then, at
most twice), and its warnings end as liquidated or as closed accordingly; where the exchange
keeps no record, the vanishing must be seen on two reads in a row. The first read after a
liquidation may be torn (the wallet read before it, the positions after it, as a Binance poll's
two requests can be)."""

from __future__ import annotations

import pytest

from alerts import Change, ResolveReason, WarningRule
from connectors.types import Capability
from monitor.events import NullCallbacks, WarningEvent
from monitor.service import WatchService
from risk.types import ForcedClose, Side
from settings.registry import FIXED_PERCENT
from settings.store import SettingsStore
from tests.monitor.monitor_fakes import BTC, ETH, FakeClock, FakeConnector, serving

pytestmark = pytest.mark.usefixtures("main_account")
T0 = 1_762_000_000.0
RECORD = "Binance's force orders"


class Events(NullCallbacks):
    def __init__(self) -> None:
        self.seen: list[WarningEvent] = []

    def on_warning(self, e: WarningEvent) -> None:
        self.seen.append(e)

    def of(self, change: Change) -> list[WarningEvent]:
        return [e for e in self.seen if e.change is change]


def watch(db, fake: FakeConnector) -> tuple[WatchService, FakeClock, Events]:
    # The fake account has no candles, so no chance of liquidation: the fixed-% rules give it
    # the warnings a liquidation ends (the lifecycle is the same for every rule).
    SettingsStore(db.settings).set(FIXED_PERCENT, True)
    clock = FakeClock(T0)
    events = Events()
    svc = WatchService(
        db, None, events, clock=clock, connector_factory=serving(fake), poll_interval_s=5.0
    )
    return svc, clock, events


def poll(svc: WatchService, clock: FakeClock) -> None:
    clock.advance(5.0)
    svc.tick()


def crash(
    fake: FakeConnector,
    clock: FakeClock,
    svc: WatchService,
    events: Events,
    recorded: bool = True,
) -> None:
    """Warned, then the positions vanish (liquidated, as ``recorded`` says, or closed): the
    first read after it is torn (the wallet from before)."""
    fake.wallet = 15_000.0  # BTC 3.6 % from its liquidation price
    poll(svc, clock)
    assert {e.warning.rule for e in events.of(Change.FIRED)} >= {
        WarningRule.LIQUIDATION_DISTANCE,
        WarningRule.JOINT_MOVE,
    }
    fake.holding = False
    fake.record = tuple(
        ForcedClose(sym, Side.LONG, int(clock() * 1000) + 2_000, size, None, RECORD)
        for sym, size in ((BTC, 1.0), (ETH, 20.0))
        if recorded
    )
    poll(svc, clock)  # torn: positions gone, wallet still 15,000


def resolved(events: Events) -> dict[WarningRule, set[ResolveReason | None]]:
    out: dict[WarningRule, set[ResolveReason | None]] = {}
    for e in events.of(Change.RESOLVED):
        out.setdefault(e.warning.rule, set()).add(e.reason)
    return out


def test_the_exchanges_record_calls_it_a_liquidation_at_once(db) -> None:
    fake = FakeConnector()
    fake.capabilities = frozenset({Capability.LIQUIDATIONS})
    svc, clock, events = watch(db, fake)
    poll(svc, clock)
    crash(fake, clock, svc, events)
    [fired] = [e for e in events.of(Change.FIRED) if e.warning.rule is WarningRule.LIQUIDATED]
    assert "liquidated (Binance's force orders)" in fired.warning.message
    assert fake.record_reads == 1
    assert resolved(events) == {}  # not yet: two clear polls
    fake.wallet = 1_200.0
    poll(svc, clock)
    assert resolved(events) == {
        WarningRule.LIQUIDATION_DISTANCE: {ResolveReason.LIQUIDATED},
        WarningRule.JOINT_MOVE: {ResolveReason.LIQUIDATED},
    }
    for _ in range(3):
        poll(svc, clock)
    assert fake.record_reads == 1, "asked once: the first answer named the positions"
    open_rules = {r.rule for r in svc.open_warnings()}
    assert open_rules == {WarningRule.LIQUIDATED}
    [liq] = svc.open_warnings()
    assert "The wallet fell from 15,000.00 to 1,200.00." in liq.message


def test_without_a_record_two_reads_in_a_row_decide(db) -> None:
    fake = FakeConnector()  # no Capability.LIQUIDATIONS: its exchange keeps no record
    svc, clock, events = watch(db, fake)
    poll(svc, clock)
    crash(fake, clock, svc, events)
    assert not [e for e in events.seen if e.warning.rule is WarningRule.LIQUIDATED]
    assert resolved(events) == {}, "one torn read decides nothing"
    fake.wallet = 1_200.0
    poll(svc, clock)
    assert [e.warning.rule for e in events.of(Change.FIRED)][-1] is WarningRule.LIQUIDATED
    assert resolved(events) == {
        WarningRule.LIQUIDATION_DISTANCE: {ResolveReason.LIQUIDATED},
        WarningRule.JOINT_MOVE: {ResolveReason.LIQUIDATED},
    }
    assert fake.record_reads == 0


def test_a_record_without_them_means_the_trader_closed_them(db) -> None:
    fake = FakeConnector()
    fake.capabilities = frozenset({Capability.LIQUIDATIONS})
    svc, clock, events = watch(db, fake)
    poll(svc, clock)
    assert fake.record_reads == 0, "no request while nothing vanishes"
    crash(fake, clock, svc, events, recorded=False)
    assert resolved(events) == {}
    fake.wallet = 14_000.0  # closed at a loss, near the liquidation price
    poll(svc, clock)
    for _ in range(3):
        poll(svc, clock)
    assert fake.record_reads == 2, "the read that saw them gone and the next, no more"
    assert not [e for e in events.seen if e.warning.rule is WarningRule.LIQUIDATED]
    reasons = resolved(events)
    assert reasons[WarningRule.LIQUIDATION_DISTANCE] == {ResolveReason.CLOSED}
    assert reasons[WarningRule.JOINT_MOVE] == {ResolveReason.ALL_CLOSED}
