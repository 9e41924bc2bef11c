"""How the commands print: aligned text tables, labelled figures on one line, and strict JSON.

Layout only: every price, percentage and amount arrives already formatted by ``formatting``,
so the terminal reads as the window does. JSON is written here and nowhere else, and it is
always valid JSON (RFC 8259): a figure that is not finite (NaN, ±infinity) is written as null.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

INDENT = "  "
COLUMN_GAP = "  "
"""Between the columns of a table."""
GAP = "   "
"""Between labelled figures on one line."""


@dataclass(frozen=True)
class Column:
    """One column of a table: its header, whether its cells line up on the right (numbers),
    and the least width (for lines printed one at a time, whose later rows are not known)."""

    header: str
    right: bool = False
    width: int = 0


def _cell(text: str, column: Column, width: int) -> str:
    return text.rjust(width) if column.right else text.ljust(width)


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]], indent: str = INDENT) -> str:
    """A header, a rule, then one line per row; each column as wide as its widest cell."""
    body = [list(row) for row in rows]
    for row in body:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
    widths = [
        max([c.width, len(c.header), *(len(row[i]) for row in body)]) for i, c in enumerate(columns)
    ]

    def join(cells: Sequence[str]) -> str:
        text = COLUMN_GAP.join(
            _cell(t, c, w) for t, c, w in zip(cells, columns, widths, strict=True)
        )
        return (indent + text).rstrip()

    rule = indent + "-" * (sum(widths) + len(COLUMN_GAP) * (len(widths) - 1))
    return "\n".join([join([c.header for c in columns]), rule, *map(join, body)])


def line(columns: Sequence[Column], cells: Sequence[str]) -> str:
    """One row on its own (a line printed as it happens), each cell padded to its column's
    least width."""
    if len(cells) != len(columns):
        raise ValueError(f"{len(cells)} cells for {len(columns)} columns")
    return " ".join(_cell(t, c, c.width) for t, c in zip(cells, columns, strict=True)).rstrip()


def fields(pairs: Iterable[tuple[str, str]], indent: str = INDENT) -> str:
    """Labelled figures on one line: ``  wallet 20,000.00   equity 13,750.00``."""
    return indent + GAP.join(f"{label} {value}" for label, value in pairs)


def finite(value: Any) -> Any:
    """``value`` with every float that is not finite replaced by None, at any depth."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def json_text(data: Any) -> str:
    """``data`` as strict JSON, indented; non-finite figures become null."""
    return json.dumps(finite(data), indent=2, allow_nan=False)
