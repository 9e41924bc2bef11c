"""cli/render.py: the commands' one renderer of tables and JSON."""

from __future__ import annotations

import json
import math

import pytest

from cli.render import Column, fields, json_text, line, table


def strict_loads(text: str) -> object:
    """json.loads that refuses what RFC 8259 does not allow (NaN, Infinity)."""

    def refuse(name: str) -> object:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_table_columns_are_as_wide_as_their_widest_cell() -> None:
    cols = (Column("symbol"), Column("price", right=True))
    text = table(cols, [["BTC/USDT:USDT", "98,450.1"], ["1000PEPE/USDT:USDT", "0.01234"]])
    header, rule, *rows = text.splitlines()
    assert header == "  symbol" + " " * 17 + "price"
    assert rule == "  " + "-" * (len(header) - 2)
    assert rows == ["  BTC/USDT:USDT" + " " * 7 + "98,450.1", "  1000PEPE/USDT:USDT   0.01234"]
    # every price ends in the same column
    assert len({len(r) for r in rows}) == 1


def test_a_table_without_rows_is_its_header() -> None:
    assert table((Column("a"), Column("bb")), []).splitlines() == ["  a  bb", "  -----"]
    wide_last = table((Column("a"), Column("file")), [["x", "/a/long/path.csv"]]).splitlines()
    assert len(wide_last[1]) == len(wide_last[2])


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="a row has 2 cells for 1 columns"):
        table((Column("a"),), [["x", "y"]])


def test_line_pads_to_the_least_width() -> None:
    cols = (Column("severity", width=8), Column("change", width=9), Column("text"))
    assert line(cols, ("WARNING", "fired", "x")) == "WARNING  fired     x"
    assert line(cols, ("CRITICAL", "escalated", "y")) == "CRITICAL escalated y"


def test_fields_put_labelled_figures_on_one_line() -> None:
    assert fields([("wallet", "1.00"), ("equity", "2.00")]) == "  wallet 1.00   equity 2.00"


def test_json_is_always_valid_json() -> None:
    data = {
        "a": math.nan,
        "b": [math.inf, -math.inf, 1.5],
        "c": {"d": (math.nan, 2)},
        "e": None,
        "f": "text −4 %",
    }
    parsed = strict_loads(json_text(data))
    assert parsed == {"a": None, "b": [None, None, 1.5], "c": {"d": [None, 2]}, "e": None,
                      "f": "text −4 %"}  # fmt: skip


def test_json_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError):
        json_text({"when": object()})
