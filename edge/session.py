"""The edge process's MQTT sessions: the only `edge` module that imports aiomqtt.

Both connections of an edge agent use it: its own connection to the hub's broker (`edge.bus`)
and the bridges' connection to the local broker (`edge.bridges.local_bus`). `keep_connected`
builds a client from `Params` (URL, credentials, TLS verified against a CA file or the system
CAs, Nagle off), runs the caller's `serve(session)` while the connection is up, and reconnects
forever with the shared backoff (`protocol.backoff`). Exception tree::

    Exception
     +-- SessionError   the connection failed or was lost (aiomqtt's MqttError, mapped here)
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt

from protocol.backoff import Backoff

log = logging.getLogger(__name__)

NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""Socket options of every edge connection: Nagle off. Neither paho nor aiomqtt disables it, so
a small publish (or PUBACK) would wait for the peer's delayed ACK (~40 ms on Linux)."""


class SessionError(Exception):
    """The broker connection failed, or was lost while in use."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to connect, parsed from a broker URL."""

    host: str
    port: int
    tls: bool


def parse_url(url: str) -> Endpoint:
    """Split an mqtt:// or mqtts:// URL into host, port and TLS flag."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return Endpoint(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


@dataclass(frozen=True, slots=True)
class Params:
    """Everything one connection attempt needs."""

    url: str
    client_id: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    """CA certificate for mqtts:// (None: the system CAs)."""
    clean_session: bool = True
    keepalive: int = 30
    will: tuple[str, bytes] | None = None
    """(topic, payload) the broker publishes at QoS 1, retained, if the connection dies."""
    max_inflight: int = 20
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Incoming:
    """One message received."""

    topic: str
    payload: bytes
    retain: bool


class Session:
    """One live connection, valid inside `keep_connected`'s `serve` callback."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client

    async def subscribe(self, filters: list[tuple[str, int]]) -> None:
        """Subscribe to (filter, qos) pairs."""
        try:
            await self._client.subscribe(filters)
        except aiomqtt.MqttError as exc:
            raise SessionError(f"subscribe failed: {exc}") from exc

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> None:
        """Publish; return once the broker has it (PUBACK for QoS 1)."""
        try:
            await self._client.publish(topic, payload, qos=qos, retain=retain)
        except aiomqtt.MqttError as exc:
            raise SessionError(f"publish failed: {exc}") from exc

    async def messages(self) -> AsyncIterator[Incoming]:
        """Yield every message received, in order, until the connection is lost."""
        try:
            async for message in self._client.messages:
                payload = message.payload
                raw = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                yield Incoming(message.topic.value, raw, message.retain)
        except aiomqtt.MqttError as exc:
            raise SessionError(str(exc)) from exc


def _client(params: Params) -> aiomqtt.Client:
    endpoint = parse_url(params.url)
    # ca_file None = the system CAs. A CA file that is missing or unreadable fails in the
    # connect attempt (as MqttError), so it is retried like an unreachable broker.
    tls = aiomqtt.TLSParameters(ca_certs=params.ca_file) if endpoint.tls else None
    will = None
    if params.will is not None:
        will = aiomqtt.Will(params.will[0], params.will[1], qos=1, retain=True)
    client = aiomqtt.Client(
        endpoint.host,
        endpoint.port,
        username=params.username,
        password=params.password,
        identifier=params.client_id,
        clean_session=params.clean_session,
        keepalive=params.keepalive,
        will=will,
        tls_params=tls,
        max_inflight_messages=params.max_inflight,
        timeout=params.timeout_s,
        socket_options=NO_DELAY,
    )
    # aiomqtt warns past 10 pending calls; callers cap their in-flight publishes themselves.
    client.pending_calls_threshold = params.max_inflight + 10
    return client


Serve = Callable[[Session], Awaitable[None]]
OnLost = Callable[[Exception, int, float], None]
"""Told (error, failures so far before this one, delay before the next attempt)."""


async def keep_connected(
    params: Callable[[], Params],
    serve: Serve,
    backoff: Backoff,
    on_lost: OnLost,
    *,
    stopped: Callable[[], bool] = lambda: False,
) -> None:
    """Connect, `serve`, and reconnect with `backoff` until cancelled or `stopped()`.

    `params()` is called for every attempt (a password file read then may fail with OSError,
    which is retried like an unreachable broker); `serve` runs while the connection is up.
    """
    while not stopped():
        failures = backoff.attempt
        try:
            async with _client(params()) as client:
                backoff.reset()
                failures = 0
                await serve(Session(client))
        except (aiomqtt.MqttError, SessionError, OSError) as exc:
            if stopped():
                return
            delay = backoff.next_delay()
            on_lost(exc, failures, delay)
        else:
            delay = backoff.next_delay()
        await asyncio.sleep(delay)
