"""Load YAML files into pydantic models, turning every failure into a `ConfigError`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from protocol import yaml_loader
from protocol.errors import ConfigError
from protocol.topics import ID_PATTERN

URL_PATTERN = r"^mqtts?://[^/\s:]+(:\d{1,5})?/?$"

M = TypeVar("M", bound=BaseModel)

_SECRET_KEYS = {"password", "secret", "token"}
_PATTERN_HELP = {
    ID_PATTERN: "must be 1-64 lower-case letters, digits or '-' (e.g. home-b1-101)",
    URL_PATTERN: "must look like mqtt://host:port or mqtts://host:port",
}


def _allowed(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """Describe the allowed keys at `loc`'s parent, for an 'extra field' error."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        annotation = fields[part].annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
        else:
            return ""
    fields = getattr(current, "model_fields", None)
    return f" (allowed keys: {', '.join(sorted(fields))})" if fields else ""


def describe_errors(model: type[BaseModel], exc: ValidationError) -> list[str]:
    """Turn a pydantic ValidationError into one readable line per problem."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden" and loc and loc[-1] in _SECRET_KEYS:
            msg = (
                "secrets are never inline: use password_file (a path) or password_env (a variable)"
            )
        elif err["type"] == "extra_forbidden":
            msg = f"unknown field; remove it or fix its spelling{_allowed(model, loc)}"
        elif err["type"] == "missing":
            desc = _field_description(model, loc)
            msg = f"required field is missing{f' ({desc})' if desc else ''}"
        elif err["type"] == "string_pattern_mismatch":
            pattern = str((err.get("ctx") or {}).get("pattern", ""))
            allowed = _PATTERN_HELP.get(pattern, f"must match {pattern}")
            msg = f"{allowed}; got {err['input']!r}"
        elif "input" in err and not isinstance(err["input"], dict | list):
            msg = f"{msg}; got {err['input']!r}"
        lines.append(f"{field}: {msg}")
    return lines


def _field_description(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        info = fields[part]
        current = info.annotation
        if part == loc[-1]:
            return info.description or ""
    return ""


def _read(path: str | Path) -> bytes:
    """A file's bytes, read by descriptor: 7 µs a device file here where `open().read()`
    takes 13-18 (no file object, no buffer), 100,000 times in a hub's first start."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts = []
        while chunk := os.read(fd, 65536):
            parts.append(chunk)
    finally:
        os.close(fd)
    return b"".join(parts)


def load_yaml(path: str | Path) -> Any:
    """Read one YAML document, raising ConfigError when it cannot be parsed."""
    return _parse(config_text(path), path)


def config_text(path: str | Path) -> str:
    """Return a config file's text, raising ConfigError when it cannot be read as UTF-8."""
    try:
        return _read(path).decode("utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read file: {exc.strerror}"]) from exc
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start}): save it as UTF-8"
        raise ConfigError(str(path), [problem]) from exc


def _parse(text: str, path: str | Path) -> Any:
    try:
        # libyaml's loader walked faster, or JSON where that reads the same: it decides how
        # long a hub with 100,000 device files takes to start (docs/bench.md).
        return yaml_loader.load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"not valid YAML: {exc}"]) from exc
    except (ValueError, LookupError, AttributeError) as exc:  # PyYAML's own, e.g. `!!int x`
        problem = f"not valid YAML: a value does not match its explicit tag ({exc!r})"
        raise ConfigError(str(path), [problem]) from exc


def load_model(model: type[M], path: str | Path, data: Any = None) -> M:
    """Validate a YAML file (or already-loaded `data`) against `model`.

    A file that is JSON and reads as YAML reads it (`yaml_loader.reads_as_json`) is validated
    by pydantic straight from its text: a device file ~10-15 µs less than parsed, then
    validated (docs/bench.md). If pydantic refuses it, it is read the general way, which
    names the problem as for any file.
    """
    if data is None:
        return model_from_text(model, config_text(path), path)
    return _validated(model, data, path)


def model_from_text(model: type[M], text: str, path: str | Path) -> M:
    """Validate the text of file `path` against `model` (`load_model` without the read)."""
    if yaml_loader.reads_as_json(text):
        try:
            return model.model_validate_json(text, context={"config_path": str(path)})
        except ValidationError:
            pass
    return _validated(model, _parse(text, path), path)


def _validated(model: type[M], data: Any, path: str | Path) -> M:
    if not isinstance(data, dict):
        raise ConfigError(str(path), ["top level must be a mapping of field: value"])
    try:
        return model.model_validate(data, context={"config_path": str(path)})
    except ValidationError as exc:
        raise ConfigError(str(path), describe_errors(model, exc)) from exc
