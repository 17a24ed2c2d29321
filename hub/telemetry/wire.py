"""A QoS 0 MQTT 3.1.1 subscriber on asyncio, for the telemetry lane: the hub's only MQTT code
that does not go through a client library.

Why not gmqtt, paho or aiomqtt (measured here, docs/bench.md "Choosing the telemetry client"):
under overload the lane must read every message the broker sends (a subscriber that stops
reading makes the broker drop, and the hub pages the duty officer on broker drops) but can only
process some. What it does not process it sheds, and shedding must cost far less than
processing, or reading alone eats the CPU and the rate collapses (at twice the capacity offered,
ingest falls to 1 - read/process of it). Every library parses each PUBLISH into objects before
the application sees it (gmqtt ~8 µs of CPU per message here); this framer walks a shed packet
by its length header alone (well under a microsecond) and slices only what the lane keeps.

Scope, on purpose small: CONNECT (clean session, optional user/password, TLS with a CA file
like the alarm path, or the broker's Unix-domain socket on the same machine), SUBSCRIBE at QoS 0,
PINGREQ, DISCONNECT; it receives PUBLISH (QoS 0: every subscription is QoS 0, so the broker
never sends more), CONNACK, SUBACK and PINGRESP. No QoS 1/2, no MQTT 5.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_PACKET = 64 * 1024
"""Larger packets are skipped unread and counted (the codec refuses payloads over 16 KiB)."""

Publish = tuple[bytes, bytes]
"""(topic, payload) of one PUBLISH."""


class WireError(ConnectionError):
    """The broker refused us, broke the protocol, or went silent."""


def varint(n: int) -> bytes:
    """Encode an MQTT remaining length (variable-length integer, 7 bits a byte)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(2, "big") + raw


def connect_packet(
    client_id: str, keepalive_s: int, username: str | None, password: str | None
) -> bytes:
    """Return a CONNECT packet (MQTT 3.1.1, clean session)."""
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    body = b"\x00\x04MQTT\x04" + bytes([flags]) + keepalive_s.to_bytes(2, "big")
    body += _utf8(client_id)
    if username is not None:
        body += _utf8(username)
    if password is not None:
        body += _utf8(password)
    return b"\x10" + varint(len(body)) + body


def subscribe_packet(packet_id: int, filters: Sequence[str]) -> bytes:
    """Return a SUBSCRIBE packet asking QoS 0 for every filter."""
    body = packet_id.to_bytes(2, "big") + b"".join(_utf8(f) + b"\x00" for f in filters)
    return b"\x82" + varint(len(body)) + body


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


@dataclass(slots=True)
class Frames:
    """What one chunk of bytes held: PUBLISHes kept, PUBLISHes shed, other packets."""

    kept: list[Publish]
    shed: int
    oversize: int
    control: list[tuple[int, bytes]]


class Framer:
    """Split a byte stream into MQTT packets; keep at most `room` PUBLISHes, shed the rest.

    A PUBLISH on a `$`-topic (the broker's `$SYS` counters) is always kept.
    """

    def __init__(self) -> None:
        self._rest = b""
        self._skip = 0

    def feed(self, data: bytes, room: int) -> Frames:
        """Consume `data`; return the packets it completed (partial ones wait for more)."""
        frames = Frames([], 0, 0, [])
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            data = data[taken:]
        buf = self._rest + data if self._rest else data
        n, i = len(buf), 0
        kept, shed = frames.kept, 0
        while i + 2 <= n:
            cmd, length, j = buf[i], buf[i + 1], i + 2
            if length & 0x80 and j < n and not buf[j] & 0x80:  # two bytes: most telemetry
                length = (length & 0x7F) | (buf[j] << 7)
                j += 1
            elif length & 0x80:  # three or four bytes, or not all here yet
                length, shift = length & 0x7F, 7
                while True:
                    if j >= n:
                        length = -1
                        break
                    digit = buf[j]
                    j += 1
                    length |= (digit & 0x7F) << shift
                    if not digit & 0x80 or shift > 21:
                        break
                    shift += 7
                if length < 0:
                    break
            end = j + length
            if length > MAX_PACKET:
                frames.oversize += 1
                self._skip = max(0, end - n)
                i = min(end, n)
                continue
            if end > n:
                break
            if cmd & 0xF0 == 0x30:
                if room > 0 or buf[j + 2 : j + 3] == b"$":
                    topic_end = j + 2 + ((buf[j] << 8) | buf[j + 1])
                    start = topic_end + 2 if cmd & 0x06 else topic_end
                    kept.append((buf[j + 2 : topic_end], buf[start:end]))
                    room -= 1
                else:
                    shed += 1
            else:
                frames.control.append((cmd, buf[j:end]))
            i = end
        self._rest = buf[i:]
        frames.shed = shed
        return frames


Sink = Callable[[Frames], None]
Room = Callable[[], int]


class _Protocol(asyncio.Protocol):
    """Bytes in → `Frames` to the sink; CONNACK/SUBACK/PINGRESP resolve the session's waits."""

    def __init__(self, sink: Sink, room: Room) -> None:
        loop = asyncio.get_running_loop()
        self.sink, self.room = sink, room
        self.framer = Framer()
        self.connack: asyncio.Future[bytes] = loop.create_future()
        self.suback: asyncio.Future[bytes] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.pongs = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        frames = self.framer.feed(data, self.room())
        for cmd, body in frames.control:
            kind = cmd & 0xF0
            if kind == 0x20 and not self.connack.done():
                self.connack.set_result(body)
            elif kind == 0x90 and not self.suback.done():
                self.suback.set_result(body)
            elif kind == 0xD0:
                self.pongs += 1
        if frames.kept or frames.shed or frames.oversize:
            self.sink(frames)

    def connection_lost(self, exc: Exception | None) -> None:
        for waiter in (self.connack, self.suback):
            if not waiter.done():
                waiter.set_exception(WireError(f"connection lost: {exc}"))
                # After a refused CONNACK nobody awaits the SUBACK: mark it retrieved, or
                # asyncio logs "Future exception was never retrieved" when it is collected.
                waiter.exception()
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom the subscriber connects: `host`:`port`, or `socket` when it is set."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    tls: bool = False
    ca_file: Path | None = None
    """With `tls`: the CA to verify the broker against (None: the system CAs)."""
    socket: Path | None = None
    """The broker's Unix-domain socket (Mosquitto's `listener 0 PATH`): connect there, not to
    `host`:`port`. Measured: Mosquitto spends ~15 % less CPU a message delivering to it, and a
    framing-only subscriber took +19 % msg/s (docs/bench.md, sixth session). No TLS on it."""

    def __post_init__(self) -> None:
        if self.socket is not None and self.tls:
            raise ValueError("no TLS on a Unix socket: give either socket or tls, not both")

    @property
    def where(self) -> str:
        """Return where it connects, for logs: `unix:PATH` or `HOST:PORT`."""
        return f"unix:{self.socket}" if self.socket is not None else f"{self.host}:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """Return the TLS context to connect with, or None for plain TCP."""
        if not self.tls:
            return None
        return ssl.create_default_context(
            cafile=None if self.ca_file is None else str(self.ca_file)
        )


async def subscribe(
    endpoint: Endpoint,
    filters: Sequence[str],
    sink: Sink,
    room: Room,
    *,
    connected: Callable[[], None] = lambda: None,
    timeout_s: float = 10.0,
) -> None:
    """Connect, subscribe at QoS 0 and feed frames to `sink` until the connection ends.

    Raises `WireError` (or `OSError`) when the connection is refused, lost or silent; the caller
    reconnects. Cancelling it sends DISCONNECT and closes the socket.
    """
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout_s):
        if endpoint.socket is not None:
            transport, proto = await loop.create_unix_connection(
                lambda: _Protocol(sink, room), str(endpoint.socket)
            )
        else:
            transport, proto = await loop.create_connection(
                lambda: _Protocol(sink, room),
                endpoint.host,
                endpoint.port,
                ssl=endpoint.ssl_context(),
            )
    try:
        transport.write(
            connect_packet(
                endpoint.client_id, endpoint.keepalive_s, endpoint.username, endpoint.password
            )
        )
        async with asyncio.timeout(timeout_s):
            connack = await proto.connack
        if len(connack) != 2 or connack[1] != 0:
            raise WireError(f"broker refused the connection (CONNACK {connack.hex()})")
        transport.write(subscribe_packet(1, filters))
        async with asyncio.timeout(timeout_s):
            suback = await proto.suback
        if any(code == 0x80 for code in suback[2:]):
            raise WireError(f"broker refused a subscription of {list(filters)}")
        connected()
        await _keepalive(transport, proto, endpoint.keepalive_s)
    finally:
        if not transport.is_closing():
            transport.write(DISCONNECT)
            transport.close()


async def _keepalive(transport: asyncio.Transport, proto: _Protocol, keepalive_s: int) -> None:
    """Ping every third of the keepalive; a broker silent for a whole keepalive is gone."""
    every = max(1.0, keepalive_s / 3)
    pongs, last = proto.pongs, time.monotonic()
    while True:
        transport.write(PINGREQ)
        try:
            async with asyncio.timeout(every):
                await asyncio.shield(proto.closed)
        except TimeoutError:
            pass
        else:
            raise WireError("the broker closed the connection")
        now = time.monotonic()
        if proto.pongs != pongs:
            pongs, last = proto.pongs, now
        elif now - last > keepalive_s:
            raise WireError(f"no PINGRESP for {keepalive_s} s")
