"""Rows added with SQL INSERT statements, beside the ORM's unit of work.

Intake adds about ten rows a report that nothing reads back in the same transaction. Built as
`SQLModel` objects (each validated by pydantic on construction) and written by the ORM's
flush (which tracks, sorts and batches them), they cost about four times what the rest of a
report's transaction did. Here a table's rows are plain values and go in one statement: the
columns' defaults (`created_at` and the like, which `SQLModel` gives the table too) are filled
in by SQLAlchemy Core, as the ORM would. The same statements run on SQLite and PostgreSQL.

Each table's statements are built once: SQLAlchemy looks a statement's compiled form up by a
key it computes once per statement object, which a statement built per call pays every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlmodel import SQLModel


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


@cache
def _insert(model: type[SQLModel]) -> Insert:
    return _table(model).insert()


@cache
def _insert_returning_id(model: type[SQLModel]) -> Insert:
    table = _table(model)
    return table.insert().returning(table.c.id)


def insert_row(connection: Connection, model: type[SQLModel], values: Mapping[str, Any]) -> int:
    """Add one row of `model`'s table in `connection`'s transaction; its new id."""
    return int(connection.execute(_insert_returning_id(model), dict(values)).scalar_one())


def insert_rows(
    connection: Connection, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Add `rows` to `model`'s table, one statement for the rows that name the same columns.

    (One statement for rows naming different columns would take the first row's columns
    for all of them and silently drop the others' extra values.)
    """
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(frozenset(row), []).append(dict(row))
    for same in by_columns.values():
        connection.execute(_insert(model), same)
