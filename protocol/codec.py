"""Encode and decode v1 payloads; every failure becomes one `ProtocolError` with a reason."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol.errors import ProtocolError
from protocol.messages import (
    COMMANDS,
    EVENT_KINDS,
    Command,
    Event,
    HubStatus,
    Status,
    Telemetry,
    WorkerAlert,
    WorkerReply,
)

MAX_PAYLOAD = 16 * 1024
"""Largest payload accepted, in bytes."""
MAX_DEPTH = 8
"""Deepest nesting of arrays and objects accepted (the deepest v1 payload needs 4)."""
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[{]}")

M = TypeVar("M", bound=BaseModel)
_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
_BY_CHANNEL: dict[str, type[BaseModel]] = {
    "event": Event,
    "telemetry": Telemetry,
    "status": Status,
    "alert": WorkerAlert,
    "reply": WorkerReply,
    "hub_status": HubStatus,
}


def _reject_constant(name: str) -> Any:
    raise ProtocolError("non_finite", f"{name} is not allowed; numbers must be finite")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Return True if JSON text nests arrays/objects deeper than `limit` (or is unbalanced).

    No recursion and no Python loop per byte: strings are cut out and brackets kept as `[`/`]`
    (C speed); a run of `limit + 1` openings is too deep at once; otherwise innermost pairs are
    removed `limit` times, and anything left was deeper.
    """
    brackets = _STRING.sub(b"", raw).translate(_SQUARE, _NOT_BRACKET)
    run = b"[" * (limit + 1)
    for _ in range(limit):
        if not brackets:
            return False
        if run in brackets:
            return True
        brackets = brackets.replace(b"[]", b"")
    return bool(brackets)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def load_json(payload: bytes | str) -> dict[str, Any]:
    """Parse a payload into a JSON object, enforcing size, depth, syntax and finiteness."""
    raw = payload.encode(errors="surrogatepass") if isinstance(payload, str) else payload
    if len(raw) > MAX_PAYLOAD:
        raise ProtocolError("too_large", f"payload is {len(raw)} bytes; the limit is {MAX_PAYLOAD}")
    # Python's json recurses once per level and raises RecursionError (not ValueError) on a
    # 10 kB `[[[[…`: measure the depth first, without recursion (docs/architecture.md, "Measured").
    opening = raw.count(b"[") + raw.count(b"{")  # C speed; the scan runs only when needed
    if opening > MAX_DEPTH and too_deep(raw):
        raise ProtocolError("too_deep", f"payload nests more than {MAX_DEPTH} levels")
    try:
        # What json.loads(raw, parse_constant=…) does, with one decoder for every payload
        # (json.loads builds a new one per call when given a keyword: ~5 µs a message).
        obj = _DECODER.decode(raw.decode(json.detect_encoding(raw), "surrogatepass"))
    except ProtocolError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("not_json", f"payload is not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise ProtocolError(
            "not_object", f"payload must be a JSON object, got {type(obj).__name__}"
        )
    return obj


def _check_version(obj: dict[str, Any]) -> None:
    version = obj.get("v")
    if version != 1 or isinstance(version, bool):
        raise ProtocolError("bad_version", f"unsupported schema version v={version!r}; expected 1")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(payload)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


def _validate(model: type[M], obj: dict[str, Any]) -> M:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise ProtocolError("invalid", _describe(exc)) from exc


def decode(channel: str, payload: bytes | str, *, device: str | None = None) -> BaseModel:
    """Decode the payload of one channel; if `device` is given it must match the payload's."""
    msg = _plain_status(payload) if channel == "status" else None
    if msg is None:
        return _decode(channel, payload, device)
    if device is not None and msg.device != device:
        raise ProtocolError("device_mismatch", f"payload device {msg.device!r} != topic {device!r}")
    return msg


def _plain_status(payload: bytes | str) -> Status | None:
    """A device's status read by pydantic straight from the bytes (~9 µs instead of ~20: every
    heartbeat of every device comes this way), or None: decode it the general way.

    Only a payload on which both ways agree is taken here: within the size limit, ASCII (no
    encoding to detect, no surrogate), no backslash (no escape), no `true`/`false` (a status
    has no boolean field; `"v": true` must be refused, and pydantic's `Literal[1]` takes it).
    Whatever pydantic refuses goes the general way too, which names the reason
    (`tests/protocol/test_codec_status.py` checks that both ways agree).
    """
    if (
        not isinstance(payload, bytes)
        or len(payload) > MAX_PAYLOAD
        or not payload.isascii()
        or b"\\" in payload
        or b"true" in payload
        or b"false" in payload
    ):
        return None
    try:
        status = Status.model_validate_json(payload)
    except ValidationError:
        return None
    return status if "v" in status.model_fields_set else None  # `v` has a default; required here


def _decode(channel: str, payload: bytes | str, device: str | None) -> BaseModel:
    obj = load_json(payload)
    _check_version(obj)
    if channel == "cmd":
        return decode_command(obj)
    model = _BY_CHANNEL.get(channel)
    if model is None:
        raise ProtocolError("bad_topic", f"no payload is defined for channel {channel!r}")
    if model is Event and obj.get("kind") not in EVENT_KINDS:
        raise ProtocolError(
            "unknown_kind", f"kind {obj.get('kind')!r} is not one of {', '.join(EVENT_KINDS)}"
        )
    msg = _validate(model, obj)
    if device is not None and getattr(msg, "device", device) != device:
        raise ProtocolError(
            "device_mismatch",
            f"payload device {getattr(msg, 'device', None)!r} != topic {device!r}",
        )
    return msg


def decode_event(payload: bytes | str, *, device: str | None = None) -> Event:
    """Decode an event payload."""
    msg = decode("event", payload, device=device)
    assert isinstance(msg, Event)
    return msg


def decode_command(payload: bytes | str | dict[str, Any]) -> Command:
    """Decode a `cmd` payload into one of the command models."""
    obj = payload if isinstance(payload, dict) else load_json(payload)
    _check_version(obj)
    if obj.get("cmd") not in COMMANDS:
        raise ProtocolError(
            "unknown_kind", f"cmd {obj.get('cmd')!r} is not one of {', '.join(COMMANDS)}"
        )
    try:
        return _COMMAND.validate_python(obj)
    except ValidationError as exc:
        raise ProtocolError("invalid", _describe(exc)) from exc


def encode(msg: BaseModel) -> bytes:
    """Serialise a payload model to compact JSON bytes (aliases used, None fields kept)."""
    return msg.model_dump_json(by_alias=True).encode()


def new_event_id() -> str:
    """Return a new UUIDv7 (time-ordered) as a string."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
