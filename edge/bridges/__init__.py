"""Bridges from local device ecosystems (zigbee2mqtt, Tasmota, ESPHome) into Watchpost events."""

from __future__ import annotations

from edge.sink import EventSink
from protocol.device_config import DeviceConfig


async def run_bridges(config: DeviceConfig, sink: EventSink) -> None:
    """Run every bridge the config enables until cancelled; return at once if there are none."""
    return
