"""A config model's shape: a validator that accepts exactly what the model accepts, without
building the model.

A hub's first start validates 100,000 device files, and pydantic spent most of a file's
validation building a dozen model instances (three of them by default factories, in Python)
that the import then only reads nine values of. `shape_validator(model)` is pydantic-core's
validator of the same schema with every model turned into a typed dict: the same fields, the
same value checks, the same unknown-key rule and config, but plain dicts out, and a field left
out stays out instead of being filled with its default (~6 µs a device file where the model
took ~19, docs/hub.md).

What it cannot mirror it refuses, so that a caller goes to the model: a model validator it was
not told the caller checks itself (`checked`), field or `before`/`wrap` validators, computed
fields, aliases, custom `__init__`s. Such a part anywhere in a field's schema makes the field
refuse any value (absent, the model gives it its default, which needs no validation). A
validator that refuses a file says nothing more: the model then names the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import SchemaValidator

_PASSED_THROUGH = (
    "any", "none", "bool", "int", "float", "decimal", "str", "bytes", "date", "time",
    "datetime", "timedelta", "literal", "enum", "is-instance", "is-subclass", "url",
    "multi-host-url", "uuid", "definition-ref", "nullable", "list", "set", "frozenset", "dict",
    "union",
)  # fmt: skip
"""Schema types whose checks do not depend on the model: kept, with their inner schemas
converted."""


class _Refused(Exception):  # noqa: N818 - a signal to refuse, not an error
    """A part of the schema the typed-dict validator cannot mirror."""


def _never(value: object) -> None:
    raise ValueError("left to the model")


_NEVER: dict[str, Any] = {
    "type": "function-plain",
    "function": {"type": "no-info", "function": _never},
}
"""A field's schema that refuses every value: its model's schema could not be mirrored."""


def shape_validator(model: type[BaseModel], checked: frozenset[str]) -> SchemaValidator | None:
    """Return a validator of `model`'s shape (see the module docstring), or None if its top
    level cannot be mirrored. `checked`: the names of the model validators (mode "after") the
    caller checks itself on the dict; any other makes its model refuse."""
    try:
        return SchemaValidator(_converted(model.__pydantic_core_schema__, checked))
    except _Refused:
        return None


def _converted(schema: Mapping[str, Any], checked: frozenset[str]) -> dict[str, Any]:
    kind = schema["type"]
    if kind == "definitions":
        definitions = []
        for item in schema["definitions"]:
            try:
                definitions.append(_converted(item, checked))
            except _Refused:
                definitions.append({**_NEVER, "ref": item["ref"]})
        return {
            "type": "definitions",
            "schema": _converted(schema["schema"], checked),
            "definitions": definitions,
        }
    if kind == "function-after" and schema["schema"]["type"] == "model":
        if getattr(schema["function"].get("function"), "__name__", None) not in checked:
            raise _Refused(kind)
        inner = _converted(schema["schema"], checked)
        return {**inner, "ref": schema["ref"]} if "ref" in schema else inner
    if kind == "model":
        return _typed_dict(schema, checked)
    if kind not in _PASSED_THROUGH:
        raise _Refused(kind)
    converted = dict(schema)
    for key in ("schema", "items_schema", "keys_schema", "values_schema"):
        if key in schema:
            converted[key] = _converted(schema[key], checked)
    if kind == "union":
        converted["choices"] = [
            _converted(c, checked) if isinstance(c, dict) else (_converted(c[0], checked), c[1])
            for c in schema["choices"]
        ]
    return converted


def _typed_dict(schema: Mapping[str, Any], checked: frozenset[str]) -> dict[str, Any]:
    fields_schema = schema["schema"]
    if (
        schema.get("custom_init")
        or schema.get("root_model")
        or schema.get("post_init")
        or fields_schema["type"] != "model-fields"
        or fields_schema.get("computed_fields")
        or fields_schema.get("extras_schema")
        or fields_schema.get("strict")
    ):
        raise _Refused(schema.get("cls"))
    config = schema.get("config", {})
    fields = {}
    for name, field in fields_schema["fields"].items():
        if field.get("validation_alias") is not None or field.get("frozen"):
            raise _Refused(name)
        inner, required = field["schema"], True
        if inner["type"] == "default":
            if inner.get("validate_default"):
                raise _Refused(name)
            inner, required = inner["schema"], False
        try:
            converted = _converted(inner, checked)
        except _Refused:
            converted = _NEVER
        fields[name] = {"type": "typed-dict-field", "schema": converted, "required": required}
    typed: dict[str, Any] = {
        "type": "typed-dict",
        "fields": fields,
        "config": config,
        "extra_behavior": config.get("extra_fields_behavior", "ignore"),
    }
    if "ref" in schema:
        typed["ref"] = schema["ref"]
    return typed
