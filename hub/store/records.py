"""Read models the store hands out (frozen pydantic, safe to serialise from the HTTP API)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from protocol.messages import ResidentContext


class Record(BaseModel):
    """Base of every read model: frozen, built from ORM rows."""

    model_config = ConfigDict(frozen=True, from_attributes=True)


class AlarmRecord(Record):
    """An alarm as the board and the API show it."""

    id: str
    site: str
    grid: str | None
    building: str | None
    household: str | None
    device: str | None
    resident: str | None
    cls: str
    reason: str
    state: str
    active: bool
    raised_at: datetime
    updated_at: datetime
    tier: int
    next_escalation_at: datetime | None
    verify_at: datetime | None
    arrival_due_at: datetime | None = None
    outcome: str | None
    repeats: int
    last_event: str | None
    event_ids: list[str]
    count: int = 0
    """What a system alarm counts (e.g. messages the broker dropped), or a flapping device's
    online/offline changes; 0 for other device alarms."""


class EventRecord(Record):
    """An event as stored: when the edge saw it and when the hub committed it."""

    id: str
    site: str
    device: str
    seq: int
    ts: datetime
    received_at: datetime
    kind: str
    source: str
    alarm_id: str | None
    clock_skew_s: float | None = None
    """Set when the device's clock was off by more than 5 minutes (ts is then untrusted)."""


class TransitionRecord(Record):
    """One step in an alarm's history; a note when from_state equals to_state."""

    alarm_id: str
    cls: str
    from_state: str | None
    to_state: str
    ts: datetime
    by: str
    note: str


class DeliveryRecord(Record):
    """One notification attempt on one channel."""

    alarm_id: str
    worker: str
    channel: str
    tier: int
    status: str
    ts: datetime
    detail: str


class DeviceContext(Record):
    """Where a device is and whom it protects (`resident.resident` is None in common areas)."""

    site: str
    device: str
    grid: str
    building: str
    household: str | None
    location: str
    has_siren: bool
    resident: ResidentContext


class DeviceStateRecord(Record):
    """Liveness of one device."""

    site: str
    device: str
    last_seen: datetime | None
    online: bool
    heartbeat_s: float | None


class WorkerRecord(Record):
    """Someone who receives alarms, and whether they are on the roster now."""

    site: str
    id: str
    name: str
    role: str
    phone: str
    grids: list[str]
    backup_for: list[str]
    notify: list[str]
    on_duty: bool
