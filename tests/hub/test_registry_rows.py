"""A device file's row as the bulk import's parsers take it (`hub.store.registry.device_row`):
the row of the model `load_device_config` gives, or the same `ConfigError` (file, problems),
whether the file took the shape's way (`protocol.device_config.device_fields`) or the model's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.store.registry import device_row, device_tuple
from protocol.device_config import device_fields, load_device_config
from protocol.errors import ConfigError
from tests.protocol.test_config_json import DEVICES, changed
from tests.protocol.test_config_shape import CHANGES, VALUES


def both_ways(path: Path) -> tuple[str, str]:
    """(what `device_row` gives, what the model gives): a row, or (path, problems), as
    `repr`s, so that 30 and 30.0 or 1 and True differ."""
    out = []
    for way in (device_row, lambda p: device_tuple(load_device_config(p))):
        try:
            out.append(repr(way(str(path))))
        except ConfigError as exc:
            out.append(repr((exc.path, exc.problems)))
    return out[0], out[1]


def test_rows_of_json_files_are_the_models_rows(tmp_path: Path) -> None:
    for i, doc in enumerate(DEVICES):
        for variant in (doc, {**doc, "outputs": {"siren": {"pin": 9}}, "timing": {}}):
            path = tmp_path / f"d{i}-{len(variant)}.yaml"
            path.write_text(json.dumps(variant, ensure_ascii=False), encoding="utf-8")
            assert device_fields(path.read_text(encoding="utf-8")) is not None
            row, model_row = both_ways(path)
            assert row == model_row


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe{}",  # not UTF-8
        b"device: [unclosed\n",
        b'{"device": "d-1"}',
        b'{"device": "BAD", "site": "s", "grid": "g", "building": "b"}',
        b'{"device": "d-1", "site": "s", "grid": "g", "building": "b", '
        b'"inputs": {"call_button": {"pin": 17}}, "outputs": {"led": {"pin": "17"}}}',
        b'{"device": "d-1", "site": "s", "grid": "g", "building": "b", "location": 1e5}',
        b'{"device": "d-1", "site": "s", "grid": "g", "building": "b"}',  # fine
        b"device: d-1\nsite: s\ngrid: g\nbuilding: b\n",  # fine, as YAML
    ],
)
def test_bad_and_odd_files_fail_or_pass_alike(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "d.yaml"
    path.write_bytes(content)
    row, model_row = both_ways(path)
    assert row == model_row


def test_a_missing_file_fails_alike(tmp_path: Path) -> None:
    row, model_row = both_ways(tmp_path / "gone.yaml")
    assert row == model_row
    assert "cannot read file" in row


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(DEVICES),
    changes=st.lists(st.tuples(CHANGES, VALUES), max_size=4),
    as_yaml=st.booleans(),
)
def test_generated_files_give_the_models_row_or_error(
    tmp_path_factory: pytest.TempPathFactory,
    base: dict[str, Any],
    changes: list[tuple[tuple[str, ...], Any]],
    as_yaml: bool,
) -> None:
    doc = changed(base, changes)
    file = tmp_path_factory.mktemp("rows") / "d.yaml"
    text = yaml.safe_dump(doc, allow_unicode=True) if as_yaml else json.dumps(doc)
    file.write_text(text, encoding="utf-8")
    row, model_row = both_ways(file)
    assert row == model_row
