"""Arrival timer: `alarms.arrival_due_at` (acknowledged, nobody on scene yet) and its index.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arrival_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_alarms_arrival_due_at", ["arrival_due_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_arrival_due_at")
        batch_op.drop_column("arrival_due_at")
