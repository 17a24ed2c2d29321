"""Tasmota bridge: `tele/<topic>/LWT` (Online/Offline) and `stat/<topic>/RESULT` inputs.

RESULT carries button and switch actions (`{"Button1":{"Action":"SINGLE"}}` with
SetOption73 1, `{"Switch1":{"Action":"ON"}}` with SetOption114 1) and relay state
(`{"POWER":"ON"}`); the device's `inputs` say which key means what.
"""

from __future__ import annotations

from edge.bridges.availability import parse_online
from edge.bridges.effect import Effect, ExactTopics, Rejects
from edge.bridges.esp_device import EspDeviceState
from protocol.bridge_config import TasmotaConfig
from protocol.codec import load_json
from protocol.errors import ProtocolError


class TasmotaBridge(ExactTopics):
    """Normalise Tasmota messages of the configured devices into effects."""

    name = "tasmota"

    def __init__(self, config: TasmotaConfig, resident: str | None) -> None:
        self.rejects = Rejects(self.name)
        self.devices = {
            topic: EspDeviceState(
                self.name, topic, dev, dev.inputs, resident, dev.fault_when_offline
            )
            for topic, dev in config.devices.items()
        }
        self._topics: dict[str, tuple[str, bool]] = {}
        for topic in self.devices:
            self._topics[f"tele/{topic}/LWT"] = (topic, True)
            self._topics[f"stat/{topic}/RESULT"] = (topic, False)

    def handle(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Effect]:
        """Normalise one Tasmota message."""
        entry = self._topics.get(topic)
        if entry is None:
            return self.rejects.drop("unknown_topic", topic)
        device = self.devices[entry[0]]
        if entry[1]:
            online = parse_online(payload)
            if online is None:
                return self.rejects.drop("bad_availability", topic, payload)
            return device.availability(online)
        try:
            obj = load_json(payload)
        except ProtocolError as exc:
            return self.rejects.drop(exc.reason, topic, exc.detail)
        values: list[tuple[str, str]] = []
        for key, raw in obj.items():
            if key not in device.inputs:
                continue
            value = raw.get("Action") if isinstance(raw, dict) else raw
            if not isinstance(value, str):
                return self.rejects.drop("bad_type", topic, f"{key}={raw!r}")
            values.append((key, value))
        effects: list[Effect] = []
        for key, value in values:
            effects += device.value(key, value, retained)
        return effects

    def tick(self, now: float) -> list[Effect]:
        """Return nothing: Tasmota's LWT reports offline devices."""
        return []
