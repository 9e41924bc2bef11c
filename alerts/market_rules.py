"""The rules that set an account against the market: a cascade-prone support near the price
with the account's liquidation inside the cascade's reach, a scheduled release whose usual
move exceeds the account's headroom, and a crowded side the account holds."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import formatting as fmt
from alerts.account_rules import leader_mark
from alerts.state import CascadeRisk, Crowding, LeaderMarket, ScheduledEvent
from alerts.thresholds import Thresholds
from alerts.vocabulary import Active, Condition, Severity, WarningRule, warning_key
from risk.cascade import assess_account
from risk.probability import EventMoves
from risk.report import AccountReport
from risk.rules import rules_for
from risk.types import Account, Side, base_asset

_NONE: Active = {}
_NO_MOVES: Mapping[str, EventMoves] = {}

# --- cascade-prone support --------------------------------------------------------------------


def cascade_risks(
    account: Account, leader: LeaderMarket, betas: Mapping[str, float], band: float
) -> list[CascadeRisk]:
    """The cascade from each of the leader's qualifying supports (score ≥ 1) within ``band``
    (a fraction) below its price, with this account's own liquidation as fuel
    (``risk.cascade.assess_account``)."""
    levels, sigma, v_daily = leader.levels, leader.sigma_daily, leader.daily_volume
    if levels is None or not sigma or v_daily is None:
        return []
    near = [z for z in levels.supports if z.score >= 1.0 and z.high >= leader.price * (1 - band)]
    margin_rules = rules_for(account.exchange)
    risks: list[CascadeRisk] = []
    for zone in near:
        ac = assess_account(
            levels,
            leader.liqmap,
            account,
            margin_rules,
            leader.symbol,
            betas,
            sigma,
            v_daily,
            book=leader.book,
            support=zone,
        )
        if ac is None:
            continue
        cas = ac.cascade
        risks.append(
            CascadeRisk(
                leader.symbol, cas.support.high, cas.domino_ratio, cas.stop_price, -1, ac.sentence
            )
        )
    return risks


def cascade_band(report: AccountReport, leader: LeaderMarket, thresholds: Thresholds) -> float:
    """How far below the leader's price (a fraction) a support may be and still count: 1.5 %
    or one ATR, the wider, widened by the hysteresis so an open warning's support stays in."""
    mark = leader_mark(report) or 1.0
    return max(thresholds.support_proximity, (leader.atr or 0.0) / mark) * thresholds.hysteresis


def cascade_support(
    report: AccountReport,
    account_id: int,
    risks: Sequence[CascadeRisk],
    thresholds: Thresholds,
    atr: float | None = None,
    active: Active = _NONE,
) -> list[Condition]:
    """The leader is within 1.5 % (or one ATR) of a level whose domino ratio is ≥ 1, and the
    account's joint-move liquidation lies inside that cascade's reach."""
    jm = report.joint_move
    mark = leader_mark(report)
    if jm is None or mark is None:
        return []
    t = thresholds
    symbols = tuple(p.symbol for p in report.positions)
    key = warning_key(WarningRule.CASCADE_SUPPORT, account_id, symbols)
    band = t.relaxed(max(t.support_proximity * mark, atr or 0.0), key, active)
    best: tuple[Severity, CascadeRisk, float] | None = None
    for risk in risks:
        if risk.symbol != jm.leader and base_asset(risk.symbol) != base_asset(jm.leader):
            continue
        if risk.domino_ratio < t.tightened(t.domino_min, key, active):
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
        f"{leader} {fmt.price(mark)} is {abs(mark / risk.level - 1) * 100:.1f} % from a "
        f"cascade-prone {word} at {fmt.price(risk.level)} "
        f"(domino ratio {risk.domino_ratio:.1f})."
    )
    tail = risk.sentence or (
        f"If {fmt.price(risk.level)} breaks, forced selling could carry {leader} to about "
        f"{fmt.price(risk.reach_price)}; your account is liquidated at {leader} "
        f"{fmt.price(liq_at)}."
    )
    return [
        Condition(
            WarningRule.CASCADE_SUPPORT,
            severity,
            account_id,
            symbols,
            f"{head} {tail}",
            risk.domino_ratio,
        )
    ]


# --- scheduled events -------------------------------------------------------------------------


def scheduled_event(
    report: AccountReport,
    account_id: int,
    events: Sequence[ScheduledEvent],
    now_ms: int,
    thresholds: Thresholds,
    event_moves: Mapping[str, EventMoves] = _NO_MOVES,
) -> list[Condition]:
    """Before a scheduled event, warn 60 minutes ahead and again, critical, 15 minutes ahead.

    A built-in CPI or FOMC release is sized by the data: the share of past releases whose move
    (scaled by the volatility then, at today's volatility) would have reached the account's
    joint-move liquidation; silent under ``event_probability``. A user's own event, with no
    history, is sized by its typical move against the account's headroom."""
    jm = report.joint_move
    t = thresholds
    if jm is None or jm.nearest is None or not t.event_lead_ms:
        return []
    first_lead = max(t.event_lead_ms)
    last_lead = min(t.event_lead_ms)
    leader = base_asset(jm.leader)
    headroom = abs(jm.nearest)
    mark = leader_mark(report)
    at = f" (at {fmt.price(mark * (1 + jm.nearest))})" if mark else ""
    for event in sorted(events, key=lambda e: e.at_ms):
        until = event.at_ms - now_ms
        if until > first_lead or until < -t.event_after_ms:
            continue
        when = f"in {math.ceil(until / 60_000)} min" if until > 0 else f"{-until // 60_000} min ago"
        severity = Severity.CRITICAL if until <= last_lead else Severity.WARNING
        sized = event_moves.get(event.kind) if event.kind else None
        odds = report.odds
        if sized is not None and odds is not None:
            p = sized.touch(odds.sigma_hourly, _log_down(jm.down), _log_up(jm.up))
            if p < t.event_probability:
                continue
            msg = (
                f"{event.name} {when}: a move like those after past {event.kind.upper()} "
                f"releases would liquidate your account with a {p * 100:.0f} % chance "
                f"({leader} {fmt.pct(jm.nearest)}{at} liquidates it; "
                f"{sized.down.shape[0]} past releases, in today's volatility)."
            )
            return [
                Condition(WarningRule.SCHEDULED_EVENT, severity, account_id, (jm.leader,), msg, p)
            ]
        default = t.event_typical_move.get(leader, t.event_default_move)
        typical = event.typical_move.get(leader, event.typical_move.get("*", default))
        if headroom >= typical:
            continue
        msg = (
            f"{event.name} {when}: it typically moves {leader} {typical * 100:.1f} %, and "
            f"{leader} {fmt.pct(jm.nearest)} liquidates your account."
        )
        return [
            Condition(
                WarningRule.SCHEDULED_EVENT, severity, account_id, (jm.leader,), msg, jm.nearest
            )
        ]
    return []


def _log_down(r: float | None) -> float | None:
    return None if r is None or r <= -1 else -math.log1p(min(r, 0.0))


def _log_up(r: float | None) -> float | None:
    return None if r is None else math.log1p(max(r, 0.0))


def calendar_coverage(
    account_id: int, known_days: float | None, thresholds: Thresholds
) -> list[Condition]:
    """INFO while scheduled events are known for fewer than ``event_coverage_days`` ahead
    (``known_days`` None: not assessed, no condition)."""
    minimum = thresholds.event_coverage_days
    if known_days is None or known_days >= minimum:
        return []
    reach = "none is known" if known_days <= 0 else f"the last is {known_days:.0f} days away"
    msg = (
        f"Scheduled events (FOMC, CPI) are known for fewer than {minimum:g} days ({reach}): "
        "after that no warning comes before a release. Subscribe to a calendar feed in "
        "Settings, or update the app."
    )
    return [
        Condition(
            WarningRule.CALENDAR_COVERAGE, Severity.INFO, account_id, (), msg, max(0.0, known_days)
        )
    ]


# --- crowding ---------------------------------------------------------------------------------


def crowding(
    report: AccountReport,
    account_id: int,
    market: Mapping[str, Crowding],
    thresholds: Thresholds,
    active: Active = _NONE,
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
        key = warning_key(WarningRule.CROWDING, account_id, (pos.symbol,))
        limit = thresholds.tightened(thresholds.crowding_z, key, active)
        why: list[str] = []
        fz = c.funding_z
        if fz is not None and fz * crowded.sign > limit:
            why.append(f"funding {fmt.pct(c.funding_rate, decimals=4)} (z {_z(fz)} over 30 days)")
        oz = c.open_interest_z
        if oz is not None and oz > limit:
            why.append(f"open interest z {_z(oz)} over 30 days")
        if not why:
            continue
        severity = Severity.WARNING if len(why) == 2 else Severity.INFO
        side = crowded.name.lower()
        msg = (
            f"{base_asset(pos.symbol)} {side}s are crowded ({'; '.join(why)}) and you hold the "
            f"{side} side: crowded sides are the fuel of a cascade."
        )
        metric = fz if fz is not None else oz
        out.append(
            Condition(WarningRule.CROWDING, severity, account_id, (pos.symbol,), msg, metric)
        )
    return out


def _z(z: float) -> str:
    return f"{z:+.1f}".replace("-", fmt.MINUS)
