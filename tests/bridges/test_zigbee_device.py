"""Unit tests of the zigbee2mqtt normaliser: pure, no broker."""

from __future__ import annotations

import json

from edge.bridges.effect import Activity, Availability, Emit
from edge.bridges.zigbee import ZigbeeBridge
from protocol.bridge_config import ZigbeeConfig

CONFIG = ZigbeeConfig.model_validate(
    {
        "devices": {
            "btn": {"type": "sos_button", "model": "TS0215A_sos", "room": "bedroom"},
            "plain": {"type": "sos_button", "sos_actions": ["hold"]},
            "smoke": {"type": "smoke_detector", "model": "HS1SA", "battery_low_percent": 20},
            "radar": {"type": "fall_sensor", "fall_on_suspected": True},
            "leaf": {"type": "presence_sensor", "availability_timeout_s": 60},
        }
    }
)


def bridge() -> ZigbeeBridge:
    return ZigbeeBridge(CONFIG, "r-1", now=0.0)


def send(b: ZigbeeBridge, name: str, payload: object, retained: bool = False, now: float = 1.0):
    return b.handle(f"zigbee2mqtt/{name}", json.dumps(payload).encode(), retained, now)


def kinds(effects: list) -> list[str]:
    return [e.kind for e in effects if isinstance(e, Emit)]


def test_sos_action_is_configurable_and_retained_action_is_no_call() -> None:
    b = bridge()
    assert kinds(send(b, "btn", {"action": "emergency"})) == ["call"]
    assert kinds(send(b, "btn", {"action": "emergency"}, retained=True)) == []
    assert kinds(send(b, "plain", {"action": "single"})) == []
    assert kinds(send(b, "plain", {"action": "hold"})) == ["call"]
    assert kinds(send(b, "btn", {"sos": True})) == ["call"]
    assert kinds(send(b, "btn", {"sos": True})) == []


def test_event_data_names_device_model_room_and_resident() -> None:
    (call,) = send(bridge(), "btn", {"action": "emergency", "linkquality": 3})
    assert call == Emit(
        "call",
        "zigbee:btn",
        {
            "subdevice": "btn",
            "model": "TS0215A_sos",
            "room": "bedroom",
            "resident": "r-1",
            "action": "emergency",
        },
    )


def test_smoke_test_button_is_test_not_fire() -> None:
    b = bridge()
    assert kinds(send(b, "smoke", {"smoke": True, "test": True})) == ["test"]
    assert kinds(send(b, "smoke", {"smoke": False, "test": False})) == []
    assert kinds(send(b, "smoke", {"smoke": True, "test": False})) == ["smoke"]


def test_low_battery_once_per_episode_with_hysteresis() -> None:
    b = bridge()
    assert kinds(send(b, "smoke", {"battery": 19})) == ["low_battery"]
    assert kinds(send(b, "smoke", {"battery": 21})) == []
    assert kinds(send(b, "smoke", {"battery": 19})) == []
    assert kinds(send(b, "smoke", {"battery": 100})) == []
    assert kinds(send(b, "smoke", {"battery_low": True})) == ["low_battery"]


def test_fault_and_tamper_are_edge_triggered() -> None:
    b = bridge()
    assert kinds(send(b, "smoke", {"tamper": True, "device_fault": True})) == ["tamper", "fault"]
    assert kinds(send(b, "smoke", {"tamper": True, "device_fault": True})) == []


def test_suspected_fall_counts_when_configured_once_per_episode() -> None:
    b = bridge()
    assert kinds(send(b, "radar", {"fall_status": "fall_warning"})) == ["fall"]
    assert kinds(send(b, "radar", {"fall_status": "fall_alarm"})) == []
    assert kinds(send(b, "radar", {"fall_status": "normal"})) == []
    assert kinds(send(b, "radar", {"status": "falling"})) == ["fall"]


def test_wrong_types_and_garbage_are_counted_and_dropped() -> None:
    b = bridge()
    assert send(b, "smoke", {"smoke": "yes"}) == []
    assert b.handle("zigbee2mqtt/smoke", b"{not json", False, 1.0) == []
    assert send(b, "smoke", [1, 2]) == []
    assert b.handle("zigbee2mqtt/smoke/availability", b"maybe", False, 1.0) == []
    assert b.counters == {"bad_type": 1, "not_json": 1, "not_object": 1, "bad_availability": 1}


def test_silent_battery_device_goes_offline_once_then_back() -> None:
    b = bridge()
    send(b, "leaf", {"occupancy": True}, now=10.0)
    assert b.tick(69.0) == []
    effects = b.tick(71.0)
    assert effects[0] == Availability("zigbee:leaf", False)
    assert effects[1].kind == "fault" and effects[1].data["reason"] == "offline"
    assert b.tick(200.0) == []
    back = send(b, "leaf", {"occupancy": True}, now=201.0)
    assert back == [Availability("zigbee:leaf", True), Activity("zigbee:leaf")]
