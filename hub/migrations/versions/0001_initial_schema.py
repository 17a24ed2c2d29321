"""Initial schema: registry, events, alarms, transitions, recipients, deliveries, liveness.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("alarm_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_device_ts", ["site", "device", "ts"], unique=False)

    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=True),
        sa.Column("building", sa.String(length=64), nullable=True),
        sa.Column("household", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("resident", sa.String(length=64), nullable=True),
        sa.Column("cls", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verify_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("last_event", sa.String(length=36), nullable=True),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_alarms_site_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_next_escalation_at", ["next_escalation_at"], unique=False)
        batch_op.create_index("ix_alarms_state", ["state"], unique=False)
        batch_op.create_index(
            "uq_alarms_active",
            ["site", "device", "cls"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "grids",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_grids_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_grids")),
    )
    op.create_table(
        "workers",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("grids", sa.JSON(), nullable=False),
        sa.Column("backup_for", sa.JSON(), nullable=False),
        sa.Column("notify", sa.JSON(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_workers_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_workers")),
    )
    op.create_table(
        "alarm_recipients",
        sa.Column("alarm_id", sa.String(length=64), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_recipients_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("alarm_id", "worker", name=op.f("pk_alarm_recipients")),
    )
    op.create_table(
        "alarm_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(length=64), nullable=False),
        sa.Column("cls", sa.String(length=16), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_alarm_transitions_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_transitions")),
    )
    with op.batch_alter_table("alarm_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alarm_transitions_alarm_id"), ["alarm_id"], unique=False
        )

    op.create_table(
        "buildings",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("floors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site", "grid"], ["grids.site", "grids.id"], name=op.f("fk_buildings_site_grids")
        ),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_buildings_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_buildings")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alarm_id", sa.String(length=64), nullable=False),
        sa.Column("worker", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"], name=op.f("fk_deliveries_alarm_id_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliveries_alarm_id"), ["alarm_id"], unique=False)

    op.create_table(
        "households",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("key_safe", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["site", "building"],
            ["buildings.site", "buildings.id"],
            name=op.f("fk_households_site_buildings"),
        ),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_households_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_households")),
    )
    op.create_table(
        "residents",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("household", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("key_safe", sa.String(length=200), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("checkin_start", sa.Time(), nullable=True),
        sa.Column("checkin_end", sa.Time(), nullable=True),
        sa.Column("checkin_checked_on", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["site", "household"],
            ["households.site", "households.id"],
            name=op.f("fk_residents_site_households"),
        ),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_residents_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_residents")),
    )
    op.create_table(
        "devices",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("household", sa.String(length=64), nullable=True),
        sa.Column("resident", sa.String(length=64), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("has_siren", sa.Boolean(), nullable=False),
        sa.Column("heartbeat_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site", "building"],
            ["buildings.site", "buildings.id"],
            name=op.f("fk_devices_site_buildings"),
        ),
        sa.ForeignKeyConstraint(
            ["site", "grid"], ["grids.site", "grids.id"], name=op.f("fk_devices_site_grids")
        ),
        sa.ForeignKeyConstraint(
            ["site", "household"],
            ["households.site", "households.id"],
            name=op.f("fk_devices_site_households"),
        ),
        sa.ForeignKeyConstraint(
            ["site", "resident"],
            ["residents.site", "residents.id"],
            name=op.f("fk_devices_site_residents"),
        ),
        sa.ForeignKeyConstraint(["site"], ["sites.id"], name=op.f("fk_devices_site_sites")),
        sa.PrimaryKeyConstraint("site", "id", name=op.f("pk_devices")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index("ix_devices_building", ["site", "building"], unique=False)
        batch_op.create_index("ix_devices_resident", ["site", "resident"], unique=False)

    op.create_table(
        "device_state",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("heartbeat_s", sa.Float(), nullable=True),
        sa.Column("last_status", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site", "device"],
            ["devices.site", "devices.id"],
            name=op.f("fk_device_state_site_devices"),
        ),
        sa.PrimaryKeyConstraint("site", "device", name=op.f("pk_device_state")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("device_state")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_resident")
        batch_op.drop_index("ix_devices_building")

    op.drop_table("devices")
    op.drop_table("residents")
    op.drop_table("households")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_alarm_id"))

    op.drop_table("deliveries")
    op.drop_table("buildings")
    with op.batch_alter_table("alarm_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarm_transitions_alarm_id"))

    op.drop_table("alarm_transitions")
    op.drop_table("alarm_recipients")
    op.drop_table("workers")
    op.drop_table("grids")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_alarms_active", sqlite_where=sa.text("active"), postgresql_where=sa.text("active")
        )
        batch_op.drop_index("ix_alarms_state")
        batch_op.drop_index("ix_alarms_next_escalation_at")

    op.drop_table("alarms")
    op.drop_table("sites")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_device_ts")

    op.drop_table("events")
