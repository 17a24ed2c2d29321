"""The lane's fast telemetry decoder accepts exactly what `protocol.codec.decode` accepts, and
builds the same point as `hub.influx.telemetry_line`; rejections carry the protocol's reason."""

from __future__ import annotations

import json

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
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_fast_path_agrees_with_the_protocol(payload: bytes) -> None:
    try:
        model = decode("telemetry", payload, device="d-1")
    except ProtocolError as exc:
        with pytest.raises(Rejected) as rejected:
            Points(grid_of).line(TOPIC, payload)
        assert rejected.value.reason in (exc.reason, "bad_line")
        return
    assert isinstance(model, Telemetry)
    try:
        expected = telemetry_line("s1", "g 1", "d-1", model.ts, dict(model.readings))
    except ValueError:
        with pytest.raises(Rejected, match="bad_line"):
            Points(grid_of).line(TOPIC, payload)
        return
    assert Points(grid_of).line(TOPIC, payload) == expected


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
