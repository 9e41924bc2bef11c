"""Warning rules as pure functions of state.

Each rule reads a report (or market figures, or a connection status) and thresholds, and
returns the conditions that hold now. A condition says what, why and with which numbers; the
warning lifecycle (fire, escalate, resolve, acknowledge, snooze) lives in ``monitor.alerts``.

Hysteresis: every rule takes ``active``, the keys of the warnings already active. A condition
that is active stays true until its figure clears the threshold by ``Thresholds.hysteresis``
(10 % by default), so a warning does not flap around its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from risk.report import AccountReport, PositionReport
from risk.types import Side, base_asset


class Severity(IntEnum):
    """Ordered so that a rise is an escalation."""

    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.strip().upper()]


class Rule:
    """Rule names: the first part of a warning's identity."""

    LIQUIDATION_DISTANCE = "liquidation_distance"
    JOINT_MOVE = "joint_move"
    CASCADE_SUPPORT = "cascade_support"
    SCHEDULED_EVENT = "scheduled_event"
    CROWDING = "crowding"
    UNREACHABLE = "unreachable"
    KEY_REJECTED = "key_rejected"
    CLOCK_SKEW = "clock_skew"
    STALE_DATA = "stale_data"
    LIQUIDATED = "liquidated"

    MARKET_RULES = (
        LIQUIDATED,
        LIQUIDATION_DISTANCE,
        JOINT_MOVE,
        CASCADE_SUPPORT,
        SCHEDULED_EVENT,
        CROWDING,
    )
    CONNECTIVITY_RULES = (UNREACHABLE, KEY_REJECTED, CLOCK_SKEW, STALE_DATA)


def warning_key(rule: str, account_id: str, symbols: Iterable[str]) -> str:
    """A warning's identity: rule + account + symbols (sorted, so order does not matter)."""
    return f"{rule}|{account_id}|{','.join(sorted(symbols))}"


@dataclass(frozen=True, slots=True)
class Condition:
    """A rule that holds now for an account (and some of its symbols)."""

    rule: str
    severity: Severity
    account_id: str
    symbols: tuple[str, ...]
    message: str
    metric: float | None = None
    """The figure the rule compared (a distance, a z-score, an age), for display and tests."""

    @property
    def key(self) -> str:
        return warning_key(self.rule, self.account_id, self.symbols)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every threshold the rules use; one set per account (stored as settings)."""

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
    event_typical_move: Mapping[str, float] = field(default_factory=lambda: {"BTC": 0.04})
    event_default_move: float = 0.04
    crowding_z: float = 2.0
    stale_polls: float = 3.0
    clock_skew_ms: int = 5_000
    hysteresis: float = 1.1

    def with_overrides(self, overrides: Mapping[str, object]) -> Thresholds:
        """A copy with the known fields of ``overrides`` replaced (unknown names ignored)."""
        known = {k: v for k, v in overrides.items() if k in self.__dataclass_fields__}
        lead = known.get("event_lead_ms")
        if isinstance(lead, Iterable):
            known["event_lead_ms"] = tuple(int(x) for x in lead)
        return replace(self, **known)  # type: ignore[arg-type]


def _pct(x: float) -> str:
    """+2.5 % / −6.0 % (a true minus sign, as the UI prints it)."""
    return f"{x * 100:+.1f} %".replace("-", "−")


def _price(x: float) -> str:
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:,.2f}"
    return f"{x:.6g}"


def _held(key: str, active: Collection[str], level: Severity) -> bool:
    """Whether an open warning already holds ``key`` at ``level`` or above. ``active`` is the
    open warnings' keys, or a mapping of key to their current severity. Hysteresis applies
    only then: a warning escalates at the nominal threshold and de-escalates past the
    relaxed one."""
    if key not in active:
        return False
    if isinstance(active, Mapping):
        return bool(active[key] >= level)
    return True


def _relaxed(
    value: float,
    key: str,
    active: Collection[str],
    factor: float,
    level: Severity = Severity.INFO,
) -> float:
    return value * factor if _held(key, active, level) else value


# --- 1. liquidation distance ------------------------------------------------------------------


def liquidation_distance(
    report: AccountReport,
    account_id: str,
    thresholds: Thresholds,
    active: Collection[str] = (),
) -> list[Condition]:
    """A position's liquidation price within X % of its mark, within k sigmas of its 24 h
    volatility, or with a 24 h touching probability above p."""
    out: list[Condition] = []
    for pos in report.positions:
        cond = _distance_condition(pos, account_id, thresholds, active)
        if cond is not None:
            out.append(cond)
    return out


def _distance_condition(
    pos: PositionReport, account_id: str, t: Thresholds, active: Collection[str]
) -> Condition | None:
    liq = pos.shown_liquidation_price
    if liq is None or pos.distance is None or not math.isfinite(pos.distance):
        return None
    key = warning_key(Rule.LIQUIDATION_DISTANCE, account_id, (pos.symbol,))
    h = t.hysteresis
    dist = abs(pos.distance)
    severity: Severity | None = None
    why: list[str] = []
    if dist <= _relaxed(t.distance_critical, key, active, h, Severity.CRITICAL):
        severity = Severity.CRITICAL
        why.append(f"within {t.distance_critical * 100:.0f} % of the mark")
    elif dist <= _relaxed(t.distance_warning, key, active, h, Severity.WARNING):
        severity = Severity.WARNING
        why.append(f"within {t.distance_warning * 100:.0f} % of the mark")
    if pos.distance_sigma is not None and pos.distance_sigma <= _relaxed(
        t.sigma_warning, key, active, h
    ):
        severity = max(severity or Severity.WARNING, Severity.WARNING)
        why.append(f"{pos.distance_sigma:.1f} σ of 24 h volatility")
    p = pos.touch_probability
    if p is not None:
        if p >= t.touch_critical / (h if _held(key, active, Severity.CRITICAL) else 1.0):
            severity = Severity.CRITICAL
            why.append(f"{p * 100:.0f} % chance to touch it within 24 h")
        elif p >= t.touch_warning / (h if key in active else 1.0):
            severity = max(severity or Severity.WARNING, Severity.WARNING)
            why.append(f"{p * 100:.0f} % chance to touch it within 24 h")
    if severity is None:
        return None
    side = pos.side.name.lower()
    msg = (
        f"{base_asset(pos.symbol)} {side}: liquidation at {_price(liq.value)}, "
        f"{_pct(pos.distance)} from the mark {_price(pos.mark_price)} ({'; '.join(why)})."
    )
    return Condition(
        Rule.LIQUIDATION_DISTANCE, severity, account_id, (pos.symbol,), msg, pos.distance
    )


# --- 2. joint move ----------------------------------------------------------------------------


def leader_mark(report: AccountReport) -> float | None:
    """The mark of the joint move's leader, when the account holds it."""
    if report.joint_move is None:
        return None
    for pos in report.positions:
        if pos.symbol == report.joint_move.leader:
            return pos.mark_price
    return None


def suspected_liquidation(
    previous: AccountReport, current: AccountReport, account_id: str, thresholds: Thresholds
) -> Condition | None:
    """Positions that were near liquidation are gone and the wallet fell: the account has most
    likely been liquidated. No exchange says so in its account data; a trader needs to know.

    A position counts when its last distance was within twice the critical threshold (or
    already past its liquidation price); the wallet must have fallen, which a normal close at
    a loss also does, so the message says "appears"."""
    held = {(p.symbol, p.side) for p in current.positions}
    gone = [
        p
        for p in previous.positions
        if (p.symbol, p.side) not in held
        and p.distance is not None
        and abs(p.distance) <= 2 * thresholds.distance_critical
    ]
    lost = previous.wallet_balance - current.wallet_balance
    if not gone or lost <= 0:
        return None
    names = " and ".join(f"{base_asset(p.symbol)} {p.side.name.lower()}" for p in gone)
    marks = ", ".join(
        f"{base_asset(p.symbol)} {_price(p.mark_price)} vs liquidation "
        f"{_price(p.shown_liquidation_price.value)}"
        for p in gone
        if p.shown_liquidation_price is not None
    )
    msg = (
        f"Your {names} {'is' if len(gone) == 1 else 'are'} gone and the wallet fell from "
        f"{_price(previous.wallet_balance)} to {_price(current.wallet_balance)} "
        f"(last seen: {marks}): the account appears to have been liquidated."
    )
    return Condition(
        Rule.LIQUIDATED,
        Severity.CRITICAL,
        account_id,
        tuple(sorted({p.symbol for p in gone})),
        msg,
        -lost,
    )


def joint_move(
    report: AccountReport,
    account_id: str,
    thresholds: Thresholds,
    active: Collection[str] = (),
) -> list[Condition]:
    """The cross account is liquidated by a leader move smaller than X %, the others following
    by beta: "BTC −6 % liquidates your ETH long"."""
    jm = report.joint_move
    if jm is None or jm.nearest is None or not math.isfinite(jm.nearest):
        return []
    symbols = tuple(p.symbol for p in report.positions)
    key = warning_key(Rule.JOINT_MOVE, account_id, symbols)
    move = abs(jm.nearest)
    h = thresholds.hysteresis
    if move <= _relaxed(thresholds.joint_move_critical, key, active, h, Severity.CRITICAL):
        severity = Severity.CRITICAL
    elif move <= _relaxed(thresholds.joint_move_warning, key, active, h, Severity.WARNING):
        severity = Severity.WARNING
    else:
        return []
    leader = base_asset(jm.leader)
    others = [
        f"{base_asset(p.symbol)} {p.side.name.lower()}"
        for p in report.positions
        if p.symbol != jm.leader
    ]
    what = (
        "your account"
        if not others
        else "the whole cross account, your " + " and ".join(others) + " included"
    )
    mark = leader_mark(report)
    at = f" (at {leader} {_price(mark * (1 + jm.nearest))})" if mark else ""
    msg = (
        f"{leader} {_pct(jm.nearest)}{at} liquidates {what}: the cross account has "
        f"{move * 100:.1f} % of joint-move headroom, "
        f"margin ratio {report.margin_ratio * 100:.0f} %."
    )
    return [Condition(Rule.JOINT_MOVE, severity, account_id, symbols, msg, jm.nearest)]


# --- 3. cascade-prone support -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CascadeRisk:
    """What the cascade model says about one support (or resistance) of one symbol.

    ``direction`` is −1 for a support below the price (long liquidations push it down) and +1
    for a resistance above; ``reach_price`` is where forced selling (or buying) would carry the
    price once the level breaks; ``sentence`` is the cascade module's own warning text.
    """

    symbol: str
    level: float
    domino_ratio: float
    reach_price: float
    direction: int = -1
    sentence: str | None = None


def cascade_support(
    report: AccountReport,
    account_id: str,
    risks: Sequence[CascadeRisk],
    thresholds: Thresholds,
    atr: float | None = None,
    active: Collection[str] = (),
) -> list[Condition]:
    """The leader is within 1.5 % (or one ATR) of a level whose domino ratio is ≥ 1, and the
    account's joint-move liquidation lies inside that cascade's reach."""
    jm = report.joint_move
    mark = leader_mark(report)
    if jm is None or mark is None:
        return []
    symbols = tuple(p.symbol for p in report.positions)
    key = warning_key(Rule.CASCADE_SUPPORT, account_id, symbols)
    h = thresholds.hysteresis
    band = max(thresholds.support_proximity * mark, atr or 0.0)
    band = _relaxed(band, key, active, h)
    best: tuple[Severity, CascadeRisk, float] | None = None
    for risk in risks:
        if risk.symbol != jm.leader and base_asset(risk.symbol) != base_asset(jm.leader):
            continue
        if risk.domino_ratio < thresholds.domino_min / (h if key in active else 1.0):
            continue
        r = jm.down if risk.direction < 0 else jm.up
        if r is None:
            continue
        liq_at = mark * (1 + r)
        gap = (mark - risk.level) * -risk.direction
        if gap < -band or gap > band:
            continue
        inside = liq_at >= risk.reach_price if risk.direction < 0 else liq_at <= risk.reach_price
        if not inside:
            continue
        severity = Severity.CRITICAL if gap <= band / 3 else Severity.WARNING
        if best is None or severity > best[0]:
            best = (severity, risk, liq_at)
    if best is None:
        return []
    severity, risk, liq_at = best
    leader = base_asset(jm.leader)
    word = "support" if risk.direction < 0 else "resistance"
    head = (
        f"{leader} {_price(mark)} is {abs(mark / risk.level - 1) * 100:.1f} % from a "
        f"cascade-prone {word} at {_price(risk.level)} (domino ratio {risk.domino_ratio:.1f})."
    )
    tail = risk.sentence or (
        f"If {_price(risk.level)} breaks, forced selling could carry {leader} to about "
        f"{_price(risk.reach_price)}; your account is liquidated at {leader} {_price(liq_at)}."
    )
    msg = f"{head} {tail}"
    return [Condition(Rule.CASCADE_SUPPORT, severity, account_id, symbols, msg, risk.domino_ratio)]


# --- 4. scheduled events ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """A scheduled macro release: its name, time (ms, UTC) and typical moves by base asset
    ("*" for any asset not named)."""

    name: str
    at_ms: int
    typical_move: Mapping[str, float] = field(default_factory=dict)
    source: str = ""


def scheduled_event(
    report: AccountReport,
    account_id: str,
    events: Sequence[ScheduledEvent],
    now_ms: int,
    thresholds: Thresholds,
) -> list[Condition]:
    """Before a scheduled event, warn (60 min ahead, then critical 15 min ahead) when the
    account's joint-move headroom is smaller than the event's typical move."""
    jm = report.joint_move
    if jm is None or jm.nearest is None or not thresholds.event_lead_ms:
        return []
    first_lead = max(thresholds.event_lead_ms)
    last_lead = min(thresholds.event_lead_ms)
    leader = base_asset(jm.leader)
    headroom = abs(jm.nearest)
    for event in sorted(events, key=lambda e: e.at_ms):
        until = event.at_ms - now_ms
        if until > first_lead or until < -thresholds.event_after_ms:
            continue
        default = thresholds.event_typical_move.get(leader, thresholds.event_default_move)
        typical = event.typical_move.get(leader, event.typical_move.get("*", default))
        if headroom >= typical:
            continue
        severity = Severity.CRITICAL if until <= last_lead else Severity.WARNING
        when = f"in {math.ceil(until / 60_000)} min" if until > 0 else f"{-until // 60_000} min ago"
        msg = (
            f"{event.name} {when}: it typically moves {leader} {typical * 100:.1f} %, and "
            f"{leader} {_pct(jm.nearest)} liquidates your account."
        )
        symbols = (jm.leader,)
        return [Condition(Rule.SCHEDULED_EVENT, severity, account_id, symbols, msg, jm.nearest)]
    return []


# --- 5. crowding ------------------------------------------------------------------------------


FloatArray = npt.NDArray[np.float64]


def zscore(history: Sequence[float] | FloatArray, value: float | None = None) -> float | None:
    """z-score of ``value`` (default: the last of ``history``) against ``history``; None with
    fewer than 10 finite points or no spread."""
    a = np.asarray(history, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size < 10:
        return None
    x = float(a[-1]) if value is None else float(value)
    sd = float(a.std())
    if sd <= 0 or not math.isfinite(sd):
        return None
    return (x - float(a.mean())) / sd


@dataclass(frozen=True, slots=True)
class Crowding:
    """A symbol's funding rate and open interest, each as a z-score over 30 days."""

    symbol: str
    funding_rate: float | None
    funding_z: float | None
    open_interest_z: float | None


def crowding(
    report: AccountReport,
    account_id: str,
    market: Mapping[str, Crowding],
    thresholds: Thresholds,
    active: Collection[str] = (),
) -> list[Condition]:
    """Funding or open interest at an extreme (|z| > 2 over 30 days) while the account holds
    the crowded side (positive funding: the longs pay, so the longs are crowded)."""
    out: list[Condition] = []
    for pos in report.positions:
        c = market.get(pos.symbol)
        if c is None or c.funding_rate is None or c.funding_rate == 0:
            continue
        crowded = Side.LONG if c.funding_rate > 0 else Side.SHORT
        if pos.side is not crowded:
            continue
        key = warning_key(Rule.CROWDING, account_id, (pos.symbol,))
        limit = thresholds.crowding_z / (thresholds.hysteresis if key in active else 1.0)
        why: list[str] = []
        fz = c.funding_z
        if fz is not None and fz * crowded.sign > limit:
            why.append(f"funding {c.funding_rate * 100:+.4f} % (z {fz:+.1f} over 30 days)")
        oz = c.open_interest_z
        if oz is not None and oz > limit:
            why.append(f"open interest z {oz:+.1f} over 30 days")
        if not why:
            continue
        severity = Severity.WARNING if len(why) == 2 else Severity.INFO
        side = crowded.name.lower()
        msg = (
            f"{base_asset(pos.symbol)} {side}s are crowded ({'; '.join(why)}) and you hold the "
            f"{side} side: crowded sides are the fuel of a cascade."
        )
        metric = fz if fz is not None else oz
        out.append(Condition(Rule.CROWDING, severity, account_id, (pos.symbol,), msg, metric))
    return out


# --- 6. connectivity --------------------------------------------------------------------------


UNREACHABLE_KINDS = frozenset(
    {"network", "timeout", "exchange_down", "unavailable", "rate_limited", "malformed"}
)
KEY_KINDS = frozenset({"auth", "permission"})


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """What the monitor knows about an account's connection at one moment."""

    error_kind: str | None
    error_message: str | None
    age_ms: int | None
    """Age of the last good poll; None when there has never been one."""
    poll_interval_ms: int
    failures: int = 0
    clock_skew_ms: int | None = None
    clock_note: str | None = None
    """The connector's note when it had to compensate for this computer's clock."""


def connectivity(
    status: ConnectionStatus,
    account_id: str,
    label: str,
    thresholds: Thresholds,
) -> list[Condition]:
    """Account unreachable, key rejected, clock skewed, or data older than three polls."""
    out: list[Condition] = []
    kind = status.error_kind
    err = status.error_message or kind or ""
    if kind in KEY_KINDS:
        out.append(
            Condition(
                Rule.KEY_REJECTED,
                Severity.CRITICAL,
                account_id,
                (),
                f"{label}: the exchange rejected the API key ({err}); "
                "risk figures are not updated.",
            )
        )
    elif (
        kind == "clock_skew"
        or status.clock_note
        or (
            status.clock_skew_ms is not None
            and abs(status.clock_skew_ms) > thresholds.clock_skew_ms
        )
    ):
        err = err or status.clock_note or ""
        out.append(
            Condition(
                Rule.CLOCK_SKEW,
                Severity.WARNING,
                account_id,
                (),
                f"{label}: this computer's clock is off from the exchange's ({err}); "
                "signed requests fail until it is synchronised.",
                None if status.clock_skew_ms is None else float(status.clock_skew_ms),
            )
        )
    elif kind is not None:
        severity = Severity.WARNING if status.failures >= 2 else Severity.INFO
        out.append(
            Condition(
                Rule.UNREACHABLE,
                severity,
                account_id,
                (),
                f"{label}: the exchange cannot be reached ({err}); "
                f"{status.failures} failed poll(s), retrying with backoff.",
                float(status.failures),
            )
        )
    limit = thresholds.stale_polls * status.poll_interval_ms
    if status.age_ms is not None and status.age_ms > limit:
        age_s = status.age_ms / 1000
        severity = Severity.CRITICAL if status.age_ms > 4 * limit else Severity.WARNING
        out.append(
            Condition(
                Rule.STALE_DATA,
                severity,
                account_id,
                (),
                f"{label}: the figures are {age_s:.0f} s old (more than "
                f"{thresholds.stale_polls:.0f} polls); do not read them as current.",
                float(status.age_ms),
            )
        )
    return out
