"""Load one YAML document as `yaml.load(text, Loader=yaml.CSafeLoader)` does, faster.

A hub importing 100,000 device files spends most of its start-up here (docs/bench.md). libyaml
composes the node graph in C, but PyYAML then resolves every plain scalar's tag with regular
expressions and builds the Python objects with a generator-based constructor, both in Python.
This loader keeps libyaml's composer and PyYAML's own resolver and scalar constructors, and
changes only how often they run and how the tree is walked:

- tag resolution is memoised (the same `17`, `true` or `grid-1` recurs in every file);
- null, bool, int, float and str scalars are built by a memoised call of PyYAML's own
  constructor function for that tag, maps and sequences by one recursive walk.

A document that is JSON (its first character, after blank lines and spaces, `{` or `[`), as
machine-written registries are, is read by the `json` module instead, about 6x faster than
the libyaml path below (docs/bench.md), when that gives what YAML gives: a number that
YAML 1.1 reads as a string (`1e5`, `1E+5`), `NaN` or `Infinity`, a character YAML does not
allow in a stream, a line break YAML has beyond JSON's (NEL, LS, PS: PyYAML folds NEL in a
quoted string to a space) or a surrogate escape (`\\ud83d`) sends it down the YAML path.
Every JSON text that PyYAML reads is read to the same value; one that libyaml refuses (a key
over 1,024 characters, say) but JSON allows is read as JSON would.

Any other document that walk does not cover exactly -- another tag (timestamps, `!!binary`,
`!!set`, local tags), a merge key `<<`, a map or sequence reached twice through an alias, an
unhashable key -- is built again by PyYAML's `SafeConstructor` from the same nodes, so its
result or its error is PyYAML's. Without libyaml, PyYAML's pure-Python `SafeLoader` is used
the same way.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import Resolver

_BASE: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SIMPLE = (
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
)
_FLOAT = "tag:yaml.org,2002:float"
_CONSTRUCTOR = SafeConstructor()
_BUILDERS = {tag: SafeConstructor.yaml_constructors[tag] for tag in _SIMPLE}
# SafeLoader has no path resolvers, so a scalar's tag depends on its text and style alone.
_resolve = functools.lru_cache(maxsize=16_384)(Resolver().resolve)


class _Unsupported(Exception):  # noqa: N818 - a signal to fall back, not an error
    """The fast walk does not cover this document; PyYAML's constructor builds it."""


@functools.lru_cache(maxsize=16_384)
def _scalar(tag: str, value: str) -> Any:
    build = _BUILDERS.get(tag)
    if build is None:
        raise _Unsupported
    return build(_CONSTRUCTOR, ScalarNode(tag, value))


class _Loader(_BASE):  # type: ignore[valid-type,misc]  # CSafeLoader or SafeLoader
    """PyYAML's safe loader with the scalar tag resolution memoised."""

    def __init__(self, stream: str | bytes) -> None:
        super().__init__(stream)
        self.resolve = _resolve


def _build(node: Node, seen: set[int]) -> Any:
    if node.__class__ is ScalarNode:
        if node.tag == _STR:
            return node.value
        return _scalar(node.tag, node.value)
    if id(node) in seen:  # an alias of a map or sequence: PyYAML shares the object
        raise _Unsupported
    seen.add(id(node))
    if node.__class__ is MappingNode:
        if node.tag != _MAP:
            raise _Unsupported
        built: dict[Any, Any] = {}
        for key, value in node.value:
            if key.tag == "tag:yaml.org,2002:merge":
                raise _Unsupported
            try:
                built[_build(key, seen)] = _build(value, seen)
            except TypeError as exc:  # an unhashable key: PyYAML's error names it
                raise _Unsupported from exc
        return built
    if node.tag != _SEQ:
        raise _Unsupported
    return [_build(item, seen) for item in node.value]


_JSON_START = re.compile(r"[ \r\n]*[\[{]")
# What YAML 1.1 does not allow in a stream (its `c-printable`); its line breaks beyond JSON's
# (NEL, which PyYAML folds to a space inside a quoted string where JSON keeps it; LS and PS),
# left to the YAML path; and JSON's surrogate escapes, which JSON pairs into one character and
# libyaml refuses.
_NOT_YAML = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
    r"|\\u[dD][89a-fA-F]"
)


_NOT_JSON_AS_YAML = re.compile(r"[0-9][eE]|NaN|Infinity")
"""What may make a JSON text read otherwise than YAML reads it, before parsing: an exponent
(`1e5`: YAML 1.1 reads a string), NaN or Infinity (strings in YAML). Found anywhere, even in
a string, where it is harmless: such a text is just read the general way."""


_SUSPECT = b"\\\x7f\xc2\xe2\xed\xef" + bytes(c for c in range(32) if c not in b"\t\n\r")
"""The bytes of a UTF-8 text that begin whatever `_NOT_YAML` finds: the characters below
U+0080 it refuses, the backslash of its escapes, and the first bytes of U+0080-U+00BF,
U+2000-U+2FFF, U+D000-U+DFFF (surrogates) and U+F000-U+FFFF (so a few characters it allows
too, e.g. a full-width comma: such a text is searched by `_NOT_YAML` itself)."""
_SCREEN = bytes.maketrans(b"0123456789E" + _SUSPECT, b"0000000000e" + bytes(len(_SUSPECT)))
"""Digits to `0`, `E` to `e`, `_SUSPECT` to NUL, else unchanged: one pass of C finds in
the bytes what `_NOT_YAML` and `_NOT_JSON_AS_YAML` search for (~3 µs a device file where
the two expressions took ~20; docs/hub.md)."""


def reads_as_json(text: str) -> bool:
    """Whether `text` is read by YAML as by a strict JSON parser, if it is JSON at all: a
    JSON text (object or array first) with no character YAML refuses or reads otherwise
    (`_NOT_YAML`, `_NOT_JSON_AS_YAML`). A parser that refuses it says nothing either way."""
    if _JSON_START.match(text) is None:
        return False
    # What the two expressions match is ASCII, or starts with a `_SUSPECT` byte: in the text
    # as UTF-8, screened, `[0-9][eE]` is `0e` and anything `_NOT_YAML` finds starts at NUL.
    screened = text.encode("utf-8", "surrogatepass").translate(_SCREEN)
    if b"0e" in screened or b"NaN" in screened or b"Infinity" in screened:
        return False
    return b"\0" not in screened or _NOT_YAML.search(text) is None


def _json_float(text: str) -> float:
    if _resolve(ScalarNode, text, (True, False)) != _FLOAT:
        raise _Unsupported  # YAML 1.1 reads `1e5` as a string
    return float(text)


def _no_constant(text: str) -> Any:
    raise _Unsupported  # NaN, Infinity, -Infinity: strings in YAML


_DECODER = json.JSONDecoder(parse_float=_json_float, parse_constant=_no_constant)


def _json(text: str) -> Any:
    """Return the JSON document `text` as YAML reads it; raise `_Unsupported` if it is not
    JSON or the two could differ."""
    if _NOT_YAML.search(text):
        raise _Unsupported
    try:
        return _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # not JSON: a YAML error or another YAML
        raise _Unsupported from exc


def load(text: str | bytes) -> Any:
    """Parse one YAML document (safe subset); raise `yaml.YAMLError` like `yaml.load` does."""
    if isinstance(text, str) and _JSON_START.match(text):
        try:
            return _json(text)
        except _Unsupported:
            pass
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        try:
            return _build(node, set())
        except _Unsupported:
            return loader.construct_document(node)
    finally:
        loader.dispose()
