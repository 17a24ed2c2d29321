"""The codec accepts the v1 contract and rejects everything else with one error type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from protocol import MAX_PAYLOAD, ProtocolError, decode, decode_command, decode_event, encode
from protocol.codec import new_event_id
from protocol.messages import Event, IndicateCmd, SirenCmd, Status, WorkerReply
from protocol.topics import device_topic, parse_topic, worker_topic

EVENT: dict[str, Any] = {
    "v": 1,
    "id": "01J9ZK6M4R3T8V2W5X7Y9A1B3C",
    "device": "home-b1-101",
    "seq": 7,
    "ts": "2026-11-22T08:00:00+08:00",
    "kind": "call",
    "source": "gpio:call",
    "data": {"held_s": 0.4},
}


def event(**changes: Any) -> bytes:
    body = {**EVENT, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def test_event_round_trip_normalises_to_utc() -> None:
    ev = decode_event(event())
    assert ev.ts.isoformat() == "2026-11-22T00:00:00+00:00"
    assert decode_event(encode(ev)) == ev


def test_new_event_ids_are_uuid7_time_ordered_and_valid() -> None:
    ids = [new_event_id() for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(i[14] == "7" for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)
    decode_event(event(id=ids[0]))


@pytest.mark.parametrize(
    ("payload", "reason", "text"),
    [
        (b"{not json", "not_json", "payload is not valid UTF-8 JSON"),
        (b"\xff\xfe", "not_json", "payload is not valid UTF-8 JSON"),
        (b"[1, 2]", "not_object", "payload must be a JSON object, got list"),
        (event(v=2), "bad_version", "unsupported schema version v=2; expected 1"),
        (event(v=...), "bad_version", "unsupported schema version v=None; expected 1"),
        (event(v=True), "bad_version", "unsupported schema version v=True; expected 1"),
        (event(kind="panic"), "unknown_kind", "kind 'panic' is not one of call, cancel"),
        (event(seq="seven"), "invalid", "seq: Input should be a valid integer"),
        (event(seq=-1), "invalid", "seq: Input should be greater than or equal to 0"),
        (event(device="Home_B1"), "invalid", "device: String should match pattern"),
        (event(device="x" * 65), "invalid", "device: String should match pattern"),
        (event(ts="2026-11-22T08:00:00"), "invalid", "ts: Input should have timezone info"),
        (event(ts="yesterday"), "invalid", "ts: Input should be a valid datetime"),
        (event(id="1234"), "invalid", "id: Value error, must be a ULID"),
        (event(extra=1), "invalid", "extra: Extra inputs are not permitted"),
        (b'{"v":1,"seq":NaN}', "non_finite", "NaN is not allowed"),
        (b'{"v":1,"seq":Infinity}', "non_finite", "Infinity is not allowed"),
        (b'{"v":1,"seq":-Infinity}', "non_finite", "-Infinity is not allowed"),
        (event(data={"x": [1]}), "invalid", "data.x"),
        (event(source=""), "invalid", "source: String should have at least 1 character"),
    ],
)
def test_bad_event_payloads_are_rejected_with_reason(
    payload: bytes, reason: str, text: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        decode("event", payload)
    assert info.value.reason == reason
    assert text in str(info.value)


def test_payload_over_size_limit_is_rejected_before_parsing() -> None:
    big = event(data={"pad": "x" * MAX_PAYLOAD})
    with pytest.raises(ProtocolError, match=rf"too_large: payload is {len(big)} bytes"):
        decode("event", big)


def test_device_in_payload_must_match_topic() -> None:
    with pytest.raises(ProtocolError, match="payload device 'home-b1-101' != topic 'other'"):
        decode("event", event(), device="other")


def test_telemetry_rejects_infinite_and_empty_readings() -> None:
    base = {"v": 1, "device": "d1", "ts": "2026-11-22T00:00:00Z"}
    with pytest.raises(ProtocolError, match="readings: Dictionary should have at least 1 item"):
        decode("telemetry", json.dumps({**base, "readings": {}}))
    with pytest.raises(ProtocolError, match="non_finite"):
        decode("telemetry", json.dumps({**base, "readings": {"t": float("inf")}}))
    ok = decode("telemetry", json.dumps({**base, "readings": {"smoke": 0.12, "batt_v": 3}}))
    assert ok.readings == {"smoke": 0.12, "batt_v": 3.0}  # type: ignore[attr-defined]


def test_status_and_reply_round_trip() -> None:
    st = decode("status", b'{"v":1,"device":"d1","ts":"2026-11-22T00:00:00Z","state":"online"}')
    assert isinstance(st, Status)
    assert st.state == "online"
    rep = decode(
        "reply",
        b'{"v":1,"alarm":"a1","action":"resolve","outcome":"handled","ts":"2026-11-22T00:00:00Z"}',
    )
    assert isinstance(rep, WorkerReply)
    with pytest.raises(ProtocolError, match="action: Input should be 'ack', 'decline'"):
        decode("reply", b'{"v":1,"alarm":"a1","action":"maybe","ts":"2026-11-22T00:00:00Z"}')


def test_commands_are_discriminated_by_cmd() -> None:
    assert isinstance(decode_command(b'{"v":1,"cmd":"siren","on":true}'), SirenCmd)
    ind = decode_command(b'{"v":1,"cmd":"indicate","state":"acknowledged","alarm":"a1"}')
    assert isinstance(ind, IndicateCmd)
    assert ind.state == "acknowledged"
    with pytest.raises(ProtocolError, match="unknown_kind: cmd 'reboot' is not one of"):
        decode_command(b'{"v":1,"cmd":"reboot"}')
    with pytest.raises(ProtocolError, match=r"siren\.on: Field required"):
        decode_command(b'{"v":1,"cmd":"siren"}')


def test_topics_build_and_parse() -> None:
    t = device_topic("sunflower", "home-b1-101", "event")
    assert t == "watchpost/v1/sunflower/dev/home-b1-101/event"
    parsed = parse_topic(t)
    assert (parsed.site, parsed.role, parsed.ident, parsed.channel) == (
        "sunflower",
        "dev",
        "home-b1-101",
        "event",
    )
    assert parse_topic(worker_topic("s", "w-1", "reply")).role == "worker"


@pytest.mark.parametrize(
    ("topic", "text"),
    [
        ("watchpost/v2/s/dev/d/event", "is not a watchpost/v1/{site}/... topic"),
        ("watchpost/v1/s/dev/d/event/extra", "is not a watchpost/v1/{site}/... topic"),
        ("watchpost/v1/S!/dev/d/event", "site 'S!' must match"),
        ("watchpost/v1/s/dev/D/event", "device 'D' must match"),
        ("watchpost/v1/s/dev/d/alert", "unknown role/channel dev/alert"),
        ("watchpost/v1/s/worker/w/event", "unknown role/channel worker/event"),
    ],
)
def test_bad_topics_are_rejected(topic: str, text: str) -> None:
    with pytest.raises(ProtocolError, match="bad_topic") as info:
        parse_topic(topic)
    assert text in str(info.value)


def test_event_model_is_frozen() -> None:
    ev = decode_event(event())
    assert isinstance(ev, Event)
    with pytest.raises(ValueError, match="frozen"):
        ev.seq = 9  # type: ignore[misc]


def test_published_json_schema_is_current(tmp_path: Path) -> None:
    from protocol.schema import write_schemas

    docs = Path(__file__).parents[2] / "docs" / "schema"
    for path in write_schemas(tmp_path):
        committed = docs / path.name
        assert committed.exists(), f"run 'watchpost protocol schema' ({path.name} missing)"
        assert json.loads(committed.read_text()) == json.loads(path.read_text()), path.name


def test_json_schema_accepts_a_valid_event_shape() -> None:
    from protocol.schema import build_schemas

    schema = build_schemas()["event"]
    assert schema["properties"]["kind"]["enum"][0] == "call"
    assert set(schema["required"]) >= {"id", "device", "seq", "ts", "kind", "source"}


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 2000 + b"1" + b"}" * 2000,
        b'{"v":1,"data":' + b"[" * 9 + b"]" * 9 + b"}",
    ],
)
def test_deep_nesting_is_a_rejection_not_a_recursion_error(payload: bytes) -> None:
    with pytest.raises(ProtocolError) as err:
        decode("event", payload)
    assert err.value.reason == "too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    ev = decode_event(event(source="[[[[[[[[[[[[[[[[gpio"))
    assert ev.source.startswith("[[[[")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seq": 2**63}, "seq"),
        ({"ts": "1970-01-01T00:00:00Z"}, "ts"),
        ({"ts": "2500-01-01T00:00:00Z"}, "ts"),
        ({"data": {"s": "x" * 300}}, "data"),
    ],
)
def test_values_the_store_cannot_hold_are_invalid(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolError) as err:
        decode_event(event(**changes))
    assert err.value.reason == "invalid"
    assert field in err.value.detail


def test_the_largest_seq_the_store_holds_is_accepted() -> None:
    assert decode_event(event(seq=2**63 - 1)).seq == 2**63 - 1
