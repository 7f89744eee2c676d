"""Async engines and sessions for SQLite (embedded default) and PostgreSQL.

Engines are created by the caller (the app's cleanup context, a CLI command, a test) inside
the event loop that uses them; nothing here holds a module-level engine.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer;
    # the busy timeout makes concurrent writers wait instead of failing at once (reports of
    # one instance take turns before they write: `Intake._sqlite_turn`). synchronous=FULL
    # syncs the WAL at every commit, so a report acknowledged to its reporter survives a
    # power cut; WAL with NORMAL (the default of some builds) may lose the last commits.
    # It costs little here: the commits of a WAL append to one file.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`, with the per-connection settings each database needs."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        return engine
    # A server restarted or a connection cut leaves dead connections in the pool: the ping
    # on checkout replaces them, and `_flag_disconnects` drops the pool at the first error.
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "handle_error", _flag_disconnects)
    return engine


def sqlite_file(url: str) -> bool:
    """Whether `url` is a SQLite database in a file (not in memory)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


#: Marks (in `Connection.info`) a connection of the SQLite intake writer: it writes reports
#: and what comes with them, never the units directory (see `db.units.read_unit_directory`).
INTAKE_WRITER = "wildflag_intake_writer"


def create_sqlite_writer_engine(url: str) -> Engine:
    """A synchronous engine (the standard `sqlite3` module) on the SQLite file of `url`,
    for `db.writer.SQLiteWriter`'s thread.

    Its transactions begin with BEGIN IMMEDIATE, taking the write lock at once, and are
    begun by SQLAlchemy rather than by `sqlite3` (whose own handling knows no savepoints):
    the writer groups reports in one transaction with a savepoint each.
    """
    engine = create_sync_engine(make_url(url).set(drivername="sqlite"))

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        _sqlite_on_connect(dbapi_connection, record)
        dbapi_connection.isolation_level = None
        record.info[INTAKE_WRITER] = True

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


#: SQLSTATE classes that mean the server or the connection to it is gone or refusing work
#: for now: 08 connection exceptions, 57P01-57P05 shutdowns and "cannot connect now" (a
#: server starting or stopping), 53300 too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")
#: SQLSTATE 53100: the database server's disk is full.
_DISK_FULL_SQLSTATE = "53100"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _sqlstate(error: BaseException) -> str:
    return str(getattr(error, "sqlstate", None) or getattr(error, "pgcode", None) or "")


def _connection_lost(error: BaseException) -> bool:
    """Whether a driver error says the connection cannot be used any more.

    asyncpg answers a query on a connection whose server just went away with a protocol
    error ("cannot switch to state …; another operation is in progress") that SQLAlchemy
    does not count as a disconnect: it would put the connection back in the pool.
    """
    for item in _chain(error):
        if _sqlstate(item).startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if isinstance(item, ConnectionError):
            return True
        if type(item).__name__ == "InternalClientError":  # asyncpg's wedged protocol
            return True
    return False


def _flag_disconnects(context: ExceptionContext) -> None:
    """Count a lost connection as a disconnect, so SQLAlchemy invalidates it and the pool.

    The pool then reconnects on the next checkout instead of handing out connections to a
    server that has restarted.
    """
    if not context.is_disconnect and _connection_lost(context.original_exception):
        context.is_disconnect = True


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached or used right now (down,
    restarting, the connection cut, the pool exhausted, SQLite locked past its busy
    timeout) rather than a bug or a refused statement: a request may be retried later.
    """
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection free in time
        return True
    if isinstance(error, sa_exc.OperationalError) and "database is locked" in str(error):
        return True
    return _connection_lost(error)


def storage_full(error: BaseException) -> bool:
    """Whether `error` comes from a full disk or an exhausted quota (evidence files, the
    SQLite file, or the PostgreSQL server's disk)."""
    for item in _chain(error):
        if isinstance(item, OSError) and item.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if _sqlstate(item) == _DISK_FULL_SQLSTATE:
            return True
        if getattr(item, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
    return False
