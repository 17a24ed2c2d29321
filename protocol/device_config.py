"""Per-device configuration (`firmware-config/sites/SITE/devices/DEVICE.yaml`).

Every model forbids unknown keys and documents every field; `load_device_config` turns any
problem into a `ConfigError` that names the file, the field and what is allowed.
"""

from __future__ import annotations

import functools
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import SchemaValidator

from protocol import yaml_loader
from protocol.bridge_config import BridgesConfig
from protocol.config_file import URL_PATTERN, load_model
from protocol.config_shape import shape_validator
from protocol.topics import ID_PATTERN

Ident = Annotated[str, Field(pattern=ID_PATTERN)]
Pin = Annotated[int | str, Field(description="BCM GPIO number (e.g. 17) or gpiozero name")]


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BrokerConfig(Strict):
    """How the agent reaches the MQTT broker."""

    url: str = Field(
        "mqtt://127.0.0.1:1883",
        pattern=URL_PATTERN,
        description="mqtt://host:port or mqtts://host:port (TLS)",
    )
    username: str | None = Field(None, description="MQTT user name; usually the device id")
    password_file: str | None = Field(
        None, description="Path to a file holding the password (never inline)"
    )
    password_env: str | None = Field(
        None, description="Name of an environment variable holding the password"
    )
    ca_file: str | None = Field(None, description="CA certificate for mqtts:// (PEM)")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive in seconds")
    max_inflight: int = Field(
        100, ge=1, le=1000, description="QoS 1 messages in flight while replaying the outbox"
    )


class ButtonConfig(Strict):
    """A push button wired between a GPIO pin and ground."""

    pin: Pin
    pull_up: bool = Field(True, description="Use the internal pull-up (button to ground)")
    bounce_ms: int = Field(50, ge=0, le=1000, description="Debounce time in milliseconds")
    hold_s: float = Field(
        0.0,
        ge=0,
        le=10,
        description="Press must be held this long to count (0 = on press); guards against knocks",
    )


class SmokeContactConfig(Strict):
    """Dry-contact alarm output of a smoke detector (relay/open collector)."""

    pin: Pin
    active_high: bool = Field(False, description="True if the contact drives the pin high in alarm")
    confirm_s: float = Field(
        2.0, ge=0, le=60, description="Contact must stay in alarm this long before an event"
    )


class SmokeAnalogConfig(Strict):
    """Analog smoke/gas sensor read through an MCP3008 ADC."""

    channel: int = Field(0, ge=0, le=7, description="MCP3008 channel 0-7")
    spi_device: int = Field(0, ge=0, le=1, description="SPI chip select (CE0/CE1)")
    threshold: float = Field(0.35, gt=0, lt=1, description="Alarm level, fraction of full scale")
    hysteresis: float = Field(
        0.05, ge=0, lt=1, description="Level must fall below threshold-hysteresis to clear"
    )
    warmup_s: float = Field(
        60.0, ge=0, le=3600, description="Ignore readings this long after start (heater warm-up)"
    )
    sample_hz: float = Field(2.0, gt=0, le=50, description="Sampling rate")
    confirm_samples: int = Field(
        3, ge=1, le=100, description="Consecutive samples above threshold before alarm"
    )


class FallConfig(Strict):
    """Thresholds of the free-fall / impact / stillness fall detector (see docs/fall.md)."""

    freefall_g: float = Field(0.6, gt=0, lt=1, description="|a| below this is free fall (g)")
    freefall_min_s: float = Field(0.06, ge=0, le=1, description="Shortest free-fall phase")
    impact_g: float = Field(
        2.0, gt=1, le=16, description="|a| above this after free fall is impact"
    )
    impact_window_s: float = Field(
        1.0, gt=0, le=3, description="Impact must follow free fall within this time"
    )
    stillness_s: float = Field(
        2.0, gt=0, le=30, description="After impact the body must be still this long"
    )
    stillness_tolerance_g: float = Field(
        0.25, gt=0, le=1, description="Stillness: |a| stays within 1 g ± this"
    )
    settle_s: float = Field(0.5, ge=0, le=5, description="Ignore this long right after the impact")
    stillness_within_s: float = Field(
        3.0,
        ge=0,
        le=30,
        description="Stillness must begin within this long after settle_s, else no fall",
    )
    lying_angle_deg: float = Field(
        40.0,
        ge=0,
        le=90,
        description="Lying: trunk at least this far from the learned upright or from before",
    )
    smoothing_s: float = Field(
        0.04, ge=0, le=0.2, description="Average samples over this long (a common bandwidth)"
    )
    soft_impact_s: float = Field(
        0.11,
        gt=0,
        le=1,
        description="An impact wider than this (half height) is a soft landing (bed, sofa)",
    )
    slump_g: float = Field(
        1.4, gt=1, le=16, description="Fall without free fall: |a| peak at least this (g)"
    )
    slump_turn_deg: float = Field(
        55.0, ge=0, le=180, description="Fall without free fall: trunk turned at least this far"
    )
    slump_stillness_s: float = Field(
        4.0, gt=0, le=60, description="Fall without free fall: then lying still this long"
    )


class AccelerometerConfig(Strict):
    """MPU6050-class accelerometer on I2C, worn or mounted, for fall detection."""

    bus: int = Field(1, ge=0, description="I2C bus number (/dev/i2c-N)")
    address: int = Field(0x68, ge=0x03, le=0x77, description="I2C address (0x68 or 0x69)")
    rate_hz: float = Field(50.0, ge=25, le=1000, description="Sampling rate; at least 25 Hz")
    upright_axis: Literal["x", "y", "z"] = Field(
        "z", description="Ignored: the detector learns upright from walking (kept for old files)"
    )
    fall: FallConfig = Field(default_factory=FallConfig)


class OutputConfig(Strict):
    """An LED or buzzer on a GPIO pin."""

    pin: Pin
    active_high: bool = Field(True, description="Pin high switches it on")


class ActivityInputConfig(Strict):
    """A motion (PIR), presence, door (reed) or bed sensor on a GPIO pin: a sign of life."""

    name: str = Field(
        pattern=r"^[a-z0-9-]{1,40}$", description="Sensor id, the event source is gpio:NAME"
    )
    pin: Pin
    what: Literal["motion", "presence", "door", "bed"] = Field(
        "motion", description="What it senses; a door counts opening and closing"
    )
    active_high: bool = Field(
        True, description="True if the sensor drives the pin high when it sees"
    )
    pull_up: bool | None = Field(
        None, description="Internal pull: True up, False down, None (default) floating/external"
    )


class InputsConfig(Strict):
    """Inputs wired to this device; omit what is not fitted."""

    call_button: ButtonConfig | None = Field(None, description="SOS / call button")
    cancel_button: ButtonConfig | None = Field(None, description="Cancel (false alarm) button")
    smoke_contact: SmokeContactConfig | None = Field(None, description="Smoke detector relay")
    smoke_analog: SmokeAnalogConfig | None = Field(None, description="Analog smoke via MCP3008")
    accelerometer: AccelerometerConfig | None = Field(None, description="Fall detection sensor")
    activity: list[ActivityInputConfig] = Field(
        default_factory=list, description="Motion/presence/door/bed sensors (signs of life)"
    )


Language = Literal["zh", "en"]


def _both_languages() -> list[Language]:
    return ["zh", "en"]


class SpeakerConfig(Strict):
    """Spoken prompts: WAV files rendered once (`watchpost edge render-prompts`), played on
    every feedback change."""

    prompts_dir: str = Field(description="Folder of STATE.LANG.wav files (render-prompts --out)")
    languages: list[Language] = Field(
        default_factory=_both_languages, min_length=1, description="Spoken in this order"
    )
    player: list[str] = Field(
        default_factory=lambda: ["aplay", "-q"],
        min_length=1,
        description="Command that plays WAV files given as its last arguments",
    )


class OutputsConfig(Strict):
    """Feedback outputs for the resident."""

    led: OutputConfig | None = Field(None, description="Status LED")
    buzzer: OutputConfig | None = Field(None, description="Buzzer / sounder")
    siren: OutputConfig | None = Field(None, description="Building siren relay (stairwell units)")
    speaker: SpeakerConfig | None = Field(None, description="Spoken prompts (optional)")


class OutboxConfig(Strict):
    """Durable on-disk queue of messages not yet acknowledged by the broker."""

    path: str = Field(
        "/var/lib/watchpost/outbox.db", description="SQLite file; must survive reboots"
    )
    max_events: int = Field(100_000, ge=10, description="Events kept at most (never dropped first)")
    max_telemetry: int = Field(5_000, ge=0, description="Telemetry kept at most; dropped first")


class TimingConfig(Strict):
    """Intervals of the agent."""

    heartbeat_s: float = Field(30.0, ge=1, le=3600, description="Status heartbeat interval")
    telemetry_s: float = Field(60.0, ge=1, le=86_400, description="Telemetry interval")
    cancel_window_s: float = Field(
        30.0,
        ge=0,
        le=300,
        description="Fall/inactivity: resident may cancel within this time before it is sent",
    )
    confirm_s: float = Field(
        20.0,
        ge=1,
        le=600,
        description="No hub confirmation of an alarm within this long: show 'failed, please "
        "phone for help' and resend it every confirm_s until the hub confirms",
    )
    activity_min_s: float = Field(
        600.0,
        ge=0,
        le=86_400,
        description="At most one `activity` event per sensor per this long",
    )


class DeviceConfig(Strict):
    """One edge agent: who it protects, how it reaches the broker, what is wired to it."""

    device: Ident = Field(description="Device id, unique in the site; also the MQTT client id")
    site: Ident = Field(description="Community (site) id")
    grid: Ident = Field(description="Grid id: the grid worker's patch")
    building: Ident = Field(description="Building id")
    household: Ident | None = Field(None, description="Household id; None for common areas")
    resident: Ident | None = Field(None, description="Resident protected by this device")
    location: str = Field("", max_length=200, description="Human description, e.g. 3F bedroom")
    fw: str = Field("watchpost-edge", max_length=64, description="Firmware name/version reported")
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    timing: TimingConfig = Field(default_factory=TimingConfig)
    inputs: InputsConfig = Field(default_factory=InputsConfig)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    bridges: BridgesConfig = Field(
        default_factory=BridgesConfig, description="Off-the-shelf devices (zigbee2mqtt, ...)"
    )

    @model_validator(mode="after")
    def _pins_unique(self) -> DeviceConfig:
        # Run for each of 100,000 device files at a hub's first start: no list of the parts
        # wired is built, only the pins seen (docs/hub.md).
        seen: dict[str, str] = {}
        for section in (self.inputs, self.outputs):
            for name, part in section.__dict__.items():  # its fields, in their order
                if part is None:
                    continue
                if isinstance(part, list):  # the activity sensors, each by its name
                    wired = [(f"activity {sensor.name}", sensor.pin) for sensor in part]
                else:
                    pin = getattr(part, "pin", None)
                    if pin is None:
                        continue
                    wired = [(name, pin)]
                for what, pin in wired:
                    if str(pin) in seen:
                        raise ValueError(
                            f"pin {pin} is used by both {seen[str(pin)]} and {what}; "
                            "give each its own"
                        )
                    seen[str(pin)] = what
        return self


def load_device_config(path: str | Path) -> DeviceConfig:
    """Load and validate one device YAML file."""
    return load_model(DeviceConfig, path)


_SECTIONS = ("inputs", "outputs")
"""The sections whose parts' pins `_pins_unique` checks."""


def device_fields(text: str) -> dict[str, Any] | None:
    """Return the device file `text` as a dict of what it gives (a field it leaves out is
    left out, not filled with its default), if it is JSON that YAML reads alike and
    `DeviceConfig` accepts it; else None: `protocol.config_file.model_from_text` then gives
    the model or names the problem. Without building the model (`protocol.config_shape`)."""
    shape = _shape()
    if shape is None or not yaml_loader.reads_as_json(text):
        return None
    try:
        fields: dict[str, Any] = shape.validate_json(text)
    except ValidationError:
        return None
    pins = _pins(fields)
    return fields if len(set(pins)) == len(pins) else None  # a clash: the model names it


def _pins(fields: dict[str, Any]) -> list[str]:
    """The pins of the sections' parts as `_pins_unique` finds them, in a dict, as text."""
    pins: list[str] = []
    for section in _SECTIONS:
        for part in fields.get(section, {}).values():
            if isinstance(part, dict):
                pin = part.get("pin")
                if pin is not None:
                    pins.append(str(pin))
            elif isinstance(part, list):  # the activity sensors
                pins += [str(sensor["pin"]) for sensor in part]
    return pins


@functools.cache
def _shape() -> SchemaValidator | None:
    """`DeviceConfig`'s shape (`_pins_unique` checked by `device_fields`), if `_pins` finds
    what it would: every part with a pin must give it (no default), and the sections left
    out have no pins."""
    if _pins({"inputs": InputsConfig().model_dump(), "outputs": OutputsConfig().model_dump()}):
        return None
    for section in (InputsConfig, OutputsConfig):
        for info in section.model_fields.values():
            for part in _models(info.annotation):
                pin = part.model_fields.get("pin")
                if pin is not None and not pin.is_required():
                    return None
    return shape_validator(DeviceConfig, frozenset({"_pins_unique"}))


def _models(annotation: object) -> list[type[BaseModel]]:
    """The models an annotation names, at any depth (`X | None`, `list[X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]
