"""proof-of-work challenges that earned a report, shared by every instance

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spent_proofs",
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_spent_proofs")),
    )
    with op.batch_alter_table("spent_proofs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_proofs_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spent_proofs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_proofs_expires_at"))
    op.drop_table("spent_proofs")
