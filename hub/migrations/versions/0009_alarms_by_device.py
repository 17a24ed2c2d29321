"""Alarms by device: an index on `alarms (site, device, raised_at)`, and one on `verify_at`.

Every SOS asks for its device's active alarm of the class (`Ledger.active`) and counts the
device's false alarms of the last 30 days (`suspect.false_alarms`). Neither could use an index:
`uq_alarms_active` is partial (`WHERE active`) and SQLite cannot match `active IS 1` to it, so
both scanned the whole table, a cost that grows with every alarm the community ever had. So
did the engine's tick, every second, looking for smoke alarms due for verification
(`rules/smoke.verify_due`): `verify_at` was the one timer column without an index.

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
    op.create_index("ix_alarms_verify_at", "alarms", ["verify_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_alarms_verify_at", table_name="alarms")
    op.drop_index("ix_alarms_device", table_name="alarms")
