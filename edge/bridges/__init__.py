"""Bridges from local device ecosystems (zigbee2mqtt, Tasmota, ESPHome) into Watchpost events.

Module map: `effect` (what normalisers decide, the `Bridge` seam), `zigbee` + `zigbee_device`,
`tasmota`, `esphome` + `esp_device` (pure normalisers), `availability` (online/offline
payloads), `local_bus` (the one aiomqtt connection and the timers).
"""

from __future__ import annotations

import time

from edge.bridges.effect import Bridge
from edge.bridges.esphome import EsphomeBridge
from edge.bridges.local_bus import LocalBus, tick_interval
from edge.bridges.tasmota import TasmotaBridge
from edge.bridges.zigbee import ZigbeeBridge
from edge.sink import EventSink
from protocol.device_config import DeviceConfig


def build_bridges(config: DeviceConfig, now: float) -> list[Bridge]:
    """Return a bridge for every ecosystem the config lists devices for."""
    section = config.bridges
    bridges: list[Bridge] = []
    if section.zigbee is not None and section.zigbee.devices:
        bridges.append(ZigbeeBridge(section.zigbee, config.resident, now))
    if section.tasmota is not None and section.tasmota.devices:
        bridges.append(TasmotaBridge(section.tasmota, config.resident))
    if section.esphome is not None and section.esphome.devices:
        bridges.append(EsphomeBridge(section.esphome, config.resident))
    return bridges


def build_bus(config: DeviceConfig, sink: EventSink) -> LocalBus | None:
    """Return the local bus feeding every enabled bridge, or None if there are none."""
    bridges = build_bridges(config, time.monotonic())
    if not bridges:
        return None
    zigbee = config.bridges.zigbee
    timeouts = [
        d.availability_timeout_s
        for d in (zigbee.devices.values() if zigbee else ())
        if d.availability_timeout_s is not None
    ]
    return LocalBus(
        config.bridges.broker,
        bridges,
        sink,
        client_id=f"watchpost-bridges-{config.device}",
        tick_s=tick_interval(timeouts),
    )


async def run_bridges(config: DeviceConfig, sink: EventSink) -> None:
    """Run every bridge the config enables until cancelled; return at once if there are none."""
    bus = build_bus(config, sink)
    if bus is not None:
        await bus.run()
