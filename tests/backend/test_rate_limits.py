"""Rate limits over real HTTP, and the shared store behind several instances.

On SQLite one process serves and keeps its limits in memory; on PostgreSQL every instance
counts in the shared `rate_events` table, so a client gets its limit once, not once per
instance. Both are held under concurrency: exactly `limit` reports of a burst are accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from db.engine import create_engine, is_sqlite
from db.models import RateEvent, Report
from extension_backend.ratelimit import RateLimiter, SharedRateLimiter

LIMIT = 3
REPORT = {"text": "pangolin scales 1 kg"}


async def post(client: Any) -> Any:
    return await client.post("/api/v1/reports", json=REPORT)


async def test_a_burst_gets_its_limit_across_every_instance(make_client, settings, peek):
    """A burst of reports from one address, spread over the instances a deployment can
    have (two on PostgreSQL, the one process on SQLite): `LIMIT` answered 201, the rest
    429 with `Retry-After`, and only the accepted ones stored."""
    limited = settings.model_copy(
        update={"anonymous_reports_per_minute": LIMIT, "delivery_worker": False}
    )
    count = 1 if is_sqlite(settings.effective_database_url) else 2
    instances = [await make_client(limited) for _ in range(count)]
    answers = await asyncio.gather(*(post(instances[n % count]) for n in range(3 * LIMIT)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses == [201] * LIMIT + [429] * (2 * LIMIT)
    for answer in answers:
        if answer.status == 429:
            assert 1 <= int(answer.headers["Retry-After"]) <= 60
            assert (await answer.json())["error"]["code"] == "rate_limited"
    assert (await peek.counts())["Report"] == LIMIT
    # An instance started later (or restarted) on the same PostgreSQL knows the count too.
    if count == 2:
        late = await make_client(limited)
        assert (await post(late)).status == 429


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_shared_store_slides_its_window(database_url):
    engine = create_engine(database_url)
    now = [1_000_000.0]
    try:
        limit = SharedRateLimiter(engine, "test", 2, window=60.0, clock=lambda: now[0])
        other = SharedRateLimiter(engine, "other", 1, window=600.0, clock=lambda: now[0])
        assert await other.hit("a") == 0  # another limit's events never count here
        assert [await limit.hit("a"), await limit.wait("a")] == [0, 0]
        now[0] += 10
        assert await limit.hit("a") == 0
        assert await limit.wait("a") == 50  # until the first event leaves the window
        now[0] += 20
        assert await limit.hit("a") == 30  # refused, and not counted
        assert await limit.hit("b") == 0  # each key has its own count
        now[0] += 30
        assert await limit.hit("a") == 0  # the first event has left
        assert await limit.hit("a") == 10
        async with engine.connect() as connection:
            rows = await connection.execute(select(RateEvent.key).order_by(RateEvent.at))
            assert [row.key for row in rows] == ["other:a", "test:a", "test:b", "test:a"]
        # A window later, an idle client's events of this limit are swept; other limits'
        # events stay for their own window.
        now[0] += 61
        assert await limit.hit("c") == 0
        async with engine.connect() as connection:
            rows = await connection.execute(select(RateEvent.key).order_by(RateEvent.key))
            assert [row.key for row in rows] == ["other:a", "test:c"]
            total = await connection.scalar(select(func.count()).select_from(RateEvent))
        assert total == 2
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_clock_ahead_on_another_instance_never_asks_more_than_a_window(database_url):
    """An instance whose clock runs ahead stored the client's event 'later' than this
    instance's now: the wait asked is still at most the window, never 61 s of a 60 s one."""
    engine = create_engine(database_url)
    try:
        ahead = SharedRateLimiter(engine, "skew", 1, window=60.0, clock=lambda: 1_000_002.5)
        behind = SharedRateLimiter(engine, "skew", 1, window=60.0, clock=lambda: 1_000_000.0)
        assert await ahead.hit("a") == 0
        assert await behind.hit("a") == 60
        assert await behind.wait("a") == 60
    finally:
        await engine.dispose()


def test_the_memory_store_asks_between_one_second_and_a_window():
    now = [100.0]
    limit = RateLimiter(1, window=60.0, clock=lambda: now[0])
    assert asyncio.run(limit.hit("a")) == 0
    assert asyncio.run(limit.hit("a")) == 60
    now[0] += 59.5
    assert asyncio.run(limit.wait("a")) == 1


async def test_refused_reports_store_nothing(make_client, settings, peek):
    client = await make_client(settings.model_copy(update={"anonymous_reports_per_minute": 1}))
    assert (await post(client)).status == 201
    assert (await post(client)).status == 429
    assert await peek.count(Report) == 1
