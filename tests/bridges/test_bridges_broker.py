"""Real-format zigbee2mqtt, Tasmota and ESPHome payloads through a real Mosquitto into
`run_bridges`, asserting the Watchpost events a recording EventSink receives.

"No event" is shown without sleeping: every scenario ends with a sentinel message on the same
connection, and MQTT keeps one publisher's order, so once the sentinel's event is seen every
earlier message has been handled.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
import pytest

from edge.bridges import run_bridges
from protocol.device_config import DeviceConfig
from simulators.services import Mosquitto
from tests.bridges.recording import RecordingSink

pytestmark = pytest.mark.integration


def device_config(broker: Mosquitto, bridges: dict[str, Any]) -> DeviceConfig:
    return DeviceConfig.model_validate(
        {
            "device": "pi-101",
            "site": "sunflower",
            "grid": "grid-1",
            "building": "b1",
            "resident": "r-wang",
            "bridges": {"broker": {"url": broker.url}, **bridges},
        }
    )


@asynccontextmanager
async def publisher(broker: Mosquitto) -> AsyncIterator[Callable[..., Any]]:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:

        async def publish(topic: str, payload: Any, retain: bool = False) -> None:
            body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
            await client.publish(topic, body, qos=1, retain=retain)

        yield publish


@asynccontextmanager
async def running(config: DeviceConfig, sink: RecordingSink) -> AsyncIterator[None]:
    task = asyncio.create_task(run_bridges(config, sink), name="bridges-under-test")
    try:
        yield
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def has(record: tuple[Any, ...]) -> Callable[[list[Any]], bool]:
    return lambda records: record in records


def data(name: str, model: str | None, room: str | None, **extra: Any) -> dict[str, Any]:
    return {"subdevice": name, "model": model, "room": room, "resident": "r-wang", **extra}


ZIGBEE_DEVICES = {
    "sos bedroom": {"type": "sos_button", "model": "TS0215A_sos", "room": "卧室 bedroom"},
    "kitchen/smoke": {"type": "smoke_detector", "model": "HS1SA", "room": "kitchen"},
    "fall radar": {"type": "fall_sensor", "model": "HS2FD-EF1-3.0"},
    "mir fall": {"type": "fall_sensor", "model": "TS0601_MIR-HE200-TY_fall"},
    "door": {"type": "door_contact"},
}


async def test_zigbee2mqtt_payloads_become_watchpost_events(
    mosquitto: Mosquitto, site_id: str
) -> None:
    base = f"z2m-{site_id}"
    config = device_config(mosquitto, {"zigbee": {"base_topic": base, "devices": ZIGBEE_DEVICES}})
    sink = RecordingSink()
    async with publisher(mosquitto) as pub:
        await pub(f"{base}/bridge/state", {"state": "online"}, retain=True)
        async with running(config, sink):
            await sink.wait_for(has(("availability", "zigbee:bridge", True)))
            sos, smoke = f"{base}/sos bedroom", f"{base}/kitchen/smoke"
            radar, mir, door = f"{base}/fall radar", f"{base}/mir fall", f"{base}/door"
            await pub(sos, {"action": "emergency", "battery": 100, "linkquality": 87})
            await pub(sos, {"action": "", "battery": 100, "linkquality": 54})
            await pub(smoke, {"smoke": False, "tamper": False, "battery": 90, "linkquality": 99})
            await pub(smoke, {"smoke": True, "smoke_concentration": 12, "linkquality": 98})
            await pub(smoke, {"smoke": True, "smoke_concentration": 15, "linkquality": 97})
            await pub(smoke, {"smoke": True, "voltage": 2900, "linkquality": 40})
            await pub(smoke, {"smoke": False, "smoke_concentration": 0})
            await pub(smoke, {"battery": 9, "linkquality": 40})
            await pub(smoke, {"battery": 8, "linkquality": 41})
            await pub(radar, {"occupancy": True, "fall_status": "normal", "sensor_status": "none"})
            await pub(radar, {"occupancy": True, "fall_status": "fall_warning"})
            await pub(radar, {"occupancy": True, "fall_status": "fall_alarm"})
            await pub(radar, {"fall_status": "fall_alarm", "linkquality": 12})
            await pub(mir, {"presence": False, "fall_down_status": "none"})
            await pub(mir, {"presence": False, "fall_down_status": "fall"})
            await pub(door, {"contact": True, "battery": 100})
            await pub(door, {"contact": True, "linkquality": 3})
            await pub(door, {"contact": False})
            await pub(sos, "not json at all")
            await pub(sos, {"action": 5})
            await pub(f"{sos}/availability", {"state": "offline"})
            await pub(f"{sos}/availability", "online")
            await pub(sos, {"action": "emergency", "linkquality": 90})
            await sink.wait_for(lambda r: sum(x[1] == "call" for x in r if x[0] == "emit") == 2)

    sos_d = data("sos bedroom", "TS0215A_sos", "卧室 bedroom", action="emergency")
    smoke_d = data("kitchen/smoke", "HS1SA", "kitchen")
    assert sink.records[1:] == [
        ("emit", "call", "zigbee:sos bedroom", sos_d),
        ("emit", "smoke", "zigbee:kitchen/smoke", {**smoke_d, "smoke_concentration": 12}),
        ("emit", "smoke_clear", "zigbee:kitchen/smoke", {**smoke_d, "smoke_concentration": 0}),
        ("emit", "low_battery", "zigbee:kitchen/smoke", {**smoke_d, "battery": 9}),
        ("activity", "zigbee:fall radar", "motion"),
        ("activity", "zigbee:fall radar", "motion"),
        (
            "emit",
            "fall",
            "zigbee:fall radar",
            data("fall radar", "HS2FD-EF1-3.0", None, fall_status="fall_alarm", suspected=False),
        ),
        ("activity", "zigbee:fall radar", "motion"),
        (
            "emit",
            "fall",
            "zigbee:mir fall",
            data(
                "mir fall",
                "TS0601_MIR-HE200-TY_fall",
                None,
                fall_down_status="fall",
                suspected=False,
            ),
        ),
        ("activity", "zigbee:door", "door"),
        ("availability", "zigbee:sos bedroom", False),
        (
            "emit",
            "fault",
            "zigbee:sos bedroom",
            data("sos bedroom", "TS0215A_sos", "卧室 bedroom", reason="offline"),
        ),
        ("availability", "zigbee:sos bedroom", True),
        ("emit", "call", "zigbee:sos bedroom", sos_d),
    ]


async def test_silent_battery_device_raises_one_offline_fault(
    mosquitto: Mosquitto, site_id: str
) -> None:
    base = f"z2m-{site_id}"
    devices = {"leaf": {"type": "presence_sensor", "availability_timeout_s": 0.5}}
    config = device_config(mosquitto, {"zigbee": {"base_topic": base, "devices": devices}})
    sink = RecordingSink()
    offline = ("availability", "zigbee:leaf", False)
    async with publisher(mosquitto) as pub, running(config, sink):
        await pub(f"{base}/leaf", {"occupancy": True, "battery": 80}, retain=True)
        await sink.wait_for(has(offline))
        await pub(f"{base}/leaf", {"occupancy": True})
        await sink.wait_for(has(("availability", "zigbee:leaf", True)))
    faults = [e for e in sink.events() if e[0] == "fault"]
    assert faults[0] == ("fault", "zigbee:leaf", data("leaf", None, None, reason="offline"))
    assert sink.records.index(("availability", "zigbee:leaf", True)) > sink.records.index(offline)


async def test_tasmota_and_esphome_payloads_become_watchpost_events(
    mosquitto: Mosquitto, site_id: str
) -> None:
    tas, esp = f"sos-{site_id}", f"esp-{site_id}"
    config = device_config(
        mosquitto,
        {
            "tasmota": {
                "devices": {
                    tas: {
                        "room": "hall",
                        "inputs": {
                            "Button1": {
                                "means": "sos",
                                "active": ["SINGLE", "HOLD"],
                                "inactive": [],
                            },
                            "Switch1": {"means": "smoke"},
                        },
                    }
                }
            },
            "esphome": {
                "devices": {
                    esp: {
                        "binary_sensors": {
                            "sos_button": {"means": "sos"},
                            "pir": {"means": "activity", "what": "presence"},
                            "fall": {"means": "fall"},
                        }
                    }
                }
            },
        },
    )
    sink = RecordingSink()
    async with publisher(mosquitto) as pub:
        await pub(f"tele/{tas}/LWT", "Online", retain=True)
        await pub(f"{esp}/status", "online", retain=True)
        await pub(f"{esp}/binary_sensor/fall/state", "ON", retain=True)
        async with running(config, sink):
            await sink.wait_for(has(("availability", f"esphome:{esp}", True)))
            await sink.wait_for(has(("availability", f"tasmota:{tas}", True)))
            result = f"stat/{tas}/RESULT"
            await pub(result, {"Button1": {"Action": "SINGLE"}})
            await pub(result, {"Button1": {"Action": "DOUBLE"}})
            await pub(result, {"POWER": "ON"})
            await pub(result, {"Switch1": {"Action": "ON"}})
            await pub(result, {"Switch1": {"Action": "ON"}})
            await pub(result, {"Switch1": {"Action": "OFF"}})
            await pub(result, {"Button1": {"Action": 1}})
            await pub(result, "garbage")
            await pub(f"tele/{tas}/LWT", "Offline", retain=True)
            await pub(f"{esp}/binary_sensor/sos_button/state", "ON")
            await pub(f"{esp}/binary_sensor/sos_button/state", "ON")
            await pub(f"{esp}/binary_sensor/sos_button/state", "OFF")
            await pub(f"{esp}/binary_sensor/pir/state", "ON")
            await pub(f"{esp}/binary_sensor/pir/state", "OFF")
            await pub(f"{esp}/binary_sensor/fall/state", "OFF")
            await pub(f"{esp}/binary_sensor/fall/state", "ON")
            await sink.wait_for(has(("emit", "fall", f"esphome:{esp}", esp_data(esp, "fall"))))

    tas_d = {"subdevice": tas, "room": "hall", "resident": "r-wang"}
    assert sink.records[2:] == [
        ("emit", "call", f"tasmota:{tas}", {**tas_d, "input": "Button1", "value": "SINGLE"}),
        ("emit", "smoke", f"tasmota:{tas}", {**tas_d, "input": "Switch1", "value": "ON"}),
        ("emit", "smoke_clear", f"tasmota:{tas}", {**tas_d, "input": "Switch1", "value": "OFF"}),
        ("availability", f"tasmota:{tas}", False),
        ("emit", "fault", f"tasmota:{tas}", {**tas_d, "reason": "offline"}),
        ("emit", "call", f"esphome:{esp}", esp_data(esp, "sos_button")),
        ("activity", f"esphome:{esp}", "presence"),
        ("emit", "fall", f"esphome:{esp}", esp_data(esp, "fall")),
    ]


def esp_data(esp: str, key: str) -> dict[str, Any]:
    return {"subdevice": esp, "room": None, "resident": "r-wang", "input": key, "value": "ON"}


async def test_bridges_reconnect_after_the_local_broker_restarts(
    mosquitto_factory: Callable[..., Mosquitto], site_id: str
) -> None:
    # `user root`: run as root, Mosquitto drops to the `mosquitto` user, which cannot write
    # its persistence file in pytest's 0700 temp folders, and retained messages would be lost.
    mosquitto = mosquitto_factory(extra="user root\n")
    base = f"z2m-{site_id}"
    devices = {"sos": {"type": "sos_button"}}
    config = device_config(mosquitto, {"zigbee": {"base_topic": base, "devices": devices}})
    sink = RecordingSink()
    bridge_online = ("availability", "zigbee:bridge", True)
    async with running(config, sink):
        async with publisher(mosquitto) as pub:
            await pub(f"{base}/bridge/state", {"state": "online"}, retain=True)
            await sink.wait_for(has(bridge_online))
        await asyncio.to_thread(mosquitto.restart)
        # The retained bridge state arrives again only through a fresh subscription.
        await sink.wait_for(lambda records: records.count(bridge_online) == 2, within=30)
        async with publisher(mosquitto) as pub:
            await pub(f"{base}/sos", {"action": "emergency"})
            await sink.wait_for(lambda records: len(sink.events()) == 1)
    assert sink.events() == [("call", "zigbee:sos", data("sos", None, None, action="emergency"))]
