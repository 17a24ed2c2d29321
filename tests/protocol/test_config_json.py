"""A config file that is JSON, validated by pydantic from its text, is exactly what the general
way (YAML reading, then validation) gives.

`protocol.config_file.load_model` hands a file that is JSON and reads as YAML reads it
(`yaml_loader.reads_as_json`) straight to `model_validate_json`; anything else, and anything
pydantic refuses, goes the general way, which names the problem. Generated device files, good
and bad, must give the same config or the same problems both ways.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import yaml_loader
from protocol.config_file import _parse, _validated, model_from_text
from protocol.device_config import DeviceConfig
from protocol.errors import ConfigError
from protocol.site_config import SiteConfig

SUNFLOWER = Path(__file__).resolve().parents[2] / "firmware-config" / "sites" / "sunflower"
DEVICES = [
    yaml.safe_load(p.read_text(encoding="utf-8"))
    for p in sorted((SUNFLOWER / "devices").glob("*.yaml"))
]
PATH = "devices/x.yaml"
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        ["17", "GPIO17", "", "yes", "ON", "1e5", "0x68", "08:00", "电量", "\ud800", "a\x00b"]
    ),
    st.sampled_from(["\x80", "\x85", "\x9f", "\ufffe", "\U0001f600"]),  # C1, NEL, emoji
    st.text(max_size=8),
    st.lists(st.integers(min_value=0, max_value=40), max_size=2),
    st.dictionaries(st.sampled_from(["pin", "bounce_ms", "x"]), st.integers(), max_size=2),
)
# Raw text a JSON writer would not make but a person might: read both ways all the same.
TOKENS = st.sampled_from(["1e5", "1E+5", "2.5e-1", "NaN", "Infinity", "-0", "1.0", '"\\u00e9"'])


def general(text: str) -> tuple[str, Any]:
    """The general way: YAML reading, then validation."""
    try:
        return "ok", _validated(DeviceConfig, _parse(text, PATH), PATH).model_dump()
    except ConfigError as exc:
        return "error", exc.problems


def both(text: str) -> tuple[str, Any]:
    """What `load_model` gives: the JSON way first when the text allows it."""
    try:
        return "ok", model_from_text(DeviceConfig, text, PATH).model_dump()
    except ConfigError as exc:
        return "error", exc.problems


def test_every_sunflower_file_as_json_takes_the_json_way_to_the_same_config() -> None:
    for doc in DEVICES:
        text = json.dumps(doc, ensure_ascii=False)
        assert yaml_loader.reads_as_json(text)
        quick = DeviceConfig.model_validate_json(text)  # the way `load_model` goes
        assert ("ok", quick.model_dump()) == general(text)
    site = yaml.safe_load((SUNFLOWER / "site.yaml").read_text(encoding="utf-8"))
    text = json.dumps(site, ensure_ascii=False, default=str)
    assert yaml_loader.reads_as_json(text)
    general_site = _validated(SiteConfig, _parse(text, "site.yaml"), "site.yaml")
    assert model_from_text(SiteConfig, text, "site.yaml") == general_site


@pytest.mark.parametrize("token", ["1e5", "NaN", "Infinity"])
def test_what_yaml_reads_otherwise_is_not_read_as_json(token: str) -> None:
    text = json.dumps({**DEVICES[0], "location": "x"}).replace('"x"', token)
    assert not yaml_loader.reads_as_json(text)
    assert both(text) == general(text) == ("ok", general(text)[1])
    assert both(text)[1]["location"] == token  # a string in YAML 1.1


def changed(base: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """A copy of `base` with each (path, value) of `changes` set, the dicts on the way made if
    missing; each value copied (hypothesis hands out the same sampled object again)."""
    doc: dict[str, Any] = json.loads(json.dumps(base))
    for path, value in changes:
        node = doc
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = copy.deepcopy(value)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(DEVICES),
    changes=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    ("device",),
                    ("location",),
                    ("fw",),
                    ("household",),
                    ("timing", "heartbeat_s"),
                    ("inputs", "call_button", "pin"),
                    ("inputs", "cancel_button"),
                    ("outputs", "led", "pin"),
                    ("outbox", "max_events"),
                    ("broker", "keepalive_s"),
                    ("extra",),
                ]
            ),
            ODD_VALUES,
        ),
        max_size=3,
    ),
    token=st.one_of(st.none(), TOKENS),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
def test_generated_files_read_alike_both_ways(
    base: dict[str, Any],
    changes: list[tuple[tuple[str, ...], Any]],
    token: str | None,
    ascii_only: bool,
    indent: int | None,
) -> None:
    doc = changed(base, changes)
    if token is not None:
        doc["location"] = "@TOKEN@"
    text = json.dumps(doc, ensure_ascii=ascii_only, indent=indent)
    if token is not None:
        text = text.replace('"@TOKEN@"', token)
    assert both(text) == general(text)
