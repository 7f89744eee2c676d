"""A bounded soak run: steady mixed traffic against one `wildflag serve`, memory sampled.

Run: `.venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 8]` (`--quick`: 1 minute).

One real `wildflag serve` process (fresh data dir, SQLite unless `--postgres`) gets
`--rate` requests per second for `--minutes`, in this mix (fixed seed):

- 55% text-only reports of new listings (each a new case);
- 15% repeats of a listing already reported (any earlier one: the case count grows);
- 15% multipart reports with one JPEG: half a new picture, half a re-encoded, resized copy
  of an earlier one (a near duplicate the image index must find);
- 15% status lookups of earlier reports with their receipt token.

The service's resident memory (VmRSS from /proc) is sampled every `--sample` seconds.
The first `--warmup-share` of the run is warm-up (caches, pools, the allocator's arenas
filling); after it, the growth from the first post-warm-up sample to the end and the
least-squares slope are printed, and the run fails (exit 1) if the growth exceeds
`--max-growth-mib` (default 25 MiB), or any request failed. Latency of the first and the
last minute is printed too, to show whether the service slows as its tables grow.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.helpers

from intake_throughput import (
    Service,
    count_rows,
    load_note,
    percentile,
    postgres_database,
    report_body,
    rss_mib,
)

SEED = 9


def memory_parts(pid: int) -> str:
    """Anonymous (the heap) and file-backed (SQLite's mapped WAL index, libraries) RSS."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("RssAnon", "RssFile", "RssShmem"):
            fields[name] = int(value.split()[0]) / 1024
    return " / ".join(
        f"{fields.get(k, float('nan')):.1f}" for k in ("RssAnon", "RssFile", "RssShmem")
    )


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Any:
    """A picture with enough structure to fingerprint (the tests' own generator)."""
    from tests.helpers import photo

    return photo(seed, size)


def jpeg(image: Any, quality: int = 90) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


class Traffic:
    """The mixed requests, and what they left to repeat or look up."""

    def __init__(self, url: str, pictures: int) -> None:
        self.url = url
        self.rng = random.Random(SEED)
        self.next_listing = 0
        self.run = self.rng.randrange(1000)
        originals = [picture(SEED * 1000 + i) for i in range(pictures)]
        self.new_pictures = [jpeg(p) for p in originals]
        self.copies = [jpeg(p.resize((480, 360)), quality=60) for p in originals]
        self.next_picture = 0
        self.receipts: list[tuple[str, str]] = []  # (reference, receipt token)
        self.latencies: list[tuple[float, str, float]] = []  # (when, kind, seconds)
        self.failures: dict[str, int] = {}

    def _listing(self) -> int:
        self.next_listing += 1
        return self.next_listing

    async def one(self, session: Any) -> None:
        import aiohttp

        roll = self.rng.random()
        start = time.perf_counter()
        if roll < 0.55:
            kind = "report"
            body = report_body(self._listing(), self.run)
            request = session.post(
                self.url + "/api/v1/reports",
                data=body,
                headers={"Content-Type": "application/json"},
            )
        elif roll < 0.70 and self.next_listing:
            kind = "repeat"
            body = report_body(self.rng.randrange(1, self.next_listing + 1), self.run)
            request = session.post(
                self.url + "/api/v1/reports",
                data=body,
                headers={"Content-Type": "application/json"},
            )
        elif roll < 0.85:
            kind = "image"
            if self.next_picture and self.rng.random() < 0.5:
                data = self.copies[self.rng.randrange(self.next_picture)]
            else:
                data = self.new_pictures[self.next_picture % len(self.new_pictures)]
                self.next_picture = min(self.next_picture + 1, len(self.new_pictures))
            form = aiohttp.FormData()
            fields = json.loads(report_body(self._listing(), self.run))
            form.add_field("report", json.dumps(fields), content_type="application/json")
            form.add_field("images", data, filename="photo.jpg", content_type="image/jpeg")
            request = session.post(self.url + "/api/v1/reports", data=form)
        elif self.receipts:
            kind = "status"
            reference, token = self.rng.choice(self.receipts)
            request = session.get(
                f"{self.url}/api/v1/reports/{reference}", headers={"X-Receipt-Token": token}
            )
        else:
            return
        try:
            async with request as answer:
                payload = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, payload = 0, type(exc).__name__.encode()
        elapsed = time.perf_counter() - start
        if status in (200, 201):
            self.latencies.append((time.monotonic(), kind, elapsed))
            if kind != "status":
                receipt = json.loads(payload)
                if receipt.get("receipt_token") and len(self.receipts) < 5000:
                    self.receipts.append((receipt["reference"], receipt["receipt_token"]))
        else:
            name = f"{kind} {status}: {payload[:120]!r}"
            self.failures[name] = self.failures.get(name, 0) + 1


async def drive(
    traffic: Traffic, pid: int, seconds: float, rate: float, sample_every: float
) -> list[tuple[float, float]]:
    """Send `rate` requests/s for `seconds`; RSS samples (seconds since start, MiB)."""
    import aiohttp

    samples: list[tuple[float, float]] = []
    parts: dict[float, str] = {}
    start = time.monotonic()
    in_flight: set[asyncio.Task[None]] = set()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def sampler() -> None:
            while (now := time.monotonic() - start) < seconds:
                samples.append((now, rss_mib(pid)))
                parts[now] = memory_parts(pid)
                await asyncio.sleep(sample_every)

        sampling = asyncio.create_task(sampler())
        sent = 0
        while (now := time.monotonic() - start) < seconds:
            due = sent / rate
            if now < due:
                await asyncio.sleep(due - now)
                continue
            if len(in_flight) < 64:  # a slow service is not buried under a backlog
                task = asyncio.create_task(traffic.one(session))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            else:
                traffic.failures["skipped: 64 requests in flight"] = (
                    traffic.failures.get("skipped: 64 requests in flight", 0) + 1
                )
            sent += 1
        await asyncio.gather(*in_flight)
        await sampling
    end = time.monotonic() - start
    samples.append((end, rss_mib(pid)))
    parts[end] = memory_parts(pid)
    PARTS.update(parts)
    return samples


#: The anon / file / shmem split of each sample, by its time.
PARTS: dict[float, str] = {}


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares MiB per second."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def latency_line(traffic: Traffic, since: float, until: float) -> str:
    window = [s for t, _, s in traffic.latencies if since <= t < until]
    if not window:
        return "no requests"
    return (
        f"{len(window)} requests, p50 {percentile(window, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(window, 0.99) * 1000:.1f} ms"
    )


def print_timeline(traffic: Traffic, t0: float, t1: float) -> None:
    """Latency minute by minute (by when the answer came), and the slowest requests: where
    in the run a slow spell falls, and what kind of request it held up."""
    kinds = ("report", "repeat", "image", "status")
    print(
        "\n| minute | answered | p50 ms | p99 ms | max ms | "
        + " | ".join(f"{kind} p90 ms" for kind in kinds)
        + " |\n|---:|---:|---:|---:|---:|"
        + "---:|" * len(kinds)
    )
    minute = 0
    while t0 + 60 * minute < t1:
        since = t0 + 60 * minute
        answers = [(k, s) for t, k, s in traffic.latencies if since <= t < since + 60]
        window = [s for _, s in answers]
        if window:
            by_kind = []
            for kind in kinds:
                times = [s for k, s in answers if k == kind]
                by_kind.append(f"{percentile(times, 0.9) * 1000:.0f}" if times else "—")
            print(
                f"| {minute + 1} | {len(window)} | {percentile(window, 0.5) * 1000:.0f} | "
                f"{percentile(window, 0.99) * 1000:.0f} | {max(window) * 1000:.0f} | "
                + " | ".join(by_kind)
                + " |"
            )
        minute += 1
    slowest = sorted(traffic.latencies, key=lambda item: -item[2])[:5]
    print(
        "slowest: "
        + ", ".join(f"{kind} {s * 1000:.0f} ms ending at {t - t0:.0f} s" for t, kind, s in slowest)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=8.0, help="requests per second")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--warmup-share", type=float, default=0.2)
    parser.add_argument("--max-growth-mib", type=float, default=25.0)
    parser.add_argument("--pictures", type=int, default=60, help="distinct pictures")
    parser.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database")
    parser.add_argument("--quick", action="store_true", help="1 minute")
    args = parser.parse_args()
    if args.quick:
        args.minutes = 1.0
    seconds = args.minutes * 60

    with tempfile.TemporaryDirectory(prefix="wf-soak-") as tmp:
        if args.postgres:
            with postgres_database() as url:
                return soak(args, seconds, Path(tmp), url)
        return soak(args, seconds, Path(tmp), None)


def soak(args: argparse.Namespace, seconds: float, workdir: Path, database_url: str | None) -> int:
    service = Service.start(workdir / "data", database_url=database_url)
    database = "PostgreSQL" if database_url else "SQLite"
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} requests/s against wildflag serve "
        f"(pid {service.process.pid}, {database}); {load_note()}"
    )
    try:
        traffic = Traffic(service.url, args.pictures)
        t0 = time.monotonic()
        samples = asyncio.run(drive(traffic, service.process.pid, seconds, args.rate, args.sample))
        t1 = time.monotonic()
        stored = count_rows(service)
    finally:
        service.stop()

    warm = [p for p in samples if p[0] >= seconds * args.warmup_share]
    middle = min(samples, key=lambda p: abs(p[0] - seconds / 2))
    growth = warm[-1][1] - warm[0][1]
    per_hour = slope(warm) * 3600
    kinds: dict[str, int] = {}
    for _, kind, _ in traffic.latencies:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"requests answered 2xx: {kinds}; failures: {traffic.failures or 'none'}")
    print(f"stored: {stored}")
    print(f"first minute: {latency_line(traffic, t0, t0 + 60)}")
    print(f"last minute:  {latency_line(traffic, t1 - 60, t1)}")
    print_timeline(traffic, t0, t1)
    print("\n| point | t (s) | RSS (MiB) | anon / file / shmem (MiB) |\n|---|---:|---:|---:|")
    for name, (t, rss) in (
        ("start", samples[0]),
        ("end of warm-up", warm[0]),
        ("middle", middle),
        ("end", samples[-1]),
    ):
        print(f"| {name} | {t:.0f} | {rss:.1f} | {PARTS.get(t, '—')} |")
    print(
        f"\nafter warm-up: growth {growth:+.1f} MiB over {warm[-1][0] - warm[0][0]:.0f} s, "
        f"slope {per_hour:+.1f} MiB/hour (least squares over {len(warm)} samples), "
        f"peak {max(r for _, r in samples):.1f} MiB; bound {args.max_growth_mib:g} MiB"
    )
    print(f"{load_note()}")
    ok = growth <= args.max_growth_mib and not traffic.failures
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
