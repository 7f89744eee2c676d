"""Idempotency-Key on POST /api/v1/reports: the key's hash and the sealed receipt

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Both nullable: existing reports were sent without a key, and NULLs never collide
    # under the unique constraint (on SQLite and PostgreSQL alike).
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "idempotency_key_hash",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "idempotency_receipt",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                nullable=True,
            )
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_reports_idempotency_key_hash"), ["idempotency_key_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reports_idempotency_key_hash"), type_="unique")
        batch_op.drop_column("idempotency_receipt")
        batch_op.drop_column("idempotency_key_hash")
