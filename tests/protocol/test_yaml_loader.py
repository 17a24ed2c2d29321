"""`protocol.yaml_loader.load` gives what `yaml.load(text, Loader=CSafeLoader)` gives: the same
value, or the same error, for any text."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import yaml_loader
from protocol.device_config import load_device_config
from protocol.errors import ConfigError

BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def reference(text: str) -> tuple[str, Any]:
    """Return ("ok", value) or ("error", type and message) as PyYAML's safe loader does."""
    try:
        return "ok", yaml.load(text, Loader=BASE)
    except Exception as exc:
        return "error", (type(exc), str(exc))


def fast(text: str) -> tuple[str, Any]:
    """Return ("ok", value) or ("error", type and message) from the fast loader."""
    try:
        return "ok", yaml_loader.load(text)
    except Exception as exc:
        return "error", (type(exc), str(exc))


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and types compared too (1 == 1.0 == True is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


CASES = [
    "",
    "# only a comment\n",
    "device: home-1\npin: 17\nhold_s: 0.5\nok: true\nnone: ~\n",
    "a: [1, 2, {b: c}]\n",
    '{"device": "home-1", "n": 1.0e+5, "m": 1e5, "x": null}',
    # every implicit type YAML 1.1 resolves
    "- yes\n- No\n- on\n- OFF\n- 0x1F\n- 0o17\n- 017\n- 0b101\n- 1_000\n- 1:30\n- 8:30:15\n",
    "- .inf\n- -.Inf\n- .nan\n- 6.8523015e+5\n- 685_230.15\n- 190:20:30.15\n- +12\n- -0\n",
    "- 2026-12-01\n- 2026-12-01T08:30:00+08:00\n- 07:30\n- '07:30'\n- \"17\"\n",
    # anchors and aliases, merge keys, the value key, unhashable and duplicate keys
    "base: &b {pin: 5}\nled: *b\nbuzzer: *b\n",
    "x: &s 17\ny: *s\n",
    "base: &b {pin: 5, active_high: true}\nled:\n  <<: *b\n  pin: 6\n",
    "=: 1\n",
    "a: =\n",
    "? [a, b]\n: 1\n",
    "? {a: b}\n: 1\n",
    "a: 1\na: 2\n",
    # other tags
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!omap [x: 1, y: 2]\n",
    "a: !!str 17\nb: !!int '17'\nc: !!float '1'\n",
    "a: !local x\n",
    "!!map {a: 1}\n",
    "!!seq [1, 2]\n",
    # errors
    "a: [unclosed\n",
    "a: b: c\n",
    "a: 1\n---\nb: 2\n",
    "a: *nope\n",
    "\tx: 1\n",
    "a: '\n",
    "a: !!int x\n",
    "a: !!bool x\n",
    "a: !!timestamp x\n",
    "a: !!python/name:os.system x\n",
]


@pytest.mark.parametrize("text", CASES)
def test_known_cases_match_pyyaml(text: str) -> None:
    want, got = reference(text), fast(text)
    assert want[0] == got[0], (want, got)
    if want[0] == "error":
        assert want[1] == got[1]
    else:
        assert same(want[1], got[1]), (want, got)


def test_aliased_collections_are_shared_as_in_pyyaml() -> None:
    doc = yaml_loader.load("base: &b {pin: 5}\nled: *b\n")
    assert doc["led"] is doc["base"]
    loop = yaml_loader.load("a: &r [*r]\n")
    assert loop["a"][0] is loop["a"]


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(scalars, inner, max_size=4),
    max_leaves=20,
)
plain_words = st.sampled_from(
    ["17", "0x1F", "1:30", "yes", "Off", "~", "null", ".inf", "1e5", "1.5", "2026-12-01", "<<",
     "=", "&a", "*a", "!!str", "[", "]", "{", "}", ",", ":", "-", "? ", "#", "'", '"', "|", ">",
     "\n", "  ", "\t", "a", "b-1", "卧室"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=values.map(lambda v: yaml.safe_dump(v, allow_unicode=True))
    | values.map(lambda v: yaml.safe_dump(v, default_flow_style=True))
    | st.lists(plain_words, max_size=30).map("".join)
    | st.text(max_size=80)
)
def test_any_text_gives_what_pyyaml_gives(text: str) -> None:
    want, got = reference(text), fast(text)
    assert want[0] == got[0], (want, got)
    if want[0] == "error":
        assert want[1] == got[1]
    else:
        assert same(want[1], got[1]), (want, got)


def test_a_value_that_does_not_match_its_tag_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "pi-1.yaml"
    bad.write_text("device: pi-1\ntiming:\n  heartbeat_s: !!int often\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_device_config(bad)
    assert raised.value.path == str(bad)
    assert raised.value.problems[0].startswith("not valid YAML: a value does not match its")


json_values = st.recursive(  # JSON's maps have string keys only
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
number_words = st.sampled_from(
    ["1e5", "1E+5", "1.5e-3", "1.5E+3", "-0", "-0.0", "0.5", "12", "NaN", "Infinity",
     "-Infinity", "1.0e+400", "123456789012345678901234567890"]
)  # fmt: skip


def json_texts() -> st.SearchStrategy[str]:
    """JSON as machine-written registries have it, and with odd numbers and characters."""
    dumped = st.builds(
        json.dumps,
        json_values,
        ensure_ascii=st.booleans(),
        indent=st.sampled_from([None, 1, "\t", "  "]),
    )
    numbers = st.lists(number_words, min_size=1, max_size=4).map(
        lambda words: '{"n": [' + ", ".join(words) + "]}"
    )
    return dumped | numbers | dumped.map(lambda t: "\n  " + t + "\n")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=json_texts())
def test_json_reads_as_yaml_reads_it(text: str) -> None:
    """Where PyYAML reads a JSON text, the JSON path gives the same value, types and all;
    where libyaml refuses it (a surrogate pair, a lone surrogate), JSON's value or YAML's
    error, never anything else."""
    want, got = reference(text), fast(text)
    if want[0] == "ok":
        assert got[0] == "ok", (want, got)
        assert same(want[1], got[1]), (want, got)
    elif got[0] == "ok":
        assert same(json.loads(text), got[1]), got
    else:
        assert want[1] == got[1]


def test_json_that_libyaml_refuses_is_read_as_json() -> None:
    """The JSON path is taken: a key libyaml will not take as a simple key, and a key and its
    colon on two lines, are JSON all the same."""
    long_key = "k" * 1100
    text = json.dumps({long_key: 1})
    assert reference(text)[0] == "error"
    assert yaml_loader.load(text) == {long_key: 1}
    assert reference('{"a"\n: 1}')[0] == "error"
    assert yaml_loader.load('{"a"\n: 1}') == {"a": 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"m": 1e5, "n": 1E+5}', {"m": "1e5", "n": "1E+5"}),  # YAML 1.1: strings
        ('{"x": NaN}', {"x": "NaN"}),
        ("[1.5e+3, -0]", [1500.0, 0]),
        ('{"a": "\\ud83d\\ude00"}', None),  # libyaml refuses a surrogate escape: its error
    ],
)
def test_json_yields_to_yaml_where_they_differ(text: str, value: Any) -> None:
    want, got = reference(text), fast(text)
    assert want[0] == got[0] and (want[1] == got[1] if want[0] == "error" else True)
    if value is not None:
        assert same(got[1], value)
