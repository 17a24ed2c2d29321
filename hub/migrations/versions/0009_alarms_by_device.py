"""Alarms by device: an index on `alarms (site, device, raised_at)`.

Every SOS asks for its device's active alarm of the class (`Ledger.active`) and counts the
device's false alarms of the last 30 days (`suspect.false_alarms`). Neither could use an index:
`uq_alarms_active` is partial (`WHERE active`) and SQLite cannot match `active IS 1` to it, so
both scanned the whole table, a cost that grows with every alarm the community ever had.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_alarms_device", "alarms", ["site", "device", "raised_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_alarms_device", table_name="alarms")
