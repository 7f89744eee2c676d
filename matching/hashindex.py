"""Near-duplicate index: every stored hash within a Hamming radius of a query, exactly and fast.

The intake asks, for each new picture, "which stored pictures are within the threshold of one
of its hashes?" among millions of stored hashes. `HashIndex` answers with multi-index hashing
(Norouzi, Punjani & Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing"):

* a hash of b bits is cut into m = b/16 chunks of 16 bits, and for each chunk a table lists
  the stored rows ordered by that chunk's value (a counting sort: `tables` + `starts`). The
  rows themselves are kept sorted by the first chunk, so that chunk needs no table;
* pigeonhole: if two hashes differ in at most r bits, at least one of their m chunks differs
  in at most ⌊r/m⌋ bits. So a query looks up, in every table, its own chunk value and every
  value within ⌊r/m⌋ bit flips of it, and checks the full distance of those candidates only.
  For 256-bit hashes at r = 31: 16 tables × 17 probes, each finding N/65536 rows of random
  hashes (15 at a million), instead of scanning all N;
* when ⌊r/m⌋ would make probing cost more than a scan (large radii), it scans: the answer is
  exact at every radius, only the speed changes.

New hashes go to a small insert buffer (scanned by brute force at query time) that is merged
into the tables when full: an insert never rebuilds the index, a merge costs a linear-time
radix sort per table, amortised over the buffer. Memory is numpy arrays only, integers packed
in as few bytes as they need: per 256-bit hash 32 bytes of hash, 3 of id (4 from id 2^24 - 1
on, 8 from 2^32 - 1 on) and 15 × 3 of table rows (4 each from 2^24 rows on), 80 bytes in all
plus 4 MB of fixed bucket offsets, so 10^7 hashes take 0.80 GB (benchmarks/hash_index.py;
before packing, 100 bytes). At its peak a merge holds ~55 more bytes per hash of scratch.

This module must never miss a stored hash within the radius or return one beyond it (tests
compare it with brute force), never keep a Python object per hash, and never do I/O. It is
not thread-safe: one writer, and no reads during a write (the service holds a lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["HashIndex", "brute_force_distances"]

CHUNK_BITS: Final = 16
_BUCKETS: Final = 1 << CHUNK_BITS

# Inserts wait in a buffer that queries scan by brute force; at 16384 × 256-bit hashes the scan
# costs ~0.2 ms and a merge into a million-hash index ~0.2 s (hash_index benchmark), i.e.
# ~12 µs per insert amortised.
DEFAULT_BUFFER: Final = 16384

# Probe the tables only while the expected candidates stay below this share of the index;
# past it (large radii) one vectorised scan is cheaper than thousands of probes.
_SCAN_SHARE: Final = 0.125

_REMOVED: Final = -1  # the id of a removed row (stored as all bits set)

# Integers (ids, row numbers) are stored little-endian in 3 bytes while they fit, else 4 or 8:
# 3 of 4 bytes is 16 bytes per 256-bit hash across the tables and the id.
_PACKED_WIDTHS: Final = (3, 4, 8)
# Row numbers in the tables stay 3 bytes up to this many rows (a module constant so a test
# can lower it and exercise the wider layout).
_NARROW_ROWS: Final = 1 << 24


def _width_for(largest: int, reserved: int = 0) -> int:
    """The fewest packed bytes holding 0..largest, keeping the top `reserved` values free."""
    for width in _PACKED_WIDTHS:
        if largest < (1 << (8 * width)) - reserved:
            return width
    raise ValueError(f"{largest} does not fit in 64 bits")


def _pack_into(target: NDArray[np.uint8], values: NDArray[np.int64]) -> None:
    """Store non-negative integers in the rows of `target`: each its low little-endian bytes.

    Copied as one `width`-byte item per value (a strided void view of the int64s): numpy
    copies rows of 3 uint8 byte by byte, 3-6× slower on a merge.
    """
    width = target.shape[1]
    source = np.ascontiguousarray(values, dtype="<i8")
    if len(source):
        items = np.ndarray(source.shape, dtype=f"V{width}", buffer=source, strides=(8,))
        target.view(f"V{width}").reshape(-1)[:] = items


def _unpack(packed: NDArray[np.uint8]) -> NDArray[np.int64]:
    """The inverse of `_pack_into` (rows of `width` bytes back to int64 values)."""
    wide = np.zeros((len(packed), 8), dtype=np.uint8)
    wide[:, : packed.shape[1]] = packed
    return wide.view("<i8").ravel().astype(np.int64, copy=False)


@cache
def _flip_masks(max_flips: int) -> NDArray[np.uint16]:
    """Every 16-bit mask with at most `max_flips` bits set (the probes around a chunk value)."""
    values = np.arange(_BUCKETS, dtype=np.uint32)
    counts = np.bitwise_count(values)
    return values[counts <= max_flips].astype(np.uint16)


def _to_words(values: Iterable[int], bits: int) -> NDArray[np.uint64]:
    """Hashes (non-negative ints below 2**bits) as rows of native uint64 words."""
    width = bits // 8
    try:
        raw = b"".join(value.to_bytes(width, "big") for value in values)
    except OverflowError as exc:
        raise ValueError(f"hash does not fit in {bits} bits (or is negative)") from exc
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, bits // 64)


def brute_force_distances(
    table: NDArray[np.uint64], query: NDArray[np.uint64]
) -> NDArray[np.int64]:
    """Hamming distance from one hash (row of words) to every row of `table` (XOR + popcount)."""
    return np.bitwise_count(table ^ query).sum(axis=1, dtype=np.int64)


class HashIndex:
    """Exact Hamming-radius search over fixed-size hashes, each stored under an integer id.

    One id may own several hashes (a picture's regions); `query` reports every id once, with
    its smallest distance. Ids are non-negative integers (database row ids).
    """

    def __init__(self, bits: int = 256, buffer_size: int = DEFAULT_BUFFER) -> None:
        if bits <= 0 or bits % 64:
            raise ValueError("bits must be a positive multiple of 64")
        self.bits = bits
        self._words = bits // 64
        self._chunks = bits // CHUNK_BITS
        self._buffer_size = max(1, buffer_size)
        # Merged part: rows [0, _merged) of the growable storage, sorted by their first chunk
        # (so that chunk's table is the storage itself) and indexed by the other tables.
        self._hashes = np.empty((0, self._words), dtype=np.uint64)
        # Ids packed in 3 bytes while they fit (database ids do for a long time), widened on
        # the first larger one; a removed row's id has every bit set.
        self._ids = np.empty((0, _width_for(0, reserved=1)), dtype=np.uint8)
        self._merged = 0
        # Table c (chunks 1..m-1): the merged rows ordered by chunk c, each row number packed.
        self._tables = np.empty((self._chunks - 1, 0, _width_for(0)), dtype=np.uint8)
        self._table_bytes = np.zeros(1, dtype=np.uint8)  # the tables' storage
        self._table_words = np.empty(0, dtype="<u4")  # 3-byte rows read as 4 (see _table_rows)
        self._starts = np.zeros((self._chunks, _BUCKETS + 1), dtype=np.uint32)
        # Insert buffer: rows [_merged, _size) of the same storage.
        self._size = 0
        self._removed = 0

    # --- size ---------------------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of hashes stored (not ids: a picture usually stores several)."""
        return self._size - self._removed

    @property
    def fixed_nbytes(self) -> int:
        """Bytes that do not grow with the hashes (the tables' bucket offsets, 4 MB at 256 bits)."""
        return self._starts.nbytes

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (capacity included)."""
        arrays = (self._hashes, self._ids, self._table_bytes, self._starts)
        return sum(array.nbytes for array in arrays)

    # --- writing ------------------------------------------------------------------------------

    def add(self, id: int, hash_value: int) -> None:
        """Store one hash under `id`; visible to the next query."""
        self.add_many([id], [hash_value])

    def add_many(self, ids: Sequence[int], hashes: Sequence[int]) -> None:
        """Store many hashes at once (rebuilding from the database at start: one merge)."""
        if len(ids) != len(hashes):
            raise ValueError("ids and hashes differ in length")
        if not len(ids):
            return
        new_ids = np.asarray(ids, dtype=np.int64)
        if new_ids.min() < 0:
            raise ValueError("ids must be non-negative")
        new_hashes = _to_words(hashes, self.bits)
        width = _width_for(int(new_ids.max()), reserved=1)
        if width > self._ids.shape[1]:
            self._widen_ids(width)
        self._append(new_ids, new_hashes)
        if self._size - self._merged >= self._buffer_size:
            self._merge()

    def remove(self, id: int) -> int:
        """Forget every hash stored under `id`; returns how many there were. O(N) scan."""
        if not 0 <= id < 2**63 or _width_for(id, reserved=1) > self._ids.shape[1]:
            return 0  # never stored: wider than every stored id
        packed = np.empty((1, self._ids.shape[1]), dtype=np.uint8)
        _pack_into(packed, np.array([id], dtype=np.int64))
        rows = np.flatnonzero((self._ids[: self._size] == packed[0]).all(axis=1))
        self._ids[rows] = 0xFF  # every bit set: _REMOVED
        self._removed += len(rows)
        return len(rows)

    def _row_ids(self, rows: NDArray[np.int64]) -> NDArray[np.int64]:
        """The ids of storage rows (`_REMOVED` for removed ones)."""
        packed = self._ids[rows]
        ids = _unpack(packed)
        if packed.shape[1] < 8:
            ids[ids == (1 << (8 * packed.shape[1])) - 1] = _REMOVED
        return ids

    def _widen_ids(self, width: int) -> None:
        ids = self._row_ids(np.arange(self._size))
        removed = ids == _REMOVED
        widened = np.empty((len(self._ids), width), dtype=np.uint8)
        _pack_into(widened[: self._size], ids)
        widened[np.flatnonzero(removed)] = 0xFF
        self._ids = widened

    def _append(self, ids: NDArray[np.int64], hashes: NDArray[np.uint64]) -> None:
        needed = self._size + len(ids)
        if needed > len(self._ids):
            capacity = max(needed, len(self._ids) + len(self._ids) // 2, 1024)
            grown_hashes = np.empty((capacity, self._words), dtype=np.uint64)
            grown_hashes[: self._size] = self._hashes[: self._size]
            grown_ids = np.empty((capacity, self._ids.shape[1]), dtype=np.uint8)
            grown_ids[: self._size] = self._ids[: self._size]
            self._hashes, self._ids = grown_hashes, grown_ids
        self._hashes[self._size : needed] = hashes
        _pack_into(self._ids[self._size : needed], ids)
        self._size = needed

    def flush(self) -> None:
        """Fold the insert buffer into the tables now (e.g. after loading everything at start)."""
        if self._size > self._merged or self._removed:
            self._merge()

    def _merge(self) -> None:
        """Fold the buffer into the tables (dropping removed rows): a radix sort per chunk."""
        size = self._size
        if self._removed:
            live = np.flatnonzero((self._ids[:size] != 0xFF).any(axis=1))
            self._hashes[: len(live)] = self._hashes[live]
            self._ids[: len(live)] = self._ids[live]
            size = self._size = len(live)
            self._removed = 0
        # Every table is rebuilt below, so nothing is copied: release, then allocate.
        width = 3 if size <= _NARROW_ROWS else _width_for(max(size, 1 << 24))
        self._tables = self._table_bytes = self._table_words = np.empty(0, dtype=np.uint8)
        # One spare byte at the end, so the last 3-byte row can be read as a 4-byte word.
        self._table_bytes = table_bytes = np.zeros(
            (self._chunks - 1) * size * width + 1, dtype=np.uint8
        )
        self._tables = table_bytes[:-1].reshape(self._chunks - 1, size, width)
        self._table_words = np.ndarray(
            ((self._chunks - 1) * size,), dtype="<u4", buffer=table_bytes, strides=(width,)
        )
        # The storage sorted by chunk 0 (rows move; ids move with them) is table 0.
        order = np.argsort(self._chunk_keys(self._hashes[:size])[:, 0], kind="stable")
        self._hashes[:size] = self._hashes[order]
        ids = self._ids.view(f"V{self._ids.shape[1]}").reshape(-1)  # one item per id: faster
        ids[:size] = ids[order]
        del order
        keys = np.ascontiguousarray(self._chunk_keys(self._hashes[:size]).T)  # chunk-major
        for chunk in range(self._chunks):
            column = keys[chunk]
            if chunk:
                order = np.argsort(column, kind="stable")  # radix sort, 16 bits
                _pack_into(self._tables[chunk - 1], order)
            counts = np.bincount(column, minlength=_BUCKETS)
            self._starts[chunk, 0] = 0
            self._starts[chunk, 1:] = np.cumsum(counts)
        self._merged = size

    def _chunk_keys(self, hashes: NDArray[np.uint64]) -> NDArray[np.uint16]:
        """The 16-bit chunk values of each row (any fixed split of the bits will do)."""
        return np.ascontiguousarray(hashes).view(np.uint16).reshape(len(hashes), self._chunks)

    # --- reading ------------------------------------------------------------------------------

    def query(self, hash_value: int, max_distance: int) -> list[tuple[int, int]]:
        """Every id with a stored hash within `max_distance` bits, with its smallest distance.

        Sorted by distance, then id. Exact: nothing within the radius is missed.
        """
        return self.query_many([hash_value], max_distance)

    def query_many(self, hashes: Iterable[int], max_distance: int) -> list[tuple[int, int]]:
        """Like `query` for several hashes of one picture: each id once, its smallest distance."""
        if max_distance < 0:
            raise ValueError("max_distance must be >= 0")
        found_rows: list[NDArray[np.int64]] = []
        found_distances: list[NDArray[np.int64]] = []
        for query in _to_words(hashes, self.bits):
            rows, distances = self._search(query, max_distance)
            found_rows.append(rows)
            found_distances.append(distances)
        if not found_rows:
            return []
        rows = np.concatenate(found_rows)
        distances = np.concatenate(found_distances)
        ids = self._row_ids(rows)
        alive = ids != _REMOVED
        ids, distances = ids[alive], distances[alive]
        if not len(ids):
            return []
        by_id = np.lexsort((distances, ids))  # per id, smallest distance first
        ids, distances = ids[by_id], distances[by_id]
        first = np.r_[True, ids[1:] != ids[:-1]]
        ids, distances = ids[first], distances[first]
        ranked = np.lexsort((ids, distances))
        return [(int(i), int(d)) for i, d in zip(ids[ranked], distances[ranked], strict=True)]

    def _search(
        self, query: NDArray[np.uint64], max_distance: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Rows within the radius (merged tables, then buffer) and their distances."""
        rows = self._candidates(query, max_distance)
        distances = brute_force_distances(self._hashes[rows], query)
        near = distances <= max_distance
        rows, distances = rows[near], distances[near]
        buffered = self._hashes[self._merged : self._size]
        if len(buffered):
            buffer_distances = brute_force_distances(buffered, query)
            hits = np.flatnonzero(buffer_distances <= max_distance)
            rows = np.concatenate([rows, hits + self._merged])
            distances = np.concatenate([distances, buffer_distances[hits]])
        return rows, distances

    def _candidates(self, query: NDArray[np.uint64], max_distance: int) -> NDArray[np.int64]:
        """Merged rows sharing a chunk with the query up to ⌊r/m⌋ flips (or all, if cheaper)."""
        size = self._merged
        if size == 0:
            return np.empty(0, dtype=np.int64)
        flips = max_distance // self._chunks
        expected = self._chunks * _probe_count(flips) * size / _BUCKETS
        if flips >= CHUNK_BITS or expected > _SCAN_SHARE * size:
            return np.arange(size, dtype=np.int64)
        masks = _flip_masks(flips)
        keys = self._chunk_keys(query[None, :])[0]
        values = (keys[:, None] ^ masks[None, :]).astype(np.int64)  # chunks × probes
        chunk_index = np.arange(self._chunks)[:, None]
        low = self._starts[chunk_index, values].ravel().astype(np.int64)
        high = self._starts[chunk_index, values + 1].ravel().astype(np.int64)
        lengths = high - low
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        # Positions low..high-1 of each probed bucket: rows themselves for chunk 0 (the storage
        # is sorted by it), entries of the flattened tables for the other chunks.
        table = np.maximum(np.arange(self._chunks) - 1, 0)
        base = np.repeat(table, masks.size) * size + low
        shift = np.repeat(base - np.cumsum(lengths) + lengths, lengths)
        positions = shift + np.arange(total, dtype=np.int64)
        direct = int(lengths[: masks.size].sum())  # chunk 0's probes come first
        rows = np.concatenate([positions[:direct], self._table_rows(positions[direct:])])
        # A row found through several chunks counts once. Sort and compare neighbours: numpy
        # 2's hash-based np.unique costs ten times as much here (240 µs against 19 for 4000).
        rows.sort()
        return rows[np.r_[True, rows[1:] != rows[:-1]]]

    def _table_rows(self, entries: NDArray[np.int64]) -> NDArray[np.int64]:
        """The row numbers at positions of the flattened tables."""
        width = self._tables.shape[2]
        if width == 3:  # one unaligned 4-byte read per row, the 4th byte masked off
            return (self._table_words[entries] & 0xFFFFFF).astype(np.int64)
        if width == 4:
            return self._table_words[entries].astype(np.int64)
        return _unpack(self._tables.reshape(-1, width)[entries])


@cache
def _probe_count(flips: int) -> int:
    return int(_flip_masks(min(flips, CHUNK_BITS)).size)
