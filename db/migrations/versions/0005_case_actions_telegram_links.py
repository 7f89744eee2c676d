"""case actions (acknowledge, assign, close) and Telegram account links

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every new case column is nullable: existing cases are "new" with nobody on them yet,
    # which is what they were.
    op.create_table(
        "telegram_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_telegram_link_codes_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["accounts.id"],
            name=op.f("fk_telegram_link_codes_issued_by_id_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_link_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_telegram_link_codes_code_hash")),
    )
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_link_codes_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "telegram_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_telegram_links_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_links")),
        sa.UniqueConstraint("account_id", name=op.f("uq_telegram_links_account_id")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_telegram_links_telegram_user_id")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("closed_at", db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_assigned_account_id"), ["assigned_account_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_acknowledged_by_id_accounts"),
            "accounts",
            ["acknowledged_by_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_closed_by_id_accounts"), "accounts", ["closed_by_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_assigned_account_id_accounts"),
            "accounts",
            ["assigned_account_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cases_assigned_account_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_cases_acknowledged_by_id_accounts"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_cases_assigned_account_id"))
        batch_op.drop_constraint(batch_op.f("fk_cases_closed_by_id_accounts"), type_="foreignkey")
        batch_op.drop_column("closed_by_id")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_account_id")
        batch_op.drop_column("acknowledged_by_id")
        batch_op.drop_column("acknowledged_at")

    op.drop_table("telegram_links")
    with op.batch_alter_table("telegram_link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_link_codes_account_id"))

    op.drop_table("telegram_link_codes")
