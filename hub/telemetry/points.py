"""Telemetry messages → `telemetry` points (line protocol), at a few microseconds each.

The fast path decodes with msgspec into a struct that is *stricter* than `protocol.messages.
Telemetry` (device equal to the topic's registered device, reading names matching the protocol's
pattern in full, timezone required, no bools for numbers, finite numbers only, no unknown
fields, at most 16 KiB); anything it refuses goes through
`protocol.codec.decode`, which either accepts it after all or names the reason it is rejected.
So the lane accepts exactly what the protocol accepts (tests/hub/test_telemetry_points.py
checks the two against each other). Decoding with pydantic costs ~7 µs a message here,
msgspec ~1 µs (docs/bench.md).

A topic is resolved once: the series key of each (site, device) is cached by its topic bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal, NamedTuple

import msgspec

from hub.influx.lines import LineError, field_key, series_key, telemetry_line, timestamp_ms
from protocol.codec import MAX_PAYLOAD, decode
from protocol.errors import ProtocolError
from protocol.messages import Telemetry
from protocol.topics import parse_topic

_NAME = re.compile(r"[a-z0-9_.-]{1,64}")


class _Fast(msgspec.Struct, forbid_unknown_fields=True):
    """Telemetry without the string patterns: the device must equal the topic's (registered)
    device and reading names are checked once each (`Points._key`), which is cheaper here."""

    v: Literal[1]
    device: str
    ts: Annotated[datetime, msgspec.Meta(tz=True)]
    readings: Annotated[dict[str, float], msgspec.Meta(min_length=1, max_length=64)]


_DECODER = msgspec.json.Decoder(_Fast)


class _Series(NamedTuple):
    site: str
    device: str
    grid: str
    key: str


GridOf = Callable[[str, str], str | None]
"""(site, device) → the device's grid ('' if none), or None when the device is not registered."""


class Rejected(Exception):  # noqa: N818 - a verdict carried to the counter, not a failure
    """A telemetry message the protocol or the registry refuses; `reason` is the metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Points:
    """Turn (topic, payload) into one line; raise `Rejected` with the reason otherwise."""

    def __init__(self, grid_of: GridOf, *, max_topics: int = 200_000) -> None:
        self.grid_of = grid_of
        self.max_topics = max_topics
        self._series: dict[bytes, _Series] = {}
        self._keys: dict[str, str] = {}

    def _resolve(self, topic: bytes) -> _Series:
        """Return the series of a telemetry topic of a registered device."""
        try:
            parsed = parse_topic(topic.decode())
        except UnicodeDecodeError as exc:
            raise Rejected("bad_topic") from exc
        except ProtocolError as exc:
            raise Rejected(exc.reason) from exc
        if parsed.role != "dev" or parsed.channel != "telemetry":
            raise Rejected("bad_topic")
        grid = self.grid_of(parsed.site, parsed.ident)
        if grid is None:
            raise Rejected("unknown_device")
        key = series_key(
            "telemetry", (("device", parsed.ident), ("grid", grid), ("site", parsed.site))
        )
        series = _Series(parsed.site, parsed.ident, grid, key)
        if len(self._series) < self.max_topics:
            self._series[topic] = series
        return series

    def line(self, topic: bytes, payload: bytes) -> str:
        """Return the `telemetry` point of one message."""
        series = self._series.get(topic) or self._resolve(topic)
        if len(payload) <= MAX_PAYLOAD:
            try:
                fast = _DECODER.decode(payload)
            except msgspec.DecodeError:
                pass
            else:
                fields = self._fields(fast.readings) if fast.device == series.device else None
                if fields is not None:
                    return f"{series.key} {fields} {timestamp_ms(fast.ts)}"
        return _slow(series, payload)

    def _fields(self, readings: dict[str, float]) -> str | None:
        """Return the field part, or None when the slow path must decide (a bad name, NaN)."""
        keys, parts = self._keys, []
        for name, value in readings.items():
            key = keys.get(name)
            if key is None:
                if not _NAME.fullmatch(name) or name == "time" or len(keys) >= 10_000:
                    return None
                key = keys[name] = field_key(name)
            if not math.isfinite(value):
                return None
            parts.append(f"{key}={value!r}")
        return ",".join(parts)


def _slow(series: _Series, payload: bytes) -> str:
    """Let the protocol decide (and name the reason); build the line from its model."""
    try:
        msg = decode("telemetry", payload, device=series.device)
    except ProtocolError as exc:
        raise Rejected(exc.reason) from exc
    assert isinstance(msg, Telemetry)
    try:
        return telemetry_line(series.site, series.grid, series.device, msg.ts, dict(msg.readings))
    except LineError as exc:
        raise Rejected("bad_line") from exc
