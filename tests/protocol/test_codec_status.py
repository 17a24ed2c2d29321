"""A status read the quick way (pydantic from the bytes) is exactly what the general way gives.

`protocol.codec.decode` takes a device's status straight to pydantic when the payload is plain
(ASCII, no escape, no boolean); everything else, and anything pydantic refuses, goes the general
way (json, version check, validation), which names the reason. Generated payloads, good and
bad, must decode to the same status or fail with the same reason both ways.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import ProtocolError, decode
from protocol.codec import _decode, _plain_status

DEVICE = "stair-b2"
GOOD: dict[str, Any] = {
    "v": 1,
    "device": DEVICE,
    "ts": "2026-12-02T15:00:00.5+08:00",
    "state": "online",
    "fw": "1.4.2",
    "uptime_s": 86_400.5,
    "outbox": 0,
    "heartbeat_s": 30,
}
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "1",
            "online",
            "offline",
            "",
            "2026-12-02T15:00:00Z",
            "2026-12-02 15:00:00+00:00",
            "2026-12-02T15:00:00",  # no offset
            "1999-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "true",
            "v",
            "x" * 70,
            "Stair-B2",
            "stair-b3",
            "电量",
            "\ud800",
        ]
    ),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
KEYS = [*GOOD, "battery", "extra", "V"]


@st.composite
def status_documents(draw: st.DrawFn) -> bytes:
    """A status with some keys left out, changed or added, written in one of several ways."""
    body = dict(GOOD)
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=3)):
        if draw(st.booleans()):
            body.pop(key, None)
        else:
            body[key] = draw(ODD_VALUES)
    text = json.dumps(
        body,
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": "), (",", " : ")])),
    )
    raw = text.encode("utf-8", "surrogatepass")
    cut = draw(st.sampled_from([None, None, None, "trim", "append", "utf16"]))
    if cut == "trim":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif cut == "append":
        raw += draw(st.sampled_from([b" ", b"x", b"}", b"\n", b"\x00"]))
    elif cut == "utf16":
        raw = text.encode("utf-16", "surrogatepass")
    return raw


def _outcome(decoder: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", decoder(raw)
    except ProtocolError as exc:
        return "refused", exc.reason


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status_documents())
def test_quick_and_general_ways_agree(raw: bytes) -> None:
    quick = _outcome(lambda r: decode("status", r, device=DEVICE), raw)
    general = _outcome(lambda r: _decode("status", r, DEVICE), raw)
    assert quick == general


def test_plain_heartbeats_take_the_quick_way_and_odd_ones_do_not() -> None:
    plain = json.dumps(GOOD).encode()
    assert _plain_status(plain) == _decode("status", plain, DEVICE)
    for odd in (
        {**GOOD, "v": True},  # pydantic's Literal[1] takes true; the contract does not
        {k: v for k, v in GOOD.items() if k != "v"},  # `v` has a default; the contract wants it
        {**GOOD, "fw": "固件"},
        {**GOOD, "fw": 'say "hi"'},
    ):
        assert _plain_status(json.dumps(odd).encode()) is None, odd


def test_raw_control_characters_inside_strings_agree() -> None:
    # json.dumps escapes these; a device's own encoder might not. JSON forbids them raw.
    for char in (b"\t", b"\n", b"\x00", b"\x01", b"\x1f", b"\x7f"):
        raw = json.dumps({**GOOD, "fw": "a#b"}).encode().replace(b"#", char)
        quick = _outcome(lambda r: decode("status", r, device=DEVICE), raw)
        assert quick == _outcome(lambda r: _decode("status", r, DEVICE), raw), char
