"""The queue's live updates: Server-Sent Events for new and updated cases, in scope only."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from extension_backend.app import create_app
from extension_backend.dashboard import events
from tests.dashboard.conftest import Browser, add_account, close_browsers, report
from tests.dashboard.test_queue_page import change, fr_case, gb_case


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    """Poll fast so tests wait fractions of a second, not the production two."""
    monkeypatch.setattr(events, "POLL_SECONDS", 0.2)


async def read_events(
    response: ClientResponse, *, until: Any = None, seconds: float = 8.0
) -> list[dict[str, Any]]:
    """Parse the stream into events ({event, id, data}) until `until(events)` is true, the
    stream ends, or `seconds` pass (a quiet stream is not an error here)."""
    found: list[dict[str, Any]] = []
    current: dict[str, str] = {}
    try:
        async with asyncio.timeout(seconds):
            while True:
                raw = await response.content.readline()
                if not raw:
                    return found  # the server ended the stream
                line = raw.decode().rstrip("\n")
                if line.startswith(":"):
                    continue
                if line:
                    name, _, value = line.partition(":")
                    current[name] = value.removeprefix(" ")
                    continue
                if "data" in current:
                    found.append({**current, "data": json.loads(current["data"])})
                    if until is not None and until(found):
                        return found
                current = {}
    except TimeoutError:
        return found


def ids(found: list[dict[str, Any]]) -> set[int]:
    return {event["data"]["id"] for event in found if event.get("event") == "case"}


async def stream(person: Browser, query: str = "", **headers: str) -> ClientResponse:
    response = await person.http.get(f"/app/events?{query}", headers=headers, allow_redirects=False)
    assert response.status == 200, response.headers.get("Location")
    assert response.content_type == "text/event-stream"
    return response


async def test_a_new_case_of_the_unit_arrives_and_another_units_does_not(dash, browser, settings):
    officer = await browser("officer", "GB")
    response = await stream(officer)
    first = await response.content.readuntil(b"\n\n")
    assert first.startswith(b"retry: ")  # the stream is open before any case
    fr = await fr_case(dash, settings)
    gb, _ = await gb_case(dash, settings, 1)
    started = time.monotonic()
    found = await read_events(response, until=lambda found: gb in ids(found))
    assert gb in ids(found) and fr not in ids(found)
    assert time.monotonic() - started < 5
    event = next(e for e in found if e["data"]["id"] == gb)
    assert event["event"] == "case" and event["data"]["new"] is True
    assert event["data"]["priority"] == "critical" and event["data"]["status"] == "new"
    assert event["id"]  # where a reconnect resumes
    response.close()


async def test_an_update_to_a_case_is_an_event_and_the_coordinator_sees_every_unit(
    dash, browser, settings
):
    gb, _ = await gb_case(dash, settings, 1)
    coordinator = await browser("coordinator")
    response = await stream(coordinator)
    fr = await fr_case(dash, settings)
    # The same listing reported again joins the GB case: an update, not a new case.
    await report(dash, url="https://www.ebay.co.uk/itm/1000001", text="Pangolin scales again")
    found = await read_events(response, until=lambda found: {gb, fr} <= ids(found))
    assert {gb, fr} <= ids(found)
    joined = next(e for e in found if e["data"]["id"] == gb)
    assert joined["data"]["new"] is False and joined["data"]["report_count"] == 2
    response.close()


async def test_a_state_change_is_an_event(dash, browser, settings):
    gb, _ = await gb_case(dash, settings, 1)
    officer = await browser("officer", "GB")
    response = await stream(officer)
    assert await read_events(response, seconds=0.6) == []  # nothing changed yet
    await change(settings, gb, status="triaged", updated_at=datetime.now(UTC))
    found = await read_events(response, until=lambda found: gb in ids(found))
    assert [e["data"]["status"] for e in found] == ["triaged"]
    response.close()


async def test_the_stream_follows_the_queues_filters(dash, browser, settings):
    officer = await browser("officer", "GB")
    response = await stream(officer, "priority=high")
    critical, _ = await gb_case(dash, settings, 1)
    high, _ = await gb_case(
        dash, settings, 2, title="Reticulated python skin", text="Reticulated python skin, 3 m"
    )
    found = await read_events(response, until=lambda found: high in ids(found))
    assert ids(found) == {high} and critical not in ids(found)
    response.close()
    response = await officer.http.get("/app/events?priority=urgent", allow_redirects=False)
    assert response.status == 400 and response.content_type == "text/html"


async def test_a_reconnect_resumes_from_the_last_event_id(dash, browser, settings):
    before = datetime.now(UTC) - timedelta(seconds=1)
    gb, _ = await gb_case(dash, settings, 1)
    officer = await browser("officer", "GB")
    # A new page's stream starts now: the case already on the page is not news.
    response = await stream(officer)
    assert await read_events(response, seconds=0.6) == []
    response.close()
    # The browser reconnecting with the id it last saw gets what it missed.
    response = await stream(officer, **{"Last-Event-ID": before.isoformat()})
    found = await read_events(response, until=lambda found: gb in ids(found))
    assert ids(found) == {gb}
    response.close()
    # So does a page drawn before the case was made (`after`, as queue.js sends it).
    response = await stream(officer, urlencode({"after": before.isoformat()}))
    assert ids(await read_events(response, until=lambda found: gb in ids(found))) == {gb}
    response.close()


async def test_the_stream_needs_a_session_and_ends_with_it(dash, browser, monkeypatch):
    response = await dash.get("/app/events", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")
    monkeypatch.setattr(events, "SESSION_CHECK_SECONDS", 0.3)
    officer = await browser("officer", "GB")
    response = await stream(officer)
    await officer.post("/logout")
    started = time.monotonic()
    assert await read_events(response, seconds=5) == []
    assert time.monotonic() - started < 4, "the stream ended when the session did"
    assert response.content.at_eof()


async def test_shutdown_is_not_held_up_by_an_open_stream(settings):
    app = create_app(settings)
    events.setup(app)  # idempotent; create_app may already have done it
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        account = await add_account(settings, "officer", "GB")
        person = Browser(client, account)
        assert await person.sign_in(account.email) == 303
        response = await stream(person)
        await response.content.readuntil(b"\n\n")
        started = time.monotonic()
        await server.close()  # aiohttp's shutdown_timeout would wait 60 s for the stream
        assert time.monotonic() - started < 5
        assert await read_events(response, seconds=2) == []
        assert response.content.at_eof()
    finally:
        await close_browsers(client)
        await client.close()


def test_create_app_lets_shutdown_end_the_streams(settings):
    assert events.close_streams in create_app(settings).on_shutdown


async def test_a_gone_browser_ends_its_stream(settings):
    """The handler notices the closed connection at its next poll and returns."""
    app = create_app(settings)
    ended: list[float] = []

    async def watched(request):
        try:
            return await events.events(request)
        finally:
            ended.append(time.monotonic())

    app.router.add_get("/app/watched-events", watched)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        account = await add_account(settings, "officer", "GB")
        person = Browser(client, account)
        assert await person.sign_in(account.email) == 303
        response = await person.http.get("/app/watched-events")
        assert response.status == 200
        await response.content.readuntil(b"\n\n")
        response.close()  # drops the connection, as a closed tab does
        closed = time.monotonic()
        for _ in range(50):
            if ended:
                break
            await asyncio.sleep(0.1)
        assert ended and ended[0] - closed < 3
    finally:
        await close_browsers(client)
        await client.close()
