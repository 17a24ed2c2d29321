"""The lane's fast telemetry decoder accepts exactly what `protocol.codec.decode` accepts, and
builds the same point as `hub.influx.telemetry_line` (floats may be spelled differently, `1e16`
for `1e+16`, but are the same numbers); rejections carry the protocol's reason. Hostile bytes
included: wrong types, NaN/inf, huge numbers, non-UTF-8, deep nesting, odd timestamps."""

from __future__ import annotations

import json
import math

import pytest

from hub.influx import telemetry_line
from hub.telemetry.points import Points, Rejected
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import Telemetry

TOPIC = b"watchpost/v1/s1/dev/d-1/telemetry"
GOOD = {"v": 1, "device": "d-1", "ts": "2026-12-01T05:00:00.123+08:00", "readings": {"t": 21}}


def grid_of(site: str, device: str) -> str | None:
    """Know one device, in grid g 1 (a space, to exercise escaping)."""
    return "g 1" if (site, device) == ("s1", "d-1") else None


def variant(**changes: object) -> bytes:
    """Return GOOD with some fields changed (None deletes one)."""
    doc = {**GOOD, **changes}
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def raw(ts: str = "2026-12-01T05:00:00.123Z", readings: str = '{"t":21}', **extra: str) -> bytes:
    """Return a payload written by hand (for what json.dumps cannot write)."""
    more = "".join(f',"{k}":{v}' for k, v in extra.items())
    text = f'{{"v":1,"device":"d-1","ts":"{ts}","readings":{readings}{more}}}'
    return text.encode()


PAYLOADS = [
    variant(),
    variant(readings={"smoke_level": 0.05, "uptime_s": 12, "batt.v": -3.5e-3}),
    variant(ts="2026-12-01T05:00:00Z"),
    variant(ts="2026-12-01T05:00:00"),  # naive
    variant(ts="yesterday"),
    variant(v=2),
    variant(v=True),
    variant(v=None),
    variant(device="d-2"),
    variant(device="D-1"),
    variant(device="d-1\n"),
    variant(readings={}),
    variant(readings={"T": 1}),
    variant(readings={"t\n": 1}),
    variant(readings={"time": 1}),
    variant(readings={"t": True}),
    variant(readings={"t": "1"}),
    variant(readings={"t": 1e400}),
    variant(readings={f"r{i}": i for i in range(65)}),
    variant(extra=1),
    b'{"v":1,"device":"d-1","ts":"2026-12-01T05:00:00Z","readings":{"t":NaN}}',
    b"[1]",
    b"\xff",
    b"{" * 5000,
    variant(readings={"t": 1, "pad": 0}) + b" " * 17_000,
    # timestamps: shapes, offsets, the protocol's range (2000 ≤ ts < 2100), impossible dates
    variant(ts="2026-12-01T05:00:00.123Z"),
    variant(ts="2026-12-01T05:00:00.123456Z"),
    variant(ts="2026-12-01T05:00:00.1Z"),
    variant(ts="2026-12-01T05:00:00.123456789Z"),
    variant(ts="2026-12-01T05:00:00.1a3Z"),
    variant(ts="2026-12-01T05:00:00.-12Z"),
    variant(ts="2026-12-01T05:00:00.１２３Z"),
    variant(ts="2026-12-01T05:00:00+00:00"),
    variant(ts="2026-12-01T05:00:00-00:00"),
    variant(ts="2026-12-01T05:00:00.5-03:30"),
    variant(ts="2026-12-01T05:00:00+23:59"),
    variant(ts="2026-12-01T05:00:00+24:00"),
    variant(ts="2026-12-01t05:00:00z"),
    variant(ts="2026-12-01 05:00:00Z"),
    variant(ts="2026-12-01T05:00:60Z"),
    variant(ts="2026-12-01T05:00:59.999Z"),
    variant(ts="2026-02-30T05:00:00Z"),
    variant(ts="2026-13-01T05:00:00Z"),
    variant(ts="２０２６-12-01T05:00:00Z"),
    variant(ts="1999-12-31T23:59:59.999Z"),
    variant(ts="2000-01-01T00:00:00.000Z"),
    variant(ts="2000-01-01T08:00:00+08:00"),
    variant(ts="2000-01-01T07:59:59+08:00"),
    variant(ts="2099-12-31T23:59:59.999Z"),
    variant(ts="2100-01-01T00:00:00Z"),
    variant(ts="2100-01-01T07:00:00+08:00"),
    variant(ts="9999-12-31T23:59:59Z"),
    variant(ts="2026-12-01T05:00:00.123Z "),
    variant(ts=""),
    variant(ts=12),
    variant(ts=None),
    raw(ts="2026-12-01T05:00:00\\u005a"),  # a backslash in the string, not a Z
    raw(ts="2026-12-01T05:00:00.123\\u005a"),
    raw(ts="2026-12-01T05:00:00.123\u005a"),  # a JSON escape that *is* a Z
    raw(ts="2026-12-01T05:00:00.\u0031\u0032\u0033Z"),
    # numbers: spelling, size, type
    variant(readings={"t": 1e16, "u": 1e-5, "w": 1.5e-7, "x": -0.0, "y": 5e-324}),
    variant(readings={"t": 1.7976931348623157e308}),
    variant(readings={"t": 1.7976931348623157e308, "u": 1.7976931348623157e308}),
    variant(readings={"t": -1.7976931348623157e308, "u": 1.7976931348623157e308}),
    variant(readings={"t": 10**30}),
    variant(readings={"t": 2**63}),
    raw(readings='{"t":' + "9" * 400 + "}"),
    raw(readings='{"t":-' + "9" * 400 + "}"),
    raw(readings='{"t":1e308,"u":1e309}'),
    raw(readings='{"t":-0}'),
    raw(readings='{"t":1E5}'),
    raw(readings='{"t":Infinity}'),
    raw(readings='{"t":-Infinity}'),
    raw(readings='{"t":null}'),
    raw(readings='{"t":"NaN"}'),
    raw(readings='{"t":01}'),
    raw(readings='{"t":.5}'),
    raw(readings='{"t":[1]}'),
    raw(readings='{"t":{"u":1}}'),
    raw(readings='{"t":' + "[" * 50 + "]" * 50 + "}"),
    raw(readings='{"t":' + "[" * 100_000),
    raw(readings="[1,2]"),
    raw(readings="null"),
    # names
    variant(readings={"null": 1.5, "nan": 2.0, "inf": 3.0}),
    variant(readings={"a" * 64: 1}),
    variant(readings={"a" * 65: 1}),
    variant(readings={"": 1}),
    variant(readings={"é": 1}),
    variant(readings={"a=b": 1}),
    variant(readings={"a b": 1}),
    variant(readings={'a"b': 1}),
    variant(readings={"a:b": 1}),
    raw(readings='{"t":1,"t":2}'),  # a duplicate name: the last value, as json.loads keeps
    raw(readings='{"t":1,"u":2,"t":3}'),
    raw(readings='{"t":1}', device='"d-2"'),  # a duplicate device: the last one counts
    raw(readings='{"t":1}', v="2"),
    raw()[:-1] + b',"readings":{"u":2}}',  # a duplicate readings object
    # bytes and framing
    raw().replace(b"d-1", b"d-\xff"),
    raw().replace(b'"t"', b'"\xc3\xa9"'),
    raw().replace(b'"t"', b'"\xed\xa0\x80"'),  # an encoded surrogate
    raw() + b"\x00",
    b"\xef\xbb\xbf" + raw(),  # a BOM
    raw() + b"\n" + raw(),
    b" \t\r\n" + raw() + b" \n",
    b"",
    b"null",
    b'"x"',
    raw()[:-1],
    raw(readings='{"t":1}' + " " * (16 * 1024 - len(raw()))),
    raw(readings='{"t":1}' + " " * (16 * 1024 + 1 - len(raw()))),
]


def same_point(got: str, expected: str) -> bool:
    """Return whether two telemetry lines are the same point (the same floats, spelled maybe
    differently): same series key, same field names in order, same values, same timestamp."""
    key, fields, ms = got.rsplit(" ", 2)
    key_e, fields_e, ms_e = expected.rsplit(" ", 2)
    pairs = [f.split("=") for f in fields.split(",")]
    pairs_e = [f.split("=") for f in fields_e.split(",")]
    return (
        (key, ms) == (key_e, ms_e)
        and [n for n, _ in pairs] == [n for n, _ in pairs_e]
        and all(
            float(v).hex() == float(w).hex() for (_, v), (_, w) in zip(pairs, pairs_e, strict=True)
        )
    )


SHARED = Points(grid_of)
"""One instance for every payload too, so that cached seconds and names are exercised."""
for _seed in ("2026-12-01T05:00:00.000Z", "2026-12-01T05:00:59.000Z", "2099-12-31T23:59:59Z",
              "2000-01-01T00:00:00Z"):  # fmt: skip
    SHARED.line(TOPIC, variant(ts=_seed, readings={"t": 1, "null": 2}))


def expect(payload: bytes) -> str | None:
    """Return the point the protocol and `telemetry_line` make of a payload (None: rejected)."""
    try:
        model = decode("telemetry", payload, device="d-1")
    except ProtocolError:
        return None
    assert isinstance(model, Telemetry)
    try:
        return telemetry_line("s1", "g 1", "d-1", model.ts, dict(model.readings))
    except ValueError:
        return None


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_fast_path_agrees_with_the_protocol(payload: bytes) -> None:
    for points in (Points(grid_of), SHARED):
        try:
            model = decode("telemetry", payload, device="d-1")
        except ProtocolError as exc:
            with pytest.raises(Rejected) as rejected:
                points.line(TOPIC, payload)
            assert rejected.value.reason in (exc.reason, "bad_line")
            continue
        assert isinstance(model, Telemetry)
        try:
            expected = telemetry_line("s1", "g 1", "d-1", model.ts, dict(model.readings))
        except ValueError:
            with pytest.raises(Rejected, match="bad_line"):
                points.line(TOPIC, payload)
            continue
        assert same_point(points.line(TOPIC, payload), expected)


def test_a_batch_gives_each_message_exactly_one_outcome() -> None:
    """`Points.lines`: a point, a counted rejection, or a `$SYS` message handed back, in order."""
    good = [p for p in PAYLOADS if expect(p) is not None]
    bad = [p for p in PAYLOADS if expect(p) is None]
    ghost = b"watchpost/v1/s1/dev/ghost/telemetry"
    sys = (b"$SYS/broker/clients/connected", b"3")
    batch = [(TOPIC, p) for p in good + bad] + [(ghost, good[0]), sys, (b"\xff", b"{}")]
    lines, rejected, sys_messages = Points(grid_of).lines(batch)
    assert len(good) > 40 and len(bad) > 40
    assert all(same_point(a, str(expect(p))) for a, p in zip(lines, good, strict=True))
    assert rejected.total() == len(bad) + 2
    assert rejected["unknown_device"] == 1
    assert rejected["bad_topic"] == 1
    assert sys_messages == [sys]


def test_many_seconds_and_names_keep_the_caches_bounded() -> None:
    points = Points(grid_of)
    for i in range(5000):
        ts = f"2026-12-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z"
        line = points.line(TOPIC, variant(ts=ts, readings={f"r{i}": i}))
        assert line == expect(variant(ts=ts, readings={f"r{i}": i}))
    assert len(points._seconds) <= 4096


def test_non_finite_values_never_pass_the_fast_path() -> None:
    """NaN and ±inf cannot come from JSON numbers; the slow path refuses what would overflow."""
    for readings in ('{"t":1e999}', '{"t":-1e999}', '{"t":1,"u":NaN}', '{"a":1e308,"b":1e308}'):
        payload = raw(readings=readings)
        outcome = expect(payload)
        if outcome is None:
            with pytest.raises(Rejected):
                Points(grid_of).line(TOPIC, payload)
        else:
            fields = Points(grid_of).line(TOPIC, payload).rsplit(" ", 2)[1]
            assert all(math.isfinite(float(f.split("=")[1])) for f in fields.split(","))


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        (b"watchpost/v1/s1/dev/ghost/telemetry", "unknown_device"),
        (b"watchpost/v1/s1/dev/d-1/event", "bad_topic"),
        (b"watchpost/v1/s1/dev/Bad/telemetry", "bad_topic"),
        (b"nothing/at/all", "bad_topic"),
        (b"\xff/x", "bad_topic"),
    ],
)
def test_topics_of_unknown_devices_and_other_channels_are_rejected(
    topic: bytes, reason: str
) -> None:
    with pytest.raises(Rejected) as rejected:
        Points(grid_of).line(topic, variant())
    assert rejected.value.reason == reason
