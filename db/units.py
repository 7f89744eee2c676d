"""Reading the units directory as the routing rules `matching.routing` applies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Unit
from db.seed import unit_rows
from matching.routing import UnitRule, rules_from_rows

#: What routing reads of a unit, the JSON lists as their stored text: fetching these raw
#: columns costs about as much as the smallest query, while loading `Unit` objects (every
#: column, JSON decoded, tracked by the session) and building rules from them costs ten
#: times that, for every report.
_ROUTING_COLUMNS = (
    col(Unit.code),
    col(Unit.kind),
    cast(Unit.countries, Text),
    cast(Unit.appendices, Text),
    cast(Unit.taxa, Text),
    col(Unit.reporter_cases),
)

#: The raw rows the rules below were built from. The cache is checked against what the
#: database holds now, read on every call: a unit changed by the CLI, the dashboard,
#: another instance or plain SQL is routed by on the very next report, never a stale copy
#: for some seconds. Only the building of rules is saved when nothing changed.
_cached: tuple[list[tuple[Any, ...]], list[UnitRule]] = ([], [])


def _rule_of_row(row: Sequence[Any]) -> UnitRule:
    code, kind, countries, appendices, taxa, reporter_cases = row

    def names(raw: str | None) -> frozenset[str]:
        return frozenset(json.loads(raw)) if raw else frozenset()

    return UnitRule(
        code=code,
        countries=names(countries),
        coordinating=kind == "coordinating",
        appendices=names(appendices),
        taxa=names(taxa),
        reporter_cases=bool(reporter_cases),
    )


def read_unit_rules(session: Session) -> list[UnitRule]:
    """The active units as routing rules, in code order, as the database holds them now.

    While the directory is unchanged every call returns the same list, which callers must
    not modify: `matching.routing` keeps its index of the rules by country per list.
    """
    global _cached
    query = select(*_ROUTING_COLUMNS).where(col(Unit.active)).order_by(col(Unit.code))
    rows = [tuple(row) for row in session.exec(query).all()]  # type: ignore[call-overload]
    if rows != _cached[0]:
        _cached = (rows, [_rule_of_row(row) for row in rows])
    return _cached[1]


async def unit_rules(session: AsyncSession) -> list[UnitRule]:
    """`read_unit_rules` through an async session."""
    return await session.run_sync(read_unit_rules)


def seed_unit_rules() -> list[UnitRule]:
    """The shipped directory as rules, for analysis where no database is at hand."""
    return rules_from_rows(unit_rows())
