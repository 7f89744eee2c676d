"""Reading the units directory as the routing rules `matching.routing` applies."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Unit
from db.seed import unit_rows
from matching.routing import UnitRule, rules_from_rows


def rule_of(unit: Unit) -> UnitRule:
    """A stored unit as the rule `matching.routing.route` applies."""
    return UnitRule(
        code=unit.code,
        countries=frozenset(unit.countries),
        coordinating=unit.kind == "coordinating",
        appendices=frozenset(unit.appendices),
        taxa=frozenset(unit.taxa),
        reporter_cases=unit.reporter_cases,
    )


async def unit_rules(session: AsyncSession) -> list[UnitRule]:
    """The active units as routing rules, in code order."""
    units = (await session.exec(select(Unit).where(Unit.active).order_by(Unit.code))).all()
    return [rule_of(unit) for unit in units]


def seed_unit_rules() -> list[UnitRule]:
    """The shipped directory as rules, for analysis where no database is at hand."""
    return rules_from_rows(unit_rows())
