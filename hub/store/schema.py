"""ORM tables of the hub's store (SQLite or PostgreSQL); migrations in `hub/migrations`.

Registry rows are keyed by (site, id): ids are only unique within one community. Alarm rows
carry `active`, and a partial unique index allows one active alarm per (site, device, class);
a site-wide alarm of the system itself (no device, e.g. broker drops) has its own: one active
per (site, class, reason).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Time,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.store.timestamps import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON()


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (for migrations)."""

    metadata = MetaData(naming_convention=NAMING)


def _id(*args: Any, **kw: Any) -> Any:
    return mapped_column(String(64), *args, **kw)


class SiteRow(Base):
    """A community."""

    __tablename__ = "sites"
    id: Mapped[str] = _id(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class GridRow(Base):
    """A grid of a site."""

    __tablename__ = "grids"
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    name_en: Mapped[str] = mapped_column(String(200), default="")


class BuildingRow(Base):
    """A building; belongs to one grid."""

    __tablename__ = "buildings"
    __table_args__ = (ForeignKeyConstraint(["site", "grid"], ["grids.site", "grids.id"]),)
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    grid: Mapped[str] = _id()
    address: Mapped[str] = mapped_column(String(200), default="")
    floors: Mapped[int] = mapped_column(Integer, default=1)


class HouseholdRow(Base):
    """A flat or home."""

    __tablename__ = "households"
    __table_args__ = (
        ForeignKeyConstraint(["site", "building"], ["buildings.site", "buildings.id"]),
    )
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    building: Mapped[str] = _id()
    floor: Mapped[int] = mapped_column(Integer, default=1)
    unit: Mapped[str] = mapped_column(String(64), default="")
    key_safe: Mapped[str] = mapped_column(String(200), default="")


class ResidentRow(Base):
    """A protected person; floor and key safe are copied from the household at import."""

    __tablename__ = "residents"
    __table_args__ = (
        ForeignKeyConstraint(["site", "household"], ["households.site", "households.id"]),
    )
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    household: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(64))
    age: Mapped[int | None] = mapped_column(Integer)
    conditions: Mapped[list[str]] = mapped_column(Json, default=list)
    contacts: Mapped[list[dict[str, str]]] = mapped_column(Json, default=list)
    key_safe: Mapped[str] = mapped_column(String(200), default="")
    floor: Mapped[int | None] = mapped_column(Integer)
    checkin_start: Mapped[time | None] = mapped_column(Time)
    checkin_end: Mapped[time | None] = mapped_column(Time)
    # Local date of the last check-in window judged; persisted so a restart neither skips
    # nor repeats a day.
    checkin_checked_on: Mapped[str | None] = mapped_column(String(10))


class DeviceRow(Base):
    """An edge agent and who/where it protects."""

    __tablename__ = "devices"
    __table_args__ = (
        ForeignKeyConstraint(["site", "grid"], ["grids.site", "grids.id"]),
        ForeignKeyConstraint(["site", "building"], ["buildings.site", "buildings.id"]),
        ForeignKeyConstraint(["site", "household"], ["households.site", "households.id"]),
        ForeignKeyConstraint(["site", "resident"], ["residents.site", "residents.id"]),
        Index("ix_devices_building", "site", "building"),
        Index("ix_devices_resident", "site", "resident"),
    )
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    grid: Mapped[str] = _id()
    building: Mapped[str] = _id()
    household: Mapped[str | None] = _id()
    resident: Mapped[str | None] = _id()
    location: Mapped[str] = mapped_column(String(200), default="")
    has_siren: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_s: Mapped[float | None] = mapped_column(Float)


class WorkerRow(Base):
    """Someone who receives alarms."""

    __tablename__ = "workers"
    site: Mapped[str] = _id(ForeignKey("sites.id"), primary_key=True)
    id: Mapped[str] = _id(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(32), default="")
    grids: Mapped[list[str]] = mapped_column(Json, default=list)
    backup_for: Mapped[list[str]] = mapped_column(Json, default=list)
    notify: Mapped[list[str]] = mapped_column(Json, default=list)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)


class EventRow(Base):
    """A received event; the primary key on its id is the deduplication."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_device_ts", "site", "device", "ts"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    site: Mapped[str] = _id()
    device: Mapped[str] = _id()
    # 64 bits: PostgreSQL's INTEGER is 32 (SQLite's INTEGER is already 64).
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    alarm_id: Mapped[str | None] = mapped_column(String(64))
    # Device clock minus hub clock at receipt, when off by more than CLOCK_SKEW_FLAG_S (flag);
    # order is always by `received_at`.
    clock_skew_s: Mapped[float | None] = mapped_column(Float)


class AlarmRow(Base):
    """An alarm and its lifecycle state; timers are columns so they survive a restart."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_state", "state"),
        Index("ix_alarms_next_escalation_at", "next_escalation_at"),
        Index("ix_alarms_arrival_due_at", "arrival_due_at"),
        Index("ix_alarms_verify_at", "verify_at"),  # 0009, as the other timers
        # A device's alarms: its active one of a class, its false alarms of 30 days (0009).
        Index("ix_alarms_device", "site", "device", "raised_at"),
        Index("ix_alarms_raised_at", "raised_at"),  # 0010: newest first, a page at a time
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = _id(ForeignKey("sites.id"))
    grid: Mapped[str | None] = _id()
    building: Mapped[str | None] = _id()
    household: Mapped[str | None] = _id()
    device: Mapped[str | None] = _id()
    resident: Mapped[str | None] = _id()
    cls: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tier: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    verify_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Acknowledged, and nobody has reported `arrived` yet: when to tell the duty officer.
    arrival_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    repeats: Mapped[int] = mapped_column(Integer, default=0)
    last_event: Mapped[str | None] = mapped_column(String(36))
    event_ids: Mapped[list[str]] = mapped_column(Json, default=list)
    # What a system alarm counts (e.g. messages the broker dropped), summed over its repeats.
    count: Mapped[int] = mapped_column(Integer, default=0)


Index(
    "uq_alarms_active",
    AlarmRow.site,
    AlarmRow.device,
    AlarmRow.cls,
    unique=True,
    sqlite_where=text("active"),
    postgresql_where=text("active"),
)
# NULLs are distinct in a unique index, so device-less alarms need their own.
Index(
    "uq_alarms_active_system",
    AlarmRow.site,
    AlarmRow.cls,
    AlarmRow.reason,
    unique=True,
    sqlite_where=text("active AND device IS NULL"),
    postgresql_where=text("active AND device IS NULL"),
)


class TransitionRow(Base):
    """One lifecycle step of an alarm (or a note on it when from_state == to_state)."""

    __tablename__ = "alarm_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(64), ForeignKey("alarms.id"), index=True)
    cls: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


class RecipientRow(Base):
    """A worker the engine paged for an alarm (who may answer it), and at which tier."""

    __tablename__ = "alarm_recipients"
    alarm_id: Mapped[str] = mapped_column(String(64), ForeignKey("alarms.id"), primary_key=True)
    worker: Mapped[str] = _id(primary_key=True)
    tier: Mapped[int] = mapped_column(Integer)
    notified_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeliveryRow(Base):
    """What the dispatcher did with one notification on one channel."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(64), ForeignKey("alarms.id"), index=True)
    worker: Mapped[str] = _id()
    channel: Mapped[str] = mapped_column(String(200))
    tier: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")


class DeviceStateRow(Base):
    """Liveness of a device, from its status messages and events."""

    __tablename__ = "device_state"
    __table_args__ = (ForeignKeyConstraint(["site", "device"], ["devices.site", "devices.id"]),)
    site: Mapped[str] = _id(primary_key=True)
    device: Mapped[str] = _id(primary_key=True)
    last_seen: Mapped[datetime | None] = mapped_column(UtcDateTime)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_s: Mapped[float | None] = mapped_column(Float)
    last_status: Mapped[dict[str, Any] | None] = mapped_column(Json)
    # Reported offline (last will) and not back yet: trouble only after the grace (hysteresis).
    offline_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Online/offline changes counted since `flap_since`; N in M minutes is one `flapping` alarm.
    flap_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flaps: Mapped[int] = mapped_column(Integer, default=0)


# The people's side (accounts, audit, rosters, care rounds) lives in its own module; importing it
# here puts its tables in `Base.metadata` for the migrations.
from hub.store import people as people  # noqa: E402
