"""First-start data: the directory of national units (one per CITES Party) and the
coordinating unit. Seeding adds what is missing and never overwrites an operator's edits.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Unit
from db.platforms import seed_platforms


@dataclass(frozen=True, slots=True)
class UnitSeed:
    code: str
    name: str
    kind: str
    countries: tuple[str, ...]


def unit_rows() -> list[dict[str, str]]:
    """The rows of the shipped units directory (`db/data/units.csv`)."""
    text = resources.files("db").joinpath("data/units.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def unit_seeds() -> list[UnitSeed]:
    """The shipped units directory as seeds for the `units` table."""
    return [
        UnitSeed(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            countries=tuple(row["countries"].split()),
        )
        for row in unit_rows()
    ]


async def seed_units(session: AsyncSession) -> int:
    """Insert the shipped units that are not there yet; returns how many were added."""
    existing = set((await session.exec(select(Unit.code))).all())
    added = 0
    for seed in unit_seeds():
        if seed.code in existing:
            continue
        session.add(
            Unit(code=seed.code, name=seed.name, kind=seed.kind, countries=list(seed.countries))
        )
        added += 1
    await seed_platforms(session)  # the platform directory, seeded the same way (not counted)
    await session.commit()
    return added
