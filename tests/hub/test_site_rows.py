"""`site.yaml` as the bulk import reads it (`hub.store.registry.read_site`): the rows, the
cross-check's index and the site summary the model gives, or the same `ConfigError` (file,
problems), whether the file took the shape's way (`protocol.site_config.site_fields`) or the
model's."""

from __future__ import annotations

import copy
import json
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.store.registry import SUMMARY, read_site, site_rows
from protocol.config_file import load_model
from protocol.errors import ConfigError
from protocol.site_config import SiteConfig, SiteIndex, site_fields
from tests.protocol.test_config_json import ODD_VALUES, SUNFLOWER


def _plain(value: Any) -> Any:
    return value.strftime("%H:%M") if isinstance(value, time) else str(value)


SITE: dict[str, Any] = json.loads(
    json.dumps(
        yaml.safe_load((SUNFLOWER / "site.yaml").read_text(encoding="utf-8")), default=_plain
    )
)
"""The example site as JSON values (its check-in times as "HH:MM")."""


def both_ways(path: Path) -> tuple[str, str]:
    """(what `read_site` gives, what the model gives): the site summary, the rows and the
    index, or (path, problems), as `repr`s (30 and 30.0, 1 and True differ)."""
    out = []
    for way in (read_site, _model_way):
        try:
            site, rows, index = way(path)
            summary = site.model_dump(mode="json", include=SUMMARY)
            out.append(repr((summary, rows, vars(index))))
        except ConfigError as exc:
            out.append(repr((exc.path, exc.problems)))
    return out[0], out[1]


def _model_way(path: Path) -> tuple[SiteConfig, Any, SiteIndex]:
    site = load_model(SiteConfig, path)
    return site, site_rows(site), SiteIndex.of(site)


def _write(path: Path, doc: Any, as_yaml: bool = False) -> Path:
    text = (
        yaml.safe_dump(doc, allow_unicode=True) if as_yaml else json.dumps(doc, ensure_ascii=False)
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_site_as_json_takes_the_shape_to_the_models_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "site.yaml", SITE)
    found = site_fields(path.read_text(encoding="utf-8"))
    assert found is not None
    assert found.site.households == [] and len(found.households) == len(SITE["households"])
    got, model = both_ways(path)
    assert got == model
    site, rows, _ = read_site(path)
    assert site.households == []  # a summary: its rows hold the rest
    tables = {model.__tablename__: table_rows for model, _, table_rows in rows}
    assert len(tables["residents"]) == len(SITE["residents"]) > 0


DROP = object()
"""A value that removes the key instead (a field left out: its default)."""


def _with(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of `doc` with the item at `path` (keys and list indexes) set to `value` (DROP:
    removed); a missing key on the way is made a dict, an index past a list's end appends.
    A path through a value of the other kind (a key into a list) changes nothing."""
    out = copy.deepcopy(doc)
    node: Any = out
    for depth, key in enumerate(path):
        if isinstance(node, list) != isinstance(key, int):
            return out  # an earlier change made this a list (or a dict): nothing to set
        if depth == len(path) - 1:
            break
        if isinstance(node, list):
            key = min(key, len(node) - 1) if node else 0
            if not node:
                node.append({})
        elif not isinstance(node.get(key), dict | list):
            node[key] = {}
        node = node[key]
    last = path[-1]
    if value is DROP:
        if isinstance(node, dict):
            node.pop(last, None)
        return out
    if isinstance(node, list):
        if last < len(node):
            node[last] = copy.deepcopy(value)
        else:
            node.append(copy.deepcopy(value))
    else:
        node[last] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("households", 1, "id"), "b1-101"),  # a duplicate
        (("residents", 1, "id"), "r-wang-xiuying"),
        (("buildings", 0, "id"), "b2"),
        (("buildings", 0, "grid"), "grid-9"),  # not in grids
        (("households", 0, "building"), "b9"),
        (("residents", 0, "household"), "nowhere"),
        (("workers", 0, "grids"), ["grid-9"]),
        (("households", 0, "floor"), 1e5),  # YAML 1.1 reads 1e5 as a string
        (("households", 0, "extra"), 1),
        (("residents", 0, "checkin", "window_start"), "25:00"),
        (("residents", 0, "contacts"), [{"name": "李明", "phone": "1"}]),  # relation left out
        (("residents", 0, "contacts"), [{"name": "李明"}]),
        (("buildings", 0, "floors"), True),
        (("households", 0), {"id": "b1-101", "building": "b1"}),  # the rest left out
        (("residents", 9), {"id": "r-new", "household": "b2-201", "name": "新"}),
        (("grids",), []),
        (("buildings",), []),  # then every household's building is missing
    ],
)
def test_changed_sites_give_the_models_rows_or_error(
    tmp_path: Path, path: tuple[Any, ...], value: Any
) -> None:
    for as_yaml in (False, True):
        got, model = both_ways(_write(tmp_path / "site.yaml", _with(SITE, path, value), as_yaml))
        assert got == model


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xff\xfe{}",
        b"site: [unclosed\n",
        b"[]",
        b'{"site": "s"}',
        b'{"site": "s", "grids": [{"id": "g"}]}',
    ],
)
def test_bad_and_odd_files_fail_or_pass_alike(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(content)
    got, model = both_ways(path)
    assert got == model


PATHS = st.sampled_from(
    [
        ("site",),
        ("timezone",),
        ("grids", 0, "id"),
        ("buildings", 0, "grid"),
        ("buildings", 1, "floors"),
        ("buildings", 2, "address"),
        ("households", 0, "id"),
        ("households", 1, "building"),
        ("households", 2, "floor"),
        ("households", 3, "key_safe"),
        ("households", 3, "unit"),
        ("residents", 0, "household"),
        ("residents", 1, "age"),
        ("residents", 1, "conditions"),
        ("residents", 2, "contacts"),
        ("residents", 2, "checkin"),
        ("residents", 0, "checkin", "window_end"),
        ("residents", 3, "name"),
        ("workers", 1, "role"),
        ("extra",),
    ]
)
VALUES = st.one_of(
    ODD_VALUES,
    st.sampled_from(
        ["b1", "b1-101", "grid-2", "r-wang-xiuying", 3, "3", None, [], {}, "07:30", ["高血压"]]
    ),
    st.sampled_from(
        [[{"name": "x", "phone": "1"}], {"window_start": "07:00", "window_end": "08:00"}]
    ),
)


OPTIONAL = st.sampled_from(
    [
        ("name_zh",),
        ("timezone",),
        ("buildings", 0, "address"),
        ("buildings", 1, "floors"),
        ("households", 0, "floor"),
        ("households", 0, "unit"),
        ("households", 1, "key_safe"),
        ("residents", 0, "age"),
        ("residents", 0, "conditions"),
        ("residents", 1, "contacts"),
        ("residents", 0, "checkin"),
        ("residents", 0, "contacts", 0, "relation"),
        ("workers", 0, "phone"),
    ]
)
"""Fields a site may leave out (then their defaults)."""
FINE = st.sampled_from([0, 7, -2, "", "3-201", "甲", ["独居"], None, 30, 130])
"""Values some of those fields accept."""


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.one_of(st.tuples(PATHS, VALUES), st.tuples(OPTIONAL, st.just(DROP) | FINE)),
        max_size=4,
    ),
    as_yaml=st.booleans(),
)
def test_generated_sites_give_the_models_rows_or_error(
    tmp_path_factory: pytest.TempPathFactory,
    changes: list[tuple[tuple[Any, ...], Any]],
    as_yaml: bool,
) -> None:
    doc = SITE
    for where, value in changes:
        doc = _with(doc, where, value)
    path = tmp_path_factory.mktemp("site") / "site.yaml"
    try:
        _write(path, doc, as_yaml)
    except (ValueError, yaml.YAMLError):  # a value JSON or YAML cannot write
        return
    got, model = both_ways(path)
    assert got == model
