"""Sliding-window limits: at most `limit` events per `window` seconds per key.

Two stores, one behaviour. `RateLimiter` keeps the events in this process's memory: enough
for the embedded default, where one process serves. `SharedRateLimiter` keeps them in the
PostgreSQL database that every instance shares, so behind N instances a client still gets
`limit` events a window, not N times as many, and a restart forgets nothing.
`create_limiter` picks the one that fits the database.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from db.models import RateEvent


class Limiter(Protocol):
    """What a request handler asks of a limit."""

    async def hit(self, key: str) -> int:
        """Count one event for `key`: 0 if allowed, else the seconds to wait before retrying
        (a refused event is not counted)."""
        ...

    async def wait(self, key: str) -> int:
        """The seconds `key` must wait before its next event is allowed; 0 now. Counts nothing
        (for limits on failures: check first, `hit` only when the attempt failed)."""
        ...


def _retry_after(oldest: float, window: float, now: float) -> int:
    """Whole seconds until the oldest event in the window leaves it: at least 1, and never
    more than the window (another instance's clock may run a little ahead of this one's)."""
    return min(math.ceil(window), max(1, math.ceil(oldest + window - now)))


class RateLimiter:
    """A `Limiter` in this process's memory."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    async def hit(self, key: str) -> int:
        now = self.clock()
        events = self._current(key, now)
        if len(events) >= self.limit:
            return _retry_after(events[0], self.window, now)
        events.append(now)
        if len(self._events) > 100_000:  # forget idle clients rather than grow without bound
            self._prune(now)
        return 0

    async def wait(self, key: str) -> int:
        now = self.clock()
        events = self._current(key, now)
        return _retry_after(events[0], self.window, now) if len(events) >= self.limit else 0

    def _current(self, key: str, now: float) -> deque[float]:
        """`key`'s events still in the window, oldest first."""
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self.window]:
            del self._events[key]


class SharedRateLimiter:
    """A `Limiter` whose events are rows of `rate_events` in a shared PostgreSQL database.

    Each decision is one transaction under a transaction-scoped advisory lock on the key, so
    two instances deciding for one client at once take turns and never both let the
    `limit`-th + 1 event through. Keys are stored under the limit's `name`, so limits with
    different windows never read each other's events. The clock is the wall clock, which
    instances on different machines share (within NTP's milliseconds); a test passes its own.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        name: str,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.name = name
        self.limit = limit
        self.window = window
        self.clock = clock
        self._swept = -math.inf

    async def hit(self, key: str) -> int:
        return await self._decide(key, count=True)

    async def wait(self, key: str) -> int:
        return await self._decide(key, count=False)

    async def _decide(self, key: str, count: bool) -> int:
        stored = f"{self.name}:{key}"[:400]
        async with self.engine.begin() as connection:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": stored}
            )
            # The clock is read once the lock is held: read before, it could fall behind an
            # event another instance stored while this one waited its turn.
            now = self.clock()
            horizon = now - self.window
            if now - self._swept > self.window:
                # Once a window, every idle client's old events of this limit go too.
                self._swept = now
                await connection.execute(
                    delete(RateEvent).where(
                        col(RateEvent.key).startswith(f"{self.name}:", autoescape=True),
                        col(RateEvent.at) <= horizon,
                    )
                )
            else:
                await connection.execute(
                    delete(RateEvent).where(
                        col(RateEvent.key) == stored, col(RateEvent.at) <= horizon
                    )
                )
            events, oldest = (
                await connection.execute(
                    select(func.count(), func.min(RateEvent.at)).where(col(RateEvent.key) == stored)
                )
            ).one()
            if events >= self.limit:
                return _retry_after(oldest, self.window, now)
            if count:
                await connection.execute(insert(RateEvent).values(key=stored, at=now))
        return 0


def create_limiter(engine: AsyncEngine, name: str, limit: int, window: float = 60.0) -> Limiter:
    """The limit for `engine`'s deployment: in memory on SQLite, which one process serves;
    shared through the database on PostgreSQL, which several instances may."""
    if engine.dialect.name == "sqlite":
        return RateLimiter(limit, window)
    return SharedRateLimiter(engine, name, limit, window)
