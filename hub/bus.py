"""The hub's MQTT connections: the only hub module that imports aiomqtt or paho.

The alarm lane's connection. Telemetry has its own, in `hub.telemetry`, because alarms must
never wait behind telemetry (docs/architecture.md, "Lanes"):

* the **alarm path** (`<user>-events`, persistent session, QoS 1): events, status
  and worker replies in; alerts and device commands out. Its PUBACKs are sent by hand, only after
  the engine committed the message (`Received.ack`), so a hub that dies between receipt and
  commit gets the message again from the broker when it comes back. `run_batches` hands the
  handler every message already waiting (up to a bound, never waiting for more), so the hub
  can commit them in one transaction (group commit).

`<user>` is the hub's broker user (`watchpost-hub-<name>` when the broker is anonymous). Each
lane logs in as its own broker user, `<user>-events` here and `<user>-telemetry` in
`hub.telemetry`, with the hub's one password, and uses that user name as its client id: a
broker configured with `use_username_as_clientid true` (what `watchpost config broker` writes)
then lets nobody else take over the hub's persistent session. `mqtts://` connects with TLS,
verified against `ca_file` (or the system CAs).

Several hubs (`share_group`): every filter is subscribed as `$share/<group>/…`, so the group
splits the traffic; the persistent session keeps the hub's share while it is down
(docs/deployment.md), and the plain filters are unsubscribed so a joining hub never gets a
message twice.

The alarm path reconnects with capped, jittered backoff. Exception tree::

    RuntimeError
     +-- BusError       publishing failed or the alarm path is not connected
    Exception
     +-- Redeliver      a handler could not commit a message: reconnect, let the broker resend
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Literal
from urllib.parse import urlsplit

import aiomqtt
import paho.mqtt.client as paho_mqtt

from hub.lanes import Lanes
from protocol.backoff import Backoff
from protocol.topics import device_filter, shared, worker_filter

log = logging.getLogger(__name__)

Path = Literal["alarm"]


class BusError(RuntimeError):
    """A publish did not reach the broker, or the alarm path is not connected."""


class Redeliver(Exception):  # noqa: N818 - it is a request, not an error
    """Raised by a handler to drop the connection so the broker redelivers un-acked messages."""


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where and as whom to connect; `username` is the hub's user, each path appends its own."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: FilePath | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        username: str | None = None,
        password: str | None = None,
        ca_file: FilePath | None = None,
    ) -> BrokerAddress:
        """Parse `mqtt(s)://host:port` (credentials come separately, never in the URL)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL {url!r} must look like mqtt://host:port or mqtts://…")
        tls = parts.scheme == "mqtts"
        port = parts.port or (8883 if tls else 1883)
        return cls(parts.hostname, port, username, password, tls, ca_file)


@dataclass(slots=True)
class Received:
    """One message from the broker; call `ack()` once it has been durably handled."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    received_mono: float
    _ack: Callable[[], None] = field(repr=False)
    acked: bool = False

    def ack(self) -> None:
        """Send the PUBACK for this message (at most once; no-op for QoS 0)."""
        if not self.acked:
            self.acked = True
            self._ack()


Handler = Callable[[Received], Awaitable[None]]
BatchHandler = Callable[[Sequence[Received]], Awaitable[None]]


class Bus:
    """The alarm path of one hub; `run_*` coroutines are long-lived TaskGroup tasks."""

    def __init__(
        self,
        address: BrokerAddress,
        name: str,
        *,
        site: str | None = None,
        backoff_max_s: float = 5.0,
        will: tuple[str, bytes] | None = None,
        share_group: str | None = None,
    ) -> None:
        self.address = address
        self.share_group = share_group
        self.name = name
        self.site = site
        self.will = will
        """(topic, payload) the broker publishes, retained, when the alarm path dies."""
        self.backoff_max_s = backoff_max_s
        self._alarm_client: aiomqtt.Client | None = None
        self._alarm_up = asyncio.Event()
        self.connected: dict[Path, bool] = {"alarm": False}
        self.reconnects: dict[Path, int] = {"alarm": 0}
        self._lanes_of: dict[aiomqtt.Client, Lanes[Received]] = {}

    @property
    def alarm_client_id(self) -> str:
        """Return the persistent client id (and broker user) of the alarm path."""
        return self.client_id("alarm")

    def client_id(self, path: Path) -> str:
        """Return the client id of `path`; with credentials it is also the path's broker user."""
        base = self.address.username or f"watchpost-hub-{self.name}"
        return f"{base}-events"

    def _client(self, path: Path) -> aiomqtt.Client:
        persistent = path == "alarm"
        # ca_file None = the system CAs; a missing CA file fails the connect (MqttError), which
        # is retried like an unreachable broker.
        ca = None if self.address.ca_file is None else str(self.address.ca_file)
        client = aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=None if self.address.username is None else self.client_id(path),
            password=self.address.password,
            identifier=self.client_id(path),
            tls_params=aiomqtt.TLSParameters(ca_certs=ca) if self.address.tls else None,
            clean_session=False,
            keepalive=15,
            will=aiomqtt.Will(self.will[0], self.will[1], qos=1, retain=True)
            if persistent and self.will is not None
            else None,
            # Alarms are never shed here: the broker's max_inflight_messages bounds what it
            # sends us without PUBACKs.
            max_queued_incoming_messages=0,
            # Neither paho nor aiomqtt disables Nagle: small PUBACKs and alerts would wait for
            # the peer's delayed ACK (~40 ms on Linux) on every message.
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )
        if persistent:
            # aiomqtt 2.5 has no manual-ack API; its paho 2.x client does. With manual ack on,
            # paho sends no PUBACK until `ack(mid, qos)`: we call it only after the engine
            # committed the message (see Received.ack). Must be set before connecting.
            client._client.manual_ack_set(True)
        return client

    def _filters(self) -> list[str]:
        return [
            device_filter(self.site, "event"),
            device_filter(self.site, "status"),
            worker_filter(self.site, "reply"),
        ]

    def _subscriptions(self, path: Path) -> list[tuple[str, int]]:
        return [(shared(self.share_group, f), 1) for f in self._filters()]

    def _stale_filters(self) -> list[str]:
        """Return the other form of our filters: the persistent session may still hold them.

        A hub that joins a share group (or leaves it) would otherwise keep its old
        subscription in the broker's session and get each message twice.
        """
        if self.share_group is None:
            return []  # the old group's name is not known; docs/deployment.md says what to do
        return self._filters()

    async def run(self, path: Path, handler: Handler) -> None:
        """Keep `path` connected and feed every message to `handler`, reconnecting forever."""

        async def one_by_one(batch: Sequence[Received]) -> None:
            for received in batch:
                await handler(received)

        await self.run_batches(path, one_by_one, max_batch=1)

    async def run_batches(
        self, path: Path, handler: BatchHandler, *, max_batch: int, lanes: bool = False
    ) -> None:
        """Like `run`, but hand over every message already waiting, up to `max_batch` at once.

        `lanes`: a reader task sorts every message into an urgent and a normal lane as it
        arrives (`hub.lanes`); the handler gets the urgent lane first, the normal lane in
        small chunks.
        """
        backoff = Backoff(first=0.4, cap=self.backoff_max_s)
        while True:
            connects = self.reconnects[path]
            try:
                await self._session(path, handler, max_batch, lanes)
            except (aiomqtt.MqttError, Redeliver) as exc:
                if self.reconnects[path] != connects:
                    backoff.reset()  # it was connected: start again from the first delay
                delay = backoff.next_delay()
                log.warning("mqtt %s path lost (%s); reconnecting in %.1f s", path, exc, delay)
                await asyncio.sleep(delay)
            finally:
                self.connected[path] = False
                if path == "alarm":
                    self._alarm_up.clear()
                    self._alarm_client = None

    async def _session(
        self, path: Path, handler: BatchHandler, max_batch: int, lanes: bool = False
    ) -> None:
        client = self._client(path)
        async with client:
            self.connected[path] = True
            self.reconnects[path] += 1
            stale = self._stale_filters()
            if stale:
                await client.unsubscribe(stale)
            for topic, qos in self._subscriptions(path):
                await client.subscribe(topic, qos)
            if path == "alarm":
                self._alarm_client = client
                self._alarm_up.set()
            log.info("mqtt %s path connected to %s:%d", path, self.address.host, self.address.port)
            messages = client.messages
            if lanes:
                await self._lanes(client, handler, max_batch)
                return
            while True:
                # Wait for one message, then take only what is already queued: a lone message
                # is handled at once, a backlog (a replay after an outage) in batches.
                batch = [await anext(messages)]
                while len(batch) < max_batch and len(messages) > 0:
                    batch.append(await anext(messages))
                await handler([_received(client, m) for m in batch])

    async def _lanes(self, client: aiomqtt.Client, handler: BatchHandler, max_batch: int) -> None:
        """Read into lanes in a task; hand the handler the urgent lane first (hub.lanes)."""
        lanes: Lanes[Received] = Lanes(max_urgent=max_batch)
        self._lanes_of[client] = lanes

        async def read() -> None:
            async for message in client.messages:
                lanes.put(_received(client, message))
            raise aiomqtt.MqttError("the message stream ended")

        reader = asyncio.create_task(read(), name="bus-alarm-reader")
        try:
            while True:
                taking = asyncio.ensure_future(lanes.take())
                await asyncio.wait({taking, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not taking.done():
                    taking.cancel()
                    reader.result()  # raises the reader's error (connection lost)
                await handler(taking.result())
        finally:
            self._lanes_of.pop(client, None)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reader

    def backlog(self) -> int:
        """Return how many alarm-path messages were received but not yet handed to the handler."""
        client = self._alarm_client
        if client is None:
            return 0
        lanes = self._lanes_of.get(client)
        return len(client.messages) + (0 if lanes is None else len(lanes))

    async def wait_alarm_path(self) -> None:
        """Wait until the alarm path is connected and subscribed."""
        await self._alarm_up.wait()

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, wait_s: float = 5.0, retain: bool = False
    ) -> None:
        """Publish on the alarm path, waiting up to `wait_s` for it to be connected."""
        try:
            async with asyncio.timeout(wait_s):
                await self._alarm_up.wait()
        except TimeoutError as exc:
            raise BusError("alarm path not connected") from exc
        client = self._alarm_client
        if client is None:
            raise BusError("alarm path not connected")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=wait_s)
        except aiomqtt.MqttError as exc:
            raise BusError(f"publish to {topic} failed: {exc}") from exc


def _received(client: aiomqtt.Client, message: aiomqtt.Message) -> Received:
    """Wrap an aiomqtt message with the PUBACK to send once it has been handled."""
    mid, qos = message.mid, message.qos
    return Received(
        topic=str(message.topic),
        payload=bytes(message.payload)
        if isinstance(message.payload, bytes | bytearray)
        else str(message.payload).encode(),
        qos=qos,
        retain=message.retain,
        received_mono=time.monotonic(),
        _ack=functools.partial(_send_ack, client._client, mid, qos),
    )


def _send_ack(paho: paho_mqtt.Client, mid: int, qos: int) -> None:
    """Send a PUBACK through paho's `ack` (if the connection is gone, the broker redelivers)."""
    if qos == 0:
        return
    rc = paho.ack(mid, qos)
    if rc != paho_mqtt.MQTT_ERR_SUCCESS:
        log.warning("PUBACK for mid %d not sent (rc=%s); the broker will redeliver", mid, rc)
