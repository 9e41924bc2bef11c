"""Settings declared once, stored once: checked values, the defaults, the keys of earlier
versions moved on the first read, and the watch reading them."""

from __future__ import annotations

import pytest

from alerts import Thresholds
from monitor.service import WatchService
from settings.registry import (
    DISTANCE_WARNING,
    JOINT_MOVE_CRITICAL,
    POLL_INTERVAL_S,
    SETTINGS,
    SOUND,
    STALE_POLLS,
    THEME,
    SettingError,
    Values,
)
from settings.store import SettingsStore
from storage.database import Database
from storage.records import AccountRecord
from tests.monitor.monitor_fakes import FakeClock, FakeConnector, serving


def test_every_setting_parses_its_default_and_the_thresholds_defaults_are_alerts_own() -> None:
    for s in SETTINGS:
        assert s.parse(s.default) == s.default
    assert Values.defaults().thresholds() == Thresholds()
    assert DISTANCE_WARNING.default == Thresholds().distance_warning


def test_a_bad_value_is_refused_with_a_line_naming_the_setting() -> None:
    cases = [
        (
            lambda: DISTANCE_WARNING.parse(0.8),
            "alerts.distance_warning: 80 % is outside 0.5 % to 50 %",
        ),
        (lambda: POLL_INTERVAL_S.parse(2.5), "monitor.poll_interval_s: 2.5 is not a whole number"),
        (lambda: THEME.parse("pink"), "ui.theme: 'pink' is not one of dark, light"),
        (lambda: SOUND.parse(1), "ui.sound: 1 is not true or false"),
        (lambda: Values.defaults().replace({"ui.colour": "red"}), "unknown setting 'ui.colour'"),
    ]
    for call, message in cases:
        with pytest.raises(SettingError) as info:
            call()
        assert str(info.value) == message


def test_values_round_trip_through_the_database(db: Database) -> None:
    store = SettingsStore(db.settings)
    assert store.values() == Values.defaults()
    store.save(Values.defaults().replace({JOINT_MOVE_CRITICAL.key: 0.03, STALE_POLLS.key: 5}))
    values = store.values()
    assert values.get(JOINT_MOVE_CRITICAL) == 0.03 and values.get(STALE_POLLS) == 5
    assert values.thresholds().joint_move_critical == 0.03


def test_a_stored_value_out_of_range_reads_as_the_default(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    db.settings.set(STALE_POLLS.key, 500)
    assert SettingsStore(db.settings).get(STALE_POLLS) == STALE_POLLS.default
    assert "monitor.stale_polls: 500 polls is outside 2 polls to 20 polls" in caplog.text


def test_keys_of_an_earlier_version_move_to_their_settings(db: Database) -> None:
    db.settings.set("monitor.thresholds", {"distance_warning": 0.12, "clock_skew_ms": 5000})
    db.settings.set("monitor.poll_interval_s.3", 30)
    db.settings.set("monitor.poll_interval_s.4", 30)
    db.settings.set("monitor.thresholds.3", {"distance_warning": 0.2})
    values = SettingsStore(db.settings).values()
    assert values.get(DISTANCE_WARNING) == 0.12 and values.get(POLL_INTERVAL_S) == 30
    assert set(db.settings.all()) == {DISTANCE_WARNING.key, POLL_INTERVAL_S.key}


def test_the_watch_reads_its_poll_interval_stale_limit_and_thresholds(db: Database) -> None:
    db.accounts.add(AccountRecord("binanceusdm", "Main"))
    store = SettingsStore(db.settings)
    store.save(
        Values.defaults().replace(
            {POLL_INTERVAL_S.key: 20, STALE_POLLS.key: 4, DISTANCE_WARNING.key: 0.15}
        )
    )
    clock = FakeClock(1_800_000_000)
    svc = WatchService(db, None, _Silent(), clock=clock, connector_factory=serving(FakeConnector()))
    svc.reload_accounts()
    [slot] = svc.jobs.accounts.values()
    assert slot.config.poll_interval_s == 20 and slot.config.stale_polls == 4
    assert slot.config.thresholds.distance_warning == 0.15
    assert slot.stale_after_ms == 80_000


class _Silent:
    def on_account(self, u: object) -> None: ...

    def on_market(self, u: object) -> None: ...

    def on_warning(self, e: object) -> None: ...
