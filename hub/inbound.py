"""The alarm path's in connection: a small MQTT 5 subscriber at QoS 1 on asyncio, whose
PUBACKs the hub sends by hand after the commit.

Why not gmqtt (measured, docs/hub.md "The alarm path's clients"): in a storm of 8,000 statuses
and `test` events, gmqtt's machinery — a task per message for the manual PUBACK, its packet
parser, one socket write per PUBACK — took ~75 % of the hub's event loop (py-spy), so the loop
read the storm slower than one publisher sent it and the SOS behind it waited in the socket.
This subscriber splits the byte stream by its length headers, hands each PUBLISH over as a
plain `Received` (no task, no future) and coalesces the PUBACKs of one loop iteration into one
write.

Scope, on purpose small (MQTT 5.0, OASIS standard): CONNECT (clean start off, Session Expiry
Interval, Receive Maximum, optional last will, user/password), SUBSCRIBE at QoS 1 and
UNSUBSCRIBE, PINGREQ, DISCONNECT; it receives CONNACK, SUBACK, UNSUBACK, PINGRESP, DISCONNECT
and PUBLISH at QoS 0 or 1 (every subscription is QoS 1, so the broker never sends QoS 2). It
announces no Topic Alias Maximum, so the broker sends no topic aliases. TLS like the other
connections. Anything it does not understand ends the connection (`WireError`); the bus
reconnects and the broker resends what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MAX_PACKET = 256 * 1024
"""A larger packet ends the connection (the codec refuses payloads over 16 KiB anyway)."""
PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


class WireError(ConnectionError):
    """The broker refused us, broke the protocol, or went silent."""


def varint(n: int) -> bytes:
    """Encode an MQTT variable byte integer (7 bits a byte)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def _binary(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


@dataclass(frozen=True, slots=True)
class Will:
    """The message the broker publishes (QoS 1, retained) when the connection dies."""

    topic: str
    payload: bytes


def connect_packet(
    client_id: str,
    keepalive_s: int,
    username: str | None,
    password: str | None,
    *,
    session_expiry_s: int,
    receive_maximum: int,
    will: Will | None = None,
) -> bytes:
    """Return an MQTT 5 CONNECT packet resuming the session `client_id` (clean start off)."""
    flags = 0x00  # clean start off: keep the session and what is queued for it
    if will is not None:
        flags |= 0x04 | (1 << 3) | 0x20  # will, QoS 1, retained
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    props = b"\x11" + session_expiry_s.to_bytes(4, "big")
    props += b"\x21" + receive_maximum.to_bytes(2, "big")
    body = b"\x00\x04MQTT\x05" + bytes([flags]) + keepalive_s.to_bytes(2, "big")
    body += varint(len(props)) + props + _utf8(client_id)
    if will is not None:
        body += b"\x00" + _utf8(will.topic) + _binary(will.payload)  # no will properties
    if username is not None:
        body += _utf8(username)
    if password is not None:
        body += _binary(password.encode())
    return b"\x10" + varint(len(body)) + body


def subscribe_packet(packet_id: int, filters: Sequence[str]) -> bytes:
    """Return a SUBSCRIBE packet asking QoS 1 for every filter."""
    body = packet_id.to_bytes(2, "big") + b"\x00"
    body += b"".join(_utf8(f) + b"\x01" for f in filters)
    return b"\x82" + varint(len(body)) + body


def unsubscribe_packet(packet_id: int, filters: Sequence[str]) -> bytes:
    """Return an UNSUBSCRIBE packet for the filters."""
    body = packet_id.to_bytes(2, "big") + b"\x00" + b"".join(_utf8(f) for f in filters)
    return b"\xa2" + varint(len(body)) + body


def puback_packet(packet_id: int) -> bytes:
    """Return a PUBACK (reason code omitted: success)."""
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


@dataclass(frozen=True, slots=True)
class Publish:
    """One PUBLISH as received: `packet_id` is 0 for QoS 0."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    packet_id: int


def _read_varint(buf: bytes, i: int, n: int) -> tuple[int, int]:
    """Return (value, next index), or (-1, i) if the integer is not all in `buf[:n]` yet."""
    value, shift = 0, 0
    while True:
        if i >= n:
            return -1, i
        digit = buf[i]
        i += 1
        value |= (digit & 0x7F) << shift
        if not digit & 0x80:
            return value, i
        shift += 7
        if shift > 21:
            raise WireError("malformed variable byte integer")


class Framer:
    """Split a byte stream into MQTT 5 packets: PUBLISHes decoded, the rest as (type, body)."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> tuple[list[Publish], list[tuple[int, bytes]]]:
        """Consume `data`; return the packets it completed (a partial one waits for more)."""
        buf = self._rest + data if self._rest else data
        n, i = len(buf), 0
        publishes: list[Publish] = []
        control: list[tuple[int, bytes]] = []
        while i + 2 <= n:
            cmd = buf[i]
            length, j = _read_varint(buf, i + 1, n)
            if length < 0:
                break
            if length > MAX_PACKET:
                raise WireError(f"packet of {length} bytes")
            end = j + length
            if end > n:
                break
            if cmd & 0xF0 == 0x30:
                publishes.append(_publish(cmd, buf, j, end))
            else:
                control.append((cmd, buf[j:end]))
            i = end
        self._rest = buf[i:]
        return publishes, control


def _publish(cmd: int, buf: bytes, j: int, end: int) -> Publish:
    qos = (cmd >> 1) & 0x03
    if qos > 1:
        raise WireError("QoS 2 PUBLISH on a QoS 1 subscription")
    if j + 2 > end:
        raise WireError("malformed PUBLISH")
    topic_end = j + 2 + ((buf[j] << 8) | buf[j + 1])
    k, packet_id = topic_end, 0
    if qos:
        if k + 2 > end:
            raise WireError("malformed PUBLISH")
        packet_id = (buf[k] << 8) | buf[k + 1]
        k += 2
    props, k = _read_varint(buf, k, end)
    if props < 0 or k + props > end:
        raise WireError("malformed PUBLISH")
    try:
        topic = buf[j + 2 : topic_end].decode()
    except UnicodeDecodeError as exc:
        raise WireError("PUBLISH topic is not UTF-8") from exc
    return Publish(topic, buf[k + props : end], qos, bool(cmd & 0x01), packet_id)


Sink = Callable[[list[Publish], Callable[[int], None]], None]
"""Gets each chunk's PUBLISHes and the function that acknowledges one by packet id."""


class _Protocol(asyncio.Protocol):
    """Bytes in → PUBLISHes to the sink; control packets resolve the session's waits."""

    def __init__(self, sink: Sink) -> None:
        self.loop = asyncio.get_running_loop()
        self.sink = sink
        self.framer = Framer()
        self.connack: asyncio.Future[bytes] = self.loop.create_future()
        self.acks: dict[int, asyncio.Future[bytes]] = {}
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.pongs = 0
        self.transport: asyncio.Transport | None = None
        self._pubacks: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            publishes, control = self.framer.feed(data)
        except WireError as exc:
            self._fail(exc)
            return
        for cmd, body in control:
            self._control(cmd, body)
        if publishes:
            self.sink(publishes, self.ack)

    def _control(self, cmd: int, body: bytes) -> None:
        kind = cmd & 0xF0
        if kind == 0x20 and not self.connack.done():
            self.connack.set_result(body)
        elif kind in (0x90, 0xB0) and len(body) >= 2:  # SUBACK, UNSUBACK
            waiter = self.acks.pop((body[0] << 8) | body[1], None)
            if waiter is not None and not waiter.done():
                waiter.set_result(body)
        elif kind == 0xD0:
            self.pongs += 1
        elif kind == 0xE0:  # the broker disconnects us (reason code in body)
            self._fail(WireError(f"the broker sent DISCONNECT {body[:1].hex()}"))
        else:
            self._fail(WireError(f"unexpected packet type {kind >> 4}"))

    def ack(self, packet_id: int) -> None:
        """Queue the PUBACK of `packet_id`; all PUBACKs of this loop turn go out in one write."""
        if not self._pubacks:
            self.loop.call_soon(self._flush_pubacks)
        self._pubacks.append(puback_packet(packet_id))

    def _flush_pubacks(self) -> None:
        acks, self._pubacks = self._pubacks, []
        transport = self.transport
        # After the connection is gone the broker keeps the message and resends it on the next
        # one: a PUBACK for it must never go out on another connection (ids are per session
        # turn), so it is dropped here.
        if transport is not None and not transport.is_closing():
            transport.write(b"".join(acks))

    def _fail(self, exc: Exception) -> None:
        if self.transport is not None:
            self.transport.close()
        self._wake(exc)

    def _wake(self, exc: Exception) -> None:
        for waiter in (self.connack, *self.acks.values()):
            if not waiter.done():
                waiter.set_exception(exc)
        self.acks.clear()
        if not self.closed.done():
            self.closed.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._wake(WireError(f"connection lost: {exc}"))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom the subscriber connects, and what it asks of the broker."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 15
    ssl_context: ssl.SSLContext | None = None
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 65_535
    will: Will | None = None


class Session:
    """One connection: `open()` connects and subscribes, `run()` keeps it alive until it ends."""

    def __init__(self, endpoint: Endpoint, sink: Sink, *, timeout_s: float = 10.0) -> None:
        self.endpoint = endpoint
        self.sink = sink
        self.timeout_s = timeout_s
        self._proto: _Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._next_id = 0

    async def open(self, filters: Sequence[str], stale: Sequence[str] = ()) -> None:
        """Connect (resuming the session), drop `stale` filters, subscribe `filters` at QoS 1.

        Raises `WireError` or `OSError` (TimeoutError included) when refused or lost.
        """
        loop = asyncio.get_running_loop()
        ep = self.endpoint
        async with asyncio.timeout(self.timeout_s):
            transport, proto = await loop.create_connection(
                lambda: _Protocol(self.sink), ep.host, ep.port, ssl=ep.ssl_context
            )
        self._transport, self._proto = transport, proto
        transport.write(
            connect_packet(
                ep.client_id,
                ep.keepalive_s,
                ep.username,
                ep.password,
                session_expiry_s=ep.session_expiry_s,
                receive_maximum=ep.receive_maximum,
                will=ep.will,
            )
        )
        async with asyncio.timeout(self.timeout_s):
            connack = await proto.connack
        if len(connack) < 2 or connack[1] != 0:
            raise WireError(f"broker refused the connection (CONNACK {connack[:2].hex()})")
        if stale:
            await self._request(unsubscribe_packet, stale)
        suback = await self._request(subscribe_packet, filters)
        codes = _reason_codes(suback)
        if len(codes) != len(filters) or any(code >= 0x80 for code in codes):
            raise WireError(f"broker refused a subscription of {list(filters)}: {codes}")

    async def _request(
        self, packet: Callable[[int, Sequence[str]], bytes], filters: Sequence[str]
    ) -> bytes:
        assert self._proto is not None and self._transport is not None
        self._next_id = self._next_id % 0xFFFF + 1
        waiter: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._proto.acks[self._next_id] = waiter
        self._transport.write(packet(self._next_id, filters))
        async with asyncio.timeout(self.timeout_s):
            return await waiter

    async def run(self) -> None:
        """Ping every third of the keepalive; return never, raise `WireError` when it ends."""
        assert self._proto is not None and self._transport is not None
        proto, transport = self._proto, self._transport
        every = max(1.0, self.endpoint.keepalive_s / 3)
        pongs, last = proto.pongs, time.monotonic()
        while True:
            transport.write(PINGREQ)
            try:
                async with asyncio.timeout(every):
                    await asyncio.shield(proto.closed)
            except TimeoutError:
                pass
            else:
                raise WireError("the connection ended")
            now = time.monotonic()
            if proto.pongs != pongs:
                pongs, last = proto.pongs, now
            elif now - last > self.endpoint.keepalive_s:
                raise WireError(f"no PINGRESP for {self.endpoint.keepalive_s} s")

    def close(self) -> None:
        """Send DISCONNECT (the will is not published) and close the socket."""
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(DISCONNECT)
            transport.close()


def _reason_codes(suback: bytes) -> list[int]:
    """Return the reason codes of a SUBACK/UNSUBACK body (after packet id and properties)."""
    props, k = _read_varint(suback, 2, len(suback))
    if props < 0:
        raise WireError("malformed SUBACK")
    return list(suback[k + props :])
