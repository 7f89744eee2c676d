"""New and updated cases as Server-Sent Events, so the queue learns of them without a reload.

`GET /app/events` streams one `case` event per case the person may see (the queue's scope,
`filters.visible_cases`, narrowed by the same filters as the page that opened it) that was
created or updated (a report joined, its state changed) since the page was drawn. It polls
the database rather than an in-process queue, so it works unchanged with several backend
instances on one PostgreSQL: every instance stamps `Case.updated_at`, and every stream
asks for what is newer than what it has seen.

It must never keep the server from stopping: `setup(app)` registers an `on_shutdown` hook
that wakes every stream so it ends at once (aiohttp would otherwise wait up to its
`shutdown_timeout`, 60 s by default, for these long requests). A stream also ends when the
browser goes away or the person's session ends (signed out, expired, idle, disabled); it
reads the session without touching it, so an open tab does not keep an idle session alive.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web
from sqlmodel import col, select

from db.models import Account, Case, WebSession
from db.types import utcnow
from extension_backend import keys
from extension_backend.dashboard.filters import CaseFilters, visible_cases
from extension_backend.dashboard.web import page
from extension_backend.pages import PAGE_HEADERS
from extension_backend.web_auth import PEOPLE, SignedIn

routes = web.RouteTableDef()

#: How often a stream asks the database: new cases show within this, and N open queues
#: cost N small indexed queries per period.
POLL_SECONDS = 2.0
#: A comment this often keeps proxies from closing a quiet stream and finds a gone browser.
HEARTBEAT_SECONDS = 15.0
#: How often a stream checks that its session still holds (signed out, idle, disabled).
SESSION_CHECK_SECONDS = 30.0
#: `updated_at` is stamped before commit, so a case stamped earlier may commit later than
#: one already sent; each poll looks this far back and skips what it already sent. It also
#: absorbs small clock differences between instances.
SLACK = timedelta(seconds=5)
#: A reconnect (Last-Event-ID) or an old page asks for at most this much history.
MAX_BACKLOG = timedelta(hours=1)
#: Cases sent per poll; a longer backlog follows on the next polls.
BATCH = 100
#: The browser waits this long before reconnecting (the `retry:` field, milliseconds).
RETRY_MS = 3000


@dataclass
class EventStreams:
    """The application's open streams share one `closing` event, set on shutdown."""

    closing: asyncio.Event = field(default_factory=asyncio.Event)


STREAMS = web.AppKey("event_streams", EventStreams)


def setup(app: web.Application) -> None:
    """Let shutdown end every open stream at once. Call before the app starts; idempotent."""
    if STREAMS in app:
        return
    app[STREAMS] = EventStreams()
    app.on_shutdown.append(close_streams)


async def close_streams(app: web.Application) -> None:
    app[STREAMS].closing.set()


@routes.get("/app/events", allow_head=False)
@page()
async def events(request: web.Request, me: SignedIn) -> web.StreamResponse:
    filters = CaseFilters.from_query(request.query)  # 400 page for a bad value, before streaming
    now = utcnow()
    start = _resume_point(request, now)
    streams = request.app.get(STREAMS)
    closing = streams.closing if streams is not None else asyncio.Event()
    response = web.StreamResponse(
        headers={**PAGE_HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    watch = _Watch(floor=start, opened=start)
    loop = asyncio.get_running_loop()
    last_beat = last_check = loop.time()
    try:
        await response.write(f"retry: {RETRY_MS}\nid: {start.isoformat()}\n\n".encode())
        while not closing.is_set() and not _gone(request):
            for chunk in await _poll(request, me, filters, watch):
                await response.write(chunk)
            if loop.time() - last_beat >= HEARTBEAT_SECONDS:
                await response.write(f": alive\nid: {watch.floor.isoformat()}\n\n".encode())
                last_beat = loop.time()
            if loop.time() - last_check >= SESSION_CHECK_SECONDS:
                if not await _still_signed_in(request, me):
                    break
                last_check = loop.time()
            await _pause(closing, POLL_SECONDS)
    except ConnectionResetError:  # the browser went away mid-write
        return response
    return response


@dataclass
class _Watch:
    """Where a stream stands: everything stamped at or before `floor` has been seen, and
    `sent` holds what was sent from the last SLACK (to skip it when looking back)."""

    floor: datetime
    opened: datetime
    sent: dict[tuple[int, datetime], None] = field(default_factory=dict)


async def _poll(
    request: web.Request, me: SignedIn, filters: CaseFilters, watch: _Watch
) -> list[bytes]:
    polled_at = utcnow()
    query = (
        filters.apply(visible_cases(me.principal), me.principal)
        .where(col(Case.updated_at) > watch.floor)
        .order_by(col(Case.updated_at), col(Case.id))
        .limit(BATCH)
    )
    async with request.app[keys.SESSIONS]() as session:
        cases = list((await session.exec(query)).all())
    # Each event's id is where a reconnect resumes: the floor this poll started from, so a
    # batch cut short is sent again whole (the page counts cases once) rather than lost.
    resume = watch.floor.isoformat()
    chunks = []
    for case in cases:
        assert case.id is not None
        key = (case.id, case.updated_at)
        if key in watch.sent:
            continue
        watch.sent[key] = None
        data = {
            "id": case.id,
            "priority": case.priority,
            "status": case.status,
            "report_count": case.report_count,
            "updated_at": case.updated_at.isoformat(),
            "new": case.created_at > watch.opened,
        }
        chunks.append(f"event: case\nid: {resume}\ndata: {json.dumps(data)}\n\n".encode())
    if len(cases) == BATCH:  # more to come: resume just before the last one sent
        floor = cases[-1].updated_at - timedelta(microseconds=1)
    else:
        floor = polled_at - SLACK
    watch.floor = max(watch.floor, floor)
    watch.sent = {k: None for k in watch.sent if k[1] > watch.floor}
    return chunks


def _resume_point(request: web.Request, now: datetime) -> datetime:
    """Where to start: the browser's Last-Event-ID on a reconnect, else the time the page
    was drawn (`after`), else now; never further back than MAX_BACKLOG nor in the future."""
    for raw in (request.headers.get("Last-Event-ID", ""), request.query.get("after", "")):
        try:
            # An unencoded "+00:00" in a hand-made URL arrives as " 00:00".
            when = datetime.fromisoformat(raw.strip().replace(" ", "+"))
        except ValueError:
            continue
        if when.tzinfo is None:
            continue
        return min(max(when, now - MAX_BACKLOG), now)
    return now


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _pause(closing: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, waking at once when the app shuts down."""
    try:
        async with asyncio.timeout(seconds):
            await closing.wait()
    except TimeoutError:
        pass


async def _still_signed_in(request: web.Request, me: SignedIn) -> bool:
    """The session still holds, read without touching `last_seen_at` (unlike
    `web_auth.session_of`), so an open queue does not keep an idle session alive."""
    settings = request.app[keys.SETTINGS]
    now = utcnow()
    async with request.app[keys.SESSIONS]() as session:
        row = (
            await session.exec(
                select(WebSession, Account)
                .join(Account, col(Account.id) == WebSession.account_id)
                .where(WebSession.id == me.session_id)
            )
        ).first()
    if row is None:
        return False
    web_session, account = row
    idle = timedelta(minutes=settings.session_idle_minutes)
    return (
        web_session.revoked_at is None
        and web_session.expires_at > now
        and web_session.last_seen_at + idle > now
        and not account.disabled
        and account.role in PEOPLE
        and account.role == me.principal.role
        and account.unit_code == me.principal.unit_code
    )
