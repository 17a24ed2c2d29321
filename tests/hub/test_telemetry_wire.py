"""The telemetry lane's MQTT framer: any split of the byte stream gives the same packets; what
does not fit is shed and counted, never parsed; `$SYS` is always kept; oversize is skipped."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from hub.telemetry.wire import MAX_PACKET, Framer, connect_packet, subscribe_packet


def publish(topic: bytes, payload: bytes, qos: int = 0) -> bytes:
    """Encode one PUBLISH (a packet id is added for QoS > 0)."""
    body = len(topic).to_bytes(2, "big") + topic + (b"\x00\x07" if qos else b"") + payload
    length, n = bytearray(), len(body)
    while True:
        n, digit = divmod(n, 128)
        length.append(digit | (0x80 if n else 0))
        if not n:
            break
    return bytes([0x30 | (qos << 1)]) + bytes(length) + body


MESSAGES = [
    (b"watchpost/v1/s/dev/d1/telemetry", b'{"v":1}'),
    (b"watchpost/v1/s/dev/d2/telemetry", b"x" * 300),  # two-byte remaining length
    (b"$SYS/broker/clients/connected", b"3"),
    (b"watchpost/v1/s/dev/d3/telemetry", b"y" * 20_000),  # three-byte remaining length
    (b"t", b""),
]
STREAM = b"\x20\x02\x00\x00" + b"".join(publish(t, p) for t, p in MESSAGES) + b"\xd0\x00"


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_of_the_stream_gives_the_same_packets(cuts: list[int]) -> None:
    framer = Framer()
    bounds = [0, *sorted(cuts), len(STREAM)]
    kept, control = [], []
    for a, b in itertools.pairwise(bounds):
        frames = framer.feed(STREAM[a:b], room=100)
        kept += frames.kept
        control += frames.control
        assert frames.shed == 0
    assert kept == MESSAGES
    assert control == [(0x20, b"\x00\x00"), (0xD0, b"")]


def test_what_does_not_fit_is_shed_and_sys_is_always_kept() -> None:
    frames = Framer().feed(STREAM, room=1)
    assert frames.kept == [MESSAGES[0], MESSAGES[2]]
    assert frames.shed == 3


def test_a_qos1_publish_loses_its_packet_id_not_payload_bytes() -> None:
    frames = Framer().feed(publish(b"a/b", b"payload", qos=1), room=5)
    assert frames.kept == [(b"a/b", b"payload")]


def test_an_oversize_packet_is_skipped_across_chunks_and_counted() -> None:
    big = publish(b"a", b"z" * (MAX_PACKET + 10))
    after = publish(b"b", b"ok")
    framer = Framer()
    first = framer.feed(big[:1000], room=5)
    second = framer.feed(big[1000:] + after, room=5)
    assert first.oversize == 1
    assert second.oversize == 0
    assert second.kept == [(b"b", b"ok")]


def test_connect_and_subscribe_packets_follow_mqtt_311() -> None:
    assert connect_packet("c", 30, None, None) == b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x1e\x00\x01c"
    with_auth = connect_packet("c", 30, "u", "p")
    assert with_auth[9] == 0xC2
    assert with_auth.endswith(b"\x00\x01u\x00\x01p")
    assert subscribe_packet(1, ["a/#"]) == b"\x82\x08\x00\x01\x00\x03a/#\x00"
