"""A TCP relay on a loopback port in front of an MQTT broker: the simulators' power cut and outage.

A client given `Relay(broker_url).url` connects to the relay, which forwards each connection to
the broker byte for byte (TLS passes through untouched). `cut()` stops accepting and drops
every forwarded connection at once, whatever is still buffered: the broker's side with a TCP
reset, so the broker sees the client's connection die without an MQTT DISCONNECT and publishes
its last will; the client's side with a plain close, so the client reads end of file and sees
its connection lost (paho logs a reset as an error, an end of file quietly).
`up()` accepts again. A real device needs no such thing (its power cut drops the connection),
and the edge cannot drop its own connection without DISCONNECT: aiomqtt has no way to.

A TLS client verifies the broker's name against the URL it connects to, so an `mqtts://` URL
keeps its host name and may only name 127.0.0.1 or localhost, where the relay listens (the
names `provision.certificates.DEFAULT_HOSTS` certifies).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from types import TracebackType
from typing import Self

from edge.bus import parse_url
from simulators.services import free_port

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost"})
"""Broker host names a TLS client can keep while it connects to the relay on 127.0.0.1."""

_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on with a zero timeout: closing the socket sends RST instead of FIN."""


class Relay:
    """Forward connections from a free 127.0.0.1 port to a broker, until `cut()`.

    `url` is where clients connect instead of the broker; `port` the relay's own port.
    """

    def __init__(self, broker_url: str) -> None:
        endpoint = parse_url(broker_url)
        if endpoint.tls and endpoint.host not in LOOPBACK_NAMES:
            raise ValueError(
                f"cannot relay {broker_url}: a TLS client would verify {endpoint.host!r} "
                "on 127.0.0.1; only a broker named 127.0.0.1 or localhost can be relayed"
            )
        self.target = (endpoint.host, endpoint.port)
        self.port = free_port()
        host = endpoint.host if endpoint.tls else "127.0.0.1"
        self.url = f"{'mqtts' if endpoint.tls else 'mqtt'}://{host}:{self.port}"
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._brokers: set[asyncio.StreamWriter] = set()
        self._forwarding: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        """Accept and forward connections."""
        if self._server is None:
            self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    def cut(self) -> None:
        """Stop accepting and drop every forwarded connection (the broker's side with RST)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in self._brokers:
            _reset(writer)
        for writer in self._clients:
            writer.transport.abort()
        self._brokers.clear()
        self._clients.clear()

    async def close(self) -> None:
        """Cut, and wait until every forwarding task has ended."""
        self.cut()
        if self._forwarding:
            await asyncio.wait(self._forwarding)

    async def __aenter__(self) -> Self:
        await self.up()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._forwarding.add(task)
        self._clients.add(writer)
        up_writer = None
        try:
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:  # the broker is down: so is this connection
                writer.transport.abort()
                return
            if writer.transport.is_closing():  # cut while connecting
                _reset(up_writer)
                return
            self._brokers.add(up_writer)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._clients.discard(writer)
            if up_writer is not None:
                self._brokers.discard(up_writer)
            self._forwarding.discard(task)


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until `src` ends, then close `dst` (FIN: a client's own goodbye passes through)."""
    with contextlib.suppress(OSError):
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    dst.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close at once with RST, dropping anything not yet sent."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    writer.transport.abort()
