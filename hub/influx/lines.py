"""Line-protocol builders for the schema in docs/influx.md (ms precision).

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
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache

MEASUREMENTS = ("telemetry", "event", "alarm", "device_status", "command")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_KEY_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})
_KEY_SPECIAL = re.compile(r"[,= \\\n\r]")
"""What `escape_key` must escape or refuse; text without any of it is written as it is."""


class LineError(ValueError):
    """A value cannot be written as line protocol."""


def _check(text: str, what: str) -> None:
    if "\n" in text or "\r" in text:
        raise LineError(f"{what} {text!r} contains a newline")


def escape_key(text: str, what: str = "tag value") -> str:
    """Return a tag key, tag value or field key escaped for line protocol.

    Plain text (the ids of a registry, nearly always) is returned after one regex scan: no
    cache, which 100,000 device ids would only churn."""
    if _KEY_SPECIAL.search(text) is None:
        return text
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


@lru_cache(maxsize=16_384)  # one entry per series: the tag part is built once
def series_key(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    """Return `measurement,k=v,…` escaped, tags sorted by key, empty values left out."""
    parts = [escape_key(measurement, "measurement")]
    parts += [f"{escape_key(k, 'tag key')}={escape_key(v)}" for k, v in sorted(tags) if v]
    return ",".join(parts)


@lru_cache(maxsize=4096)
def field_key(name: str) -> str:
    """Return a field key escaped for line protocol; reject names InfluxDB refuses."""
    if name == "time" or not name:
        raise LineError(f"{name!r} cannot be a field key")
    return escape_key(name, "field key")


def build_line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, str], ts: datetime
) -> str:
    """Return one point from tags and already-formatted field values."""
    if not fields:
        raise LineError(f"a {measurement} point needs at least one field")
    field_part = ",".join(f"{field_key(k)}={v}" for k, v in fields.items())
    return f"{series_key(measurement, tuple(tags.items()))} {field_part} {timestamp_ms(ts)}"


def telemetry_line(
    site: str, grid: str, device: str, ts: datetime, readings: dict[str, float]
) -> str:
    """Return a `telemetry` point."""
    if not readings:
        raise LineError("a telemetry point needs at least one reading")
    fields = ",".join(f"{field_key(k)}={float_field(v)}" for k, v in readings.items())
    key = series_key("telemetry", (("device", device), ("grid", grid), ("site", site)))
    return f"{key} {fields} {timestamp_ms(ts)}"


ACTIVITY_WHAT = frozenset({"motion", "presence", "door", "bed", "checkin"})
"""`data.what` of an `activity` event written as the `what` tag (a bounded set: tag values
from devices must not grow the series count); Grafana tells check-ins from motion by it."""


def event_line(
    site: str,
    grid: str,
    device: str,
    kind: str,
    event_id: str,
    seq: int,
    ts: datetime,
    what: object = None,
) -> str:
    """Return an `event` point (`what`: an activity's kind, kept when in ACTIVITY_WHAT)."""
    tags = {"site": site, "grid": grid, "device": device, "kind": kind}
    if kind == "activity" and what in ACTIVITY_WHAT:
        tags["what"] = str(what)
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


def device_quality_line(
    site: str, grid: str, device: str, false_alarms_30d: int, suspect: bool, ts: datetime
) -> str:
    """Return a `device_quality` point: false alarms in 30 days and the suspect flag (0/1)."""
    tags = {"site": site, "grid": grid, "device": device}
    fields = {"false_alarms_30d": f"{int(false_alarms_30d)}i", "suspect": "1i" if suspect else "0i"}
    return build_line("device_quality", tags, fields, ts)


def status_line(site: str, grid: str, device: str, online: bool, ts: datetime, fw: str = "") -> str:
    """Return a `device_status` point (with the firmware version when the device sent one).

    Written out rather than through `build_line`: every heartbeat of every device makes one
    (100,000 devices: 3,333 a second), and `series_key`'s cache cannot hold that many series."""
    key = "device_status"  # tags sorted by key, empty ones left out (as `series_key`)
    if device:
        key += f",device={escape_key(device)}"
    if grid:
        key += f",grid={escape_key(grid)}"
    if site:
        key += f",site={escape_key(site)}"
    fields = "online=1i" if online else "online=0i"
    if fw:
        fields += f",fw={escape_string_field(fw)}"
    return f"{key} {fields} {timestamp_ms(ts)}"


def command_line(
    site: str, device: str, cmd: str, ok: bool, ts: datetime, on: bool | None = None
) -> str:
    """Return a `command` point: one command the hub published (`on` for sirens)."""
    fields = {"ok": "1i" if ok else "0i"}
    if on is not None:
        fields["on"] = "1i" if on else "0i"
    return build_line("command", {"site": site, "device": device, "cmd": cmd}, fields, ts)
