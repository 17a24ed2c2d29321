"""BridgesConfig: YAML pitfalls and errors that name the field; ESP normaliser counters."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bridges.esphome import EsphomeBridge
from edge.bridges.tasmota import TasmotaBridge
from protocol.bridge_config import EsphomeConfig, TasmotaConfig
from protocol.device_config import load_device_config
from protocol.errors import ConfigError

HEAD = "device: pi-1\nsite: s\ngrid: g\nbuilding: b\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pi-1.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_unquoted_on_off_in_yaml_are_taken_as_on_off(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bridges:\n  tasmota:\n    devices:\n      sos-1:\n        inputs:\n"
        "          Switch1: {means: smoke, active: [ON], inactive: [OFF]}\n",
    )
    tasmota = load_device_config(path).bridges.tasmota
    assert tasmota is not None
    mapping = tasmota.devices["sos-1"].inputs["Switch1"]
    assert (mapping.active, mapping.inactive) == (["ON"], ["OFF"])


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bridges:\n  zigbee:\n    devices:\n      btn: {type: panic_button}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_device_config(path)
    assert str(path) in str(err.value)
    assert "bridges.zigbee.devices.btn.type" in str(err.value)
    bridge_name = write(
        tmp_path, "bridges:\n  zigbee:\n    devices:\n      bridge: {type: door_contact}\n"
    )
    with pytest.raises(ConfigError, match="friendly names"):
        load_device_config(bridge_name)


def test_esp_bridges_count_what_they_drop() -> None:
    tasmota = TasmotaBridge(
        TasmotaConfig.model_validate(
            {"devices": {"sos-1": {"inputs": {"Button1": {"means": "sos", "inactive": []}}}}}
        ),
        None,
    )
    assert tasmota.handle("stat/sos-1/RESULT", b'{"Button1":{"Action":1}}', False, 0) == []
    assert tasmota.handle("stat/sos-1/RESULT", b"garbage", False, 0) == []
    assert tasmota.handle("tele/sos-1/LWT", b"Sleeping", False, 0) == []
    assert tasmota.counters == {"bad_type": 1, "not_json": 1, "bad_availability": 1}
    esphome = EsphomeBridge(
        EsphomeConfig.model_validate(
            {"devices": {"esp-1": {"binary_sensors": {"sos_button": {"means": "sos"}}}}}
        ),
        None,
    )
    assert esphome.handle("esp-1/binary_sensor/sos_button/state", b"MAYBE", False, 0) == []
    assert esphome.handle("esp-1/binary_sensor/sos_button/state", b"\xff", False, 0) == []
    assert esphome.counters == {"bad_value": 1, "not_text": 1}


def test_local_broker_may_use_tls_with_a_ca_file(tmp_path: Path) -> None:
    tls = write(
        tmp_path, "bridges:\n  broker: {url: 'mqtts://mqtt.home.lan', ca_file: /etc/ca.pem}\n"
    )
    broker = load_device_config(tls).bridges.broker
    assert (broker.url, broker.ca_file) == ("mqtts://mqtt.home.lan", "/etc/ca.pem")
    plain_with_ca = write(
        tmp_path, "bridges:\n  broker: {url: 'mqtt://127.0.0.1:1883', ca_file: /etc/ca.pem}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_device_config(plain_with_ca)
    assert err.value.problems == [
        "bridges.broker: Value error, ca_file is only used with mqtts://; "
        "url is 'mqtt://127.0.0.1:1883'"
    ]
    web = write(tmp_path, "bridges:\n  broker: {url: 'https://mqtt.home.lan'}\n")
    with pytest.raises(ConfigError) as err:
        load_device_config(web)
    assert err.value.problems == [
        "bridges.broker.url: must look like mqtt://host:port or mqtts://host:port; "
        "got 'https://mqtt.home.lan'"
    ]
