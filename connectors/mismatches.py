"""Where our liquidation price and the exchange's own disagree: logged by whoever builds the
report (the monitor, the ``report`` command), since the poll itself builds none."""

from __future__ import annotations

import logging
from collections.abc import Collection

from risk.report import AccountReport

logger = logging.getLogger(__name__)


def log_mismatches(
    report: AccountReport, exchange: str, label: str = "", symbols: Collection[str] | None = None
) -> None:
    """Log where our liquidation price and the exchange's differ by more than 0.5 % (our model
    or our inputs are wrong), from a report built by the caller: the poll itself builds none.
    ``symbols`` limits it to those positions (the monitor logs a mismatch when it appears, not
    on every poll)."""
    for p in report.mismatches:
        if symbols is not None and p.symbol not in symbols:
            continue
        logger.warning(
            "%s %s %s: computed liquidation price %.6g differs from the exchange's %.6g by %.2f %%",
            exchange,
            label,
            p.symbol,
            p.liquidation_price.value if p.liquidation_price else float("nan"),
            p.exchange_liquidation_price.value if p.exchange_liquidation_price else 0.0,
            (p.mismatch or 0.0) * 100,
        )
