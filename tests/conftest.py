"""Shared fixtures: a fresh database per test on SQLite and on a real PostgreSQL.

PostgreSQL is found at `WILDFLAG_TEST_POSTGRES_URL` (default: the local server with trust
auth). Without a server the PostgreSQL half of the suite is skipped with the reason shown,
unless `WILDFLAG_REQUIRE_POSTGRES=1` (CI sets it), where a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from db.bootstrap import prepare
from db.engine import create_engine
from extension_backend.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

POSTGRES_URL = os.environ.get(
    "WILDFLAG_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("WILDFLAG_REQUIRE_POSTGRES") == "1"


def shared_data(*parts: str) -> Path:
    """A file of the reference data beside the repository, or a visible skip."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not found at {path} (a fresh clone has no ../shared)")
    return path


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class _Postgres:
    """A migrated template database, copied for each test (much faster than migrating)."""

    def __init__(self) -> None:
        self.template: str | None = None
        self.error: str | None = None

    async def template_name(self) -> str:
        if self.template is None and self.error is None:
            name = f"wf_tmpl_{uuid.uuid4().hex[:10]}"
            try:
                await self._create_template(name)
                self.template = name
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                self.error = f"{type(exc).__name__}: {exc}"
        if self.template is None:
            message = f"PostgreSQL not reachable at {POSTGRES_URL} ({self.error})"
            if REQUIRE_POSTGRES:
                pytest.fail(message + " and WILDFLAG_REQUIRE_POSTGRES=1")
            pytest.skip(message)
        return self.template

    async def _create_template(self, name: str) -> None:
        await _admin(f'CREATE DATABASE "{name}"')
        engine = create_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
        try:
            await prepare(engine)
        finally:
            await engine.dispose()

    def drop(self) -> None:
        if self.template:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> Iterator[_Postgres]:
    server = _Postgres()
    yield server
    server.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres: _Postgres
) -> AsyncIterator[str]:
    """A fresh, migrated and seeded database: SQLite in tmp_path, or a PostgreSQL copy."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'wildflag.sqlite3'}"
        engine = create_engine(url)
        await prepare(engine)
        await engine.dispose()
        yield url
        return
    template = await postgres.template_name()
    name = f"wf_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url="http://wildflag.test",
        anonymous_reports_per_minute=1000,
        # Every report notifies: tests of flood protection set their own quiet period.
        update_quiet_minutes=0,
        # Tests' webhook receivers listen on loopback, which the address guard refuses
        # unless the operator allows it.
        delivery_allow_private_networks=["127.0.0.0/8", "::1/128"],
    )
