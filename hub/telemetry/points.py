"""Telemetry messages → `telemetry` points (line protocol), about a microsecond each.

The fast path decodes with msgspec into a struct that is *stricter* than `protocol.messages.
Telemetry` (device equal to the topic's registered device, reading names matching the protocol's
pattern in full, an RFC 3339 timestamp with a timezone between `TS_MIN` and `TS_MAX`, no bools
for numbers, finite numbers only, no unknown fields, at most 16 KiB); anything it refuses goes
through `protocol.codec.decode`, which either accepts it after all or names the reason it is
rejected. So the lane accepts exactly what the protocol accepts (tests/hub/
test_telemetry_points.py checks the two against each other, hostile payloads included).

What makes the common message cheap (docs/bench.md, "Telemetry lane"):

- the struct holds `ts` as a string and `gc=False`: no datetime is built and nothing the
  decoder makes is tracked by the garbage collector;
- a timestamp of the common shapes (`…:SS.mmmZ`, `…:SSZ`) is read as the epoch milliseconds of
  its second (`YYYY-MM-DDTHH:MM:SS`, checked and computed once per second) plus its three
  digits; any other shape is parsed by a strict RFC 3339 pattern and `datetime.fromisoformat`,
  and its range checked;
- the field part is the readings re-encoded by msgspec (`{"a":1.5}` → `a=1.5` by one
  `bytes.translate`): shortest round-trip floats like `repr`, though spelled the JSON way
  (`1e16`, not `1e+16`; InfluxDB reads both), NaN and ±inf come out as `null` and send the
  message to the slow path; reading names are checked once each;
- `Points.lines` turns a whole batch into lines in one call, and sorts out `$SYS` messages.

A topic is resolved once: the series key of each (site, device) is cached by its topic bytes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Annotated, Literal, NamedTuple

import msgspec

from hub.influx.lines import LineError, series_key, telemetry_line, timestamp_ms
from protocol.codec import MAX_PAYLOAD, decode
from protocol.errors import ProtocolError
from protocol.messages import TS_MAX, TS_MIN, Telemetry
from protocol.topics import parse_topic

_NAME = re.compile(r"[a-z0-9_.-]{1,64}", re.ASCII)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_MILLIS = {f"{i:03d}": i for i in range(1000)}
"""Three ASCII digits → their value: checks and converts a millisecond part in one look-up."""
MAX_NAMES = 10_000
"""Reading names remembered as checked (more: checked in every message)."""
MAX_SECONDS = 4096
"""Seconds (`YYYY-MM-DDTHH:MM:SS`) with a cached epoch (the cache is emptied when full)."""


class _Fast(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """Telemetry without the string patterns: the device must equal the topic's (registered)
    device, reading names are checked once per set of names, `ts` by `Points._ms`."""

    v: Literal[1]
    device: str
    ts: str
    readings: Annotated[dict[str, float], msgspec.Meta(min_length=1, max_length=64)]


_DECODER = msgspec.json.Decoder(_Fast)
_ENCODE = msgspec.json.Encoder().encode
_TO_FIELDS = bytes.maketrans(b":", b"=")
_DROP = b'{}"'
"""`{"a":1.5,"b":2.0}` → `a=1.5,b=2.0`: names match `_NAME` and values are JSON numbers, so
nothing else in the text is a brace, a quote or a colon, and no name needs escaping."""


class _Series(NamedTuple):
    site: str
    device: str
    grid: str
    key: str


GridOf = Callable[[str, str], str | None]
"""(site, device) → the device's grid ('' if none), or None when the device is not registered."""

Publish = tuple[bytes, bytes]


class Rejected(Exception):  # noqa: N818 - a verdict carried to the counter, not a failure
    """A telemetry message the protocol or the registry refuses; `reason` is the metric label."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Batch(NamedTuple):
    """What `Points.lines` made of a batch of messages."""

    lines: list[str]
    rejected: Counter[str]
    sys: list[Publish]
    """Messages on `$`-topics (the broker's counters), untouched."""


class Points:
    """Turn (topic, payload) into one line; raise `Rejected` with the reason otherwise."""

    def __init__(self, grid_of: GridOf, *, max_topics: int = 200_000) -> None:
        self.grid_of = grid_of
        self.max_topics = max_topics
        self._series: dict[bytes, _Series] = {}
        self._names: set[str] = set()
        self._seconds: dict[str, int] = {}

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
        return self._fast(series, payload) or _slow(series, payload)

    def lines(self, messages: Iterable[Publish]) -> Batch:
        """Return the points of a batch, the rejections by reason, and the `$SYS` messages."""
        out: list[str] = []
        rejected: Counter[str] = Counter()
        sys: list[Publish] = []
        series_of, fast, append = self._series.get, self._fast, out.append
        for topic, payload in messages:
            series = series_of(topic)
            try:
                if series is None:
                    if topic[:1] == b"$":
                        sys.append((topic, payload))
                        continue
                    series = self._resolve(topic)
                append(fast(series, payload) or _slow(series, payload))
            except Rejected as exc:
                rejected[exc.reason] += 1
            except Exception:  # noqa: BLE001 - one reading must never end the lane
                rejected["handler_error"] += 1
        return Batch(out, rejected, sys)

    def _fast(self, series: _Series, payload: bytes) -> str | None:
        """Return the point if the fast path can vouch for the message, else None."""
        if len(payload) > MAX_PAYLOAD:
            return None
        try:
            fast = _DECODER.decode(payload)
        except msgspec.DecodeError:
            return None
        readings = fast.readings
        if fast.device != series.device or not (
            self._names.issuperset(readings) or self._learn(readings)
        ):
            return None
        text = _ENCODE(readings)  # {"name":value,…}, shortest round-trip floats, C speed
        if b":null" in text:  # NaN or ±inf (msgspec writes them as null; names hold no ':')
            return None
        ts = fast.ts
        base = self._seconds.get(ts[:19])  # "YYYY-MM-DDTHH:MM:SS", checked when cached
        ms: int | None
        if base is not None and ts[19:] == "Z":
            ms = base
        elif base is not None and len(ts) == 24 and ts[19] == "." and ts[23] == "Z":
            frac = _MILLIS.get(ts[20:23])
            ms = self._ms(ts) if frac is None else base + frac
        else:
            ms = self._ms(ts)
        if ms is None:
            return None
        return f"{series.key} {text.translate(_TO_FIELDS, _DROP).decode()} {ms}"

    def _learn(self, readings: dict[str, float]) -> bool:
        """Return whether every reading name can be a field key as it is (remember those)."""
        for name in readings:
            if not _NAME.fullmatch(name) or name == "time":
                return False
            if len(self._names) < MAX_NAMES:
                self._names.add(name)
        return True

    def _ms(self, ts: str) -> int | None:
        """Return epoch ms of a timestamp the protocol accepts for sure, or None."""
        if _RFC3339.fullmatch(ts) is None:
            return None
        try:
            when = datetime.fromisoformat(ts)
        except ValueError:
            return None
        if not TS_MIN <= when < TS_MAX:
            return None
        ms = timestamp_ms(when)
        if when.utcoffset() == timedelta(0):  # "…Z" shapes of this second can use the cache
            if len(self._seconds) >= MAX_SECONDS:
                self._seconds.clear()
            self._seconds[ts[:19]] = ms - when.microsecond // 1000
        return ms


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
