"""Speed, exactness and memory of the near-duplicate index against numpy brute force.

Run: `.venv/bin/python benchmarks/hash_index.py [--n 1000000] [--queries 1000] [--pictures 1500]`.

1. N random 256-bit hashes (fixed seed) plus planted near neighbours, loaded with `add_many`.
2. Queries at the threshold radius of the default hash type (31): edited copies of planted
   hashes (0-40 bits flipped), unrelated random hashes, and whole-picture queries of 15
   hashes (a fingerprint's query hashes: stored regions plus mirror/rotation probes).
   Median and p99 per query, and numpy brute force (XOR + popcount over packed uint64
   words) in the same run; the ratio is the figure to watch (target ≥ 10×). Times here
   are CPU times of this process (`time.process_time`), the total run time is wall time.
3. Exactness: index answers equal brute-force answers on a sample (ids and distances).
4. Insert throughput: bulk load, and one-at-a-time inserts into the loaded index (merges
   included); memory per hash from the arrays' sizes (`HashIndex.nbytes`: hashes, ids,
   tables, bucket offsets), cross-checked with tracemalloc (numpy reports its allocations
   to it) on a separate load, which also gives the transient peak of a load.
5. Real-picture-like hashes: fingerprints of synthetic photos (benchmarks/image_robustness.py's
   generator, small sizes): false candidates per query among unrelated pictures at the
   threshold, their closest distance, and how uneven their chunk buckets are compared with
   random hashes (which scales the candidate counts of step 2 for real data).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.fingerprints import DEFAULT_HASH_TYPE, Fingerprint, Unhashable  # noqa: E402
from matching.hashindex import HashIndex, brute_force_distances  # noqa: E402

BITS = DEFAULT_HASH_TYPE.bits
RADIUS = DEFAULT_HASH_TYPE.threshold


def random_hashes(rng: np.random.Generator, count: int) -> list[int]:
    raw = rng.integers(0, 2**64, size=(count, BITS // 64), dtype=np.uint64, endpoint=False)
    data = raw.astype(">u8").tobytes()
    width = BITS // 8
    return [int.from_bytes(data[i : i + width], "big") for i in range(0, len(data), width)]


def flip(rng: np.random.Generator, value: int, bits: int) -> int:
    for bit in rng.choice(BITS, size=bits, replace=False):
        value ^= 1 << int(bit)
    return value


def words(value: int) -> np.ndarray:
    return np.frombuffer(value.to_bytes(BITS // 8, "big"), dtype=">u8").astype(np.uint64)


def timed(fn, *args):  # type: ignore[no-untyped-def]
    """CPU time of one call (steady when other processes load the machine) and its result."""
    start = time.process_time()
    result = fn(*args)
    return time.process_time() - start, result


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="random hashes in the index")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--pictures", type=int, default=1500, help="synthetic photos, step 5")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    started = time.perf_counter()

    print(f"index of {args.n:,} random {BITS}-bit hashes + planted neighbours, radius {RADIUS}")
    hashes = random_hashes(rng, args.n)
    planted = hashes[: args.queries]
    index = HashIndex(BITS)

    def load() -> None:
        index.add_many(list(range(args.n)), hashes)
        index.flush()

    build_time, _ = timed(load)
    table = index._hashes[: index._size]  # the same packed words, for brute force
    print(
        f"bulk load (add_many):        {build_time:6.2f} s  ({args.n / build_time:,.0f} hashes/s)"
    )
    bytes_per_hash = (index.nbytes - index.fixed_nbytes) / len(index)
    print(
        f"memory:                      {index.nbytes / 2**20:6.1f} MiB"
        f" = {bytes_per_hash:.1f} bytes/hash"
        f" + {index.fixed_nbytes / 2**20:.1f} MiB fixed"
        f" (10^7 hashes ≈ {(bytes_per_hash * 1e7 + index.fixed_nbytes) / 1e9:.2f} GB)"
    )

    traced_held, traced_peak = traced_load(hashes[:200_000])
    print(
        f"tracemalloc, loading {min(args.n, 200_000):,} hashes: {traced_held:.1f} bytes/hash"
        f" held, {traced_peak:.1f} bytes/hash at the peak of the load (fixed 4 MiB excluded)"
    )

    edited = [flip(rng, value, int(rng.integers(0, 41))) for value in planted]
    unrelated = random_hashes(rng, args.queries)
    index_times, brute_times, mismatches, candidates = [], [], 0, []
    unrelated_hits = 0
    for i, query in enumerate(edited + unrelated):
        elapsed, found = timed(index.query, query, RADIUS)
        index_times.append(elapsed)
        candidates.append(len(index._candidates(words(query), RADIUS)))
        if i >= len(edited):
            unrelated_hits += len(found)
        if i % 10 == 0:  # brute force on every 10th query: baseline and exactness sample
            elapsed, distances = timed(brute_force_distances, table, words(query))
            brute_times.append(elapsed)
            rows = np.flatnonzero(distances <= RADIUS)
            pairs = zip(distances[rows], index._row_ids(rows), strict=True)
            expected = sorted((int(d), int(i)) for d, i in pairs)
            mismatches += [(i, d) for d, i in expected] != found
    fingerprint_times = []
    for value in planted[:200]:
        probes = [value, *random_hashes(rng, 14)]  # 15 query hashes like one picture
        elapsed, _ = timed(index.query_many, probes, RADIUS)
        fingerprint_times.append(elapsed)

    index_median = statistics.median(index_times)
    brute_median = statistics.median(brute_times)
    print(
        f"\nqueries at radius {RADIUS} ({len(index_times)} single-hash,"
        f" {len(brute_times)} brute force)"
    )
    print(f"{'':34}{'median ms':>10}{'p99 ms':>10}")
    print(
        f"{'HashIndex.query':34}{index_median * 1e3:>10.3f}"
        f"{percentile(index_times, 0.99) * 1e3:>10.3f}"
    )
    print(
        f"{'numpy brute force (baseline)':34}{brute_median * 1e3:>10.3f}"
        f"{percentile(brute_times, 0.99) * 1e3:>10.3f}"
    )
    print(
        f"{'HashIndex.query_many (15 hashes)':34}"
        f"{statistics.median(fingerprint_times) * 1e3:>10.3f}"
        f"{percentile(fingerprint_times, 0.99) * 1e3:>10.3f}"
    )
    print(f"speed-up over brute force:   {brute_median / index_median:.1f}×  (target ≥ 10×)")
    print(
        f"exactness: {len(brute_times) - mismatches}/{len(brute_times)}"
        " sampled queries equal brute force"
    )
    print(
        f"candidates checked per query: median {statistics.median(candidates):.0f},"
        f" max {max(candidates)} (of {args.n:,})"
    )
    print(f"false results for {len(unrelated)} unrelated random queries: {unrelated_hits}")

    extra = min(20_000, max(1000, args.n // 50))
    extra_hashes = random_hashes(rng, extra)
    insert_time = 0.0
    for offset, value in enumerate(extra_hashes):
        elapsed, _ = timed(index.add, args.n + offset, value)
        insert_time += elapsed
    visible = index.query(extra_hashes[-1], 0) == [(args.n + extra - 1, 0)]
    print(
        f"\none-at-a-time inserts into the loaded index: {extra} in {insert_time:.2f} s"
        f" = {insert_time / extra * 1e6:.0f} µs/insert amortised (merges included);"
        f" last insert visible at once: {visible}"
    )

    real_like(args.pictures)
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0 if mismatches == 0 and visible else 1


def traced_load(hashes: list[int]) -> tuple[float, float]:
    """Bytes per hash that an index holds after loading, and at the peak of the load, as
    tracemalloc sees them (everything allocated meanwhile, not only what nbytes counts)."""
    import gc
    import tracemalloc

    ids = list(range(len(hashes)))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = HashIndex(BITS)
    index.add_many(ids, hashes)
    index.flush()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fixed = index.fixed_nbytes
    return (held - before - fixed) / len(hashes), (peak - before - fixed) / len(hashes)


def real_like(pictures: int) -> None:
    """False candidates and bucket skew with hashes of photo-like pictures."""
    import io

    from benchmarks.image_robustness import synthetic_photo

    if pictures <= 0:
        return
    rng = np.random.default_rng(11)
    prints: list[Fingerprint] = []
    start = time.perf_counter()
    for _ in range(pictures):
        image = synthetic_photo(rng, scale=0.35)
        data = io.BytesIO()
        image.save(data, "JPEG", quality=90)
        try:
            prints.append(DEFAULT_HASH_TYPE.compute(data.getvalue()))
        except Unhashable:
            continue
    index = HashIndex(BITS)
    owners = np.array([i for i, fp in enumerate(prints) for _ in fp.stored])
    index.add_many(owners.tolist(), [value for fp in prints for value in fp.stored])
    index.flush()
    table = index._hashes[: index._size]
    owners = index._row_ids(np.arange(index._size))  # a merge sorts the rows: owners follow
    counts = dict.fromkeys((RADIUS, 40, 50, 60, 70), 0)
    closest, total, sum1, sum2, checked = BITS, 0, 0.0, 0.0, 0
    for i, fp in enumerate(prints):
        others = owners != i
        for query in fp.query_hashes:
            distances = brute_force_distances(table[others], words(query))
            for limit in counts:
                counts[limit] += int((distances <= limit).sum())
            closest = min(closest, int(distances.min()))
            total += len(distances)
            sum1 += float(distances.sum())
            sum2 += float((distances.astype(np.float64) ** 2).sum())
            checked += len(index._candidates(words(query), RADIUS))
    mean = sum1 / total
    spread = (sum2 / total - mean**2) ** 0.5
    from math import erfc, sqrt

    normal_tail = 0.5 * erfc((mean - RADIUS - 0.5) / (spread * sqrt(2)))
    per_query = len(prints[0].query_hashes) * statistics.mean(len(fp.stored) for fp in prints)
    uniform = sum(len(fp.query_hashes) for fp in prints) * 17 * 16 * len(index) / 65536
    print(
        f"\nreal-picture-like hashes: {len(prints)} synthetic photos, {len(index)} stored hashes"
        f" ({len(index) / len(prints):.1f}/picture), {time.perf_counter() - start:.0f} s"
    )
    print(
        f"  {total:,} (query hash, stored hash) pairs of unrelated pictures: distance mean"
        f" {mean:.1f}, sd {spread:.1f}, closest {closest}"
    )
    print("  pairs within " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    print(
        f"  normal-tail estimate of P(d ≤ {RADIUS}) per hash pair: {normal_tail:.1e};"
        f" × {per_query:.0f} hash pairs per picture pair × 10^6 pictures ="
        f" {normal_tail * per_query * 1e6:.1e} false candidates per picture query"
    )
    print(
        f"  bucket skew: {checked / uniform:.1f}× the candidates random hashes would give"
        " (multiply step 2's candidate counts by this for real data)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
