"""the unit workspace: sign-in, sessions, case forum, platforms and referrals, workflow

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

Cases move to the workflow of the dashboard: new → triaged → under_investigation →
referred_platform / referred_prosecution → closed. Existing cases that were `acknowledged`
or `assigned` become `triaged` (who looked at them is still in `acknowledged_by_id` and
`assigned_account_id`). Closing outcomes become removed, seized, no_offence, duplicate,
false_positive: `actioned` and `referred` map to `removed`, `no_action` to `no_offence`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("policy_url", sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=False),
        sa.Column("report_url", sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platforms")),
        sa.UniqueConstraint("name", name=op.f("uq_platforms_name")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_web_sessions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_sessions_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "case_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "mentions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_case_comments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_comments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_case_comments_unit_code_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comments")),
    )
    with op.batch_alter_table("case_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_comments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "platform_referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("referred_by_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("via", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column(
            "platform_reference", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("referred_at", db.types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_platform_referrals_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"],
            ["platforms.id"],
            name=op.f("fk_platform_referrals_platform_id_platforms"),
        ),
        sa.ForeignKeyConstraint(
            ["referred_by_id"],
            ["accounts.id"],
            name=op.f("fk_platform_referrals_referred_by_id_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_code"], ["units.code"], name=op.f("fk_platform_referrals_unit_code_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_referrals")),
    )
    with op.batch_alter_table("platform_referrals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_referrals_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_platform_referrals_platform_id"), ["platform_id"], unique=False
        )

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True)
        )
        batch_op.add_column(
            sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("totp_secret", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("last_login_at", db.types.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_accounts_email"), ["email"])

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)

    with op.batch_alter_table("case_units", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="routed",
            )
        )

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_created_at"), ["created_at"], unique=False)

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "topic",
                sqlmodel.sql.sqltypes.AutoString(length=40),
                nullable=False,
                server_default="",
            )
        )
        batch_op.drop_constraint(batch_op.f("uq_delivery_destination"), type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_destination", ["report_id", "unit_code", "channel", "topic"]
        )

    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_created_at"), ["created_at"], unique=False)

    op.execute("UPDATE cases SET status = 'triaged' WHERE status IN ('acknowledged', 'assigned')")
    op.execute("UPDATE cases SET outcome = 'removed' WHERE outcome IN ('actioned', 'referred')")
    op.execute("UPDATE cases SET outcome = 'no_offence' WHERE outcome = 'no_action'")
    op.execute("UPDATE case_units SET kind = 'rerouted' WHERE reason LIKE 'rerouted%'")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_created_at"))

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery_destination", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_destination"), ["report_id", "unit_code", "channel"]
        )
        batch_op.drop_column("topic")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_created_at"))

    with op.batch_alter_table("case_units", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_accounts_email"), type_="unique")
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("email")

    with op.batch_alter_table("platform_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_platform_referrals_platform_id"))
        batch_op.drop_index(batch_op.f("ix_platform_referrals_case_id"))

    op.drop_table("platform_referrals")
    with op.batch_alter_table("case_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_comments_case_id"))

    op.drop_table("case_comments")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_account_id"))

    op.drop_table("web_sessions")
    op.drop_table("platforms")
