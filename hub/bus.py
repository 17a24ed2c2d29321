"""The hub's MQTT connections on the alarm path, the only hub module that imports an MQTT
client library (telemetry has its own connection, in `hub.telemetry`, because alarms must never
wait behind telemetry: docs/architecture.md, "Lanes").

The alarm path is two connections, each chosen by measurement (docs/hub.md, "The alarm path's
clients"):

* **in** (`<user>-events`, `hub.inbound`, MQTT 5, persistent session, QoS 1): events, status
  and worker replies. It asks the broker for a *Receive Maximum* of `RECEIVE_MAXIMUM` un-acked
  messages, so the broker hands over a whole backlog at once (its `max_inflight_messages` does
  not apply to an MQTT 5 client that says how many it can take) and the lanes (`hub.lanes`)
  sort all of it, life-safety first: an SOS behind 8,000 statuses is read within milliseconds
  and handled next. Its PUBACKs are sent only after the engine committed the message
  (`Received.ack`), so a hub that dies between receipt and commit gets the message again from
  the broker. `hub.inbound` is a small subscriber written for this path, chosen by measurement
  over gmqtt (docs/hub.md, "The alarm path's clients"). The connection's last will (the hub's
  retained `offline`) says the alarm path died.
* **out** (`<user>-out`, aiomqtt, clean session, QoS 1): alerts, device commands, the hub's
  heartbeat. `publish` returns only once the broker acknowledged (PUBACK), so the outbox marks
  a page delivered only when the broker has it.

`<user>` is the hub's broker user (`watchpost-hub-<name>` when the broker is anonymous). Each
connection logs in as its own broker user with the hub's one password and uses that user name
as its client id: a broker configured with `use_username_as_clientid true` (what `watchpost
config broker` writes) then lets nobody else take over the hub's persistent session.
`mqtts://` connects with TLS, verified against `ca_file` (or the system CAs).

Several hubs (`share_group`): every filter is subscribed as `$share/<group>/…`, so the group
splits the traffic; the persistent session keeps the hub's share while it is down
(docs/deployment.md), and the plain filters are unsubscribed so a joining hub never gets a
message twice.

Both connections reconnect with capped, jittered backoff (`protocol.backoff`). Exception tree::

    RuntimeError
     +-- BusError       publishing failed or the out connection is not connected
    Exception
     +-- Redeliver      a handler could not commit a message: reconnect, let the broker resend
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Literal
from urllib.parse import urlsplit

import aiomqtt

from hub import inbound
from hub.lanes import Lanes
from protocol.backoff import Backoff
from protocol.topics import device_filter, shared, worker_filter

log = logging.getLogger(__name__)

Path = Literal["alarm", "out"]
RECEIVE_MAXIMUM = 65_535
"""Most un-acked messages the broker may hand the in connection at once (MQTT 5 Receive
Maximum; 65,535 is the protocol's largest): a storm of tens of thousands of statuses and `test`
events plus the SOS behind them are all in the lanes, which take life-safety first. A held
message costs ~580 bytes (measured with tracemalloc: a status, its topic, its PUBACK), so a full
window is ~38 MB."""
SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps the in connection's session (and its queued messages) while the
hub is away. MQTT 5 ends a session at disconnect unless the client asks for an expiry."""
KEEPALIVE_S = 15
CONNECT_TIMEOUT_S = 10.0


class BusError(RuntimeError):
    """A publish did not reach the broker, or the out connection is not connected."""


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

    def ssl_context(self) -> ssl.SSLContext | None:
        """Return the TLS context (verified against `ca_file` or the system CAs), or None."""
        if not self.tls:
            return None
        # A missing CA file fails here (OSError): retried like an unreachable broker.
        ca = None if self.ca_file is None else str(self.ca_file)
        return ssl.create_default_context(cafile=ca)


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


class _Fifo:
    """Messages in arrival order, handed over up to `most` at once (no lanes)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.queue: deque[Received] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self.queue)

    def put(self, message: Received) -> None:
        self.queue.append(message)
        self._ready.set()

    async def take(self) -> list[Received]:
        while not self.queue:
            self._ready.clear()
            await self._ready.wait()
        return [self.queue.popleft() for _ in range(min(self.most, len(self.queue)))]


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
        receive_maximum: int = RECEIVE_MAXIMUM,
    ) -> None:
        self.address = address
        self.share_group = share_group
        self.name = name
        self.site = site
        self.will = will
        """(topic, payload) the broker publishes, retained, when the in connection dies."""
        self.backoff_max_s = backoff_max_s
        self.receive_maximum = receive_maximum
        self._out: aiomqtt.Client | None = None
        self._alarm_up = asyncio.Event()
        self._out_up = asyncio.Event()
        self._out_task: asyncio.Task[None] | None = None
        self.connected: dict[Path, bool] = {"alarm": False, "out": False}
        self.reconnects: dict[Path, int] = {"alarm": 0, "out": 0}
        self._queue: Lanes[Received] | _Fifo | None = None

    @property
    def alarm_client_id(self) -> str:
        """Return the persistent client id (and broker user) of the in connection."""
        return self.client_id("alarm")

    def client_id(self, path: Path) -> str:
        """Return the client id of `path`; with credentials it is also the path's broker user."""
        base = self.address.username or f"watchpost-hub-{self.name}"
        return f"{base}-events" if path == "alarm" else f"{base}-out"

    def _filters(self) -> list[str]:
        return [
            device_filter(self.site, "event"),
            device_filter(self.site, "status"),
            worker_filter(self.site, "reply"),
        ]

    def _stale_filters(self) -> list[str]:
        """Return the other form of our filters: the persistent session may still hold them.

        A hub that joins a share group (or leaves it) would otherwise keep its old
        subscription in the broker's session and get each message twice.
        """
        if self.share_group is None:
            return []  # the old group's name is not known; docs/deployment.md says what to do
        return self._filters()

    async def run(self, path: Path, handler: Handler) -> None:
        """Keep the alarm path connected and feed every message to `handler`, forever."""

        async def one_by_one(batch: Sequence[Received]) -> None:
            for received in batch:
                await handler(received)

        await self.run_batches(path, one_by_one, max_batch=1)

    async def run_batches(
        self, path: Path, handler: BatchHandler, *, max_batch: int, lanes: bool = False
    ) -> None:
        """Keep both connections up; hand `handler` every message waiting, up to `max_batch`.

        `lanes`: messages are sorted into an urgent and a normal lane as they arrive
        (`hub.lanes`); the handler gets the urgent lane first, the normal lane in small chunks.
        Without, it gets them in arrival order.
        """
        if path != "alarm":
            raise ValueError(f"only the alarm path takes messages, not {path!r}")
        self._out_task = asyncio.create_task(self._keep_out(), name="bus-out")
        backoff = Backoff(first=0.4, cap=self.backoff_max_s)
        try:
            while True:
                connects = self.reconnects["alarm"]
                try:
                    await self._session(handler, max_batch, lanes)
                except (OSError, Redeliver) as exc:
                    if self.reconnects["alarm"] != connects:
                        backoff.reset()  # it was connected: start again from the first delay
                    delay = backoff.next_delay()
                    log.warning("mqtt alarm path lost (%s); reconnecting in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
        finally:
            self._out_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._out_task

    async def _session(self, handler: BatchHandler, max_batch: int, lanes: bool) -> None:
        """One connection of the in path: read into the queue, hand batches to `handler`."""
        queue: Lanes[Received] | _Fifo = Lanes(max_urgent=max_batch) if lanes else _Fifo(max_batch)

        def sink(publishes: list[inbound.Publish], ack: Callable[[int], None]) -> None:
            now = time.monotonic()
            for p in publishes:
                done = functools.partial(ack, p.packet_id) if p.qos else _no_ack
                queue.put(Received(p.topic, p.payload, p.qos, p.retain, now, done))

        session = inbound.Session(self._endpoint(), sink, timeout_s=CONNECT_TIMEOUT_S)
        try:
            await session.open(
                [shared(self.share_group, f) for f in self._filters()], self._stale_filters()
            )
            self.connected["alarm"] = True
            self.reconnects["alarm"] += 1
            self._queue = queue
            self._alarm_up.set()
            log.info(
                "mqtt alarm path connected to %s:%d (receive maximum %d)",
                self.address.host,
                self.address.port,
                self.receive_maximum,
            )
            keepalive = asyncio.create_task(session.run(), name="bus-in-keepalive")
            try:
                while True:
                    taking = asyncio.ensure_future(queue.take())
                    await asyncio.wait({taking, keepalive}, return_when=asyncio.FIRST_COMPLETED)
                    if not taking.done():
                        taking.cancel()
                        keepalive.result()  # raises why the connection ended
                    await handler(taking.result())
            finally:
                keepalive.cancel()
        finally:
            self.connected["alarm"] = False
            self._alarm_up.clear()
            self._queue = None
            # What was not acked stays with the broker, which resends it on the next
            # connection; PUBACKs of this one are dropped once it is closed.
            session.close()

    def _endpoint(self) -> inbound.Endpoint:
        address = self.address
        return inbound.Endpoint(
            address.host,
            address.port,
            self.client_id("alarm"),
            None if address.username is None else self.client_id("alarm"),
            address.password,
            keepalive_s=KEEPALIVE_S,
            ssl_context=address.ssl_context(),
            session_expiry_s=SESSION_EXPIRY_S,
            receive_maximum=self.receive_maximum,
            will=None if self.will is None else inbound.Will(*self.will),
        )

    def _out_client(self) -> aiomqtt.Client:
        ca = None if self.address.ca_file is None else str(self.address.ca_file)
        return aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=None if self.address.username is None else self.client_id("out"),
            password=self.address.password,
            identifier=self.client_id("out"),
            tls_params=aiomqtt.TLSParameters(ca_certs=ca) if self.address.tls else None,
            clean_session=True,
            keepalive=KEEPALIVE_S,
            # Neither paho nor aiomqtt disables Nagle: small alerts would wait for the peer's
            # delayed ACK (~40 ms on Linux).
            socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        )

    async def _keep_out(self) -> None:
        """Keep the out connection up (it only publishes), reconnecting forever."""
        backoff = Backoff(first=0.4, cap=self.backoff_max_s)
        while True:
            connects = self.reconnects["out"]
            try:
                await self._out_session()
            except aiomqtt.MqttError as exc:
                if self.reconnects["out"] != connects:
                    backoff.reset()
                delay = backoff.next_delay()
                log.warning("mqtt out connection lost (%s); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
            finally:
                self.connected["out"] = False
                self._out_up.clear()
                self._out = None

    async def _out_session(self) -> None:
        """One connection of the out path; returns only by raising MqttError (lost)."""
        async with self._out_client() as client:
            self._out = client
            self.connected["out"] = True
            self.reconnects["out"] += 1
            self._out_up.set()
            # aiomqtt raises MqttError from the message stream when the connection is lost;
            # nothing is subscribed, so it yields nothing else.
            async for _ in client.messages:
                pass
        raise aiomqtt.MqttError("the out connection ended")

    def backlog(self) -> int:
        """Return how many alarm-path messages were received but not yet handed over."""
        queue = self._queue
        return 0 if queue is None else len(queue)

    async def wait_alarm_path(self) -> None:
        """Wait until the alarm path is connected and subscribed, and can publish."""
        await self._alarm_up.wait()
        await self._out_up.wait()

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, wait_s: float = 5.0, retain: bool = False
    ) -> None:
        """Publish on the out connection, waiting up to `wait_s` for it (and for the PUBACK)."""
        try:
            async with asyncio.timeout(wait_s):
                await self._out_up.wait()
        except TimeoutError as exc:
            raise BusError("out connection not connected") from exc
        client = self._out
        if client is None:
            raise BusError("out connection not connected")
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=wait_s)
        except aiomqtt.MqttError as exc:
            raise BusError(f"publish to {topic} failed: {exc}") from exc


def _no_ack() -> None:
    return None
