"""Columnar, compressed blocks of snapshot history, and ``Frame``, the columns they hold.

Why: 5 accounts × 20 positions polled every 2 s is ~12.7 million position figures kept at the
retention resolutions over 30 days. One SQLite row per position per poll costs ~60 bytes
(~760 MB) and reading a week of it takes seconds. A block packs one account's snapshots over
an aligned span as columns: timestamps delta-coded, each float column XOR-ed with its
predecessor in time and byte-shuffled, then zlib. Figures that barely move (sizes,
liquidation prices) compress to almost nothing: ~7 bytes per position per snapshot.

Account figures keep full float64 precision. Position figures in blocks are kept as float32
(7 significant digits: 97123.40 ± 0.004 for a BTC mark) — plenty for a chart and for
distances; the newest minutes, not yet compacted, stay float64 in snapshot_positions.

Layout: b"CWB2" | u32 header length | JSON header {n, keys, leaders} | zlib(payload), the
payload being ts (i8 deltas), the account figures (f8 XOR, 5 × n), the leader index (i2),
and the position figures (f4 XOR, 5 × keys × n), each byte-shuffled.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from storage.errors import DamagedValue
from storage.records import PositionSeries, SnapshotSeries

MAGIC = b"CWB2"
ACCOUNT_FIELDS = ("equity", "maintenance", "margin_ratio", "joint_down", "joint_up")
POSITION_FIELDS = ("size", "mark", "liquidation", "exchange_liquidation", "distance")
ZLIB_LEVEL = 6

Key = tuple[str, str]


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """An account's snapshots as matrices: ``account`` is (5, n) in ACCOUNT_FIELDS order,
    ``positions`` is (5, keys, n) in POSITION_FIELDS order, NaN where a key is not held."""

    ts: np.ndarray
    account: np.ndarray
    leader: np.ndarray
    keys: tuple[Key, ...]
    positions: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @staticmethod
    def empty() -> Frame:
        return Frame(
            np.empty(0, np.int64),
            np.empty((len(ACCOUNT_FIELDS), 0)),
            np.empty(0, object),
            (),
            np.empty((len(POSITION_FIELDS), 0, 0)),
        )

    def take(self, index: np.ndarray | slice) -> Frame:
        """The rows at ``index``; keys with no mark left in them are dropped."""
        pos = self.positions[:, :, index]
        held = ~np.all(np.isnan(pos[1]), axis=1)
        if not np.all(held):
            pos = pos[:, held, :]
        keys = tuple(k for k, h in zip(self.keys, held, strict=True) if h)
        return Frame(self.ts[index], self.account[:, index], self.leader[index], keys, pos)

    def between(self, since_ms: int, until_ms: int) -> Frame:
        """Rows with since_ms <= ts < until_ms (ts sorted)."""
        lo, hi = (int(i) for i in np.searchsorted(self.ts, [since_ms, until_ms], side="left"))
        return self if lo == 0 and hi == len(self) else self.take(slice(lo, hi))

    def thin(self, resolution_ms: int) -> Frame:
        keep = last_per_bucket(self.ts, resolution_ms)
        return self if keep.shape[0] == len(self) else self.take(keep)

    def to_series(self, account_id: int) -> SnapshotSeries:
        pos = np.asarray(self.positions, dtype=np.float64)
        positions = {
            key: PositionSeries(key[0], key[1], *(pos[f, k] for f in range(len(POSITION_FIELDS))))
            for k, key in enumerate(self.keys)
        }
        acc = np.asarray(self.account, dtype=np.float64)
        return SnapshotSeries(
            account_id,
            self.ts,
            equity=acc[0],
            maintenance=acc[1],
            margin_ratio=acc[2],
            joint_down=acc[3],
            joint_up=acc[4],
            joint_leader=self.leader,
            positions=positions,
        )

    @staticmethod
    def from_series(series: SnapshotSeries) -> Frame:
        keys = tuple(series.positions)
        n = len(series)
        pos = np.empty((len(POSITION_FIELDS), len(keys), n))
        for k, key in enumerate(keys):
            for f, name in enumerate(POSITION_FIELDS):
                pos[f, k] = getattr(series.positions[key], name)
        account = np.array([getattr(series, name) for name in ACCOUNT_FIELDS], dtype=np.float64)
        return Frame(
            series.ts_ms.astype(np.int64), account.reshape(-1, n), series.joint_leader, keys, pos
        )


def concat(frames: Sequence[Frame]) -> Frame:
    """Join frames into one sorted by time; a key absent from a frame is NaN there."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return Frame.empty()
    if len(frames) == 1:
        return frames[0]
    ts = np.concatenate([f.ts for f in frames])
    account = np.concatenate([f.account for f in frames], axis=1)
    leader = np.concatenate([f.leader for f in frames])
    index: dict[Key, int] = {}
    for f in frames:
        for key in f.keys:
            index.setdefault(key, len(index))
    pos = np.full((len(POSITION_FIELDS), len(index), ts.shape[0]), np.nan)
    start = 0
    for f in frames:
        if f.keys:
            rows = [index[k] for k in f.keys]
            pos[:, rows, start : start + len(f)] = f.positions
        start += len(f)
    joined = Frame(ts, account, leader, tuple(index), pos)
    if np.all(ts[1:] >= ts[:-1]):
        return joined
    return joined.take(np.argsort(ts, kind="stable"))


def last_per_bucket(ts_ms: np.ndarray, resolution_ms: int) -> np.ndarray:
    """Indices of the last row in each bucket of ``resolution_ms`` (ts sorted ascending)."""
    if resolution_ms <= 0 or ts_ms.shape[0] == 0:
        return np.arange(ts_ms.shape[0])
    bucket = ts_ms // resolution_ms
    keep = np.ones(ts_ms.shape[0], dtype=bool)
    keep[:-1] = bucket[1:] != bucket[:-1]
    return np.flatnonzero(keep)


def _shuffle(a: np.ndarray) -> bytes:
    """Byte planes of an array: byte 0 of every item, then byte 1, ..."""
    flat = np.ascontiguousarray(a).reshape(-1)
    return flat.view(np.uint8).reshape(-1, flat.dtype.itemsize).T.tobytes()


def _unshuffle(buf: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    dt = np.dtype(dtype)
    count = int(np.prod(shape))
    planes = np.frombuffer(buf, dtype=np.uint8).reshape(dt.itemsize, count)
    return np.ascontiguousarray(planes.T).view(dt).reshape(shape)


def _xor_delta(bits: np.ndarray) -> np.ndarray:
    """XOR each item with its predecessor along the last axis."""
    out = bits.copy()
    out[..., 1:] ^= bits[..., :-1]
    return out


def encode_block(frame: Frame) -> bytes:
    n = len(frame)
    leaders = sorted({str(x) for x in frame.leader})
    where = {name: i for i, name in enumerate(leaders)}
    account = np.ascontiguousarray(frame.account, dtype=np.float64).view(np.uint64)
    positions = np.ascontiguousarray(frame.positions, dtype=np.float32).view(np.uint32)
    payload = b"".join(
        (
            _shuffle(np.diff(frame.ts.astype(np.int64), prepend=np.int64(0))),
            _shuffle(_xor_delta(account)),
            np.array([where[str(x)] for x in frame.leader], dtype="<i2").tobytes(),
            _shuffle(_xor_delta(positions)),
        )
    )
    header = json.dumps({"n": n, "keys": frame.keys, "leaders": leaders}).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + zlib.compress(payload, ZLIB_LEVEL)


def decode_block(data: bytes) -> Frame:
    """The frame ``encode_block`` packed; ``DamagedValue`` when the bytes are not one (a
    damaged page inside a block is found here: SQLite keeps no checksum of its contents)."""
    try:
        return _decode(data)
    except (ValueError, KeyError, TypeError, IndexError, struct.error, zlib.error) as e:
        raise DamagedValue(f"a block of snapshot history cannot be read: {e}") from None


def _decode(data: bytes) -> Frame:
    if data[:4] != MAGIC:
        raise ValueError("not a snapshot block")
    (hlen,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8 : 8 + hlen])
    payload = zlib.decompress(data[8 + hlen :])
    n: int = header["n"]
    keys = tuple((str(s), str(side)) for s, side in header["keys"])
    na, npf, k = len(ACCOUNT_FIELDS), len(POSITION_FIELDS), len(keys)
    cuts = np.cumsum([0, 8 * n, 8 * na * n, 2 * n, 4 * npf * k * n])
    ts = np.cumsum(_unshuffle(payload[cuts[0] : cuts[1]], "<i8", (n,)))
    acc_bits = _unshuffle(payload[cuts[1] : cuts[2]], "<u8", (na, n))
    account = np.bitwise_xor.accumulate(acc_bits, axis=1).view(np.float64)
    leader_idx = np.frombuffer(payload[cuts[2] : cuts[3]], dtype="<i2")
    leader = np.array(header["leaders"], dtype=object)[leader_idx] if n else np.empty(0, object)
    pos_bits = _unshuffle(payload[cuts[3] : cuts[4]], "<u4", (npf, k, n))
    positions = np.bitwise_xor.accumulate(pos_bits, axis=2).view(np.float32)
    return Frame(ts, account, leader, keys, positions)
