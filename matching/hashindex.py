"""Near-duplicate index: every stored hash within a Hamming radius of a query, exactly and fast.

The intake asks, for each new picture, "which stored pictures are within the threshold of one
of its hashes?" among millions of stored hashes. `HashIndex` answers with multi-index hashing
(Norouzi, Punjani & Fleet, "Fast Exact Search in Hamming Space with Multi-Index Hashing"):

* a hash of b bits is cut into m = b/16 chunks of 16 bits, and for each chunk a table lists
  the stored rows ordered by that chunk's value (a counting sort: `order` + `starts`);
* pigeonhole: if two hashes differ in at most r bits, at least one of their m chunks differs
  in at most ⌊r/m⌋ bits. So a query looks up, in every table, its own chunk value and every
  value within ⌊r/m⌋ bit flips of it, and checks the full distance of those candidates only.
  For 256-bit hashes at r = 31: 16 tables × 17 probes, each finding N/65536 rows of random
  hashes (15 at a million), instead of scanning all N;
* when ⌊r/m⌋ would make probing cost more than a scan (large radii), it scans: the answer is
  exact at every radius, only the speed changes.

New hashes go to a small insert buffer (scanned by brute force at query time) that is merged
into the tables when full: an insert never rebuilds the index, a merge costs a linear-time
radix sort per table, amortised over the buffer. Memory is numpy arrays only: per 256-bit
hash 32 bytes of hash, 4 of id (8 once an id exceeds 2^31) and 16 × 4 of table rows, 100 bytes
in all (plus 4 MB of fixed bucket offsets), so 10^7 hashes take 1.0 GB (benchmarks/hash_index.py).

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

_REMOVED: Final = -1


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
        # Merged part: rows [0, _merged) of the growable storage, indexed by the tables.
        self._hashes = np.empty((0, self._words), dtype=np.uint64)
        # Ids as int32 while they fit (database ids do for a long time), widened on the first
        # larger one: 4 bytes per hash saved, 100 instead of 104.
        self._ids: NDArray[np.signedinteger] = np.empty(0, dtype=np.int32)
        self._merged = 0
        self._order = np.empty((self._chunks, 0), dtype=np.uint32)
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
        arrays = (self._hashes, self._ids, self._order, self._starts)
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
        if self._ids.dtype == np.int32 and new_ids.max() > np.iinfo(np.int32).max:
            self._ids = self._ids.astype(np.int64)
        new_hashes = _to_words(hashes, self.bits)
        self._append(new_ids, new_hashes)
        if self._size - self._merged >= self._buffer_size:
            self._merge()

    def remove(self, id: int) -> int:
        """Forget every hash stored under `id`; returns how many there were. O(N) scan."""
        rows = np.flatnonzero(self._ids[: self._size] == id)
        self._ids[rows] = _REMOVED
        self._removed += len(rows)
        return len(rows)

    def _append(self, ids: NDArray[np.int64], hashes: NDArray[np.uint64]) -> None:
        needed = self._size + len(ids)
        if needed > len(self._ids):
            capacity = max(needed, len(self._ids) + len(self._ids) // 2, 1024)
            grown_hashes = np.empty((capacity, self._words), dtype=np.uint64)
            grown_hashes[: self._size] = self._hashes[: self._size]
            grown_ids = np.empty(capacity, dtype=self._ids.dtype)
            grown_ids[: self._size] = self._ids[: self._size]
            self._hashes, self._ids = grown_hashes, grown_ids
        self._hashes[self._size : needed] = hashes
        self._ids[self._size : needed] = ids
        self._size = needed

    def flush(self) -> None:
        """Fold the insert buffer into the tables now (e.g. after loading everything at start)."""
        if self._size > self._merged or self._removed:
            self._merge()

    def _merge(self) -> None:
        """Fold the buffer into the tables (dropping removed rows): a radix sort per chunk."""
        if self._removed:
            live = self._ids[: self._size] != _REMOVED
            count = int(live.sum())
            self._hashes[:count] = self._hashes[: self._size][live]
            self._ids[:count] = self._ids[: self._size][live]
            self._size, self._removed = count, 0
        size = self._size
        keys = self._chunk_keys(self._hashes[:size])
        if self._order.shape[1] < size:
            # Every table is rebuilt below, so nothing is copied: release, then allocate.
            self._order = np.empty((self._chunks, 0), dtype=np.uint32)
            self._order = np.empty((self._chunks, size), dtype=np.uint32)
        for chunk in range(self._chunks):
            column = keys[:, chunk]
            self._order[chunk, :size] = np.argsort(column, kind="stable")  # radix sort, 16 bits
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
        ids = self._ids[rows].astype(np.int64)
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
        # Positions low..high-1 of each probed bucket, in the flattened per-chunk orders.
        stride = self._order.shape[1]
        base = (np.repeat(np.arange(self._chunks), masks.size) * stride + low).astype(np.int64)
        shift = np.repeat(base - np.cumsum(lengths) + lengths, lengths)
        positions = shift + np.arange(total, dtype=np.int64)
        return np.unique(self._order.ravel()[positions]).astype(np.int64)


@cache
def _probe_count(flips: int) -> int:
    return int(_flip_masks(min(flips, CHUNK_BITS)).size)
