"""Reading the units directory as the routing rules `matching.routing` applies."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, cast, text
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import INTAKE_WRITER
from db.models import Unit
from db.seed import unit_rows
from matching.routing import UnitRule, rules_from_rows

#: What routing and the outbox read of a unit, the JSON lists as their stored text: fetching
#: these raw columns costs about as much as the smallest query, while loading `Unit` objects
#: (every column, JSON decoded, tracked by the session) and building rules from them costs
#: ten times that, for every report.
_DIRECTORY_COLUMNS = (
    col(Unit.code),
    col(Unit.kind),
    cast(Unit.countries, Text),
    cast(Unit.appendices, Text),
    cast(Unit.taxa, Text),
    col(Unit.reporter_cases),
    cast(Unit.channels, Text),
)


@dataclass(frozen=True)
class UnitDirectory:
    """The active units as intake needs them: routing rules, in code order, and each
    unit's notification channels (what `db.outbox.delivery_rows` sends to)."""

    rules: list[UnitRule]
    channels: dict[str, list[dict[str, Any]]]


#: The raw rows the directory below was built from. The cache is checked against what the
#: database holds now, read on every call: a unit changed by the CLI, the dashboard,
#: another instance or plain SQL is routed and notified by the very next report, never a
#: stale copy for some seconds. Only the building is saved when nothing changed.
_cached: tuple[list[tuple[Any, ...]], UnitDirectory] = ([], UnitDirectory([], {}))


def _rule_of_row(row: Sequence[Any]) -> UnitRule:
    code, kind, countries, appendices, taxa, reporter_cases, _channels = row

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


def read_unit_directory(session: Session) -> UnitDirectory:
    """The active units as the database holds them now.

    While the directory is unchanged every call returns the same object, which callers
    must not modify: `matching.routing` keeps its index of the rules by country per list.

    Reading every unit's row for every report cost more than the rest of routing, so it
    is skipped where the database can say cheaply that nothing changed, and never on a
    guess: on the SQLite intake writer's connection, which never changes the directory
    itself, while no other connection has committed anything since the last read (SQLite's
    `data_version`); on PostgreSQL, while a digest of the same columns the server computes
    is the one the cached directory was read at. A unit changed anywhere is read by the
    very next report.
    """
    global _cached, _cached_digest
    connection = session.connection()
    version = digest = None
    if connection.info.get(INTAKE_WRITER):
        version = connection.exec_driver_sql("PRAGMA data_version").scalar()
        seen = connection.info.get(_SEEN)
        if seen is not None and seen[0] == version:
            return seen[1]  # type: ignore[no-any-return]
    elif connection.dialect.name == "postgresql":
        digest = connection.execute(_POSTGRES_DIGEST).scalar()
        if digest is not None and digest == _cached_digest[0]:
            return _cached_digest[1]
    query = select(*_DIRECTORY_COLUMNS).where(col(Unit.active)).order_by(col(Unit.code))
    rows = [tuple(row) for row in session.exec(query).all()]  # type: ignore[call-overload]
    cached = _cached
    if rows != cached[0]:
        channels = {row[0]: json.loads(row[-1]) if row[-1] else [] for row in rows}
        cached = _cached = (rows, UnitDirectory([_rule_of_row(row) for row in rows], channels))
    if version is not None:
        connection.info[_SEEN] = (version, cached[1])
    if digest is not None:
        _cached_digest = (digest, cached[1])
    return cached[1]


#: The PostgreSQL digest of the directory's columns and the directory read at it. The digest
#: is taken before the rows are read, in the same transaction: a change committed between the
#: two is read with the rows and, its digest being newer, read again by the next report.
_cached_digest: tuple[str | None, UnitDirectory] = (None, UnitDirectory([], {}))
_POSTGRES_DIGEST = text(
    "SELECT md5(string_agg("
    "row(code, kind, countries, appendices, taxa, reporter_cases, channels)::text, "
    "E'\\n' ORDER BY code)) FROM units WHERE active"
)


#: Where the intake writer's connection keeps the `data_version` it last read the directory at.
_SEEN = "wildflag_unit_directory"


def read_unit_rules(session: Session) -> list[UnitRule]:
    """The active units as routing rules, in code order (see `read_unit_directory`)."""
    return read_unit_directory(session).rules


async def unit_rules(session: AsyncSession) -> list[UnitRule]:
    """`read_unit_rules` through an async session."""
    return await session.run_sync(read_unit_rules)


def seed_unit_rules() -> list[UnitRule]:
    """The shipped directory as rules, for analysis where no database is at hand."""
    return rules_from_rows(unit_rows())
