"""Line-protocol builders for the schema in ARCHITECTURE.md (ms precision).

Escaping follows InfluxDB 1.x/2.x line protocol:

- tag values and field keys: `,`, `=` and space are backslash-escaped;
- string field values: double-quoted, `"` and `\\` backslash-escaped;
- an empty tag value is omitted (InfluxDB treats a missing tag and an empty one alike);
- rejected with `LineError`: newlines anywhere, backslashes in tag values and field keys (1.x
  does not unescape `\\\\` there, so they would not round-trip), the field key `time`,
  non-finite floats, naive datetimes and telemetry without readings.

Telemetry readings are always written as floats: an integer in one batch and a float in the
next would be a field type conflict, and InfluxDB would drop the second point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

MEASUREMENTS = ("telemetry", "event", "alarm", "device_status")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})


class LineError(ValueError):
    """A value cannot be written as line protocol."""


def _check(text: str, what: str) -> None:
    if "\n" in text or "\r" in text:
        raise LineError(f"{what} {text!r} contains a newline")


def escape_key(text: str, what: str = "tag value") -> str:
    """Return a tag key, tag value or field key escaped for line protocol."""
    _check(text, what)
    if "\\" in text:
        raise LineError(f"{what} {text!r} contains a backslash")
    return text.translate(_KEY_ESCAPES)


def escape_string_field(text: str) -> str:
    """Return a string field value, quoted and escaped for line protocol."""
    _check(text, "string field")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def timestamp_ms(ts: datetime) -> int:
    """Return milliseconds since the epoch of a timezone-aware datetime."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise LineError(f"naive datetime {ts.isoformat()}: pass a timezone-aware UTC time")
    return (ts - _EPOCH) // _MS


def float_field(value: float) -> str:
    """Return a float field value (always with a decimal point or exponent)."""
    number = float(value)
    if not math.isfinite(number):
        raise LineError(f"{value!r} is not a finite number")
    return repr(number)


def build_line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, str], ts: datetime
) -> str:
    """Return one point from escaped-on-the-way tags and already-formatted field values."""
    if not fields:
        raise LineError(f"a {measurement} point needs at least one field")
    tag_part = "".join(
        f",{escape_key(k, 'tag key')}={escape_key(v)}" for k, v in sorted(tags.items()) if v
    )
    field_part = ",".join(f"{escape_key(k, 'field key')}={v}" for k, v in fields.items())
    return f"{escape_key(measurement, 'measurement')}{tag_part} {field_part} {timestamp_ms(ts)}"


def telemetry_line(
    site: str, grid: str, device: str, ts: datetime, readings: dict[str, float]
) -> str:
    """Return a `telemetry` point."""
    for name in readings:
        if name == "time" or not name:
            raise LineError(f"reading name {name!r} cannot be a field key")
    fields = {name: float_field(value) for name, value in readings.items()}
    return build_line("telemetry", {"site": site, "grid": grid, "device": device}, fields, ts)


def event_line(
    site: str, grid: str, device: str, kind: str, event_id: str, seq: int, ts: datetime
) -> str:
    """Return an `event` point."""
    tags = {"site": site, "grid": grid, "device": device, "kind": kind}
    fields = {"id": escape_string_field(event_id), "seq": f"{int(seq)}i"}
    return build_line("event", tags, fields, ts)


def alarm_line(
    site: str,
    grid: str,
    cls: str,
    state: str,
    alarm_id: str,
    seconds_since_raised: float,
    ts: datetime,
) -> str:
    """Return an `alarm` transition point."""
    tags = {"site": site, "grid": grid, "class": cls, "state": state}
    fields = {
        "alarm_id": escape_string_field(alarm_id),
        "seconds_since_raised": float_field(seconds_since_raised),
    }
    return build_line("alarm", tags, fields, ts)


def status_line(site: str, grid: str, device: str, online: bool, ts: datetime) -> str:
    """Return a `device_status` point."""
    tags = {"site": site, "grid": grid, "device": device}
    return build_line("device_status", tags, {"online": "1i" if online else "0i"}, ts)
