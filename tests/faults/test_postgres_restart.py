"""PostgreSQL goes away under a load of submissions and comes back: nothing acknowledged is
lost, nothing retried is stored twice, and the service recovers by itself.

Real processes on loopback: a private PostgreSQL cluster (never the shared server on
5432), `wildflag serve` on it, and concurrent aiohttp clients sending text reports, each
with its own `Idempotency-Key`. Midway the cluster is stopped (`-m fast`: sessions are
terminated; `-m immediate`: the server dies without a checkpoint and recovers from its WAL),
kept down for a moment and started again, while the service keeps running. Clients retry a
5xx or a broken connection with the same key until they get a 2xx, as the extension and the
bot do.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from db.engine import create_engine, session_factory
from db.models import Report
from extension_backend.intake import IdempotencyKey
from tests.faults.processes import PrivatePostgres, Serve
from tests.helpers import wildflag_env

CLIENTS = 6
#: Acknowledged reports before the database is stopped, and new ones after it is back.
ACKS_BEFORE, ACKS_AFTER = 12, 12
#: How long the database stays down: long enough that every client hits the outage.
OUTAGE_SECONDS = 2.0
#: One request taking longer than this is a hang, not an answer.
REQUEST_TIMEOUT_SECONDS = 20
#: How long one client keeps retrying one report before giving up on it.
RETRY_SECONDS = 40
PHASE_DEADLINE_SECONDS = 30


@dataclass
class Sent:
    """One report as a client experienced it: every answer to every try of its key."""

    key: str
    phase: str
    #: (status, body, Retry-After) of every answer, in order.
    answers: list[tuple[int, Any, str | None]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # connection errors and timeouts
    receipt: dict[str, Any] | None = None  # the 2xx body, once there is one


@dataclass
class Load:
    """Clients sending reports until told to stop; `phase` labels what is going on."""

    base: str
    phase: str = "before"
    sent: list[Sent] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def acked(self, phase: str) -> int:
        return sum(1 for s in self.sent if s.receipt is not None and s.phase == phase)

    async def client(self, number: int) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            count = 0
            while not self.stop.is_set():
                count += 1
                report = {
                    "text": f"Carved elephant ivory bangle no. {number}-{count}, 120 g",
                    "seller_location": "London, United Kingdom",
                }
                await self.send(http, Sent(str(uuid.uuid4()), self.phase), report)

    async def send(self, http: aiohttp.ClientSession, sent: Sent, report: dict[str, Any]) -> None:
        self.sent.append(sent)
        deadline = time.monotonic() + RETRY_SECONDS
        while time.monotonic() < deadline:
            wait = 0.2
            try:
                async with http.post(
                    self.base + "/api/v1/reports",
                    json=report,
                    headers={"Idempotency-Key": sent.key},
                ) as response:
                    text = await response.text()
                    try:
                        body: Any = json.loads(text)
                    except ValueError:
                        body = text
                    retry_after = response.headers.get("Retry-After")
                    sent.answers.append((response.status, body, retry_after))
                    if response.status in (200, 201):
                        sent.receipt = body
                        return
                    if response.status < 500:
                        return  # a refusal: retrying the same request would not help
                    if retry_after and retry_after.isdigit():
                        wait = min(float(retry_after), 1.0)  # honoured, capped for the test
            except (aiohttp.ClientError, TimeoutError) as exc:
                sent.broken.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(wait)


@pytest.fixture
def postgres_cluster() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.destroy()


async def until(check: Any, what: str, serve: Serve) -> None:
    deadline = time.monotonic() + PHASE_DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{await serve.log_text()}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restart_loses_no_acknowledged_report_and_stores_none_twice(
    tmp_path: Path, postgres_cluster: PrivatePostgres, mode: str
) -> None:
    env = wildflag_env(
        tmp_path / "data",
        WILDFLAG_DATABASE_URL=postgres_cluster.url,
        WILDFLAG_ANONYMOUS_REPORTS_PER_MINUTE="100000",
        WILDFLAG_PUBLIC_URL="http://wildflag.test",
    )
    serve = Serve(tmp_path / "serve.log", env)
    await serve.start()
    assert serve.process is not None
    pid = serve.process.pid
    load = Load(serve.base)
    clients = [asyncio.create_task(load.client(n)) for n in range(CLIENTS)]
    try:
        await until(lambda: load.acked("before") >= ACKS_BEFORE, "reports before the outage", serve)
        load.phase = "outage"
        await asyncio.to_thread(postgres_cluster.stop, mode)
        await asyncio.sleep(OUTAGE_SECONDS)
        await asyncio.to_thread(postgres_cluster.start)
        load.phase = "after"
        await until(lambda: load.acked("after") >= ACKS_AFTER, "reports after the restart", serve)
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), RETRY_SECONDS + REQUEST_TIMEOUT_SECONDS)
        # The same process, never restarted, is ready again.
        assert serve.running and serve.process.pid == pid
        assert await serve.ready(10), await serve.log_text()
    finally:
        load.stop.set()
        for task in clients:
            task.cancel()
        await serve.stop()

    log = await serve.log_text()
    answers = [answer for sent in load.sent for answer in sent.answers]
    statuses = Counter(status for status, _, _ in answers)
    # During the outage the service answers, and answers a clean, retryable 503: never a
    # 500, never a dropped connection, never a hang.
    assert set(statuses) <= {200, 201, 503}, (statuses, log[-3000:])
    assert not [s.broken for s in load.sent if s.broken], log[-3000:]
    outage = [(body, retry_after) for status, body, retry_after in answers if status == 503]
    assert outage, f"no client saw the outage: {statuses}"
    for body, retry_after in outage:
        assert body["error"]["code"] == "unavailable", body
        assert retry_after is not None and int(retry_after) >= 1
    # Every report was acknowledged in the end, some only after one or more 503s.
    assert all(s.receipt is not None for s in load.sent), [s for s in load.sent if not s.receipt]
    assert any(s.answers[0][0] == 503 for s in load.sent)

    stored = await reports(postgres_cluster.url)
    by_key = Counter(r.idempotency_key_hash for r in stored)
    assert len(stored) == len(load.sent), (len(stored), len(load.sent))
    for sent in load.sent:
        digest = IdempotencyKey(sent.key, "anonymous").digest
        assert by_key[digest] == 1, (sent, by_key[digest])  # acknowledged, and only once
    references = {r.idempotency_key_hash: r.reference for r in stored}
    for sent in load.sent:
        assert sent.receipt is not None
        digest = IdempotencyKey(sent.key, "anonymous").digest
        assert references[digest] == sent.receipt["reference"]  # the receipt's own report


async def reports(url: str) -> list[Report]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.exec(select(Report))).all())
    finally:
        await engine.dispose()
