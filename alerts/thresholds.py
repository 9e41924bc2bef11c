"""Every threshold the warning rules use, declared once, and the hysteresis they share.

Hysteresis: a condition that is active stays true until its figure clears the threshold by
``Thresholds.hysteresis`` (10 % by default), so a warning does not flap around its threshold.
The relaxed threshold belongs to a warning already open at that severity: a warning escalates
at the nominal threshold and de-escalates past the relaxed one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from types import MappingProxyType

from alerts.vocabulary import Active, Severity
from risk.liqflow import FlowThresholds


class ThresholdError(ValueError):
    """Thresholds that are unknown or not of their type; the message names them."""


def _typical_moves() -> Mapping[str, float]:
    return MappingProxyType({"BTC": 0.04})


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The rules' thresholds; fractions unless the name says otherwise."""

    probability_warning: float = 0.10
    """The headline rule: warn when the chance of liquidation within 24 h reaches this."""
    probability_critical: float = 0.35
    probability_target: float = 0.05
    """The remedy in the message brings the 24 h chance under this."""
    event_probability: float = 0.10
    """Before a CPI or FOMC release, warn when a move like past releases' would liquidate the
    account with at least this chance (silent below it)."""
    fixed_percent: bool = False
    """Also warn at fixed distances (the distance and joint-move rules below); off by default:
    a fixed distance says the same thing in a calm week and in a crash."""
    cascade_alerts: bool = False
    """Raise the cascade-prone-support rule as a warning. Off: out of sample it catches fewer
    falls than its own flags placed at random (docs/architecture.md, issue 15); the cascade is
    shown as context instead."""
    crowding_alerts: bool = False
    """Raise the crowding rule as a warning. Off: out of sample it beats its random-shift
    baseline on one data set of eight."""
    flow_alerts: bool = True
    """Raise "a cascade is under way" (the market's liquidation prints, from the streams). On:
    it describes what is happening minutes after it starts; at 4 h its flow did not beat the
    price move it comes with (risk/liqflow.py), so it is a description more than a forecast."""
    distance_warning: float = 0.10
    distance_critical: float = 0.05
    sigma_warning: float = 2.0
    """Warn when the liquidation price is within this many 24 h standard deviations."""
    touch_warning: float = 0.10
    """Warn when the 24 h touching probability exceeds this."""
    touch_critical: float = 0.35
    joint_move_warning: float = 0.10
    joint_move_critical: float = 0.05
    support_proximity: float = 0.015
    """The price is near a support when within this fraction (or one ATR, the wider)."""
    domino_min: float = 1.0
    event_lead_ms: tuple[int, ...] = (60 * 60_000, 15 * 60_000)
    """Warn this long before a scheduled event: the first at warning, the last at critical."""
    event_after_ms: int = 30 * 60_000
    """Keep an event's warning active this long after the release."""
    event_typical_move: Mapping[str, float] = field(default_factory=_typical_moves)
    """The usual move of a leader (by base asset) on a release no calendar entry sizes."""
    event_default_move: float = 0.04
    event_coverage_days: float = 30.0
    """Say so (INFO) while scheduled events are known for fewer days ahead than this: past the
    last one the scheduled-event warning has nothing to warn before."""
    crowding_z: float = 2.0
    flow: FlowThresholds = field(default_factory=FlowThresholds)
    """A cascade under way (risk.liqflow, where the evidence behind each figure is)."""
    hysteresis: float = 1.1

    def with_overrides(self, overrides: Mapping[str, object]) -> Thresholds:
        """A copy with ``overrides`` replaced; ThresholdError naming every unknown name and
        every value that is not of its threshold's type."""
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ThresholdError(
                f"unknown threshold{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
            )
        values: dict[str, object] = {}
        bad: list[str] = []
        for name, raw in overrides.items():
            try:
                values[name] = _coerce(getattr(self, name), raw)
            except (TypeError, ValueError):
                bad.append(f"{name}={raw!r}")
        if bad:
            raise ThresholdError(f"threshold values of the wrong type: {', '.join(bad)}")
        return replace(self, **values)  # type: ignore[arg-type]  # each coerced to its field's type

    def relaxed(
        self, value: float, key: str, active: Active, level: Severity = Severity.INFO
    ) -> float:
        """``value`` widened by the hysteresis when the warning ``key`` is open at ``level``
        or above (a distance or a band: larger is easier to stay within)."""
        return value * self.hysteresis if held(key, active, level) else value

    def tightened(
        self, value: float, key: str, active: Active, level: Severity = Severity.INFO
    ) -> float:
        """``value`` lowered by the hysteresis when the warning ``key`` is open at ``level``
        or above (a probability, a z-score, a ratio: smaller is easier to stay above)."""
        return value / self.hysteresis if held(key, active, level) else value


def held(key: str, active: Active, level: Severity = Severity.INFO) -> bool:
    """Whether an open warning holds ``key`` at ``level`` or above."""
    current = active.get(key)
    return current is not None and current >= level


def _number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError(raw)
    x = float(raw)
    if not math.isfinite(x):
        raise ValueError(raw)
    return x


def _coerce(default: object, raw: object) -> object:
    """``raw`` as the type of ``default`` (the field's type); a group of thresholds (a
    dataclass such as ``flow``) is not overridden by name."""
    if is_dataclass(default):
        raise TypeError(raw)
    if isinstance(default, bool):
        if not isinstance(raw, bool):
            raise TypeError(raw)
        return raw
    if isinstance(default, tuple):
        if isinstance(raw, str) or not isinstance(raw, Iterable):
            raise TypeError(raw)
        return tuple(int(_number(x)) for x in raw)
    if isinstance(default, Mapping):
        if not isinstance(raw, Mapping):
            raise TypeError(raw)
        return MappingProxyType({str(k).upper(): _number(v) for k, v in raw.items()})
    if isinstance(default, int):
        x = _number(raw)
        if x != int(x):
            raise ValueError(raw)
        return int(x)
    return _number(raw)
