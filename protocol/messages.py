"""Pydantic v2 models of every v1 payload (see docs/protocol.md).

All models forbid unknown top-level fields, reject NaN/Infinity and naive timestamps, and carry
`v: 1`. Timestamps are normalised to UTC.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from protocol.topics import ID_PATTERN

Ident = Annotated[str, Field(pattern=ID_PATTERN, description="Id: [a-z0-9-]{1,64}")]
Name = Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")]

INT_MAX = 2**63 - 1
"""Largest integer the store keeps (BIGINT on PostgreSQL, INTEGER on SQLite)."""
INT_MIN = -(2**63)
TS_MIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Earliest timestamp accepted: a device clock before this was never set."""
TS_MAX = datetime(2100, 1, 1, tzinfo=UTC)
"""Latest timestamp accepted (InfluxDB time ends in 2262; nothing is sane after 2100)."""

StoreInt = Annotated[int, Field(ge=INT_MIN, le=INT_MAX)]
Scalar = Annotated[str, Field(max_length=256)] | StoreInt | float | bool | None

_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _to_utc(value: datetime) -> datetime:
    utc = value.astimezone(UTC)
    if not TS_MIN <= utc < TS_MAX:
        raise ValueError(f"must lie between {TS_MIN:%Y-%m-%d} and {TS_MAX:%Y-%m-%d} (UTC)")
    return utc


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def _check_event_id(value: str) -> str:
    if _ULID.match(value):
        return value
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value.lower():
        raise ValueError("must be a ULID (26 chars Crockford base32) or a UUID (UUIDv7 preferred)")
    return value.lower()


EventId = Annotated[str, Field(max_length=36), AfterValidator(_check_event_id)]

EventKind = Literal[
    "call",
    "cancel",
    "fall",
    "smoke",
    "smoke_clear",
    "inactivity",
    "tamper",
    "fault",
    "low_battery",
    "test",
    "activity",
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]


class Wire(BaseModel):
    """Base of every payload: strict keys, finite numbers, frozen."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Event(Wire):
    """Something that happened at a device: an SOS press, a fall, smoke, a fault."""

    v: Literal[1] = Field(1, description="Schema version")
    id: EventId = Field(description="Unique id (ULID or UUIDv7); makes delivery idempotent")
    device: Ident = Field(description="Device id; must equal the topic's device")
    seq: int = Field(
        ge=0, le=INT_MAX, description="Per-device sequence number; a gap shows a lost event"
    )
    ts: UtcDatetime = Field(description="When it happened, RFC 3339 with offset")
    kind: EventKind = Field(description="What happened")
    source: str = Field(
        min_length=1, max_length=64, description="Input that saw it, e.g. gpio:call"
    )
    data: dict[Name, Scalar] = Field(
        default_factory=dict, max_length=32, description="Kind-specific details"
    )


class Telemetry(Wire):
    """Periodic numeric readings from a device."""

    v: Literal[1] = 1
    device: Ident
    ts: UtcDatetime
    readings: dict[Name, float] = Field(min_length=1, max_length=64)


class Status(Wire):
    """Device liveness; retained, re-sent every heartbeat, `offline` as last will."""

    v: Literal[1] = 1
    device: Ident
    ts: UtcDatetime
    state: Literal["online", "offline"]
    fw: str = Field("", max_length=64)
    uptime_s: float = Field(0.0, ge=0, le=1e10)
    outbox: int = Field(0, ge=0, le=INT_MAX, description="Events waiting in the device's outbox")
    heartbeat_s: float | None = Field(
        None, gt=0, le=86_400, description="Promised heartbeat interval"
    )


class HubStatus(Wire):
    """Hub liveness for watchdogs; retained, re-sent every heartbeat, `offline` as last will."""

    v: Literal[1] = 1
    hub: Ident
    ts: UtcDatetime
    state: Literal["online", "offline"]
    uptime_s: float = Field(0.0, ge=0)
    heartbeat_s: float | None = Field(None, gt=0, description="Promised heartbeat interval")


IndicateState = Literal[
    "sent", "received", "acknowledged", "on_scene", "resolved", "cancelled", "failed"
]


class IndicateCmd(Wire):
    """Tell the resident what is happening with their alarm (LED/buzzer patterns)."""

    v: Literal[1] = 1
    cmd: Literal["indicate"] = "indicate"
    ts: UtcDatetime | None = None
    state: IndicateState
    alarm: str | None = Field(None, max_length=64)


class SirenCmd(Wire):
    """Switch the building siren on or off (confirmed fire)."""

    v: Literal[1] = 1
    cmd: Literal["siren"] = "siren"
    ts: UtcDatetime | None = None
    on: bool
    alarm: str | None = Field(None, max_length=64)


class SelfTestCmd(Wire):
    """Ask the device to publish a `test` event through the whole chain."""

    v: Literal[1] = 1
    cmd: Literal["self_test"] = "self_test"
    ts: UtcDatetime | None = None
    request: str | None = Field(None, max_length=64, description="Echoed in the test event")


Command = Annotated[IndicateCmd | SirenCmd | SelfTestCmd, Field(discriminator="cmd")]
COMMANDS: tuple[str, ...] = ("indicate", "siren", "self_test")

AlarmClass = Literal["call", "fall", "fire", "pre_alarm", "inactivity", "trouble"]
AlarmState = Literal["raised", "notified", "acknowledged", "on_scene", "resolved", "cancelled"]


class Contact(Wire):
    """An emergency contact of a resident."""

    name: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    relation: str = Field("", max_length=32)


class ResidentContext(Wire):
    """What a responder needs to know about the resident before arriving."""

    resident: Ident | None = None
    name: str = Field("", max_length=64)
    age: int | None = Field(None, ge=0, le=130)
    conditions: list[str] = Field(default_factory=list, max_length=16)
    contacts: list[Contact] = Field(default_factory=list, max_length=8)
    address: str = Field("", max_length=200)
    floor: int | None = Field(None, ge=-1000, le=1000)
    key_safe: str = Field("", max_length=64)


class WorkerAlert(Wire):
    """An alarm notification pushed to one worker's app."""

    v: Literal[1] = 1
    alarm: str = Field(max_length=64)
    cls: AlarmClass = Field(alias="class")
    state: AlarmState
    ts: UtcDatetime
    raised_at: UtcDatetime
    site: Ident
    grid: Ident | None = None
    building: Ident | None = None
    device: Ident | None = None
    tier: int = Field(0, ge=0, le=1000, description="Escalation tier that reached this worker")
    title_zh: str = Field(max_length=200)
    title_en: str = Field(max_length=200)
    body_zh: str = Field("", max_length=2000)
    body_en: str = Field("", max_length=2000)
    resident: ResidentContext | None = None

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, frozen=True, populate_by_name=True
    )


ReplyAction = Literal["ack", "decline", "arrived", "resolve"]
Outcome = Literal["handled", "false_alarm", "transported", "fire_extinguished", "test", "other"]


class WorkerReply(Wire):
    """A worker's answer to an alert."""

    v: Literal[1] = 1
    alarm: str = Field(max_length=64)
    action: ReplyAction
    ts: UtcDatetime
    outcome: Outcome | None = Field(None, description="Required with action=resolve")
    note: str = Field("", max_length=500)


def utcnow() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)
