"""Rosters: an `extra` duty may cover another grid for the day (`roster_exceptions.grid`).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("roster_exceptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grid", sa.String(64), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("roster_exceptions", schema=None) as batch_op:
        batch_op.drop_column("grid")
