"""Configuration of off-the-shelf device bridges (zigbee2mqtt, Tasmota, ESPHome)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BridgesConfig(BaseModel):
    """Bridges to local MQTT device ecosystems; empty means none."""

    model_config = ConfigDict(extra="forbid")
