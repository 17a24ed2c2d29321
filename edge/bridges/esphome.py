"""ESPHome bridge: `<prefix>/status` (online/offline) and `<prefix>/binary_sensor/<id>/state`.

ESPHome's MQTT component publishes binary sensors as plain `ON`/`OFF`, retained by default;
retained values set the baseline without raising `call` or `fall` (see esp_device).
"""

from __future__ import annotations

from edge.bridges.availability import parse_online
from edge.bridges.effect import Effect, ExactTopics, Rejects
from edge.bridges.esp_device import EspDeviceState
from protocol.bridge_config import EsphomeConfig


class EsphomeBridge(ExactTopics):
    """Normalise ESPHome messages of the configured nodes into effects."""

    name = "esphome"

    def __init__(self, config: EsphomeConfig, resident: str | None) -> None:
        self.rejects = Rejects(self.name)
        self.devices = {
            prefix: EspDeviceState(
                self.name, prefix, dev, dev.binary_sensors, resident, dev.fault_when_offline
            )
            for prefix, dev in config.devices.items()
        }
        self._topics: dict[str, tuple[str, str | None]] = {}
        for prefix, device in self.devices.items():
            self._topics[f"{prefix}/status"] = (prefix, None)
            for object_id in device.inputs:
                self._topics[f"{prefix}/binary_sensor/{object_id}/state"] = (prefix, object_id)

    def handle(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Effect]:
        """Normalise one ESPHome message."""
        entry = self._topics.get(topic)
        if entry is None:
            return self.rejects.drop("unknown_topic", topic)
        prefix, object_id = entry
        device = self.devices[prefix]
        if object_id is None:
            online = parse_online(payload)
            if online is None:
                return self.rejects.drop("bad_availability", topic, payload)
            return device.availability(online)
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return self.rejects.drop("not_text", topic, payload)
        if text.strip().upper() not in ("ON", "OFF"):
            return self.rejects.drop("bad_value", topic, text)
        return device.value(object_id, text, retained)

    def tick(self, now: float) -> list[Effect]:
        """Return nothing: ESPHome's last will reports offline nodes."""
        return []
