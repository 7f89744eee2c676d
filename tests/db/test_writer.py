"""The SQLite writer: reports waiting for it commit together, each rolled back alone.

Real SQLite files, a real thread. Jobs are queued while the writer is held busy, so the
grouping is certain rather than a matter of timing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from db.bootstrap import prepare
from db.engine import create_engine, create_sqlite_writer_engine
from db.units import read_unit_directory
from db.writer import SQLiteWriter


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writer.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE items (name TEXT PRIMARY KEY)")
    return path


def stored(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM items ORDER BY name")]


def insert(name: str, seen: list[int] | None = None) -> Any:
    """Work that stores `name`, noting in `seen` how many commits came before it."""

    def work(session: Session) -> str:
        if seen is not None:
            seen.append(len(COMMITS))
        session.execute(text("INSERT INTO items (name) VALUES (:name)"), {"name": name})
        return name

    return work


COMMITS: list[int] = []


def new_writer(path: Path) -> SQLiteWriter:
    """A writer on `path`, its commits counted in `COMMITS`."""
    COMMITS.clear()
    engine = create_sqlite_writer_engine(f"sqlite+aiosqlite:///{path}")
    event.listen(engine, "commit", lambda connection: COMMITS.append(1))
    return SQLiteWriter(engine)


async def held_writer(path: Path) -> tuple[SQLiteWriter, threading.Event, asyncio.Task[Any]]:
    """A writer whose thread is busy with a first job until the event is set."""
    writer = new_writer(path)
    release, started = threading.Event(), threading.Event()

    def hold(session: Session) -> str:
        started.set()
        release.wait(10)
        return "held"

    first = asyncio.create_task(writer.run(hold, alone=True))
    assert await asyncio.to_thread(started.wait, 10)
    return writer, release, first


async def test_waiting_reports_commit_in_one_group_and_a_failing_one_alone_is_undone(
    database: Path,
) -> None:
    writer, release, first = await held_writer(database)
    seen: list[int] = []

    def fails(session: Session) -> None:
        insert("half-written", seen)(session)
        raise ValueError("this report is refused")

    jobs = [
        asyncio.create_task(writer.run(insert("a", seen))),
        asyncio.create_task(writer.run(fails)),
        asyncio.create_task(writer.run(insert("b", seen))),
        asyncio.create_task(writer.run(insert("a", seen))),  # the primary key refuses it
    ]
    await asyncio.sleep(0.1)  # all four queued behind the held job
    release.set()
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    assert await first == "held"
    assert outcomes[0] == "a" and outcomes[2] == "b"
    assert isinstance(outcomes[1], ValueError)
    assert "UNIQUE" in str(outcomes[3])
    assert stored(database) == ["a", "b"]  # nothing of the two refused ones
    assert seen == [seen[0]] * 4  # the four in one transaction
    assert len(COMMITS) == seen[0] + 1  # and one commit
    await writer.close()


async def test_work_that_must_run_alone_gets_a_transaction_of_its_own(database: Path) -> None:
    writer, release, first = await held_writer(database)
    seen: list[int] = []
    jobs = [
        asyncio.create_task(writer.run(insert("a", seen))),
        asyncio.create_task(writer.run(insert("b", seen), alone=True)),
        asyncio.create_task(writer.run(insert("c", seen))),
    ]
    await asyncio.sleep(0.1)
    release.set()
    assert await asyncio.gather(first, *jobs) == ["held", "a", "b", "c"]
    assert seen == [seen[0], seen[0] + 1, seen[0] + 2]  # "a"; then "b" alone; then "c"
    assert stored(database) == ["a", "b", "c"]
    await writer.close()


async def test_a_report_given_up_on_before_its_turn_is_not_written(database: Path) -> None:
    writer, release, first = await held_writer(database)
    given_up = asyncio.create_task(writer.run(insert("given up")))
    kept = asyncio.create_task(writer.run(insert("kept")))
    await asyncio.sleep(0.1)
    given_up.cancel()
    await asyncio.sleep(0.1)  # the task has run its cancellation before the thread is free
    release.set()
    assert await kept == "kept"
    with pytest.raises(asyncio.CancelledError):
        await given_up
    await first
    assert stored(database) == ["kept"]
    await writer.close()


async def test_a_report_given_up_on_once_taken_is_answered_after_its_commit(
    database: Path,
) -> None:
    """Its caller's cleanup (removing evidence files of a failed report) must not run
    while the transaction that names them may still commit."""
    writer = new_writer(database)
    taken, release = threading.Event(), threading.Event()

    def slow(session: Session) -> str:
        taken.set()
        release.wait(10)
        return insert("slow")(session)

    task = asyncio.create_task(writer.run(slow))
    assert await asyncio.to_thread(taken.wait, 10)
    task.cancel()
    await asyncio.sleep(0.1)
    assert not task.done()  # still waiting for the commit
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stored(database) == ["slow"]
    await writer.close()


async def test_the_writer_reads_the_units_again_only_after_another_connection_commits(
    tmp_path: Path,
) -> None:
    """The writer's connection never changes the directory, so it skips reading it while
    no other connection has committed; a unit changed elsewhere is read by the next report."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'wildflag.sqlite3'}"
    engine = create_engine(url)
    await prepare(engine)
    await engine.dispose()
    writer = new_writer(tmp_path / "wildflag.sqlite3")
    unit_reads: list[str] = []

    def count(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM units" in statement:
            unit_reads.append(statement)

    event.listen(writer.engine, "before_cursor_execute", count)
    try:
        first = await writer.run(read_unit_directory)
        again = await writer.run(read_unit_directory)
        assert len(unit_reads) == 1 and again is first
        with sqlite3.connect(tmp_path / "wildflag.sqlite3") as other:
            other.execute(
                "UPDATE units SET channels = ? WHERE code = 'KE'",
                ('[{"type": "webhook", "target": "https://ke.example/hook"}]',),
            )
        changed = await writer.run(read_unit_directory)
        assert len(unit_reads) == 2
        assert first.channels["KE"] == []
        assert changed.channels["KE"] == [{"type": "webhook", "target": "https://ke.example/hook"}]
    finally:
        await writer.close()
