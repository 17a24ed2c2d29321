"""zigbee2mqtt bridge: subscribes to configured friendly names and normalises what they publish.

Topics: `<base>/<name>` (device state, JSON), `<base>/<name>/availability`
(`{"state":"online"|"offline"}` or legacy plain text) and `<base>/bridge/state`.
"""

from __future__ import annotations

from edge.bridges.availability import parse_online
from edge.bridges.effect import Availability, Effect, ExactTopics, Rejects, source_name
from edge.bridges.zigbee_device import FieldTypeError, ZigbeeDeviceState, known_fields
from protocol.bridge_config import ZigbeeConfig
from protocol.codec import load_json
from protocol.errors import ProtocolError


class ZigbeeBridge(ExactTopics):
    """Normalise zigbee2mqtt messages of the configured devices into effects."""

    name = "zigbee"

    def __init__(self, config: ZigbeeConfig, resident: str | None, now: float) -> None:
        self.base = config.base_topic
        self.rejects = Rejects(self.name)
        self.devices = {
            name: ZigbeeDeviceState(name, dev, resident, last_seen=now)
            for name, dev in config.devices.items()
        }
        self._topics: dict[str, tuple[str, bool]] = {}
        for name in self.devices:
            self._topics[f"{self.base}/{name}"] = (name, False)
            self._topics[f"{self.base}/{name}/availability"] = (name, True)
        self._bridge_state = f"{self.base}/bridge/state"
        self._topics[self._bridge_state] = ("", True)  # handled first in `handle`

    def handle(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Effect]:
        """Normalise one zigbee2mqtt message."""
        if topic == self._bridge_state:
            online = parse_online(payload)
            if online is None:
                return self.rejects.drop("bad_availability", topic, payload)
            return [Availability(source_name(self.name, "bridge"), online)]
        entry = self._topics.get(topic)
        if entry is None:
            return self.rejects.drop("unknown_topic", topic)
        name, is_availability = entry
        device = self.devices[name]
        if is_availability:
            online = parse_online(payload)
            if online is None:
                return self.rejects.drop("bad_availability", topic, payload)
            return device.availability(online, now)
        try:
            fields = known_fields(load_json(payload))
        except ProtocolError as exc:
            return self.rejects.drop(exc.reason, topic, exc.detail)
        except FieldTypeError as exc:
            return self.rejects.drop("bad_type", topic, exc)
        return device.update(fields, retained, now)

    def tick(self, now: float) -> list[Effect]:
        """Mark silent battery devices offline (one `fault` each)."""
        effects: list[Effect] = []
        for device in self.devices.values():
            if device.timed_out(now):
                effects += device.go_offline("offline")
        return effects
