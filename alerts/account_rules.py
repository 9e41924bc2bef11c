"""The rules on an account's own figures: a position near its liquidation price, the joint
move that liquidates the cross account, and positions that ended in a liquidation."""

from __future__ import annotations

import math

import formatting as fmt
from alerts.state import AccountState
from alerts.thresholds import Thresholds
from alerts.vocabulary import Active, Condition, Severity, WarningRule, warning_key
from risk.report import AccountReport, PositionReport
from risk.types import ContractType, ForcedClose, base_asset

_NONE: Active = {}


def liquidation_distance(
    report: AccountReport, account_id: int, thresholds: Thresholds, active: Active = _NONE
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
    pos: PositionReport, account_id: int, t: Thresholds, active: Active
) -> Condition | None:
    liq = pos.shown_liquidation_price
    if liq is None or pos.distance is None or not math.isfinite(pos.distance):
        return None
    key = warning_key(WarningRule.LIQUIDATION_DISTANCE, account_id, (pos.symbol,))
    dist = abs(pos.distance)
    severity: Severity | None = None
    why: list[str] = []
    critical = t.relaxed(t.distance_critical, key, active, Severity.CRITICAL)
    warning = t.relaxed(t.distance_warning, key, active, Severity.WARNING)
    if dist <= critical:
        severity = Severity.CRITICAL
        why.append(band_words(dist, t.distance_critical, critical, "critical", "of the mark"))
    elif dist <= warning:
        severity = Severity.WARNING
        why.append(band_words(dist, t.distance_warning, warning, "warning", "of the mark"))
    if pos.distance_sigma is not None and pos.distance_sigma <= t.relaxed(
        t.sigma_warning, key, active
    ):
        severity = max(severity or Severity.WARNING, Severity.WARNING)
        why.append(f"{pos.distance_sigma:.1f} σ of 24 h volatility")
    p = pos.touch_probability
    if p is not None:
        if p >= t.tightened(t.touch_critical, key, active, Severity.CRITICAL):
            severity = Severity.CRITICAL
            why.append(f"{p * 100:.0f} % chance to touch it within 24 h")
        elif p >= t.tightened(t.touch_warning, key, active):
            severity = max(severity or Severity.WARNING, Severity.WARNING)
            why.append(f"{p * 100:.0f} % chance to touch it within 24 h")
    if severity is None:
        return None
    side = pos.side.name.lower()
    msg = (
        f"{base_asset(pos.symbol)} {side}: liquidation at {fmt.price(liq.value)}, "
        f"{fmt.pct(pos.distance)} from the mark {fmt.price(pos.mark_price)} ({'; '.join(why)})."
    )
    return Condition(
        WarningRule.LIQUIDATION_DISTANCE, severity, account_id, (pos.symbol,), msg, pos.distance
    )


def band_words(value: float, nominal: float, relaxed: float, name: str, of: str) -> str:
    """Why a figure counts: "within 10 % of the mark"; or, when only the hysteresis keeps the
    warning (the figure is past its threshold but not past the relaxed one), words that do
    not contradict the figure: "still within the 10 % warning band (it clears beyond 11 %)"."""
    if value <= nominal:
        return f"within {threshold_pct(nominal)} % {of}"
    return (
        f"still within the {threshold_pct(nominal)} % {name} band "
        f"(it clears beyond {threshold_pct(relaxed)} %)"
    )


def threshold_pct(fraction: float) -> str:
    """A threshold as a percentage, with the decimals it has: 10, 5.5, 7.25."""
    return f"{round(fraction * 100, 4):g}"


def leader_mark(report: AccountReport) -> float | None:
    """The mark of the joint move's leader, when the account holds it."""
    if report.joint_move is None:
        return None
    for pos in report.positions:
        if pos.symbol == report.joint_move.leader:
            return pos.mark_price
    return None


def joint_move(
    report: AccountReport, account_id: int, thresholds: Thresholds, active: Active = _NONE
) -> list[Condition]:
    """The cross account is liquidated by a leader move smaller than X %, the others following
    by beta: "BTC −6 % liquidates your ETH long"."""
    jm = report.joint_move
    if jm is None or jm.nearest is None or not math.isfinite(jm.nearest):
        return []
    t = thresholds
    symbols = tuple(p.symbol for p in report.positions)
    key = warning_key(WarningRule.JOINT_MOVE, account_id, symbols)
    move = abs(jm.nearest)
    critical = t.relaxed(t.joint_move_critical, key, active, Severity.CRITICAL)
    warning = t.relaxed(t.joint_move_warning, key, active, Severity.WARNING)
    if move <= critical:
        severity, nominal, relaxed, name = (
            Severity.CRITICAL,
            t.joint_move_critical,
            critical,
            "critical",
        )
    elif move <= warning:
        severity, nominal, relaxed, name = (
            Severity.WARNING,
            t.joint_move_warning,
            warning,
            "warning",
        )
    else:
        return []
    held = "" if move <= nominal else f" ({band_words(move, nominal, relaxed, name, '')})"
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
    at = f" (at {leader} {fmt.price(mark * (1 + jm.nearest))})" if mark else ""
    msg = (
        f"{leader} {fmt.pct(jm.nearest)}{at} liquidates {what}: the cross account has "
        f"{move * 100:.1f} % of joint-move headroom{held}, "
        f"margin ratio {fmt.pct(report.margin_ratio, signed=False, decimals=0)}."
    )
    return [Condition(WarningRule.JOINT_MOVE, severity, account_id, symbols, msg, jm.nearest)]


CONFIRMING_READS = 2
"""Reads in a row that must show positions gone before, without the exchange's record, they
are taken for gone: a Binance poll is two requests, and one read can see the wallet from
before a liquidation beside the positions from after it."""


def gone_positions(state: AccountState) -> list[PositionReport]:
    """The positions held before the last change that are no longer held."""
    before = state.before_change
    if before is None:
        return []
    now_held = {(p.symbol, p.side) for p in state.report.positions}
    return [p for p in before.positions if (p.symbol, p.side) not in now_held]


def undecided_symbols(state: AccountState) -> tuple[str, ...]:
    """Symbols whose positions vanished and whose end is not settled yet: the exchange's
    record does not name them (yet) and the vanishing has not been seen on
    ``CONFIRMING_READS`` reads. Warnings about them wait rather than resolve as "closed"."""
    gone = gone_positions(state)
    if not gone or state.reads_since_change >= CONFIRMING_READS:
        return ()
    if _recorded(gone, state.forced_closes):
        return ()
    return tuple(sorted({p.symbol for p in gone}))


def _recorded(
    gone: list[PositionReport], closes: tuple[ForcedClose, ...] | None
) -> list[tuple[PositionReport, list[ForcedClose]]]:
    """Each gone position with the exchange's records of its forced close, where it has any."""
    out = []
    for p in gone:
        mine = [c for c in closes or () if c.symbol == p.symbol and c.side is p.side]
        if mine:
            out.append((p, mine))
    return out


def liquidation(state: AccountState, thresholds: Thresholds) -> Condition | None:
    """The account's positions ended in a liquidation.

    Where the exchange keeps a record (``state.forced_closes`` not None), it decides: the
    positions it records as force-closed were liquidated, the others were closed. Where it
    keeps none, positions near their liquidation price (within twice the critical distance,
    or past it) gone on ``CONFIRMING_READS`` reads in a row while the wallet fell read as a
    liquidation; a close at a loss also does that, so the message says "appears"."""
    before = state.before_change
    gone = gone_positions(state)
    if before is None or not gone:
        return None
    current = state.report
    lost = before.wallet_balance - current.wallet_balance
    wallet = (
        f" The wallet fell from {fmt.money(before.wallet_balance)} to "
        f"{fmt.money(current.wallet_balance)}."
        if lost > 0
        else ""
    )
    if state.forced_closes is not None:
        recorded = _recorded(gone, state.forced_closes)
        if not recorded:
            return None
        what = " and ".join(_forced_words(p, closes) for p, closes in recorded)
        source = recorded[0][1][0].source
        were = "was" if len(recorded) == 1 else "were"
        msg = f"Your {what} {were} liquidated ({source}).{wallet}"
        symbols = tuple(sorted({p.symbol for p, _ in recorded}))
        return Condition(
            WarningRule.LIQUIDATED, Severity.CRITICAL, state.account_id, symbols, msg, -lost
        )
    near = [
        p
        for p in gone
        if p.distance is not None and abs(p.distance) <= 2 * thresholds.distance_critical
    ]
    if not near or lost <= 0 or state.reads_since_change < CONFIRMING_READS:
        return None
    names = " and ".join(f"{base_asset(p.symbol)} {p.side.name.lower()}" for p in near)
    marks = ", ".join(
        f"{base_asset(p.symbol)} {fmt.price(p.mark_price)} vs liquidation "
        f"{fmt.price(p.shown_liquidation_price.value)}"
        for p in near
        if p.shown_liquidation_price is not None
    )
    msg = (
        f"Your {names} {'is' if len(near) == 1 else 'are'} gone and the wallet fell from "
        f"{fmt.money(before.wallet_balance)} to {fmt.money(current.wallet_balance)} "
        f"(last seen: {marks}): the account appears to have been liquidated."
    )
    return Condition(
        WarningRule.LIQUIDATED,
        Severity.CRITICAL,
        state.account_id,
        tuple(sorted({p.symbol for p in near})),
        msg,
        -lost,
    )


def _forced_words(p: PositionReport, closes: list[ForcedClose]) -> str:
    """ "BTC long (3 BTC at 102,279.2)", an inverse one's size in USD: the size-weighted price
    of the forced fills."""
    size = sum(c.size for c in closes)
    priced = [c for c in closes if c.price is not None]
    at = ""
    if priced:
        weight = sum(c.size for c in priced)
        avg = sum(c.size * (c.price or 0.0) for c in priced) / weight if weight > 0 else None
        at = "" if avg is None else f" at {fmt.price(avg)}"
    base = base_asset(p.symbol)
    unit = "USD" if p.contract_type is ContractType.INVERSE else base
    return f"{base} {p.side.name.lower()} ({fmt.size(size)} {unit}{at})"
