"""A unit's webhook down for an hour, on a simulated clock: the worker backs off, the
dashboard says so, and the case arrives exactly once when the receiver comes back.

Real parts: the service (dashboard over HTTP, signed in), the delivery worker and its
webhook channel, and a receiver on loopback that first does not listen at all
(connections refused), then answers 500, then 200. Only time is simulated: the worker
and the webhook signatures read an injected clock, which the test moves one poll
interval at a time, as `Worker.run` would between idle polls, so an hour takes seconds.
The jitter is the production one (`default_jitter`), recorded so the schedule can be
checked exactly.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from db.engine import create_engine, session_factory
from db.models import Delivery
from extension_backend.app import create_app
from extension_backend.delivery.channels import build_channels
from extension_backend.delivery.signing import verify_signature
from extension_backend.delivery.worker import Worker, default_jitter
from tests.backend.conftest import set_channels
from tests.backend.test_delivery import IVORY, FakeClock
from tests.dashboard.conftest import Browser, add_account, case_of, close_browsers
from tests.live_backend import free_port

SECRET = "secret-of-the-gb-receiver"
POLL = 10.0  # seconds between idle polls (`delivery_poll_seconds`)
BASE, CAP = 30.0, 3600.0  # the default backoff
HOUR = 3600.0
LISTENS_AFTER = 600.0  # the receiver's host is up after 10 minutes…
HEALTHY_AFTER = HOUR  # …but its app answers 500 until the hour is over
JITTER = (0.5, 1.5)  # the bounds `default_jitter` promises


class SimulatedClock(FakeClock):
    """The delivery tests' clock, which also knows when it started and the Unix time."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self.now

    def unix(self) -> float:
        return self.now.timestamp()

    @property
    def elapsed(self) -> float:
        return (self.now - self.start).total_seconds()


class Receiver:
    """The unit's endpoint once its host is up: 500 until told otherwise, then 200.
    Checks every signature against the simulated time, as a receiver refusing replays
    would."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.healthy = False
        self.requests: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        fresh = verify_signature(
            SECRET, headers["X-Wildflag-Timestamp"], body, headers["X-Wildflag-Signature"],
            now=self.clock.unix(),
        )  # fmt: skip
        status = 200 if self.healthy else 500
        self.requests.append(
            {"key": headers["Idempotency-Key"], "status": status, "signed_now": fresh}
        )
        return web.json_response({"ok": status == 200}, status=status)

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 200]


def cells(html: str, row_pattern: str) -> list[str]:
    """The text of each cell of the first table row matching `row_pattern`."""
    row = re.search(row_pattern + r".*?</tr>", html, re.S)
    assert row, f"no row {row_pattern!r} on the page"
    return [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    ]


def when(value: datetime | None) -> str:
    """As the dashboard writes times (`web._when`)."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


async def webhook_row(settings: Any) -> Delivery:
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            from sqlmodel import select

            return (await session.exec(select(Delivery).where(Delivery.channel == "webhook"))).one()
    finally:
        await engine.dispose()


@pytest.fixture
async def service(aiohttp_client: Any, settings: Any) -> Any:
    """The service without its own worker (the test drives one on the simulated clock)."""
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"delivery_worker": False}))
    )
    yield client
    await close_browsers(client)


async def signed_in(service: Any, settings: Any, role: str) -> Browser:
    account = await add_account(settings, role, "GB")
    person = Browser(service, account)
    assert account.email is not None and await person.sign_in(account.email) == 303
    return person


def attempts_within(span: float, jitter: float, slack: float) -> int:
    """How many attempts fit in `span` seconds if every jitter were `jitter` and every
    attempt came `slack` seconds after it was due: the bounds the schedule must keep."""
    count, at = 0, 0.0
    while at < span:
        count += 1
        at += min(CAP, BASE * 2 ** (count - 1)) * jitter + slack
    return count


async def test_a_receiver_down_for_an_hour_backs_off_shows_and_delivers_once(
    settings, service, peek
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/wildflag"
    await set_channels(settings, "GB", [{"type": "webhook", "target": url, "secret": SECRET}])
    response = await service.post("/api/v1/reports", json=IVORY)
    assert response.status == 201, await response.text()
    case_id = await case_of(settings, (await response.json())["reference"])
    officer = await signed_in(service, settings, "officer")
    admin = await signed_in(service, settings, "unit_admin")

    clock = SimulatedClock()
    receiver = Receiver(clock)
    app = web.Application()
    app.router.add_post("/wildflag", receiver.handle)
    server: TestServer | None = None
    jitters: list[float] = []

    def jitter() -> float:
        jitters.append(default_jitter())
        return jitters[-1]

    s = settings.model_copy(
        update={
            "delivery_worker": False,
            "delivery_poll_seconds": POLL,
            "delivery_backoff_base_seconds": BASE,
            "delivery_backoff_cap_seconds": CAP,
        }
    )
    engine = create_engine(s.effective_database_url)
    http = aiohttp.ClientSession()
    worker = Worker(
        s, session_factory(engine), build_channels(http, s, clock=clock.unix), clock=clock,
        jitter=jitter,
    )  # fmt: skip
    attempts: list[tuple[float, Delivery]] = []  # (when, the row just after)
    seen_pages: set[str] = set()
    try:
        while clock.elapsed < 3 * HOUR:
            if server is None and clock.elapsed >= LISTENS_AFTER:
                server = TestServer(app, host="127.0.0.1", port=port)
                await server.start_server()
            receiver.healthy = clock.elapsed >= HEALTHY_AFTER
            if await worker.run_once():
                row = await webhook_row(settings)
                attempts.append((clock.elapsed, row))
                if row.state == "sent":
                    break
                kind = "refused" if "Cannot connect" in row.last_error else row.last_error
                if kind not in seen_pages:  # the dashboard, once per kind of failure
                    seen_pages.add(kind)
                    await dashboard_shows_failing(officer, admin, case_id, row, port)
                continue  # as `Worker.run`: poll again at once after work
            clock.now += timedelta(seconds=POLL)

        # Healthy again: delivered, and nothing more is sent however long the worker runs.
        for _ in range(6):
            clock.now += timedelta(minutes=20)
            assert await worker.run_once() == 0
    finally:
        await http.close()
        await engine.dispose()
        if server is not None:
            await server.close()

    # The schedule: attempt n+1 is the first poll at or after attempt n plus
    # min(cap, base * 2**(n-1)) times that attempt's jitter.
    failures = [(at, row) for at, row in attempts if row.state == "failing"]
    assert len(jitters) == len(failures) and all(JITTER[0] <= j <= JITTER[1] for j in jitters)
    assert attempts[0][0] == 0.0
    for n, ((at, row), j) in enumerate(zip(failures, jitters, strict=True), start=1):
        assert row.attempts == n and row.state == "failing"
        delay = min(CAP, BASE * 2 ** (n - 1))
        waited = (row.next_attempt_at - (clock.start + timedelta(seconds=at))).total_seconds()
        assert waited == pytest.approx(delay * j, abs=1e-3)  # base * 2**n capped, jittered
        assert delay * JITTER[0] - 1e-3 <= waited <= delay * JITTER[1] + 1e-3
        next_at = attempts[n][0]
        assert at + waited <= next_at < at + waited + POLL  # not before due, at the next poll
    assert [row.attempts for _, row in attempts] == list(range(1, len(attempts) + 1))

    # Over the simulated hour: as many attempts as the backoff allows, no more, no fewer.
    in_hour = sum(1 for at, _ in attempts if at < HOUR)
    assert attempts_within(HOUR, JITTER[1], POLL) <= in_hour <= attempts_within(HOUR, JITTER[0], 0)
    assert 7 <= in_hour <= 8  # with the defaults: 30 s doubling, jitter 0.5–1.5, 10 s polls
    refused = [r for at, r in failures if at < LISTENS_AFTER]
    assert refused and all("Cannot connect" in r.last_error for r in refused)
    answered = [r for at, r in failures if at >= LISTENS_AFTER]
    assert answered and all(r.last_error == "HTTP 500 from webhook" for r in answered)
    assert seen_pages == {"refused", "HTTP 500 from webhook"}

    # Delivered when the receiver came back: once, on the first attempt after the hour.
    done_at, done = attempts[-1]
    assert done.state == "sent" and done.last_error == "" and done.next_attempt_at is None
    assert attempts[-2][0] < HEALTHY_AFTER <= done_at
    assert len(receiver.accepted) == 1
    assert receiver.accepted[0]["key"] == done.idempotency_key
    assert {r["key"] for r in receiver.requests} == {done.idempotency_key}
    assert all(r["signed_now"] for r in receiver.requests)  # signed at the attempt's time
    assert len(receiver.requests) == len(answered) + 1  # the 500s, then the one delivery

    # …and the dashboard shows the channel healthy again.
    _, page = await officer.get(f"/app/cases/{case_id}")
    _, _, host, _, state, tries, error, next_try, delivered = cells(
        page, r'<tr class="delivery-sent">\s*<td>GB</td>\s*<td>webhook</td>'
    )
    assert (host, state, tries, error, next_try) == (
        "127.0.0.1",
        "sent",
        str(done.attempts),
        "—",
        "—",
    )
    assert delivered == when(done.delivered_at)
    assert "case-delivery-alert" not in page
    _, page = await admin.get("/app/admin/units/GB")
    _, kind, target, _, last_delivered, failing, dead, last_error, _ = cells(
        page, r'<tr id="channel-0"'
    )
    assert (kind, target, failing, dead, last_error) == ("webhook", url, "0", "0", "—")
    assert last_delivered == when(done.delivered_at)


async def dashboard_shows_failing(
    officer: Browser, admin: Browser, case_id: int, row: Delivery, port: int
) -> None:
    """While the receiver is down: the case page and the unit's channels say it is
    failing, with the last error and when the next try is."""
    response, page = await officer.get(f"/app/cases/{case_id}")
    assert response.status == 200
    _, _, host, _, state, tries, error, next_try, delivered = cells(
        page, r'<tr class="delivery-failing">\s*<td>GB</td>\s*<td>webhook</td>'
    )
    assert (host, state, tries, delivered) == ("127.0.0.1", "failing", str(row.attempts), "—")
    assert error == row.last_error and error
    if "Cannot connect" in error:
        assert f"Cannot connect to host 127.0.0.1:{port}" in error
    assert next_try == when(row.next_attempt_at) != "—"
    if row.attempts >= 3:  # `case_page.TROUBLE_ATTEMPTS`: the case says it did not arrive
        assert "case-delivery-alert" in page and "GB by webhook (failing" in page

    response, page = await admin.get("/app/admin/units/GB")
    assert response.status == 200
    _, kind, _, _, last_delivered, failing, dead, last_error, _ = cells(page, r'<tr id="channel-0"')
    assert (kind, last_delivered, failing, dead) == ("webhook", "—", "1", "0")
    assert last_error == row.last_error
