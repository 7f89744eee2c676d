"""The near-duplicate index returns exactly what brute force returns, at every radius."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from PIL import Image, ImageOps

from matching import hashindex
from matching.fingerprints import DEFAULT_HASH_TYPE
from matching.hashindex import HashIndex


def brute_force(stored: list[tuple[int, int]], query: int, radius: int) -> list[tuple[int, int]]:
    best: dict[int, int] = {}
    for id_, value in stored:
        distance = (value ^ query).bit_count()
        if distance <= radius and distance < best.get(id_, radius + 1):
            best[id_] = distance
    return sorted(best.items(), key=lambda item: (item[1], item[0]))


def near(rng: random.Random, value: int, bits: int, flips: int) -> int:
    for bit in rng.sample(range(bits), flips):
        value ^= 1 << bit
    return value


def populated(bits: int, count: int, buffer_size: int, seed: int = 1):  # type: ignore[no-untyped-def]
    """An index holding random hashes plus neighbours of one at every distance, some buffered."""
    rng = random.Random(seed)
    centre = rng.getrandbits(bits)
    stored = [(i, rng.getrandbits(bits)) for i in range(count)]
    stored += [(count + d, near(rng, centre, bits, d)) for d in range(0, bits + 1, 3)]
    stored += [(7, near(rng, centre, bits, 5)), (7, near(rng, centre, bits, 40))]  # id 7 twice
    index = HashIndex(bits, buffer_size=buffer_size)
    half = len(stored) // 2
    index.add_many([i for i, _ in stored[:half]], [v for _, v in stored[:half]])
    index.flush()
    for id_, value in stored[half:]:  # the rest one by one: part merged, part buffered
        index.add(id_, value)
    return index, stored, centre


RADII = [0, 1, 2, 3, 15, 16, 17, 30, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 128, 200, 255, 256]


@pytest.mark.parametrize("radius", RADII)
def test_exact_at_every_radius_256(radius: int) -> None:
    index, stored, centre = populated(256, 3000, buffer_size=500)
    assert index._merged and index._size > index._merged  # both paths exercised
    rng = random.Random(radius)
    for query in [centre, near(rng, centre, 256, 10), rng.getrandbits(256)]:
        assert index.query(query, radius) == brute_force(stored, query, radius)


@pytest.mark.parametrize("radius", [0, 1, 3, 4, 7, 8, 10, 12, 16, 32, 64])
def test_exact_at_every_radius_64(radius: int) -> None:
    index, stored, centre = populated(64, 3000, buffer_size=700)
    rng = random.Random(radius)
    for query in [centre, near(rng, centre, 64, 4), rng.getrandbits(64)]:
        assert index.query(query, radius) == brute_force(stored, query, radius)


def test_incremental_adds_are_visible_at_once_and_after_merges() -> None:
    index = HashIndex(256, buffer_size=4)
    rng = random.Random(2)
    values = [rng.getrandbits(256) for _ in range(11)]
    for i, value in enumerate(values):
        index.add(i, value)
        assert index.query(value, 0) == [(i, 0)]  # buffered or just merged
    assert len(index) == 11
    assert all(index.query(v, 0) == [(i, 0)] for i, v in enumerate(values))


def test_each_id_once_with_its_smallest_distance() -> None:
    index = HashIndex(256)
    base = 2**200 + 12345
    index.add_many([1, 1, 1, 2], [base ^ 0b111, base ^ 0b1, base ^ (2**100 - 1), base ^ 0b11])
    assert index.query(base, 31) == [(1, 1), (2, 2)]
    assert index.query_many([base, base ^ 0b1], 31) == [(1, 0), (2, 1)]
    index.flush()
    assert index.query(base, 31) == [(1, 1), (2, 2)]


def test_remove_forgets_every_hash_of_an_id() -> None:
    index = HashIndex(256, buffer_size=3)
    rng = random.Random(4)
    values = [rng.getrandbits(256) for _ in range(8)]
    index.add_many([0, 0, 1, 1, 2, 2, 3, 3], values)
    assert index.remove(1) == 2 and index.remove(1) == 0
    assert len(index) == 6
    assert index.query(values[2], 0) == []
    index.add(9, values[4])
    index.flush()  # compaction drops removed rows
    assert len(index) == 7
    assert index.query(values[4], 0) == [(2, 0), (9, 0)]
    assert index.query(values[3], 0) == []


def test_bad_input_is_refused() -> None:
    index = HashIndex(64)
    with pytest.raises(ValueError):
        index.add(1, 2**64)
    with pytest.raises(ValueError):
        index.add(1, -1)
    with pytest.raises(ValueError):
        index.add(-1, 5)
    with pytest.raises(ValueError):
        index.add_many([1, 2], [3])
    with pytest.raises(ValueError):
        index.query(5, -1)
    with pytest.raises(ValueError):
        HashIndex(100)
    index.add_many([], [])
    assert len(index) == 0 and index.query(5, 64) == []


def test_memory_is_arrays_of_80_bytes_per_hash() -> None:
    """32 bytes of hash, 3 of id, 15 tables × 3 bytes of row number (10^7 hashes: 0.80 GB)."""
    index = HashIndex(256)
    rng = random.Random(5)
    count = 20_000
    index.add_many(list(range(count)), [rng.getrandbits(256) for _ in range(count)])
    index.flush()
    per_hash = (index.nbytes - index.fixed_nbytes) / len(index)
    assert per_hash <= 80.01
    held = {id(index._hashes), id(index._ids), id(index._table_bytes), id(index._starts)}
    arrays = [value for value in vars(index).values() if isinstance(value, np.ndarray)]
    for array in arrays:  # nbytes counts every array the index holds (views: their base)
        assert id(array) in held or id(array.base) in held, array.shape


def test_wide_row_numbers_stay_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 2^24 rows the tables switch to 4-byte row numbers; exercised here at 500 rows."""
    monkeypatch.setattr(hashindex, "_NARROW_ROWS", 500)
    index, stored, centre = populated(256, 3000, buffer_size=500)
    assert index._tables.shape[2] == 4
    for radius in (0, 17, 31, 64):
        assert index.query(centre, radius) == brute_force(stored, centre, radius)


def test_ids_widen_past_three_and_four_bytes() -> None:
    index = HashIndex(64, buffer_size=3)
    edges = [0, 2**24 - 2, 2**24 - 1, 2**24, 2**32 - 2, 2**32 - 1, 2**63 - 1]
    for offset, id_ in enumerate(edges):
        index.add(id_, 1000 + offset)
        index.add(id_, 5000 + offset)
    assert index._ids.shape[1] == 8
    for offset, id_ in enumerate(edges):
        assert index.query(1000 + offset, 0) == [(id_, 0)]
    assert index.remove(2**24 - 1) == 2 and index.remove(2**64) == 0
    index.flush()
    assert index.query(1000 + 2, 0) == [] and index.query(1000 + 3, 0) == [(2**24, 0)]
    assert len(index) == 2 * len(edges) - 2


def test_rows_removed_before_a_widening_stay_removed() -> None:
    index = HashIndex(64)
    index.add_many([1, 2, 3], [10, 20, 30])
    assert index.remove(2) == 1
    index.add(2**30, 20)  # ids widen from 3 to 4 bytes: the removed row must not come back
    assert index.query(20, 0) == [(2**30, 0)]
    index.flush()
    assert index.query(20, 0) == [(2**30, 0)] and len(index) == 3


def test_finds_edited_copies_of_pictures_by_fingerprint() -> None:
    """The two modules together: store fingerprints, look a copy up with its query hashes."""
    index = HashIndex(DEFAULT_HASH_TYPE.bits)
    examples = DEFAULT_HASH_TYPE.examples()
    originals = DEFAULT_HASH_TYPE.compute(examples[0].first)
    index.add_many([1] * len(originals.stored), list(originals.stored))
    for example in examples:
        copy = DEFAULT_HASH_TYPE.compute(example.second)
        found = index.query_many(copy.query_hashes, DEFAULT_HASH_TYPE.threshold)
        assert bool(found) is example.same, example.name
        if found:  # the copy looked up against the stored original: that direction's minimum
            forward = min((q ^ s).bit_count() for q in copy.query_hashes for s in originals.stored)
            assert found == [(1, forward)]
    mirrored = Image.open(io.BytesIO(examples[0].first))
    out = io.BytesIO()
    ImageOps.mirror(mirrored).save(out, "PNG")
    copy = DEFAULT_HASH_TYPE.compute(out.getvalue())
    assert index.query_many(copy.query_hashes, DEFAULT_HASH_TYPE.threshold)[0][0] == 1


def test_large_ids_widen_storage() -> None:
    index = HashIndex(64, buffer_size=2)
    index.add_many([1, 2, 3], [10, 20, 30])
    index.add(2**40, 40)
    index.add(5, 40)
    assert index.query(40, 0) == [(5, 0), (2**40, 0)]
    assert index.query(10, 0) == [(1, 0)]
    assert index.remove(2**40) == 1 and index.query(40, 0) == [(5, 0)]
