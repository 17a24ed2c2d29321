"""The state of one zigbee2mqtt device and how its published fields become Watchpost events.

zigbee2mqtt publishes the device's whole state on every change (`linkquality`, `voltage`,
...), so every event here is edge-triggered: a repeated `smoke: true` is no new fire and a
low battery is reported once per episode. Field names follow zigbee-herdsman-converters
(see the table in docs/devices.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edge.bridges.effect import Activity, Availability, Effect, Emit, source_name
from protocol.bridge_config import ZigbeeDevice
from protocol.messages import EventKind, Scalar

BOOL_FIELDS = frozenset(
    {"smoke", "tamper", "battery_low", "test", "device_fault", "fault", "sos", "occupancy"}
    | {"presence", "contact"}
)
NUMBER_FIELDS = frozenset({"battery", "smoke_concentration"})
TEXT_FIELDS = frozenset({"action", "fall_status", "fall_down_status", "status", "movement"})
FALL_FIELDS = ("fall_status", "fall_down_status", "status")
FALL_CONFIRMED = frozenset({"fall_alarm", "fall", "falling"})
FALL_SUSPECTED = frozenset({"fall_warning", "maybe_fall"})
STILL = frozenset({"", "none", "no_movement", "no_motion"})
BATTERY_HYSTERESIS = 5


class FieldTypeError(ValueError):
    """A known field carries a value of the wrong JSON type."""


def known_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """Return the fields Watchpost understands, raising FieldTypeError on a wrong type."""
    fields: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None:
            continue
        if key in BOOL_FIELDS:
            ok = isinstance(value, bool)
        elif key in NUMBER_FIELDS:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif key in TEXT_FIELDS:
            ok = isinstance(value, str)
        else:
            continue
        if not ok:
            raise FieldTypeError(f"{key}={value!r} is a {type(value).__name__}")
        fields[key] = value
    return fields


@dataclass
class ZigbeeDeviceState:
    """What Watchpost last knew of one device; turns updates into effects."""

    name: str
    config: ZigbeeDevice
    resident: str | None
    last_seen: float
    last: dict[str, Any] = field(default_factory=dict)
    online: bool | None = None
    low_battery: bool = False
    falling: bool = False

    @property
    def source(self) -> str:
        """Return the event source, `zigbee:<friendly name>`."""
        return source_name("zigbee", self.name)

    def _data(self, **extra: Scalar) -> dict[str, Scalar]:
        return {
            "subdevice": self.name,
            "model": self.config.model or None,
            "room": self.config.room or None,
            "resident": self.config.resident or self.resident,
            **extra,
        }

    def _emit(self, kind: EventKind, **extra: Scalar) -> Emit:
        return Emit(kind, self.source, self._data(**extra))

    def _rose(self, fields: dict[str, Any], key: str) -> bool:
        return fields.get(key) is True and self.last.get(key) is not True

    def update(self, fields: dict[str, Any], retained: bool, now: float) -> list[Effect]:
        """Apply one state message; retained (old) messages never raise call or fall."""
        effects: list[Effect] = []
        if not retained:
            self.last_seen = now
            if self.online is False:
                effects.append(Availability(self.source, True))
            self.online = True
        effects += self._calls(fields, retained)
        effects += self._fall(fields, retained)
        effects += self._smoke(fields)
        effects += self._troubles(fields)
        if not retained:
            effects += self._activity(fields)
        self.last.update(fields)
        return effects

    def _calls(self, fields: dict[str, Any], retained: bool) -> list[Effect]:
        if retained:
            return []
        action = fields.get("action")
        if action is not None and action in self.config.sos_actions:
            return [self._emit("call", action=action)]
        if self._rose(fields, "sos"):
            return [self._emit("call", action="sos")]
        return []

    def _fall(self, fields: dict[str, Any], retained: bool) -> list[Effect]:
        if not any(key in fields for key in FALL_FIELDS):
            return []
        alarming = FALL_CONFIRMED | (FALL_SUSPECTED if self.config.fall_on_suspected else set())
        values = {key: fields.get(key, self.last.get(key)) for key in FALL_FIELDS}
        hits = {key: value for key, value in values.items() if value in alarming}
        was, self.falling = self.falling, bool(hits)
        if not hits or was or retained:
            return []
        key, value = next(iter(hits.items()))
        return [self._emit("fall", **{key: value, "suspected": value in FALL_SUSPECTED})]

    def _smoke(self, fields: dict[str, Any]) -> list[Effect]:
        if "smoke" not in fields:
            return []
        if fields.get("test") is True:
            # The test button drives `smoke` too; a test is reported as `test`, never as fire.
            del fields["smoke"]
            return []
        extra: dict[str, Scalar] = {}
        if "smoke_concentration" in fields:
            extra["smoke_concentration"] = fields["smoke_concentration"]
        if self._rose(fields, "smoke"):
            return [self._emit("smoke", **extra)]
        if fields["smoke"] is False and self.last.get("smoke") is True:
            return [self._emit("smoke_clear", **extra)]
        return []

    def _troubles(self, fields: dict[str, Any]) -> list[Effect]:
        effects: list[Effect] = []
        if self._rose(fields, "tamper"):
            effects.append(self._emit("tamper"))
        for key in ("device_fault", "fault"):
            if self._rose(fields, key):
                effects.append(self._emit("fault", reason=key))
        if self._rose(fields, "test"):
            effects.append(self._emit("test"))
        flag = fields.get("battery_low", self.last.get("battery_low")) is True
        pct = fields.get("battery", self.last.get("battery"))
        threshold = self.config.battery_low_percent
        if not self.low_battery and (flag or (pct is not None and pct < threshold)):
            self.low_battery = True
            effects.append(self._emit("low_battery", battery=pct))
        elif (
            self.low_battery and not flag and (pct is None or pct >= threshold + BATTERY_HYSTERESIS)
        ):
            self.low_battery = False
        return effects

    def _activity(self, fields: dict[str, Any]) -> list[Effect]:
        moving = fields.get("movement")
        if fields.get("occupancy") is True or (moving is not None and moving.lower() not in STILL):
            return [Activity(self.source, "motion")]
        if fields.get("presence") is True:
            return [Activity(self.source, "presence")]
        if (
            "contact" in fields
            and "contact" in self.last
            and fields["contact"] != self.last["contact"]
        ):
            return [Activity(self.source, "door")]
        return []

    def availability(self, online: bool, now: float) -> list[Effect]:
        """Apply an availability report from zigbee2mqtt."""
        if online:
            self.last_seen = now
            was, self.online = self.online, True
            return [] if was is True else [Availability(self.source, True)]
        return self.go_offline("offline")

    def go_offline(self, reason: str) -> list[Effect]:
        """Mark the device offline: availability plus one `fault` per episode."""
        if self.online is False:
            return []
        self.online = False
        return [Availability(self.source, False), self._emit("fault", reason=reason)]

    def timed_out(self, now: float) -> bool:
        """Return True if a supervised device has been silent past its timeout."""
        timeout = self.config.availability_timeout_s
        return timeout is not None and self.online is not False and now - self.last_seen > timeout
