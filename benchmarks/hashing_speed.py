"""Cost of fingerprinting one photo, against a full Pillow decode of the same file.

Run: `.venv/bin/python benchmarks/hashing_speed.py [--repeat N]`.

The photo: a CC0 picture (../shared/data/images/cc0/coffee.png, or a synthetic one when that
folder is absent) upscaled to 1600×1200 and saved as JPEG quality 85, the size and quality of
a typical marketplace listing photo. Baseline: `Image.open(...).load()`, a full decode to RGB.
Both are timed interleaved, many times, in CPU time of this process (`time.process_time`:
what a hashing worker pays, and steady when other processes load the machine, which wall
time is not); the minimum and the median are printed, and the ratio of medians is the figure
to watch (target ≤ 0.5: hashing decodes in draft mode). The smallest draft decode alone is
printed as the floor: no hash of the file can cost less, and what hashing adds to it (the
preprocessing and hash arithmetic, the part this code controls) is printed on its own. The
wall-clock ratio is printed too. Also: the same for an 800×600 copy, and how far apart the
two copies hash.

OPENBLAS_NUM_THREADS is left as the service leaves it (unset: one BLAS thread per core):
`matching.fingerprints` keeps its matrix products on the calling thread by itself. Run with
OPENBLAS_NUM_THREADS=1 to compare; the figures should agree.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matching.fingerprints import DEFAULT_HASH_TYPE, canonical_grey  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "images" / "cc0" / "coffee.png"


def photo(size: tuple[int, int], quality: int = 85) -> bytes:
    if SOURCE.exists():
        image = Image.open(SOURCE).convert("RGB")
    else:
        print(f"({SOURCE} not found: using a synthetic picture)")
        rng = np.random.default_rng(1)
        coarse = rng.uniform(0, 255, size=(12, 16, 3)).astype(np.uint8)
        image = Image.fromarray(coarse, "RGB")
    out = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _draft_floor(data: bytes) -> None:
    """The least any hash of this JPEG pays: libjpeg's smallest draft (1/8 scale, luma only)
    still entropy-decodes every coefficient of every block, which is most of a full decode
    at marketplace qualities."""
    image = Image.open(io.BytesIO(data))
    image.draft("L", (1, 1))
    image.load()


Times = dict[str, list[float]]


def interleaved(tasks: dict[str, Callable[[], object]], repeat: int) -> tuple[Times, Times]:
    """CPU times and wall times of every task, run in turn `repeat` times."""
    cpu: Times = {name: [] for name in tasks}
    wall: Times = {name: [] for name in tasks}
    for task in tasks.values():
        task()  # warm caches
    for _ in range(repeat):
        for name, task in tasks.items():
            start_cpu, start_wall = time.process_time(), time.perf_counter()
            task()
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start_wall)
    return cpu, wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    results = []
    for size in ((1600, 1200), (800, 600)):
        data = photo(size)
        times, wall = interleaved(
            {
                "full Pillow decode (baseline)": lambda data=data: Image.open(
                    io.BytesIO(data)
                ).load(),
                "draft decode alone, 1/8 scale (floor)": lambda data=data: _draft_floor(data),
                "canonical_grey (draft decode, trim)": lambda data=data: canonical_grey(data),
                f"{DEFAULT_HASH_TYPE.name} compute": lambda data=data: DEFAULT_HASH_TYPE.compute(
                    data
                ),
            },
            args.repeat,
        )
        print(
            f"\n{size[0]}×{size[1]} JPEG q85, {len(data) // 1024} KiB,"
            f" {args.repeat} interleaved runs"
        )
        print(f"{'CPU time':40}{'min ms':>10}{'median ms':>12}{'ratio':>8}")
        baseline = statistics.median(times["full Pillow decode (baseline)"])
        for name, values in times.items():
            median = statistics.median(values)
            ratio = median / baseline
            print(f"{name:40}{min(values) * 1e3:>10.2f}{median * 1e3:>12.2f}{ratio:>8.3f}")
        compute = f"{DEFAULT_HASH_TYPE.name} compute"
        floor = statistics.median(times["draft decode alone, 1/8 scale (floor)"])
        added = statistics.median(times[compute]) - floor
        print(
            f"{'hashing beyond the floor':40}{'':>10}{added * 1e3:>12.2f}{added / baseline:>8.3f}"
        )
        wall_ratio = statistics.median(wall[compute]) / statistics.median(
            wall["full Pillow decode (baseline)"]
        )
        print(f"{'wall-clock ratio of medians, compute':40}{'':>10}{'':>12}{wall_ratio:>8.3f}")
        results.append(DEFAULT_HASH_TYPE.compute(data))
    large, small = results
    print(
        "\n1600×1200 vs 800×600 copy: primary hashes"
        f" {DEFAULT_HASH_TYPE.distance(large.primary, small.primary)}"
        f" bits apart, fingerprint distance {DEFAULT_HASH_TYPE.fingerprint_distance(large, small)}"
        f" (threshold {DEFAULT_HASH_TYPE.threshold})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
