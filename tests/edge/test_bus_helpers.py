"""Pure parts of the bus and telemetry: URL parsing, backoff, reading names, CPU temperature."""

from __future__ import annotations

from pathlib import Path

from edge.bus import Endpoint, parse_url
from edge.telemetry import cpu_temperature_c, reading_name
from protocol.backoff import CAP_S, Backoff, ceiling


def test_parse_url_defaults_ports_by_scheme() -> None:
    assert parse_url("mqtt://hub.lan") == Endpoint("hub.lan", 1883, tls=False)
    assert parse_url("mqtts://hub.lan/") == Endpoint("hub.lan", 8883, tls=True)
    assert parse_url("mqtt://10.0.0.2:1884") == Endpoint("10.0.0.2", 1884, tls=False)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [ceiling(n, 0.5, 30) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30, 30]
    assert ceiling(10_000) == CAP_S


def test_jitter_stays_between_half_and_full_delay_and_resets() -> None:
    backoff = Backoff(first=8.0, cap=8.0)
    values = [backoff.next_delay() for _ in range(200)]
    assert all(4.0 <= v <= 8.0 for v in values)
    assert len(set(values)) > 1
    growing = Backoff(first=1.0, cap=30.0)
    assert [growing.next_delay() <= 2**n for n in range(3)] == [True] * 3
    growing.reset()
    assert growing.next_delay() <= 1.0


def test_reading_names_are_valid_wire_names() -> None:
    assert (
        reading_name("online", "Zigbee:0x00158D/kitchen door")
        == "online.zigbee_0x00158d_kitchen_door"
    )
    assert len(reading_name("online", "x" * 200)) == 64


def test_cpu_temperature_from_sysfs_or_none(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.write_text("48312\n")
    assert cpu_temperature_c(temp) == 48.312
    assert cpu_temperature_c(tmp_path / "missing") is None
