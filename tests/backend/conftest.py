"""Fixtures for the service: the app on a real database, and ways to look inside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func
from sqlmodel import SQLModel, select

from db.engine import create_engine, session_factory
from db.models import AuditEvent, Case, Delivery, Evidence, Listing, Report, Unit
from extension_backend.app import create_app
from extension_backend.auth import create_token
from extension_backend.settings import Settings


@pytest.fixture
def make_client(aiohttp_client: Any) -> Any:
    async def make(settings: Settings) -> TestClient:
        return await aiohttp_client(create_app(settings))

    return make


@pytest.fixture
async def client(make_client: Any, settings: Settings) -> TestClient:
    return await make_client(settings)


async def set_channels(settings: Settings, code: str, channels: list[dict[str, Any]]) -> None:
    """A unit's delivery channels, as `wildflag units channel add` sets them."""
    engine = create_engine(settings.effective_database_url)
    try:
        async with session_factory(engine)() as session:
            unit = await session.get(Unit, code)
            assert unit is not None
            unit.channels = channels
            session.add(unit)
            await session.commit()
    finally:
        await engine.dispose()


class Peek:
    """Read-only access to what the service stored, for assertions."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def count(self, model: type[SQLModel]) -> int:
        engine = create_engine(self.settings.effective_database_url)
        try:
            async with session_factory(engine)() as session:
                return (await session.exec(select(func.count()).select_from(model))).one()
        finally:
            await engine.dispose()

    async def rows(self, model: type[SQLModel], *where: Any) -> list[Any]:
        engine = create_engine(self.settings.effective_database_url)
        try:
            async with session_factory(engine)() as session:
                return list((await session.exec(select(model).where(*where))).all())
        finally:
            await engine.dispose()

    async def counts(self) -> dict[str, int]:
        models = (Report, Case, Listing, Evidence, Delivery, AuditEvent)
        return {m.__name__: await self.count(m) for m in models}

    def evidence_files(self) -> list[str]:
        root = self.settings.evidence_dir
        if not root.exists():
            return []
        return sorted(p.name for p in root.rglob("*") if p.is_file())

    async def token(self, role: str, unit: str | None) -> str:
        engine = create_engine(self.settings.effective_database_url)
        try:
            async with session_factory(engine)() as session:
                _, token = await create_token(session, role=role, unit_code=unit, name="test")
            return token
        finally:
            await engine.dispose()


@pytest.fixture
def peek(settings: Settings) -> Peek:
    return Peek(settings)


@pytest.fixture
async def nothing_stored(peek: Peek) -> AsyncIterator[None]:
    """Assert that the test leaves no report, case, evidence row or file behind."""
    yield
    counts = await peek.counts()
    assert counts == dict.fromkeys(counts, 0), counts
    assert peek.evidence_files() == []
