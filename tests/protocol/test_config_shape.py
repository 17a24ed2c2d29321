"""A device file's shape (`protocol.config_shape`, `device_config.device_fields`) accepts only
what `DeviceConfig` accepts, and gives what the model would.

`hub.store.registry.device_row` reads a registry's device files through `device_fields` when
it can and through the model otherwise; a file the shape accepts that the model would refuse,
or reads otherwise, would be imported wrongly. Generated files, good, bad and hostile, must
give the same config through both, and `yaml_loader.reads_as_json`'s screen must say what its
two regular expressions say.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from protocol import yaml_loader
from protocol.config_file import model_from_text
from protocol.config_shape import shape_validator
from protocol.device_config import DeviceConfig, device_fields
from protocol.errors import ConfigError
from tests.protocol.test_config_json import DEVICES, ODD_VALUES, PATH, TOKENS, changed

PIN_PARTS = [
    ("inputs", "call_button"),
    ("inputs", "cancel_button"),
    ("inputs", "smoke_contact"),
    ("outputs", "led"),
    ("outputs", "buzzer"),
    ("outputs", "siren"),
]
CHANGES = st.sampled_from(
    [
        ("device",),
        ("site",),
        ("location",),
        ("household",),
        ("resident",),
        ("timing", "heartbeat_s"),
        ("timing",),
        ("outputs",),
        ("outputs", "siren"),
        ("outputs", "speaker"),
        ("inputs", "activity"),
        ("inputs", "accelerometer"),
        ("inputs", "smoke_analog", "threshold"),
        ("bridges",),
        ("bridges", "broker", "url"),
        ("broker", "url"),
        ("broker", "password"),
        ("extra",),
        *[(*part, "pin") for part in PIN_PARTS],
    ]
)
VALUES = st.one_of(
    ODD_VALUES,
    st.sampled_from([17, "17", 27, 5, "GPIO5", {}, {"pin": 17}, [{"name": "pir", "pin": 17}]]),
    st.sampled_from([{"zigbee": {"devices": []}}, {"broker": {"url": "mqtt://x:1"}}, 1e300]),
)


def model_way(text: str) -> tuple[str, Any]:
    """What the model gives for a device file's text: its dump, or the problems."""
    try:
        return "ok", model_from_text(DeviceConfig, text, PATH).model_dump()
    except ConfigError as exc:
        return "error", exc.problems


def within(given: Any, dumped: Any) -> bool:
    """Whether every key the shape gave is in the model's dump with the same value."""
    if isinstance(given, dict):
        return isinstance(dumped, dict) and all(
            k in dumped and within(v, dumped[k]) for k, v in given.items()
        )
    if isinstance(given, list):
        return (
            isinstance(dumped, list)
            and len(given) == len(dumped)
            and all(within(a, b) for a, b in zip(given, dumped, strict=True))
        )
    return type(given) is type(dumped) and given == dumped


def check(text: str) -> None:
    fields = device_fields(text)
    if fields is not None:  # the shape said yes: the model must, to the same values
        kind, dumped = model_way(text)
        assert kind == "ok", dumped
        assert within(fields, dumped), (fields, dumped)


def test_sunflower_files_as_json_take_the_shape() -> None:
    for doc in DEVICES:
        text = json.dumps(doc, ensure_ascii=False)
        fields = device_fields(text)
        assert fields is not None
        assert within(fields, model_way(text)[1])


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("outputs", "led", "pin"), 17),  # the call button's: `_pins_unique` names both
        (("outputs", "led", "pin"), "17"),  # the same pin as text
        (("inputs", "activity"), [{"name": "pir", "pin": 27}]),
        (("bridges", "broker"), {}),  # a part with a validator of its own, even empty
        (("broker", "password"), "hunter2"),
        (("timing", "heartbeat_s"), 0),
        (("extra",), 1),
    ],
)
def test_what_the_model_refuses_or_checks_itself_goes_to_the_model(
    path: tuple[str, ...], value: Any
) -> None:
    doc = json.loads(json.dumps(DEVICES[0]))
    doc.setdefault("inputs", {})["call_button"] = {"pin": 17}
    doc["inputs"]["cancel_button"] = {"pin": 27}
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    text = json.dumps(doc)
    assert device_fields(text) is None
    check(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(DEVICES),
    changes=st.lists(st.tuples(CHANGES, VALUES), max_size=4),
    token=st.one_of(st.none(), TOKENS),
    ascii_only=st.booleans(),
)
def test_generated_files_give_what_the_model_gives(
    base: dict[str, Any],
    changes: list[tuple[tuple[str, ...], Any]],
    token: str | None,
    ascii_only: bool,
) -> None:
    doc = changed(base, changes)
    if token is not None:
        doc["location"] = "@TOKEN@"
    text = json.dumps(doc, ensure_ascii=ascii_only)
    if token is not None:
        text = text.replace('"@TOKEN@"', token)
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_hostile_text_gives_what_the_model_gives(tail: str) -> None:
    check('{"device": "d-1", "site": "s", "grid": "g", "building": "b"' + tail)
    check(tail)


def reads_as_json_by_expressions(text: str) -> bool:
    """`reads_as_json` as it was: its two regular expressions over the text."""
    return (
        yaml_loader._JSON_START.match(text) is not None
        and yaml_loader._NOT_YAML.search(text) is None
        and yaml_loader._NOT_JSON_AS_YAML.search(text) is None
    )


HOSTILE = st.sampled_from(
    [
        *'{}[]"\\ue0123456789EeNaIfinty: ,\t\n\r',
        *["\x00", "\x1f", "\x7f", "\x80", "\x85", "\x9f", "\xa0", "\u2027", "\u2028", "\u2029"],
        *["\u202a", "\ud7ff", "\ud800", "\udfff", "\ue000", "\ufffd", "\ufffe", "\uffff"],
        *["\U00010000", "\U0010ffff", "电", "，", "—", "NaN", "Infinity", "\\ud83d", "\\uDC00"],
    ]
)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.lists(HOSTILE).map("".join),
        st.lists(HOSTILE).map(lambda parts: "{" + "".join(parts)),
        st.builds(lambda s: " \n[" + s, st.text()),
    )
)
def test_the_screen_says_what_the_expressions_say(text: str) -> None:
    assert yaml_loader.reads_as_json(text) == reads_as_json_by_expressions(text)


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pin: int = Field(description="a pin")

    @model_validator(mode="after")
    def _odd(self) -> Part:
        if self.pin % 2 == 0:
            raise ValueError("even")
        return self


class Whole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="a name")
    part: Part | None = Field(None, description="a part with its own validator")
    upper: str = Field("A", description="a field with a field validator")

    @field_validator("upper")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _named(self) -> Whole:
        return self


def test_a_validator_the_caller_does_not_check_is_left_to_the_model() -> None:
    assert shape_validator(Whole, frozenset()) is None  # its own: nothing is mirrored
    shape = shape_validator(Whole, frozenset({"_named"}))
    assert shape is not None
    assert shape.validate_json('{"name": "x"}') == {"name": "x"}
    for refused in ('{"name": "x", "part": {"pin": 3}}', '{"name": "x", "upper": "a"}'):
        with pytest.raises(ValidationError):  # the model would have run a validator
            shape.validate_json(refused)
    with pytest.raises(ValidationError):
        shape.validate_json('{"name": "x", "other": 1}')
