"""Trust: the durable outbox of pages and commands, dead letters, a store write probe,
device flapping (offline since, flap count), device clock skew on events and 64-bit `seq`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "outbox",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alarm_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(300), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_table(
        "store_probe",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_store_probe"),
    )
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("flap_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("flaps", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_skew_s", sa.Float(), nullable=True))
    # SQLite's INTEGER already holds 64 bits; PostgreSQL's INTEGER does not (seq = 2**63 - 1).
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("events", "seq", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("events", "seq", type_=sa.Integer(), existing_type=sa.BigInteger())
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("clock_skew_s")
    with op.batch_alter_table("device_state", schema=None) as batch_op:
        batch_op.drop_column("flaps")
        batch_op.drop_column("flap_since")
        batch_op.drop_column("offline_since")
    op.drop_table("store_probe")
    op.drop_table("dead_letters")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
