"""Which failures the API answers 503 (retry later) or 507 (out of space) instead of 500.

The fault tests cause these for real (a PostgreSQL restart, a full tmpfs); this pins the
cases they cannot reach every run, and that ordinary errors stay 500s or 409s.
"""

from __future__ import annotations

import errno
import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from db.engine import database_unavailable, storage_full


def wrapped(cls: type[sa_exc.DBAPIError], orig: BaseException) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy raises it: wrapped, the original as its cause."""
    try:
        try:
            raise orig
        except BaseException as inner:
            raise cls("SELECT 1", {}, inner) from inner
    except sa_exc.DBAPIError as outer:
        return outer


def sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]
    return error


UNAVAILABLE = [
    ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
    wrapped(sa_exc.DBAPIError, asyncpg.CannotConnectNowError("the database system is starting up")),
    wrapped(sa_exc.DBAPIError, asyncpg.AdminShutdownError("terminating connection")),
    wrapped(sa_exc.DBAPIError, asyncpg.ConnectionDoesNotExistError("connection was closed")),
    wrapped(sa_exc.DBAPIError, asyncpg.TooManyConnectionsError("too many clients")),
    wrapped(sa_exc.OperationalError, sqlite_error("database is locked", sqlite3.SQLITE_BUSY)),
    sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
]
FULL = [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    wrapped(sa_exc.DBAPIError, asyncpg.DiskFullError("could not extend file")),
    wrapped(sa_exc.OperationalError, sqlite_error("database or disk is full", sqlite3.SQLITE_FULL)),
]
NEITHER = [
    wrapped(sa_exc.IntegrityError, asyncpg.UniqueViolationError("duplicate key")),
    wrapped(sa_exc.ProgrammingError, asyncpg.UndefinedTableError("relation does not exist")),
    wrapped(sa_exc.OperationalError, sqlite_error("no such table: reports", sqlite3.SQLITE_ERROR)),
    PermissionError(errno.EACCES, "Permission denied"),
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", UNAVAILABLE, ids=repr)
def test_lost_or_refused_database_is_unavailable(error: BaseException) -> None:
    assert database_unavailable(error)
    assert not storage_full(error)


@pytest.mark.parametrize("error", FULL, ids=repr)
def test_full_disks_are_storage_full(error: BaseException) -> None:
    assert storage_full(error)


@pytest.mark.parametrize("error", NEITHER, ids=repr)
def test_bugs_and_refused_statements_are_neither(error: BaseException) -> None:
    assert not database_unavailable(error)
    assert not storage_full(error)
