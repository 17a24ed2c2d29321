"""The people's side: users, their tokens, the audit log, rosters and care rounds.

Revision ID: 0005
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "users",
        sa.Column("username", sa.String(48), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_users")),
    )
    op.create_table(
        "user_tokens",
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("username", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_user_tokens")),
    )
    op.create_index("ix_user_tokens_username", "user_tokens", ["username"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("username", sa.String(48), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("remote", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_ts", "audit_log", ["ts"])
    op.create_index("ix_audit_log_site", "audit_log", ["site"])
    op.create_table(
        "roster_shifts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_shifts")),
    )
    op.create_index("ix_roster_shifts_site_worker", "roster_shifts", ["site", "worker"])
    op.create_table(
        "roster_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(48), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_exceptions")),
    )
    op.create_index("ix_roster_exceptions_site_day", "roster_exceptions", ["site", "day"])
    op.create_table(
        "care_plans",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("resident", sa.String(64), nullable=False),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("site", "resident", name=op.f("pk_care_plans")),
    )
    op.create_table(
        "care_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("resident", sa.String(64), nullable=False),
        sa.Column("worker", sa.String(64), nullable=False),
        sa.Column("ts", _TS, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_visits")),
    )
    op.create_index("ix_care_visits_site_resident", "care_visits", ["site", "resident"])


def downgrade() -> None:
    """Revert this revision."""
    for table in (
        "care_visits",
        "care_plans",
        "roster_exceptions",
        "roster_shifts",
        "audit_log",
        "user_tokens",
        "users",
    ):
        op.drop_table(table)
