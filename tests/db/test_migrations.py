"""Migrations over existing data, on SQLite and PostgreSQL: what was there keeps working."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import create_engine, session_factory
from db.migrate import current_revision, head_revision, upgrade
from db.models import Unit
from db.units import unit_rules
from matching.routing import UnitRule
from tests.conftest import POSTGRES_URL, _admin


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres
) -> AsyncIterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    await postgres.template_name()  # skips (or fails, in CI) without a server
    name = f"wf_empty_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_units_of_0003_get_no_filter_and_no_reporter_opt_in(empty_database_url):
    engine = create_engine(empty_database_url)
    try:
        await upgrade(engine, "0003")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO units (code, name, kind, countries, appendices, channels, "
                    "active, created_at) VALUES ('GB', 'United Kingdom', 'national', '[\"GB\"]', "
                    "'[\"I\"]', '[]', true, CURRENT_TIMESTAMP)"
                )
            )
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, "GB")
            assert unit is not None
            assert (unit.taxa, unit.reporter_cases, unit.appendices) == ([], False, ["I"])
            assert await unit_rules(session) == [
                UnitRule("GB", frozenset({"GB"}), appendices=frozenset({"I"}))
            ]
    finally:
        await engine.dispose()
