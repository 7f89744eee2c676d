"""Intake throughput over real HTTP: `wildflag serve` on SQLite and on PostgreSQL against a
bare aiohttp JSON echo server, same machine, same run, same client, same bodies.

Run: `.venv/bin/python benchmarks/intake_throughput.py [--duration 20] [--concurrency 16]`
(`--quick` for a short smoke run).

1. The echo (a separate process: parse the JSON body, answer it back as JSON, 201) is
   measured first and again last: it is the client's ceiling on this machine, and the two
   figures show how much the load of the machine moved during the run.
2. `wildflag serve` as a real process with a fresh data dir on SQLite, then on a fresh
   PostgreSQL database (created on 127.0.0.1:5432 and dropped by this script). The anonymous
   rate limit is raised through `WILDFLAG_ANONYMOUS_REPORTS_PER_MINUTE`; the log level is
   WARNING (no access log line per request), the delivery worker runs as in production.
3. The client is a separate process (asyncio + aiohttp, `--concurrency` requests in
   flight, a fresh connection pool) sending text-only reports, each naming a distinct
   listing URL, so that every report makes a case; the same bodies go to the echo.
   Requests in the first `--warmup` seconds are not counted. It prints requests/s, p50
   and p99 latency, errors and its own CPU use (near 100% means the client, not the
   server, set the pace).
4. Afterwards the database is counted: cases = listings = reports = the 201s received.

The ratio service/echo is the figure to watch (target ≥ 25% on SQLite, issue 9). This
module also holds the helpers `two_instances.py` and `soak.py` use (processes, databases,
bodies, the client).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WILDFLAG = str(Path(PYTHON).with_name("wildflag"))
POSTGRES_ADMIN = os.environ.get(
    "WILDFLAG_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# Listing texts: a third name a CITES species (the matcher finds it), the rest are the
# plain goods most reports turn out to be. Sizes 250-600 bytes of JSON, as the extension
# sends for a text-only report.
TEXTS = [
    (
        "Antique carved elephant ivory tusk",
        "Genuine ivory, 1.2 kg, collection only. Old family piece, certificate lost. "
        "Serious buyers only, cash on collection, can post within the UK.",
    ),
    (
        "Vintage wooden jewellery box with brass inlay",
        "Hand made, some wear on the lid, key included. Measures 30 x 20 x 12 cm. "
        "Smoke free home, happy to combine postage with other items.",
    ),
    (
        "Live African grey parrot, hand reared",
        "Young Psittacus erithacus, talking, comes with cage and food. Delivery possible "
        "across Europe, papers available on request.",
    ),
    (
        "Set of six ceramic coffee mugs",
        "Blue glaze, dishwasher safe, never used, still in the original box. Collection "
        "from the town centre or posted at cost.",
    ),
    (
        "Pangolin scales for traditional medicine",
        "Dried scales, 500 g bags, bulk discount for wholesale orders. Shipping worldwide "
        "discreetly, payment by transfer.",
    ),
    (
        "Mountain bike, 21 gears, 26 inch wheels",
        "Recently serviced, new brake pads and chain. A few scratches on the frame, rides "
        "well. Lock and lights included in the price.",
    ),
]
LOCATIONS = ["London, United Kingdom", "Lyon, France", "Madrid, Spain", "Berlin, Germany"]


def report_body(number: int, run: int) -> bytes:
    """A text-only report of listing `number`: a distinct eBay item per number and run."""
    title, text = TEXTS[number % len(TEXTS)]
    body = {
        "url": f"https://www.ebay.co.uk/itm/{run:03d}{number:09d}",
        "title": title,
        "text": text,
        "seller_location": LOCATIONS[number % len(LOCATIONS)],
        "price": str(10 + number % 990),
        "currency": "GBP",
    }
    return json.dumps(body).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mib(pid: int) -> float:
    """The resident memory of process `pid` in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(
    url: str, timeout: float = 60.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until GET `url` answers 200 (a started server is ready)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process behind {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class Process:
    """A child process in its own process group, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=ROOT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log_file.close()

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Service:
    """`wildflag serve` as a real process on a free loopback port."""

    process: Process
    url: str
    data_dir: Path
    database_url: str | None

    @classmethod
    def start(
        cls,
        data_dir: Path,
        database_url: str | None = None,
        port: int | None = None,
        **settings: str,
    ) -> Service:
        port = port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WILDFLAG_")}
        env.update(
            WILDFLAG_DATA_DIR=str(data_dir),
            WILDFLAG_ANONYMOUS_REPORTS_PER_MINUTE="1000000000",
            WILDFLAG_LOG_LEVEL="WARNING",
            # The same on every instance, as the deployment guide asks.
            WILDFLAG_EVIDENCE_LINK_SECRET="benchmark-secret-" + "x" * 32,
        )
        if database_url:
            env["WILDFLAG_DATABASE_URL"] = database_url
        env.update({f"WILDFLAG_{k.upper()}": v for k, v in settings.items()})
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [WILDFLAG, "serve", "--host", "127.0.0.1", "--port", str(port)]
        process = Process(argv, env, data_dir.parent / f"serve-{port}.log")
        service = cls(process, f"http://127.0.0.1:{port}", data_dir, database_url)
        try:
            wait_http(service.url + "/readyz", process=process.popen)
        except BaseException:
            process.stop()
            print(process.tail(), file=sys.stderr)
            raise
        return service

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        self.process.stop()


def start_echo(workdir: Path) -> tuple[Process, str]:
    port = free_port()
    argv = [PYTHON, __file__, "echo", "--port", str(port)]
    process = Process(argv, dict(os.environ), workdir / f"echo-{port}.log")
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz", process=process.popen)
    return process, url


def serve_echo(port: int) -> None:
    """The baseline: aiohttp parsing a JSON body and answering it back as JSON."""
    from aiohttp import web

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json(), status=201)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/api/v1/reports", echo)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_dsn(database: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_ADMIN).set(drivername="postgresql")
    if database:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


async def pg_fetch(sql: str, database: str | None = None) -> list[Any]:
    """The rows of one statement on the benchmark's PostgreSQL server (admin database)."""
    import asyncpg

    connection = await asyncpg.connect(_pg_dsn(database), timeout=5)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def _pg(sql: str, database: str | None = None) -> list[Any]:
    return asyncio.run(pg_fetch(sql, database))


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one measurement (SQLAlchemy URL), dropped after."""
    from sqlalchemy.engine import make_url

    name = f"wf_bench_{uuid.uuid4().hex[:10]}"
    _pg(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(_pg_dsn(name))
            .set(drivername="postgresql+asyncpg")
            .render_as_string(hide_password=False)
        )
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        _pg("SELECT 1")
    except Exception as exc:  # any failure to connect: the PostgreSQL half is skipped
        return f"{type(exc).__name__}: {exc}"
    return None


COUNT_SQL = {
    "cases": "SELECT count(*) FROM cases",
    "listings": "SELECT count(*) FROM listings",
    "reports": "SELECT count(*) FROM reports",
}


def count_rows(service: Service) -> dict[str, int]:
    """How many cases, listings and reports the service's database holds."""
    if service.database_url:
        from sqlalchemy.engine import make_url

        database = make_url(service.database_url).database
        return {k: int(_pg(sql, database)[0][0]) for k, sql in COUNT_SQL.items()}
    with contextlib.closing(sqlite3.connect(service.data_dir / "wildflag.sqlite3")) as db:
        return {k: int(db.execute(sql).fetchone()[0]) for k, sql in COUNT_SQL.items()}


# --- the client ---------------------------------------------------------------------------


@dataclass
class Result:
    """What one client run measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    ok: int
    errors: int
    counted: int
    sent: int
    accepted: int  # every 2xx, warm-up included: what the database must hold
    client_cpu: float  # the client's CPU seconds per wall second during the run
    statuses: dict[str, int]
    # The server's CPU per wall second, and CPU milliseconds per 2xx answer (when measured).
    server_cpu: float = float("nan")
    server_ms_per_request: float = float("nan")

    def row(self, name: str) -> list[str]:
        return [
            name,
            f"{self.requests_per_s:,.0f}",
            f"{self.p50_ms:.1f}",
            f"{self.p99_ms:.1f}",
            f"{self.errors}",
            f"{self.client_cpu:.0%}",
            f"{self.server_cpu:.0%}",
            f"{self.server_ms_per_request:.1f}",
        ]


HEADERS = [
    "target", "requests/s", "p50 ms", "p99 ms", "errors", "client CPU", "server CPU",
    "server CPU ms/request",
]  # fmt: skip


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def _client(url: str, duration: float, warmup: float, concurrency: int, run: int) -> Result:
    import aiohttp

    counter = iter(range(10**9))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    ok = errors = sent = accepted = 0
    start = time.perf_counter()
    counting_from = start + warmup
    stop_at = counting_from + duration
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal ok, errors, sent, accepted
            while (now := time.perf_counter()) < stop_at:
                body = report_body(next(counter), run)
                sent += 1
                try:
                    async with session.post(url, data=body, headers=headers) as answer:
                        await answer.read()
                        status = str(answer.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status = type(exc).__name__
                done = time.perf_counter()
                accepted += status in ("200", "201")
                if now >= counting_from and done <= stop_at:
                    latencies.append(done - now)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status in ("200", "201"):
                        ok += 1
                    else:
                        errors += 1

        cpu0 = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu = time.process_time() - cpu0
    wall = time.perf_counter() - start
    return Result(
        requests_per_s=ok / duration,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        ok=ok,
        errors=errors,
        counted=len(latencies),
        sent=sent,
        accepted=accepted,
        client_cpu=cpu / wall,
        statuses=statuses,
    )


def run_client(
    url: str,
    duration: float,
    warmup: float,
    concurrency: int,
    run: int | None = None,
    server_pids: tuple[int, ...] = (),
) -> Result:
    """Run the client in a separate process against `url` (POST /api/v1/reports there).

    With `server_pids`, those processes' CPU use over the whole run (warm-up included) is
    measured too: below 100% with requests waiting means it waited (locks, disk, or the
    machine's other load), not computed.
    """
    run = random.randrange(1000) if run is None else run
    cpu0, wall0 = sum(cpu_seconds(pid) for pid in server_pids), time.monotonic()
    argv = [PYTHON, __file__, "client", "--url", url + "/api/v1/reports"]
    argv += ["--duration", str(duration), "--warmup", str(warmup)]
    argv += ["--concurrency", str(concurrency), "--run", str(run)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"client failed: {done.stderr[-2000:]}")
    result = Result(**json.loads(done.stdout))
    if server_pids:
        cpu = sum(cpu_seconds(pid) for pid in server_pids) - cpu0
        result.server_cpu = cpu / (time.monotonic() - wall0)
        result.server_ms_per_request = cpu * 1000 / max(1, result.accepted)
    return result


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


# --- the benchmark ------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="role")
    echo = sub.add_parser("echo", help="(internal) the baseline server")
    echo.add_argument("--port", type=int, required=True)
    client = sub.add_parser("client", help="(internal) the load generator")
    client.add_argument("--url", required=True)
    client.add_argument("--duration", type=float, required=True)
    client.add_argument("--warmup", type=float, required=True)
    client.add_argument("--concurrency", type=int, required=True)
    client.add_argument("--run", type=int, required=True)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not counted first")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--quick", action="store_true", help="5 s per target, 1 s warm-up")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--markdown", action="store_true", help="tables to paste into a README")
    args = parser.parse_args()

    if args.role == "echo":
        serve_echo(args.port)
        return 0
    if args.role == "client":
        result = asyncio.run(
            _client(args.url, args.duration, args.warmup, args.concurrency, args.run)
        )
        print(json.dumps(result.__dict__))
        return 0

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from report import Printer

    out = Printer(args.markdown)
    if args.quick:
        args.duration, args.warmup = 5.0, 1.0
    pg_missing = None if not args.no_postgres else "--no-postgres"
    pg_missing = pg_missing or postgres_available()
    out.line(
        f"duration {args.duration:g} s per target after {args.warmup:g} s warm-up, "
        f"concurrency {args.concurrency}; {load_note()}"
    )
    rows: list[list[str]] = []
    results: dict[str, Result] = {}
    counts: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="wf-bench-") as tmp:
        workdir = Path(tmp)

        def run_echo() -> Result:
            echo_process, echo_url = start_echo(workdir)
            try:
                return run_client(
                    echo_url,
                    args.duration,
                    args.warmup,
                    args.concurrency,
                    None,
                    (echo_process.pid,),
                )
            finally:
                echo_process.stop()

        results["echo (first)"] = run_echo()

        service = Service.start(workdir / "sqlite")
        try:
            results["wildflag, SQLite"] = run_client(
                service.url, args.duration, args.warmup, args.concurrency, None, (service.pid,)
            )
        finally:
            service.stop()
        counts["wildflag, SQLite"] = count_rows(service)

        if pg_missing is None:
            with postgres_database() as url:
                service = Service.start(workdir / "postgres", database_url=url)
                try:
                    results["wildflag, PostgreSQL"] = run_client(
                        service.url,
                        args.duration,
                        args.warmup,
                        args.concurrency,
                        None,
                        (service.pid,),
                    )
                finally:
                    service.stop()
                counts["wildflag, PostgreSQL"] = count_rows(service)
        else:
            out.line(f"PostgreSQL skipped: {pg_missing}")

        results["echo (last)"] = run_echo()

    echo_rps = (results["echo (first)"].requests_per_s + results["echo (last)"].requests_per_s) / 2
    for name, result in results.items():
        row = result.row(name)
        row.append("—" if name.startswith("echo") else f"{result.requests_per_s / echo_rps:.1%}")
        rows.append(row)
    out.heading("Intake throughput, text-only reports over HTTP")
    out.table([*HEADERS, "of echo"], rows)
    out.line(f"\necho baseline: mean of first and last, {echo_rps:,.0f} requests/s; {load_note()}")

    failed = False
    out.heading("Stored afterwards (every 201 is a case of its own)")
    count_rows_out = []
    for name, stored in counts.items():
        result = results[name]
        # Requests in the warm-up and those still in flight at the end were stored too.
        count_rows_out.append(
            [name, result.accepted, stored["reports"], stored["cases"], stored["listings"]]
        )
        if not result.accepted == stored["reports"] == stored["cases"] == stored["listings"]:
            failed = True
    out.table(["target", "answered 201", "reports", "cases", "listings"], count_rows_out)
    for name, result in results.items():
        if result.errors:
            out.line(f"{name}: non-2xx answers {result.statuses}")
            failed = not name.startswith("echo") or failed

    sqlite = results["wildflag, SQLite"].requests_per_s / echo_rps
    verdict = "PASS" if sqlite >= 0.25 else "FAIL"
    out.line(f"\nSQLite service / echo: {sqlite:.1%} (target ≥ 25%): {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
