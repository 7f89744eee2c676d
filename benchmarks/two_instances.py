"""Two `wildflag serve` instances on one PostgreSQL behind a loopback round-robin balancer.

Run: `.venv/bin/python benchmarks/two_instances.py [--duration 15] [--concurrency 16]`
(`--quick` for a short smoke run).

Deployed as the README's "Deployment" section says: a fresh PostgreSQL database migrated
once with `wildflag db upgrade`, instances started with `WILDFLAG_MIGRATE_ON_START=false`,
the same `WILDFLAG_EVIDENCE_LINK_SECRET`, a data dir each with `evidence/` on one shared
directory. The balancer is a small aiohttp reverse proxy (a separate process, this file's
`proxy` role) that sends each request to the next instance in turn.

1. Throughput of text-only reports (the client of `intake_throughput.py`, distinct
   listings) through the balancer with one instance behind it, then with two, then with
   one again (the two one-instance runs show the drift of the machine's load); the gain is
   two over the mean of the ones.
2. Races: for each of `--race-listings` listings, `--race-copies` identical reports (the
   same URL) go at once, half straight to instance A and half to B, every listing's burst
   in flight together. Then the database must hold exactly one case and one listing per
   URL, and every request must have had a 2xx. Likewise `--pictures` pictures, each sent
   at once to A and to B under two different listing URLs: one case per picture (reports
   with images take turns across instances, see `extension_backend.intake`).
3. Propagation of image hashes: a picture reported on A; as soon as A answered, a
   re-encoded, resized copy (another listing URL) is reported on B; B must put it in A's
   case. The time from A's answer to B's answer is printed (target: within 1 s), and the
   same after a burst of pictures written concurrently on both instances (ids committed
   out of order must not be skipped by the other instance's catch-up).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from intake_throughput import (
    HEADERS,
    PYTHON,
    WILDFLAG,
    Process,
    Result,
    Service,
    _pg,
    free_port,
    load_note,
    pg_fetch,
    postgres_available,
    postgres_database,
    run_client,
    wait_http,
)
from report import Printer
from soak import jpeg, picture

FORWARDED = ("content-type", "authorization", "idempotency-key", "x-receipt-token")
ANSWERED = ("content-type", "retry-after", "idempotent-replayed", "cache-control")


def serve_proxy(port: int, backends: list[str]) -> None:
    """A round-robin reverse proxy: each request to the next backend, body and all."""
    import aiohttp
    from aiohttp import web

    turn = itertools.cycle(backends)
    state: dict[str, aiohttp.ClientSession] = {}

    async def session_context(app: web.Application) -> Any:
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(connector=connector) as session:
            state["session"] = session
            yield

    async def forward(request: web.Request) -> web.Response:
        if request.path == "/lb/healthz":
            return web.json_response({"status": "ok"})
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        headers["X-Forwarded-For"] = request.remote or ""
        url = next(turn) + request.path_qs
        async with state["session"].request(
            request.method, url, data=body, headers=headers
        ) as answer:
            payload = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() in ANSWERED}
            return web.Response(body=payload, status=answer.status, headers=kept)

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.cleanup_ctx.append(session_context)
    app.router.add_route("*", "/{tail:.*}", forward)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def start_proxy(workdir: Path, backends: list[str]) -> tuple[Process, str]:
    port = free_port()
    argv = [PYTHON, __file__, "proxy", "--port", str(port)]
    for backend in backends:
        argv += ["--backend", backend]
    process = Process(argv, dict(os.environ), workdir / f"proxy-{port}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/lb/healthz", process=process.popen)
    return process, url


def through_proxy(workdir: Path, backends: list[Service], args: argparse.Namespace) -> Result:
    """A client run through a fresh balancer; the server CPU is that of the instances."""
    process, url = start_proxy(workdir, [b.url for b in backends])
    try:
        pids = tuple(b.pid for b in backends)
        return run_client(url, args.duration, args.warmup, args.concurrency, None, pids)
    finally:
        process.stop()


# --- races and propagation ----------------------------------------------------------------


def listing_body(url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "url": url,
        "title": "Carved ivory figurine",
        "text": "Old elephant ivory, hand carved, 12 cm, shipping from Lyon",
        "seller_location": "Lyon, France",
    }
    body.update(extra)
    return body


async def post(session: Any, base: str, body: dict[str, Any], image: bytes | None = None) -> Any:
    import aiohttp

    if image is None:
        request = session.post(base + "/api/v1/reports", json=body)
    else:
        form = aiohttp.FormData()
        form.add_field("report", json.dumps(body), content_type="application/json")
        form.add_field("images", image, filename="photo.jpg", content_type="image/jpeg")
        request = session.post(base + "/api/v1/reports", data=form)
    async with request as answer:
        payload = await answer.json(content_type=None)
        return answer.status, payload


async def cases_of(database: str, references: list[str]) -> dict[str, int]:
    """The case of each report reference, read straight from the database."""
    quoted = ",".join("'" + r.replace("'", "") + "'" for r in references)
    sql = f"SELECT reference, case_id FROM reports WHERE reference IN ({quoted})"
    return {row[0]: int(row[1]) for row in await pg_fetch(sql, database)}


async def race_listings(a: str, b: str, listings: int, copies: int, run: str) -> dict[str, Any]:
    """Each listing's `copies` reports at once, alternating A and B; every listing together."""
    import aiohttp

    statuses: dict[int, int] = {}
    urls = [f"https://www.ebay.fr/itm/{run}{n:06d}" for n in range(listings)]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        jobs = [
            post(session, (a, b)[i % 2], listing_body(url)) for url in urls for i in range(copies)
        ]
        for status, _ in await asyncio.gather(*jobs):
            statuses[status] = statuses.get(status, 0) + 1
    return {"statuses": statuses, "urls": urls}


async def race_pictures(
    a: str, b: str, pictures: list[bytes], run: str
) -> tuple[dict[int, int], list[tuple[str, str]]]:
    """Each picture at once to A and B under two different URLs; the two references."""
    import aiohttp

    statuses: dict[int, int] = {}
    pairs: list[tuple[str, str]] = []
    async with aiohttp.ClientSession() as session:
        jobs = []
        for n, data in enumerate(pictures):
            for side, base in enumerate((a, b)):
                url = f"https://www.gumtree.com/p/race/x/{run}{n:04d}{side}"
                jobs.append(post(session, base, listing_body(url), data))
        answers = await asyncio.gather(*jobs)
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    for first, second in zip(answers[::2], answers[1::2], strict=True):
        if first[0] == 201 and second[0] == 201:
            pairs.append((first[1]["reference"], second[1]["reference"]))
    return statuses, pairs


async def propagation(
    a: str, b: str, database: str, originals: list[Any], run: str, burst: bool
) -> list[float | None]:
    """Seconds from A's answer to B's answer that joined A's case (None: B missed it).

    With `burst`, every original is first reported at once, spread over both instances,
    and each copy then goes (all at once) to the instance that did not store its original:
    ids committed out of order on one instance must not be skipped by the other's catch-up.
    """
    import aiohttp

    def copy_of(image: Any) -> bytes:
        smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4))
        return jpeg(smaller, quality=55)

    times: list[float | None] = []
    async with aiohttp.ClientSession() as session:
        if burst:
            first = await asyncio.gather(
                *(
                    post(
                        session,
                        (a, b)[n % 2],
                        listing_body(f"https://www.gumtree.com/p/burst/o/{run}{n:04d}"),
                        jpeg(image),
                    )
                    for n, image in enumerate(originals)
                )
            )
            answered = time.perf_counter()

            async def copy(n: int, image: Any) -> tuple[Any, float]:
                answer = await post(
                    session,
                    (b, a)[n % 2],
                    listing_body(f"https://www.gumtree.com/p/burst/c/{run}{n:04d}"),
                    copy_of(image),
                )
                return answer, time.perf_counter() - answered

            copies = await asyncio.gather(*(copy(n, im) for n, im in enumerate(originals)))
            second = [answer for answer, _ in copies]
            seconds = [took for _, took in copies]
            refs = [r[1]["reference"] for r in (*first, *second) if r[0] == 201]
            cases = await cases_of(database, refs)
            for (s1, b1), (s2, b2), took in zip(first, second, seconds, strict=True):
                same = s1 == s2 == 201 and cases[b1["reference"]] == cases[b2["reference"]]
                times.append(took if same else None)
            return times
        for n, image in enumerate(originals):
            s1, b1 = await post(
                session,
                a,
                listing_body(f"https://www.gumtree.com/p/prop/o/{run}{n:04d}"),
                jpeg(image),
            )
            answered = time.perf_counter()
            s2, b2 = await post(
                session,
                b,
                listing_body(f"https://www.gumtree.com/p/prop/c/{run}{n:04d}"),
                copy_of(image),
            )
            took = time.perf_counter() - answered
            if s1 != 201 or s2 != 201:
                times.append(None)
                continue
            cases = await cases_of(database, [b1["reference"], b2["reference"]])
            times.append(took if cases[b1["reference"]] == cases[b2["reference"]] else None)
    return times


def summary(times: list[float | None]) -> list[str]:
    hits = [t for t in times if t is not None]
    if not hits:
        return [f"0/{len(times)}", "—", "—"]
    return [
        f"{len(hits)}/{len(times)}",
        f"{statistics.median(hits) * 1000:.0f}",
        f"{max(hits) * 1000:.0f}",
    ]


# --- the benchmark ------------------------------------------------------------------------


def upgrade(database_url: str, data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDFLAG_")}
    env.update(WILDFLAG_DATABASE_URL=database_url, WILDFLAG_DATA_DIR=str(data_dir))
    subprocess.run([WILDFLAG, "db", "upgrade"], env=env, check=True, capture_output=True)


def instance_dir(workdir: Path, name: str, shared_evidence: Path) -> Path:
    """A data dir of its own whose `evidence/` is the shared store (a volume, in production)."""
    data = workdir / name
    data.mkdir()
    (data / "evidence").symlink_to(shared_evidence, target_is_directory=True)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role")
    proxy = sub.add_parser("proxy", help="(internal) the round-robin balancer")
    proxy.add_argument("--port", type=int, required=True)
    proxy.add_argument("--backend", action="append", required=True)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per throughput run")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--race-listings", type=int, default=100)
    parser.add_argument("--race-copies", type=int, default=4, help="reports per listing at once")
    parser.add_argument("--pictures", type=int, default=20, help="pictures for steps 2 and 3")
    parser.add_argument("--quick", action="store_true", help="5 s runs, fewer races")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--no-throughput", action="store_true", help="steps 2 and 3 only")
    args = parser.parse_args()
    if args.role == "proxy":
        serve_proxy(args.port, args.backend)
        return 0
    if args.quick:
        args.duration, args.warmup, args.race_listings, args.pictures = 5.0, 1.0, 30, 8
    out = Printer(args.markdown)
    if (missing := postgres_available()) is not None:
        print(f"PostgreSQL not reachable ({missing}): nothing to measure")
        return 0
    run = f"{random.randrange(10**5):05d}"
    failed = False
    with tempfile.TemporaryDirectory(prefix="wf-two-") as tmp, postgres_database() as db_url:
        workdir = Path(tmp)
        database = db_url.rsplit("/", 1)[1]
        shared = workdir / "shared-evidence"
        shared.mkdir()
        upgrade(db_url, workdir / "upgrade")
        common = {"migrate_on_start": "false"}
        a = Service.start(instance_dir(workdir, "a", shared), db_url, **common)
        b = Service.start(instance_dir(workdir, "b", shared), db_url, **common)
        try:
            out.line(
                f"two instances on one PostgreSQL database; {args.duration:g} s per run after "
                f"{args.warmup:g} s warm-up, concurrency {args.concurrency}; {load_note()}"
            )
            if not args.no_throughput:
                results = {
                    "one instance, direct": run_client(
                        a.url, args.duration, args.warmup, args.concurrency, None, (a.pid,)
                    ),
                    "balancer → one instance": through_proxy(workdir, [a], args),
                    "balancer → two instances": through_proxy(workdir, [a, b], args),
                    "balancer → one instance (again)": through_proxy(workdir, [b], args),
                }
                ones = [
                    results[k].requests_per_s
                    for k in ("balancer → one instance", "balancer → one instance (again)")
                ]
                gain = results["balancer → two instances"].requests_per_s / statistics.fmean(ones)
                out.heading("Throughput, text-only reports")
                out.table(HEADERS, [r.row(name) for name, r in results.items()])
                out.line(f"\ngain of two instances over one: {gain:.2f}x; {load_note()}")

            out.heading("Same listing at both instances at once")
            race = asyncio.run(
                race_listings(a.url, b.url, args.race_listings, args.race_copies, run)
            )
            quoted = ",".join(f"'{u}'" for u in race["urls"])
            per_url = _pg(
                f"SELECT url, count(DISTINCT case_id), count(*) FROM reports "
                f"WHERE url IN ({quoted}) GROUP BY url",
                database,
            )
            split = [row for row in per_url if row[1] != 1]
            listings = _pg(
                "SELECT count(*) FROM listings WHERE url_key LIKE 'ebay:%' AND url LIKE "
                f"'%/itm/{run}%'",
                database,
            )[0][0]
            reports = sum(int(row[2]) for row in per_url)
            out.table(
                ["listings raced", "reports at once", "answers", "reports stored",
                 "listings stored", "URLs in >1 case"],
                [[args.race_listings, args.race_listings * args.race_copies,
                  json.dumps(race["statuses"]), reports, listings, len(split)]],
            )  # fmt: skip
            ok = (
                not split
                and listings == args.race_listings
                and reports == args.race_listings * args.race_copies
                and set(race["statuses"]) <= {200, 201}
            )
            out.line("exactly one case per listing: " + ("PASS" if ok else "FAIL"))
            failed |= not ok

            originals = [picture(7000 + n) for n in range(args.pictures * 3)]
            statuses, pairs = asyncio.run(
                race_pictures(a.url, b.url, [jpeg(p) for p in originals[: args.pictures]], run)
            )
            cases = asyncio.run(cases_of(database, [r for pair in pairs for r in pair]))
            joined = sum(cases[x] == cases[y] for x, y in pairs)
            out.line(
                f"same picture, no common URL, at both at once: {joined}/{len(pairs)} pairs in "
                f"one case (answers {statuses}): " + ("PASS" if joined == args.pictures else "FAIL")
            )
            failed |= joined != args.pictures

            out.heading("A picture stored on A, its near duplicate reported on B")
            sequential = asyncio.run(
                propagation(
                    a.url, b.url, database,
                    originals[args.pictures : 2 * args.pictures], run, burst=False,
                )
            )  # fmt: skip
            burst = asyncio.run(
                propagation(a.url, b.url, database, originals[2 * args.pictures :], run, burst=True)
            )
            out.table(
                ["scenario", "B joined A's case", "median ms", "max ms"],
                [
                    ["one at a time: copy sent as A answers", *summary(sequential)],
                    ["after a concurrent burst on A and B", *summary(burst)],
                ],
            )
            within = all(t is not None and t <= 1.0 for t in sequential)
            matched = all(t is not None for t in burst)
            out.line(
                "one at a time, every copy matched within 1 s: " + ("PASS" if within else "FAIL")
            )
            out.line("after the burst, every copy matched: " + ("PASS" if matched else "FAIL"))
            failed |= not (within and matched)
        finally:
            a.stop()
            b.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
