"""Storage for wildflag: SQLModel tables, async engine and sessions, Alembic migrations, seeds.

Runs on SQLite (the embedded default) and PostgreSQL alike; anything database-specific is
confined to `db.types` and `db.engine`.
"""
