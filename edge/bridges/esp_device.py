"""Shared state of one Tasmota or ESPHome device: its mapped inputs and its availability.

An input maps values to meaning (`InputMap`): an `sos` input raises `call` on every press
(edge-triggered when it also reports release), `smoke` raises `smoke` once and `smoke_clear`
on the way back, `fall` once per episode, `activity` notes activity on every active value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.bridges.effect import Activity, Availability, Effect, Emit, source_name
from protocol.bridge_config import InputMap, Placement
from protocol.messages import EventKind, Scalar

KIND: dict[str, EventKind] = {"sos": "call", "smoke": "smoke", "fall": "fall"}


@dataclass
class EspDeviceState:
    """One ESP device: placement, inputs and last known values."""

    ecosystem: str
    name: str
    placement: Placement
    inputs: dict[str, InputMap]
    resident: str | None
    fault_when_offline: bool
    active: dict[str, bool | None] = field(default_factory=dict)
    online: bool | None = None

    @property
    def source(self) -> str:
        """Return the device's event source, e.g. `tasmota:sos-b1-101`."""
        return source_name(self.ecosystem, self.name)

    def _data(self, **extra: Scalar) -> dict[str, Scalar]:
        return {
            "subdevice": self.name,
            "room": self.placement.room or None,
            "resident": self.placement.resident or self.resident,
            **extra,
        }

    def value(self, key: str, raw: str, retained: bool) -> list[Effect]:
        """Apply one reported value of input `key`; retained values never raise call/fall."""
        mapping = self.inputs[key]
        upper = raw.strip().upper()
        is_on = upper in {v.upper() for v in mapping.active}
        is_off = upper in {v.upper() for v in mapping.inactive}
        if not (is_on or is_off):
            return []
        was = self.active.get(key)
        self.active[key] = is_on
        if mapping.means == "activity":
            return [Activity(self.source, mapping.what)] if is_on and not retained else []
        level = bool(mapping.inactive)  # inputs that report release are edge-triggered
        if is_on and (not level or was is not True):
            if retained and mapping.means != "smoke":
                return []
            return [Emit(KIND[mapping.means], self.source, self._data(input=key, value=raw))]
        if is_off and was is True and mapping.means == "smoke":
            return [Emit("smoke_clear", self.source, self._data(input=key, value=raw))]
        return []

    def availability(self, online: bool) -> list[Effect]:
        """Apply an LWT/status report; offline raises one `fault` per episode if configured."""
        was, self.online = self.online, online
        if was == online:
            return []
        effects: list[Effect] = [Availability(self.source, online)]
        if not online and self.fault_when_offline:
            effects.append(Emit("fault", self.source, self._data(reason="offline")))
        return effects
