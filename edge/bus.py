"""The agent's MQTT connection to the hub; with `edge.bridges.local_bus`, all `edge` MQTT code.

One `Bus` keeps one connection alive forever (capped, jittered exponential backoff), sets the
retained `offline` Status as last will, publishes `online` on every connect, subscribes the
device's `cmd` topic at QoS 1 and hands each command payload to a callback.

Errors::

    Exception
     +-- BusError            a publish did not get its PUBACK (not connected, connection lost)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiomqtt

from protocol.device_config import BrokerConfig

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0

NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
"""Socket options for the broker connection: Nagle off (see `Bus._client`)."""


class BusError(Exception):
    """A message could not be handed to the broker (no connection, or it was lost)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to connect, parsed from `broker.url`."""

    host: str
    port: int
    tls: bool


def parse_url(url: str) -> Endpoint:
    """Split an mqtt:// or mqtts:// URL into host, port and TLS flag."""
    parts = urlsplit(url)
    tls = parts.scheme == "mqtts"
    return Endpoint(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


def backoff_delays(first: float = BACKOFF_FIRST_S, cap: float = BACKOFF_CAP_S) -> list[float]:
    """Return the un-jittered delay ceilings: first, 2x, 4x, ... up to cap (then cap forever)."""
    out = [first]
    while out[-1] < cap:
        out.append(min(cap, out[-1] * 2))
    return out


def jittered(ceiling: float) -> float:
    """Return a delay in [ceiling/2, ceiling] so that many agents do not reconnect in step."""
    return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(slots=True)
class _Session:
    client: aiomqtt.Client
    lost: asyncio.Future[None]


class Bus:
    """A self-healing MQTT connection for one device."""

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        client_id: str,
        password: str | None,
        cmd_topic: str,
        status_topic: str,
        status_payload: Callable[[bool], bytes],
        on_command: Callable[[bytes], Awaitable[None]],
        backoff: tuple[float, float] = (BACKOFF_FIRST_S, BACKOFF_CAP_S),
    ) -> None:
        self.broker = broker
        self.endpoint = parse_url(broker.url)
        self.client_id = client_id
        self._password = password
        self._cmd_topic = cmd_topic
        self._status_topic = status_topic
        self._status_payload = status_payload
        self._on_command = on_command
        self._backoff = backoff
        self._session: _Session | None = None
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._aborted = False
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Return True while a connection to the broker is up."""
        return self._session is not None

    async def wait_connected(self) -> None:
        """Wait until the broker connection is up."""
        await self._up.wait()

    async def wait_disconnected(self) -> None:
        """Wait until there is no broker connection."""
        await self._down.wait()

    def _client(self) -> aiomqtt.Client:
        tls = None
        if self.endpoint.tls:
            tls = aiomqtt.TLSParameters(ca_certs=self.broker.ca_file)
        client = aiomqtt.Client(
            self.endpoint.host,
            self.endpoint.port,
            username=self.broker.username,
            password=self._password,
            identifier=self.client_id,
            keepalive=self.broker.keepalive_s,
            will=aiomqtt.Will(self._status_topic, self._status_payload(False), qos=1, retain=True),
            tls_params=tls,
            max_inflight_messages=self.broker.max_inflight,
            timeout=10,
            # Neither paho nor aiomqtt disables Nagle: a small publish would wait for the
            # broker's delayed ACK (~40 ms on Linux) before it leaves, delaying every PUBACK.
            socket_options=NO_DELAY,
        )
        # aiomqtt warns past 10 pending calls; we cap in-flight publishes ourselves.
        client.pending_calls_threshold = self.broker.max_inflight + 10
        return client

    async def run(self) -> None:
        """Keep the connection up until cancelled or aborted, reconnecting with backoff."""
        ceilings = backoff_delays(*self._backoff)
        failures = 0
        while not self._aborted:
            try:
                async with self._client() as client:
                    failures = 0
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                if self._aborted:
                    return
                level = logging.WARNING if failures == 0 else logging.INFO
                log.log(level, "broker %s unreachable or lost: %s", self.broker.url, exc)
            delay = jittered(ceilings[min(failures, len(ceilings) - 1)])
            failures += 1
            await asyncio.sleep(delay)

    async def _serve(self, client: aiomqtt.Client) -> None:
        session = _Session(client, asyncio.get_running_loop().create_future())
        await client.subscribe(self._cmd_topic, qos=1)
        self._session = session
        self.connects += 1
        self._up.set()
        self._down.clear()
        log.info("connected to %s as %s", self.broker.url, self.client_id)
        try:
            await self.publish(self._status_topic, self._status_payload(True), qos=1, retain=True)
            async for message in client.messages:
                payload = message.payload
                raw = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                await self._on_command(raw)
        except BusError as exc:
            raise aiomqtt.MqttError(str(exc)) from exc
        finally:
            self._session = None
            self._up.clear()
            self._down.set()
            if not session.lost.done():
                session.lost.set_result(None)

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> None:
        """Publish and return once the broker has it (PUBACK for QoS 1); raise BusError if not."""
        session = self._session
        if session is None:
            raise BusError("not connected")
        sending = asyncio.create_task(
            session.client.publish(topic, payload, qos=qos, retain=retain), name=f"publish:{topic}"
        )
        try:
            await asyncio.wait({sending, session.lost}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            sending.cancel()
            raise
        if not sending.done():
            sending.cancel()
            raise BusError("connection lost before PUBACK")
        if sending.cancelled():
            raise BusError("publish cancelled")
        exc = sending.exception()
        if exc is not None:
            raise BusError(f"publish failed: {exc}") from exc

    async def close(self, final_status: bytes | None, *, within: float) -> None:
        """Publish `final_status` (retained) if connected, within `within` seconds."""
        if final_status is None or self._session is None:
            return
        try:
            async with asyncio.timeout(within):
                await self.publish(self._status_topic, final_status, qos=1, retain=True)
        except (BusError, TimeoutError) as exc:
            log.warning("could not publish the offline status: %s", exc)

    def abort(self) -> None:
        """Drop the connection without DISCONNECT, as a power cut would (the will fires)."""
        self._aborted = True
        session = self._session
        if session is None:
            return
        sock = session.client._client.socket()  # no public socket handle in aiomqtt
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
