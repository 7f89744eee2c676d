"""The schema on SQLite and PostgreSQL: migrations, constraints, types, seeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from db import units
from db.bootstrap import prepare
from db.engine import create_engine, session_factory
from db.inserts import insert_row, insert_rows
from db.migrate import current_revision, head_revision
from db.models import AuditEvent, Case, Listing, Unit
from db.seed import seed_units, unit_seeds
from db.units import read_unit_directory


@pytest.fixture
async def sessions(database_url):
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_migrations_reach_head_and_match_the_models(database_url):
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
        assert diff == []
        await prepare(engine)  # running again changes nothing and does not fail
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_seeded_units_directory(sessions):
    async with sessions() as session:
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    assert len(units) == len(unit_seeds())
    assert units["COORD"].kind == "coordinating"
    assert "FR" in units["FR"].countries
    assert sum(u.kind == "national" for u in units.values()) >= 180


async def test_seeding_keeps_operator_edits(sessions):
    async with sessions() as session:
        unit = await session.get(Unit, "KE")
        unit.name = "Kenya Wildlife Service — cyber unit"
        session.add(unit)
        await session.commit()
        assert await seed_units(session) == 0
    async with sessions() as session:
        assert (await session.get(Unit, "KE")).name == "Kenya Wildlife Service — cyber unit"


async def test_datetimes_come_back_aware_in_utc(sessions):
    paris = timezone(timedelta(hours=1))
    async with sessions() as session:
        case = Case(
            priority="review",
            priority_rank=4,
            created_at=datetime(2026, 3, 1, 12, 0, tzinfo=paris),
        )
        session.add(case)
        await session.commit()
        case_id = case.id
    async with sessions() as session:
        stored = await session.get(Case, case_id)
    assert stored.created_at == datetime(2026, 3, 1, 11, 0, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None


async def test_naive_datetimes_are_refused(sessions):
    async with sessions() as session:
        session.add(Case(priority="review", priority_rank=4, created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive"):
            await session.commit()


async def test_one_listing_per_canonical_key(sessions):
    async with sessions() as session:
        case = Case(priority="review", priority_rank=4)
        session.add(case)
        await session.flush()
        for _ in range(2):
            session.add(Listing(url_key="ebay:item:1", url="u", host="ebay.com", case_id=case.id))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_foreign_keys_are_enforced(sessions):
    async with sessions() as session:
        session.add(Listing(url_key="k", url="u", host="h", case_id=999_999))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_json_columns_round_trip(sessions):
    async with sessions() as session:
        session.add(Unit(code="TST", name="Test", countries=["AA"], channels=[{"type": "webhook"}]))
        await session.commit()
    async with sessions() as session:
        unit = await session.get(Unit, "TST")
    assert unit.countries == ["AA"] and unit.channels == [{"type": "webhook"}]


async def test_rows_inserted_beside_the_orm_get_the_models_defaults(sessions):
    """`db.inserts` writes plain values: the columns' defaults (timestamps, JSON lists)
    must be filled in as the ORM would, and JSON must come back as stored."""
    async with sessions() as session:

        def write(sync: Any) -> int:
            case_id = insert_row(sync.connection(), Case, {"priority": "high", "priority_rank": 2})
            insert_rows(
                sync.connection(),
                AuditEvent,
                [
                    {"actor": "system", "action": "t", "object_type": "case", "object_id": "1"},
                    {
                        "actor": "system",
                        "action": "t",
                        "object_type": "case",
                        "object_id": "2",
                        "details": {"units": ["KE"], "n": 2},
                    },
                ],
            )
            return case_id

        case_id = await session.run_sync(write)
        await session.commit()
    async with sessions() as session:
        case = await session.get(Case, case_id)
        events = (await session.exec(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert (case.status, case.title, case.report_count) == ("new", "", 0)
    assert case.created_at.tzinfo is not None and case.updated_at is not None
    assert [e.details for e in events] == [{}, {"units": ["KE"], "n": 2}]
    assert all(e.at is not None for e in events)


async def test_the_directory_follows_a_changed_channel_at_once(sessions):
    """Intake notifies the channels `read_unit_directory` gives: a channel an admin adds is
    used by the very next report, not after some cache expires."""
    async with sessions() as session:
        before = await session.run_sync(read_unit_directory)
        unit = await session.get(Unit, "KE")
        unit.channels = [{"type": "webhook", "target": "https://ke.example/hook"}]
        session.add(unit)
        await session.commit()
        after = await session.run_sync(read_unit_directory)
    assert before.channels["KE"] == []
    assert after.channels["KE"] == [{"type": "webhook", "target": "https://ke.example/hook"}]
    assert after.rules == before.rules  # routing itself did not change


async def test_postgresql_reads_the_directory_again_only_when_its_digest_changes(
    database_url, monkeypatch
):
    """On PostgreSQL a digest the server computes stands in for reading every unit's row;
    a change is read by the next call. (SQLite outside the intake writer reads the rows.)"""
    monkeypatch.setattr(units, "_cached_digest", (None, units.UnitDirectory([], {})))
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    row_reads: list[str] = []

    def count(connection, cursor, statement, *args):
        if "CAST(units.channels AS" in statement:
            row_reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        async with sessions() as session:
            first = await session.run_sync(read_unit_directory)
            again = await session.run_sync(read_unit_directory)
            assert again is first
            assert len(row_reads) == (1 if engine.dialect.name == "postgresql" else 2)
            unit = await session.get(Unit, "KE")
            unit.channels = [{"type": "email", "target": "cyber@ke.example"}]
            session.add(unit)
            await session.commit()
            changed = await session.run_sync(read_unit_directory)
        assert changed.channels["KE"] == [{"type": "email", "target": "cyber@ke.example"}]
        assert len(row_reads) == (2 if engine.dialect.name == "postgresql" else 3)
    finally:
        await engine.dispose()
