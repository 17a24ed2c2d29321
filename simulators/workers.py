"""Virtual workers: grid workers' phones that receive alerts over MQTT and answer them.

Each `VirtualWorker` connects with a persistent session (client id = worker id = its broker user
when it has a password) so alerts sent while it is offline are delivered when it comes back
(reconnecting with the shared backoff, `protocol.backoff`), records when every alert arrived (for
latency figures) and replies ack → arrived → resolve after the configured delays; one with
`respond=False` never answers, to exercise escalation. `WorkerPool` runs many in one TaskGroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import aiomqtt

from protocol.backoff import Backoff
from protocol.codec import decode, encode
from protocol.errors import ProtocolError
from protocol.messages import Outcome, ReplyAction, WorkerAlert, WorkerReply, utcnow
from protocol.topics import worker_topic

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    """One alert as the worker's phone saw it."""

    alert: WorkerAlert
    received_at: datetime
    received_mono: float

    @property
    def latency_s(self) -> float:
        """Return seconds from the alarm being raised to this alert arriving (wall clocks)."""
        return (self.received_at - self.alert.raised_at).total_seconds()


@dataclass
class VirtualWorker:
    """A worker's app: persistent MQTT session, alert inbox, scripted replies."""

    broker_url: str
    site: str
    worker_id: str
    ack_after_s: float = 1.0
    arrive_after_s: float = 2.0
    resolve_after_s: float = 2.0
    outcome: Outcome = "handled"
    respond: bool = True
    ca_file: str | None = None
    """CA certificate for an `mqtts://` broker (None: the system CAs)."""
    password: str | None = None
    """Broker password of the user `worker_id` (None: connect anonymously)."""
    inbox: list[ReceivedAlert] = field(default_factory=list)
    replies: list[WorkerReply] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _answered: set[str] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for_alert(self, within_s: float = 10.0) -> ReceivedAlert:
        """Wait until the inbox holds an alert and return the newest one."""
        async with asyncio.timeout(within_s):
            while not self.inbox:
                self._arrived.clear()
                await self._arrived.wait()
        return self.inbox[-1]

    async def run(self) -> None:
        """Stay connected (reconnecting with backoff), receive alerts and answer them."""
        parts = urlsplit(self.broker_url)
        tls = aiomqtt.TLSParameters(ca_certs=self.ca_file) if parts.scheme == "mqtts" else None
        backoff = Backoff(first=0.2, cap=5.0)
        while True:
            try:
                async with aiomqtt.Client(
                    parts.hostname or "127.0.0.1",
                    parts.port or (8883 if tls else 1883),
                    username=None if self.password is None else self.worker_id,
                    password=self.password,
                    identifier=self.worker_id,
                    tls_params=tls,
                    clean_session=False,
                    keepalive=15,
                    # Nagle + delayed ACK would add ~40 ms to every reply.
                    socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
                ) as client:
                    await client.subscribe(worker_topic(self.site, self.worker_id, "alert"), 1)
                    self.connected.set()
                    backoff.reset()
                    await self._session(client)
            except* aiomqtt.MqttError as group:
                self.connected.clear()
                log.info("worker %s disconnected (%s); retry", self.worker_id, group.exceptions[0])
            await asyncio.sleep(backoff.next_delay())

    async def _session(self, client: aiomqtt.Client) -> None:
        async with asyncio.TaskGroup() as tg:
            async for message in client.messages:
                payload = message.payload
                if not isinstance(payload, bytes | bytearray):
                    continue
                try:
                    alert = decode("alert", bytes(payload))
                except ProtocolError as exc:
                    log.warning("worker %s: bad alert dropped: %s", self.worker_id, exc)
                    continue
                assert isinstance(alert, WorkerAlert)
                self.inbox.append(ReceivedAlert(alert, utcnow(), time.monotonic()))
                self._arrived.set()
                # Only a page asks for an answer; acknowledged/resolved/... are news.
                page = alert.state in ("raised", "notified")
                if self.respond and page and alert.alarm not in self._answered:
                    self._answered.add(alert.alarm)
                    tg.create_task(self._answer(client, alert.alarm), name=f"answer-{alert.alarm}")

    async def _answer(self, client: aiomqtt.Client, alarm: str) -> None:
        """Reply ack, then arrived, then resolve, each after its delay."""
        steps: list[tuple[float, ReplyAction]] = [
            (self.ack_after_s, "ack"),
            (self.arrive_after_s, "arrived"),
            (self.resolve_after_s, "resolve"),
        ]
        for delay, action in steps:
            await asyncio.sleep(delay)
            await self.reply(client, alarm, action)

    async def reply(self, client: aiomqtt.Client, alarm: str, action: ReplyAction) -> None:
        """Publish one reply (QoS 1) on this worker's reply topic."""
        reply = WorkerReply(
            alarm=alarm,
            action=action,
            ts=utcnow(),
            outcome=self.outcome if action == "resolve" else None,
        )
        await client.publish(worker_topic(self.site, self.worker_id, "reply"), encode(reply), qos=1)
        self.replies.append(reply)


@dataclass
class WorkerPool:
    """Many virtual workers in one TaskGroup."""

    workers: list[VirtualWorker]

    @classmethod
    def build(
        cls, broker_url: str, site: str, worker_ids: Iterable[str], **behaviour: object
    ) -> WorkerPool:
        """Create one worker per id with the same behaviour (delays, outcome, respond)."""
        return cls(
            [VirtualWorker(broker_url, site, w, **behaviour) for w in worker_ids]  # type: ignore[arg-type]
        )

    def __getitem__(self, worker_id: str) -> VirtualWorker:
        """Return the worker with this id."""
        for worker in self.workers:
            if worker.worker_id == worker_id:
                return worker
        raise KeyError(worker_id)

    async def run(self) -> None:
        """Run every worker until cancelled."""
        async with asyncio.TaskGroup() as tg:
            for worker in self.workers:
                tg.create_task(worker.run(), name=f"worker-{worker.worker_id}")

    @contextlib.asynccontextmanager
    async def running(self, within_s: float = 10.0) -> AsyncIterator[WorkerPool]:
        """Run every worker for the duration of the block, once all are subscribed."""
        task = asyncio.create_task(self.run(), name="worker-pool")
        try:
            await self.wait_connected(within_s)
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_connected(self, within_s: float = 10.0) -> None:
        """Wait until every worker has subscribed."""
        async with asyncio.timeout(within_s):
            for worker in self.workers:
                await worker.connected.wait()

    def latencies(self) -> list[float]:
        """Return raise-to-arrival seconds of every alert every worker received."""
        return [a.latency_s for w in self.workers for a in w.inbox]
