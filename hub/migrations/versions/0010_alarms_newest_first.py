"""Alarms newest first: an index on `alarms (raised_at)`.

The board's and the API's "every alarm, newest first" (`Store.list_alarms`,
`alarm_views.list_views` without priority) sorted the whole table to return its first page, a
cost that grows with every alarm the community ever had. With this index the database reads
the newest rows first and stops at the page's end.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_alarms_raised_at", "alarms", ["raised_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_alarms_raised_at", table_name="alarms")
