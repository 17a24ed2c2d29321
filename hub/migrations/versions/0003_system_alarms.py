"""System alarms without a device (e.g. broker drops): `alarms.count` and one active alarm per
(site, class, reason) among them.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_WHERE = "active AND device IS NULL"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index(
            "uq_alarms_active_system",
            ["site", "cls", "reason"],
            unique=True,
            sqlite_where=sa.text(_WHERE),
            postgresql_where=sa.text(_WHERE),
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alarms_active_system",
            sqlite_where=sa.text(_WHERE),
            postgresql_where=sa.text(_WHERE),
        )
        batch_op.drop_column("count")
