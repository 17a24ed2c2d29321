"""Configuration of off-the-shelf device bridges (zigbee2mqtt, Tasmota, ESPHome).

It is the `bridges:` section of a device YAML: the local broker those ecosystems publish to,
and which of their devices protect whom and what each input means (see docs/devices.md).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol.config_file import URL_PATTERN
from protocol.topics import ID_PATTERN

Ident = Annotated[str, Field(pattern=ID_PATTERN)]
ZigbeeType = Literal[
    "sos_button", "smoke_detector", "fall_sensor", "presence_sensor", "door_contact"
]
Meaning = Literal["sos", "smoke", "fall", "activity"]
# MQTT topic segments as those ecosystems allow them: no wildcards, no leading/trailing '/'.
TopicPart = Annotated[str, Field(pattern=r"^[^#+/\s][^#+]{0,127}$")]
ObjectId = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,64}$")]
InputKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,31}$")]


class Strict(BaseModel):
    """Base for bridge sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LocalBrokerConfig(Strict):
    """The broker on the Pi (or LAN) that zigbee2mqtt, Tasmota and ESPHome publish to."""

    url: str = Field(
        "mqtt://127.0.0.1:1883",
        pattern=URL_PATTERN,
        description=(
            "mqtt://host:port of the local broker (plain: keep it on loopback), "
            "or mqtts://host:port (TLS, default port 8883) for a broker shared on the LAN"
        ),
    )
    username: str | None = Field(None, description="User name on the local broker, if any")
    password_file: str | None = Field(
        None, description="Path to a file holding the local broker password (never inline)"
    )
    ca_file: str | None = Field(
        None,
        description=(
            "CA certificate (PEM) that signed the local broker's certificate, for mqtts:// "
            "only; None = the system CAs"
        ),
    )

    @model_validator(mode="after")
    def _ca_needs_tls(self) -> LocalBrokerConfig:
        # A CA with mqtt:// would look like TLS in the YAML while the password goes in clear.
        if self.ca_file is not None and not self.url.startswith("mqtts://"):
            raise ValueError(f"ca_file is only used with mqtts://; url is {self.url!r}")
        return self


class Placement(Strict):
    """Who and where a bridged device protects."""

    resident: Ident | None = Field(None, description="Resident protected; None = the device's")
    room: str = Field("", max_length=64, description="Room, e.g. 卧室 bedroom")


class ZigbeeDevice(Placement):
    """One zigbee2mqtt device, keyed by its friendly name."""

    type: ZigbeeType = Field(description="What the device is; decides which fields matter")
    model: str = Field("", max_length=64, description="zigbee2mqtt model, e.g. TS0215A_sos")
    sos_actions: list[str] = Field(
        default_factory=lambda: ["emergency", "sos"],
        max_length=16,
        description="`action` values that mean SOS (e.g. [single] for a plain button)",
    )
    availability_timeout_s: float | None = Field(
        None,
        gt=0,
        le=7 * 86_400,
        description="Battery devices: no message this long = offline (fault); None = off",
    )
    battery_low_percent: int = Field(
        15, ge=1, le=99, description="`battery` below this percentage = low_battery"
    )
    fall_on_suspected: bool = Field(
        False, description="Raise `fall` already for fall_warning/maybe_fall, not only confirmed"
    )


class ZigbeeConfig(Strict):
    """Bridge to zigbee2mqtt."""

    base_topic: TopicPart = Field("zigbee2mqtt", description="zigbee2mqtt `mqtt.base_topic`")
    devices: dict[str, ZigbeeDevice] = Field(
        default_factory=dict, description="Friendly name -> device; other devices are ignored"
    )

    @model_validator(mode="after")
    def _names(self) -> ZigbeeConfig:
        bad = [n for n in self.devices if not n or any(c in n for c in "#+") or n == "bridge"]
        if bad:
            raise ValueError(f"friendly names {bad} are not usable (empty, '#', '+' or 'bridge')")
        return self


class InputMap(Strict):
    """What one input of an ESP device means, and which values switch it on and off."""

    means: Meaning = Field(description="sos -> call, smoke -> smoke/smoke_clear, fall, activity")
    active: list[str] = Field(
        default_factory=lambda: ["ON", "SINGLE"],
        min_length=1,
        max_length=16,
        description="Values (case-insensitive) that mean active: ON, SINGLE, DOUBLE, HOLD, ...",
    )
    inactive: list[str] = Field(
        default_factory=lambda: ["OFF"],
        max_length=16,
        description="Values that mean inactive; [] for buttons that only report presses",
    )
    what: Literal["motion", "presence", "door", "bed"] = Field(
        "motion", description="For means=activity: what the sensor senses (the event's `what`)"
    )

    @field_validator("active", "inactive", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: object) -> object:
        # YAML 1.1 reads unquoted ON/OFF as true/false; take them for what the user wrote.
        if isinstance(value, list):
            return [("ON" if v else "OFF") if isinstance(v, bool) else v for v in value]
        return value


class TasmotaDevice(Placement):
    """One Tasmota device, keyed by its %topic%."""

    inputs: dict[InputKey, InputMap] = Field(
        min_length=1,
        description="RESULT key -> meaning: Button1, Switch1, POWER, POWER1, ...",
    )
    fault_when_offline: bool = Field(True, description="LWT Offline raises a `fault` event")


class TasmotaConfig(Strict):
    """Bridge to Tasmota (default FullTopic %prefix%/%topic%/)."""

    devices: dict[TopicPart, TasmotaDevice] = Field(
        default_factory=dict, description="Tasmota %topic% -> device"
    )


class EsphomeDevice(Placement):
    """One ESPHome node, keyed by its MQTT topic_prefix (the node name by default)."""

    binary_sensors: dict[ObjectId, InputMap] = Field(
        min_length=1, description="binary_sensor object id -> meaning"
    )
    fault_when_offline: bool = Field(True, description="status `offline` raises a `fault` event")


class EsphomeConfig(Strict):
    """Bridge to ESPHome nodes using the MQTT component."""

    devices: dict[TopicPart, EsphomeDevice] = Field(
        default_factory=dict, description="topic_prefix -> node"
    )


class BridgesConfig(Strict):
    """Bridges to local MQTT device ecosystems; empty means none."""

    broker: LocalBrokerConfig = Field(
        default_factory=LocalBrokerConfig, description="Local broker the ecosystems publish to"
    )
    zigbee: ZigbeeConfig | None = Field(None, description="zigbee2mqtt devices")
    tasmota: TasmotaConfig | None = Field(None, description="Tasmota devices")
    esphome: EsphomeConfig | None = Field(None, description="ESPHome nodes")

    @property
    def enabled(self) -> bool:
        """Return True if any bridge has at least one device."""
        return any(
            section is not None and section.devices
            for section in (self.zigbee, self.tasmota, self.esphome)
        )
