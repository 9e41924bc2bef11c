"""The block codec and the bucket rule, by property."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.blocks import Frame, concat, decode_block, encode_block, last_per_bucket

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, width=32)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    n = draw(st.integers(0, 40))
    k = draw(st.integers(0, 4))
    ts = np.sort(np.array(draw(st.lists(st.integers(0, 10**13), min_size=n, max_size=n)), np.int64))
    account = np.array(
        draw(
            st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=5 * n, max_size=5 * n)
        )
    ).reshape(5, n)
    pos = np.array(draw(st.lists(finite | st.just(np.nan), min_size=5 * k * n, max_size=5 * k * n)))
    leaders = np.array(
        draw(st.lists(st.sampled_from(["", "BTC", "ETH"]), min_size=n, max_size=n)), object
    )
    keys = tuple((f"S{i}", "long" if i % 2 else "short") for i in range(k))
    return Frame(ts, account, leaders, keys, pos.reshape(5, k, n))


@settings(max_examples=150, deadline=None)
@given(frames())
def test_block_roundtrip(frame: Frame) -> None:
    back = decode_block(encode_block(frame))
    assert np.array_equal(back.ts, frame.ts)
    assert np.array_equal(back.account, frame.account, equal_nan=True)
    assert list(back.leader) == list(frame.leader)
    assert back.keys == frame.keys
    assert np.array_equal(back.positions, frame.positions.astype(np.float32), equal_nan=True)


@given(st.lists(st.integers(0, 10**7), max_size=200), st.integers(1, 10**6))
def test_last_per_bucket(values: list[int], resolution: int) -> None:
    ts = np.sort(np.array(values, dtype=np.int64))
    keep = last_per_bucket(ts, resolution)
    buckets = ts // resolution
    assert list(buckets[keep]) == sorted(set(buckets.tolist()))
    for i in keep:
        assert i == len(ts) - 1 or buckets[i + 1] != buckets[i]


def test_concat_aligns_keys_and_sorts() -> None:
    def one(ts: list[int], key: str, value: float) -> Frame:
        n = len(ts)
        return Frame(
            np.array(ts, np.int64),
            np.zeros((5, n)),
            np.array([""] * n, object),
            ((key, "long"),),
            np.full((5, 1, n), value),
        )

    joined = concat([one([30, 40], "B", 2.0), one([10, 20], "A", 1.0)])
    assert list(joined.ts) == [10, 20, 30, 40]
    assert joined.keys == (("B", "long"), ("A", "long"))
    assert np.array_equal(joined.positions[1, 0], [np.nan, np.nan, 2, 2], equal_nan=True)
    assert np.array_equal(joined.positions[1, 1], [1, 1, np.nan, np.nan], equal_nan=True)
    thinned = joined.take(np.array([2, 3]))
    assert thinned.keys == (("B", "long"),)
