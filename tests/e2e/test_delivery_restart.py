"""A delivery survives the service being killed mid-send: real processes, real HTTP.

`wildflag serve` claims a webhook delivery and posts it to a receiver started here, which
takes the request in, records it and never answers. The service is then killed with
SIGKILL (no cleanup, no chance to record anything) and started again on the same data dir
and database. The claim's lease runs out, the new process sends the row again with the
same `Idempotency-Key`, and the receiver, which dedupes by that key, has processed the
case exactly once. Runs on the embedded SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from db.engine import create_engine, session_factory
from db.models import Delivery
from extension_backend.delivery.signing import verify_signature
from tests.faults.processes import Serve
from tests.helpers import IVORY as SHARED_IVORY
from tests.helpers import run_wildflag, wildflag_env

SECRET = "restart-test-secret"
#: Short enough that the test does not wait long for the dead claim to come due again,
#: long enough that the killed process cannot re-claim its own row before it dies.
LEASE_SECONDS = 6
#: Far longer than the test: the first send hangs until the process is killed, never
#: times out by itself.
SEND_TIMEOUT_SECONDS = 600
DEADLINE_SECONDS = 60

IVORY = {**SHARED_IVORY, "url": "https://www.ebay.co.uk/itm/Carved-tusk/284512399999"}


class HangingReceiver:
    """A unit's webhook endpoint that processes each idempotency key once.

    It records every request and processes (here: keeps) a payload the first time it sees
    the key, before answering, as a real receiver that commits first would. The first
    request is then left hanging, so the sender dies holding a delivery the receiver has
    already processed but never acknowledged.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.processed: dict[str, dict[str, Any]] = {}
        self.phase = "before kill"
        self.first_arrived = asyncio.Event()
        self.release = asyncio.Event()  # set at teardown, so the hanging handler can end

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("Idempotency-Key", "")
        self.requests.append(
            {"phase": self.phase, "key": key, "headers": dict(request.headers), "body": body}
        )
        duplicate = key in self.processed
        if not duplicate:
            self.processed[key] = json.loads(body)
        if len(self.requests) == 1:
            self.first_arrived.set()
            await self.release.wait()  # never answers while the test runs
        return web.json_response({"ok": True, "duplicate": duplicate})


@pytest.fixture
async def receiver(aiohttp_server: Any) -> AsyncIterator[HangingReceiver]:
    recv = HangingReceiver()
    app = web.Application()
    app.router.add_post("/hook", recv.handle)
    server = await aiohttp_server(app)
    recv.url = str(server.make_url("/hook"))  # type: ignore[attr-defined]
    try:
        yield recv
    finally:
        recv.release.set()


class Service(Serve):
    """`wildflag serve` on one data dir (and database), restartable, with a log per run."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        super().__init__(tmp_path / "serve-0.log", env, deadline=DEADLINE_SECONDS)
        self.tmp_path = tmp_path
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        self.log = self.tmp_path / f"serve-{self.runs}.log"
        await super().start()

    async def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish, clean up or record anything."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(self.process.wait(), 30) == -signal.SIGKILL


@pytest.fixture
def database(database_url: str) -> str | None:
    """The PostgreSQL URL of this run (a fresh migrated database), or None for SQLite.

    `database_url` (tests/conftest.py) runs the test once per database; on PostgreSQL it
    skips with the reason when no server is reachable, and fails instead under
    WILDFLAG_REQUIRE_POSTGRES=1. The SQLite run ignores its file and uses the embedded
    default, the file in the data dir that the service creates, as a user's would.
    """
    return database_url if database_url.startswith("postgresql") else None


async def poll(check: Any, what: str, service: Service) -> Any:
    """Wait for `check()` to return something truthy, up to the deadline; fail otherwise."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}:\n{await service.log_text()}")


async def test_a_killed_service_delivers_exactly_once_after_restart(
    tmp_path: Path, receiver: HangingReceiver, database: str | None
) -> None:
    data_dir = tmp_path / "data"
    extra = {
        "WILDFLAG_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "WILDFLAG_DELIVERY_TIMEOUT_SECONDS": str(SEND_TIMEOUT_SECONDS),
        "WILDFLAG_DELIVERY_POLL_SECONDS": "0.1",
        "WILDFLAG_PUBLIC_URL": "http://wildflag.test",
        "WILDFLAG_DELIVERY_ALLOW_PRIVATE_NETWORKS": '["127.0.0.0/8"]',  # the receiver
    }
    if database is not None:
        extra["WILDFLAG_DATABASE_URL"] = database
    added = await asyncio.to_thread(
        run_wildflag,
        "units", "channel", "add", "GB", "--type", "webhook", "--target", receiver.url,
        "--secret", SECRET, data_dir=data_dir, **extra,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    database_url = database or f"sqlite+aiosqlite:///{data_dir / 'wildflag.sqlite3'}"

    service = Service(tmp_path, wildflag_env(data_dir, **extra))
    try:
        await service.start()
        async with (
            aiohttp.ClientSession() as http,
            http.post(service.base + "/api/v1/reports", json=IVORY) as response,
        ):
            assert response.status == 201, await response.text()
            receipt = await response.json()
        assert "GB" in receipt["routed_to"]

        # The service claimed the row and is mid-send: the receiver holds the request.
        await asyncio.wait_for(receiver.first_arrived.wait(), DEADLINE_SECONDS)
        await service.kill()
        receiver.phase = "after restart"
        row = await webhook_row(database_url)
        assert row.state == "sending" and row.attempts == 1  # claimed, result never recorded

        await service.start()

        async def sent() -> Delivery | None:
            row = await webhook_row(database_url)
            return row if row.state == "sent" else None

        row = await poll(sent, "the delivery to be sent after the restart", service)
    finally:
        await service.stop()

    again = [r for r in receiver.requests if r["phase"] == "after restart"]
    assert again, "the delivery claimed by the killed process was never sent again"
    assert {r["key"] for r in receiver.requests} == {row.idempotency_key}  # one key, all tries
    assert list(receiver.processed) == [row.idempotency_key]  # processed exactly once
    assert receiver.processed[row.idempotency_key]["reference"] == receipt["reference"]
    retry = again[-1]
    assert verify_signature(
        SECRET,
        retry["headers"]["X-Wildflag-Timestamp"],
        retry["body"],
        retry["headers"]["X-Wildflag-Signature"],
        now=time.time(),
    )
    # Every request the receiver saw was an attempt, the killed one included.
    assert row.attempts == len(receiver.requests) >= 2
    assert row.last_error == "" and row.delivered_at is not None and row.next_attempt_at is None


async def webhook_row(database_url: str) -> Delivery:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            [row] = (
                await session.exec(select(Delivery).where(Delivery.channel == "webhook"))
            ).all()
            return row
    finally:
        await engine.dispose()
