"""Rows added with SQL INSERT statements, beside the ORM's unit of work.

Intake adds about ten rows a report that nothing reads back in the same transaction. Built as
`SQLModel` objects (each validated by pydantic on construction) and written by the ORM's
flush (which tracks, sorts and batches them), they cost about four times what the rest of a
report's transaction did. Here a table's rows are plain values and go in one statement: the
columns' defaults (`created_at` and the like, which `SQLModel` gives the table too) are filled
in by SQLAlchemy Core, as the ORM would. The same statements run on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, SQLModel


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def insert_row(session: Session, model: type[SQLModel], values: Mapping[str, Any]) -> int:
    """Add one row of `model`'s table in `session`'s transaction; its new id."""
    table = _table(model)
    statement = table.insert().returning(table.c.id)
    return int(session.connection().execute(statement, dict(values)).scalar_one())


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]) -> None:
    """Add `rows` to `model`'s table, one statement for the rows that name the same columns.

    (One statement for rows naming different columns would take the first row's columns
    for all of them and silently drop the others' extra values.)
    """
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(frozenset(row), []).append(dict(row))
    table = _table(model)
    for same in by_columns.values():
        session.connection().execute(table.insert(), same)
