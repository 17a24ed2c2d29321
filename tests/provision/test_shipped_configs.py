"""The files Watchpost ships in firmware-config/ agree with the code that reads them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from protocol.device_config import load_device_config
from simulators.services import BROKER_LIMITS

ROOT = Path(__file__).resolve().parents[2] / "firmware-config"


class EsphomeLoader(yaml.SafeLoader):
    """YAML loader that accepts ESPHome's `!secret name` tags."""


EsphomeLoader.add_constructor("!secret", lambda loader, node: f"<secret {node.value}>")


def test_example_device_yamls_validate() -> None:
    zigbee = load_device_config(ROOT / "examples" / "zigbee-gateway.yaml")
    assert zigbee.bridges.zigbee is not None and zigbee.bridges.enabled
    esp = load_device_config(ROOT / "examples" / "esp32-sos-bridges.yaml")
    assert esp.bridges.tasmota is not None and esp.bridges.esphome is not None


def test_esphome_example_matches_its_bridge_config() -> None:
    node: dict[str, Any] = yaml.load(
        (ROOT / "examples" / "esp32-sos-esphome.yaml").read_text(), Loader=EsphomeLoader
    )
    bridges = load_device_config(ROOT / "examples" / "esp32-sos-bridges.yaml").bridges
    assert bridges.esphome is not None
    device = bridges.esphome.devices[node["mqtt"]["topic_prefix"]]
    object_ids = {re.sub(r"[^a-z0-9]+", "_", s["name"].lower()) for s in node["binary_sensor"]}
    assert set(device.binary_sensors) <= object_ids


def test_tasmota_example_topic_matches_its_bridge_config() -> None:
    text = (ROOT / "examples" / "esp32-sos-tasmota.md").read_text()
    topic = re.search(r"Backlog Topic ([a-z0-9-]+);", text)
    bridges = load_device_config(ROOT / "examples" / "esp32-sos-bridges.yaml").bridges
    assert topic is not None and bridges.tasmota is not None
    assert topic.group(1) in bridges.tasmota.devices


def test_shipped_broker_config_raises_the_queue_limits_tests_use() -> None:
    conf = (ROOT / "mosquitto" / "watchpost.conf").read_text().splitlines()
    for line in BROKER_LIMITS.strip().splitlines():
        assert line in conf, f"{line!r} missing from firmware-config/mosquitto/watchpost.conf"
    listeners = [i for i, line in enumerate(conf) if line.startswith("listener ")]
    assert all(conf[i + 1] == "use_username_as_clientid true" for i in listeners)


def test_install_script_and_unit() -> None:
    script = ROOT / "install" / "install-edge.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    unit = (ROOT / "install" / "watchpost-edge.service").read_text().splitlines()
    assert (
        "ExecStart=/opt/watchpost/venv/bin/watchpost edge --config /etc/watchpost/device.yaml"
        in unit
    )
    assert "Restart=always" in unit
    assert "StateDirectory=watchpost" in unit
    assert "User=watchpost" in unit
