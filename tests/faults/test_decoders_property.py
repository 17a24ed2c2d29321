"""Property tests over every decoder (issue #7, "a property-based run over every decoder").

Whatever bytes arrive, each decoder either returns its model or raises its one documented
error — never RecursionError, TypeError, KeyError or anything else that would end a task:

* MQTT payloads through `protocol.codec` (every channel): `ProtocolError`; a decoded event is
  store-safe (64-bit `seq`, `ts` within 2000–2100);
* the zigbee2mqtt, Tasmota and ESPHome normalisers of `edge.bridges`: a list of effects, the
  rest counted as rejects;
* config files (`protocol.device_config`, `protocol.site_config`, `protocol.bridge_config`
  inside the device file): the model or `ConfigError`.

(API bodies are covered by the API's schemathesis run.)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.bridges.esphome import EsphomeBridge
from edge.bridges.tasmota import TasmotaBridge
from edge.bridges.zigbee import ZigbeeBridge
from protocol.bridge_config import EsphomeConfig, TasmotaConfig, ZigbeeConfig
from protocol.codec import decode
from protocol.device_config import load_device_config
from protocol.errors import ConfigError, ProtocolError
from protocol.messages import INT_MAX, TS_MAX, TS_MIN, Event
from protocol.site_config import load_site

CHANNELS = ("event", "telemetry", "status", "alert", "reply", "cmd")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
EVENT: dict[str, Any] = {
    "v": 1,
    "id": "01J9ZK6M4R3T8V2W5X7Y9A1B3C",
    "device": "home-b1-101",
    "seq": 7,
    "ts": "2026-11-22T08:00:00+08:00",
    "kind": "call",
    "source": "gpio:call",
    "data": {},
}
# A valid event with some fields replaced by anything: the near-misses a fuzzer finds first.
near_events = st.fixed_dictionaries(
    {k: st.one_of(st.just(v), json_values) for k, v in EVENT.items()}
)
payloads = (
    st.binary(max_size=600)
    | json_values.map(lambda v: json.dumps(v).encode())
    | near_events.map(lambda v: json.dumps(v).encode())
    | st.integers(1, 20_000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(1, 5_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n)
)


@FAST
@given(channel=st.sampled_from(CHANNELS), payload=payloads)
def test_codec_decodes_or_raises_protocol_error(channel: str, payload: bytes) -> None:
    try:
        msg = decode(channel, payload)
    except ProtocolError:
        return
    if isinstance(msg, Event):
        assert 0 <= msg.seq <= INT_MAX
        assert TS_MIN <= msg.ts < TS_MAX


ZIGBEE = ZigbeeConfig.model_validate(
    {
        "devices": {
            "btn": {"type": "sos_button"},
            "smoke": {"type": "smoke_detector"},
            "radar": {"type": "fall_sensor", "fall_on_suspected": True},
            "leaf": {"type": "presence_sensor"},
        }
    }
)
TASMOTA = TasmotaConfig.model_validate(
    {"devices": {"sos-1": {"inputs": {"Button1": {"means": "sos"}, "Switch1": {"means": "smoke"}}}}}
)
ESPHOME = EsphomeConfig.model_validate(
    {"devices": {"esp-1": {"binary_sensors": {"sos_button": {"means": "sos"}}}}}
)
bridge_payloads = (
    payloads
    | st.dictionaries(
        st.sampled_from(
            [
                "action",
                "smoke",
                "battery",
                "battery_low",
                "occupancy",
                "fall",
                "state",
                "Button1",
                "Switch1",
                "Action",
                "presence",
                "tamper",
            ]
        ),
        json_values,
        max_size=4,
    ).map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"online", b"offline", b"ON", b"OFF", b"Online", b"Offline"])
)


@FAST
@given(data=st.data(), payload=bridge_payloads, retained=st.booleans(), now=st.floats(0, 1e6))
def test_bridge_normalisers_never_raise(
    data: st.DataObject, payload: bytes, retained: bool, now: float
) -> None:
    bridges = [
        ZigbeeBridge(ZIGBEE, "r-1", now=0.0),
        TasmotaBridge(TASMOTA, "r-1"),
        EsphomeBridge(ESPHOME, "r-1"),
    ]
    for bridge in bridges:
        topic = data.draw(st.sampled_from(bridge.filters()))
        effects = bridge.handle(topic, payload, retained, now)
        assert isinstance(effects, list)
        assert isinstance(bridge.tick(now + 3600), list)


HEAD = {"device": "pi-1", "site": "s", "grid": "g", "building": "b"}
yaml_docs = (
    st.text(max_size=300)
    | json_values.map(lambda v: yaml.safe_dump(v))
    | st.dictionaries(
        st.sampled_from(
            ["device", "site", "grid", "broker", "inputs", "bridges", "timing", "outbox"]
        ),
        json_values,
        max_size=5,
    ).map(lambda v: yaml.safe_dump({**HEAD, **v}))
)


yaml_files = (
    yaml_docs.map(str.encode)
    | st.binary(max_size=300)
    | st.integers(1, 20_000).map(lambda n: b"a: " + b"[" * n + b"]" * n)
)


@FAST
@given(raw=yaml_files)
def test_device_config_loads_or_raises_config_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pi-1.yaml"
        path.write_bytes(raw)
        try:
            load_device_config(path)
        except ConfigError:
            pass


@FAST
@given(site=yaml_docs, device=yaml_docs)
def test_site_folder_loads_or_raises_config_error(site: str, device: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "devices").mkdir()
        (root / "site.yaml").write_text(site, encoding="utf-8", errors="surrogatepass")
        (root / "devices" / "pi-1.yaml").write_text(
            device, encoding="utf-8", errors="surrogatepass"
        )
        try:
            load_site(root)
        except ConfigError:
            pass
