"""Make a database ready for the service: newest schema, units directory seeded."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import session_factory
from db.migrate import upgrade
from db.seed import seed_units

log = logging.getLogger(__name__)


async def prepare(engine: AsyncEngine) -> None:
    """Migrate to the newest schema and add any shipped unit not yet there (idempotent)."""
    await upgrade(engine)
    async with session_factory(engine)() as session:
        added = await seed_units(session)
    if added:
        log.info("seeded %d units", added)
