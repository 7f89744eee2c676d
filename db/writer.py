"""Where intake's write transactions run: one piece of synchronous ORM work per transaction.

Intake writes a report as a function of a synchronous `Session` (`Work`). A `Writer` runs
it and commits:

- `SessionWriter` (PostgreSQL, or SQLite in memory): through `AsyncSession.run_sync`, in the
  event loop, each statement awaited by the async driver as before.
- `SQLiteWriter` (SQLite on disk, the embedded default): in one thread of its own with a
  plain `sqlite3` connection. Through aiosqlite every statement, every fetch and the
  commit was a hop to aiosqlite's thread and back to the event loop, 46 of them for a
  text-only report, and those hops were most of what a report cost (about 14 ms of CPU for
  13 statements). SQLite takes one writer at a time anyway, so one thread loses nothing:
  it runs the reports waiting for it one after the other in one transaction, each in a
  savepoint of its own (one failing is rolled back alone), and commits them together: one
  commit and one sync of the log for a group of reports, and a report's answer is sent
  only once its group is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from db.engine import SessionFactory, create_sqlite_writer_engine, is_sqlite, sqlite_file

log = logging.getLogger(__name__)

T = TypeVar("T")
#: A transaction's work on a synchronous session; the writer commits it.
Work = Callable[[Session], T]

#: The most reports one SQLite transaction groups: a burst commits in a few groups, and a
#: failing commit takes no more than this many reports with it (their clients retry).
GROUP_LIMIT = 32


class Writer(Protocol):
    async def run(self, work: Work[T], *, alone: bool = False) -> T:
        """Run `work` in a transaction and commit it; its result once committed.

        `alone`: in a transaction of its own, never grouped with other work (its reads
        must not see others' uncommitted rows).
        """
        ...

    async def close(self) -> None: ...


class SessionWriter:
    """Work run through the async session: statements awaited by the driver, in the loop."""

    def __init__(self, sessions: SessionFactory, *, one_at_a_time: bool = False) -> None:
        self.sessions = sessions
        self._turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if one_at_a_time else contextlib.nullcontext()
        )

    async def run(self, work: Work[T], *, alone: bool = False) -> T:
        async with self._turn, self.sessions() as session:
            result = await session.run_sync(work)
            await session.commit()
        return result

    async def close(self) -> None:
        return None


@dataclass(eq=False)
class _Job:
    work: Work[Any]
    future: asyncio.Future[Any]
    alone: bool
    #: Set by the writer thread when it takes the job; a job cancelled before is skipped.
    taken: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.future.cancelled():
                return False
            self.taken = True
            return True

    def settle(self, outcome: Any, failed: bool) -> None:
        def set_outcome() -> None:
            if self.future.done():
                return
            if failed:
                self.future.set_exception(outcome)
            else:
                self.future.set_result(outcome)

        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            self.future.get_loop().call_soon_threadsafe(set_outcome)


_STOP = object()


class SQLiteWriter:
    """One thread running this instance's intake transactions on SQLite, in groups."""

    def __init__(self, engine: Engine, group_limit: int = GROUP_LIMIT) -> None:
        self.engine = engine
        self.group_limit = group_limit
        self._queue: SimpleQueue[Any] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="wildflag-writer", daemon=True)
        self._thread.start()

    async def run(self, work: Work[T], *, alone: bool = False) -> T:
        if not self._thread.is_alive():
            raise RuntimeError("the SQLite writer has stopped")
        job = _Job(work, asyncio.get_running_loop().create_future(), alone)
        self._queue.put(job)
        try:
            return await asyncio.shield(job.future)
        except asyncio.CancelledError:
            # A request given up on: a job not yet taken is skipped; one the thread has
            # taken may commit, so the caller learns nothing until it has (its cleanup
            # must not remove files a committed report names).
            with job.lock:
                taken = job.taken
                if not taken:
                    job.future.cancel()
            if taken:
                with contextlib.suppress(Exception):
                    await job.future
            raise

    async def close(self) -> None:
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self.engine.dispose()

    def _serve(self) -> None:
        waiting: Any = None
        while True:
            first = waiting if waiting is not None else self._queue.get()
            waiting = None
            if first is _STOP:
                return
            group = [first]
            while not first.alone and len(group) < self.group_limit:
                try:
                    item = self._queue.get_nowait()
                except Empty:
                    break
                if item is _STOP or item.alone:
                    waiting = item  # after this group
                    break
                group.append(item)
            self._commit([job for job in group if job.take()])

    def _commit(self, jobs: list[_Job]) -> None:
        if not jobs:
            return
        outcomes: list[tuple[_Job, Any, bool]] = []
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                for job in jobs:
                    try:
                        with session.begin_nested():
                            outcomes.append((job, job.work(session), False))
                    except Exception as exc:  # this job's savepoint is rolled back alone
                        outcomes.append((job, exc, True))
                session.commit()
        except Exception as exc:  # the group's commit failed: none of it was stored
            log.warning("a group of %d intake transactions failed to commit: %s", len(jobs), exc)
            outcomes = [(job, exc, True) for job in jobs]
        for job, outcome, failed in outcomes:
            job.settle(outcome, failed)


def intake_writer(url: str, sessions: SessionFactory) -> Writer:
    """The writer for the database at `url`: a thread of its own for a SQLite file, else
    the async sessions (SQLite in memory: one at a time, as its one connection needs)."""
    if sqlite_file(url):
        return SQLiteWriter(create_sqlite_writer_engine(url))
    return SessionWriter(sessions, one_at_a_time=is_sqlite(url))
