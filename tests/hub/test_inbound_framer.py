"""`hub.inbound.Framer`: MQTT 5 packets split from a byte stream however it is chunked; hostile
bytes end the connection (`WireError`), never the hub. The subscriber against a real broker is
tested through the alarm path (tests/hub/test_bus_window.py, test_ingest.py, the fault suite)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.inbound import MAX_PACKET, Framer, Publish, WireError, puback_packet, varint


def publish_packet(
    topic: str, payload: bytes, *, qos: int = 1, packet_id: int = 7, props: bytes = b""
) -> bytes:
    raw = topic.encode()
    body = len(raw).to_bytes(2, "big") + raw
    if qos:
        body += packet_id.to_bytes(2, "big")
    body += varint(len(props)) + props + payload
    return bytes([0x30 | (qos << 1)]) + varint(len(body)) + body


def test_a_publish_with_properties_is_decoded() -> None:
    props = b"\x01\x01" + b"\x03\x00\x10application/json"  # payload format, content type
    stream = publish_packet("watchpost/v1/s/dev/d/event", b'{"k":1}', packet_id=513, props=props)
    publishes, control = Framer().feed(stream + b"\xd0\x00")  # and a PINGRESP
    assert publishes == [Publish("watchpost/v1/s/dev/d/event", b'{"k":1}', 1, False, 513)]
    assert control == [(0xD0, b"")]


def test_qos0_and_retained() -> None:
    stream = bytes([0x31]) + publish_packet("a/b", b"x", qos=0)[1:]
    assert Framer().feed(stream)[0] == [Publish("a/b", b"x", 0, True, 0)]


@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=40), st.binary(max_size=300)), max_size=20),
    st.lists(st.integers(min_value=1, max_value=50), max_size=40),
)
def test_any_chunking_gives_the_same_packets(
    messages: list[tuple[str, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(publish_packet(t, p, packet_id=i + 1) for i, (t, p) in enumerate(messages))
    framer, got, i = Framer(), [], 0
    for size in [*cuts, len(stream)]:
        got += framer.feed(stream[i : i + size])[0]
        i += size
    assert [(p.topic, p.payload, p.packet_id) for p in got] == [
        (t, p, i + 1) for i, (t, p) in enumerate(messages)
    ]


@pytest.mark.parametrize(
    "stream",
    [
        b"\x30\xff\xff\xff\xff\x7f",  # a length of five bytes
        b"\x30" + varint(MAX_PACKET + 1),  # larger than any alarm-path message
        bytes([0x34]) + publish_packet("a", b"x")[1:],  # QoS 2
        publish_packet("a", b"x")[:2] + b"\x00\x02\xff\xfe" + b"\x00\x01\x00",  # topic not UTF-8
        b"\x32\x05\x00\x09abc",  # topic longer than the packet
        b"\x32\x06\x00\x01a\x00\x01\x7f",  # properties longer than the packet
    ],
)
def test_hostile_bytes_end_the_connection(stream: bytes) -> None:
    with pytest.raises(WireError):
        Framer().feed(stream)


def test_a_partial_packet_waits_for_the_rest() -> None:
    packet = publish_packet("a/b", b"payload")
    framer = Framer()
    assert framer.feed(packet[:3]) == ([], [])
    assert framer.feed(packet[3:])[0][0].payload == b"payload"


def test_puback_is_four_bytes() -> None:
    assert puback_packet(0x1234) == b"\x40\x02\x12\x34"


@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_wire_error(junk: bytes) -> None:
    framer = Framer()
    try:
        framer.feed(junk)
    except WireError:
        pass
