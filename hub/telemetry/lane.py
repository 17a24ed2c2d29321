"""The telemetry lane: QoS 0 telemetry (and the broker's `$SYS` counters) → InfluxDB points.

Its own MQTT connection (`watchpost-hub-<name>-telemetry`, clean session), so telemetry never
shares a socket, a queue or a lock with alarms (docs/architecture.md, "Lanes"). Two named
tasks: `telemetry-wire` reads the socket and reconnects with capped, jittered backoff;
`telemetry-drain` turns queued messages into line-protocol points, `step` at a time, and
submits them to the InfluxDB writer in one call per step.

Overload: the queue holds at most `capacity` messages (as the framer's chunks, not one entry
per message). What arrives while it is full is shed
by the framer before it is parsed, and counted (`watchpost_telemetry_shed_total`, and
`telemetry_shed_total` in the `hub_stats` measurement). While the InfluxDB writer holds more
than `max_writer_backlog` points the drain waits (counted in
`watchpost_telemetry_writer_wait_seconds_total`), so the queue fills and the lane sheds instead
of piling telemetry on top of the alarm points in the writer. Nothing is logged per message: one
summary line a minute at most, and only when something was shed or rejected.

Every telemetry message received is, exactly once: shed, rejected (per reason, in
`watchpost_ingest_rejected_total`), or submitted as a point (`watchpost_telemetry_points_total`),
which the writer then writes, spills or counts as dropped. Messages still queued at shutdown
are counted as shed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.metrics import HubMetrics
from hub.telemetry.points import GridOf, Points
from hub.telemetry.wire import Endpoint, Frames, Publish, WireError, subscribe
from protocol.backoff import Backoff
from protocol.topics import device_filter, shared

log = logging.getLogger(__name__)

SYS_TOPICS = (
    "$SYS/broker/publish/messages/dropped",
    "$SYS/broker/store/messages/count",
    "$SYS/broker/clients/connected",
)
"""Broker counters the hub watches (names as published by Mosquitto 2.0.11)."""

SUMMARY_EVERY_S = 60.0

OnSys = Callable[[str, bytes], Awaitable[None]]


class Writer(Protocol):
    """The InfluxDB writer, as the lane uses it."""

    def submit(self, lines: Sequence[str]) -> None:
        """Queue points; never blocks, never raises."""
        ...

    def stats(self) -> Mapping[str, int | str]:
        """Return the writer's counters, `buffer_size` among them."""
        ...


class TelemetryLane:
    """One MQTT connection for telemetry, a bounded queue, and the drain into InfluxDB."""

    def __init__(
        self,
        endpoint: Endpoint,
        writer: Writer,
        metrics: HubMetrics,
        grid_of: GridOf,
        on_sys: OnSys,
        *,
        site: str | None = None,
        share_group: str | None = None,
        capacity: int = 20_000,
        step: int = 500,
        max_writer_backlog: int = 50_000,
        backoff_max_s: float = 5.0,
    ) -> None:
        self.endpoint = endpoint
        self.writer = writer
        self.metrics = metrics
        self.points = Points(grid_of)
        self.on_sys = on_sys
        # Several hubs split telemetry ($share); every hub still watches the broker's counters.
        self.filters = [shared(share_group, device_filter(site, "telemetry")), *SYS_TOPICS]
        self.capacity = capacity
        self.step = step
        self.max_writer_backlog = max_writer_backlog
        self.backoff_max_s = backoff_max_s
        self.connected = False
        self.reconnects = 0
        self.received = self.shed = self.submitted = 0
        self.writer_wait_s = 0.0  # time the drain held off because InfluxDB was behind
        self.rejected: Counter[str] = Counter()
        self._queue: deque[list[Publish]] = deque()  # the framer's chunks, oldest first
        self._queued = 0  # messages in them
        self._wake = asyncio.Event()
        self._summary = (time.monotonic(), 0, 0)
        metrics.registry.register(_LaneCollector(self))

    async def run(self) -> None:
        """Keep the connection up and drain the queue, until cancelled."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._connection(), name="telemetry-wire")
                tg.create_task(self._drain(), name="telemetry-drain")
        finally:
            self.shed += self._queued  # never processed: counted, not silently lost
            self._queue.clear()
            self._queued = 0

    def _room(self) -> int:
        return self.capacity - self._queued

    def _sink(self, frames: Frames) -> None:
        """Take what the framer kept; count what it shed (runs in the protocol callback)."""
        kept = frames.kept
        if kept:
            self._queue.append(kept)
            self._queued += len(kept)
        self.received += len(kept) + frames.shed + frames.oversize
        self.shed += frames.shed
        if frames.oversize:
            self._reject("too_large", frames.oversize)
        self._wake.set()

    def _connected(self) -> None:
        self.connected = True
        self.reconnects += 1
        log.info("telemetry lane connected to %s", self.endpoint.where)

    async def _connection(self) -> None:
        backoff = Backoff(first=0.4, cap=self.backoff_max_s)
        while True:
            started = time.monotonic()
            try:
                await subscribe(
                    self.endpoint, self.filters, self._sink, self._room, connected=self._connected
                )
            except (OSError, WireError, TimeoutError) as exc:
                reason: object = exc
            else:
                reason = "closed"
            finally:
                self.connected = False
            if time.monotonic() - started > 30:
                backoff.reset()  # it was up a while: start again from the first delay
            delay = backoff.next_delay()
            log.warning("telemetry lane lost (%s); reconnecting in %.1f s", reason, delay)
            await asyncio.sleep(delay)

    def _writer_backlog(self) -> int:
        value = self.writer.stats().get("buffer_size", 0)
        return value if isinstance(value, int) else 0

    async def _drain(self) -> None:
        while True:
            if not self._queued:
                self._summarise()
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._writer_backlog() > self.max_writer_backlog:
                started = time.monotonic()
                await asyncio.sleep(0.05)  # InfluxDB is behind: let the queue fill and shed
                self.writer_wait_s += time.monotonic() - started
                continue
            await self._one_step(self._take(self.step))
            self._summarise()
            await asyncio.sleep(0)  # let the alarm lane and the API run between steps

    def _take(self, n: int) -> list[Publish]:
        """Return the oldest `n` queued messages (fewer if fewer wait), in order."""
        queue, taken = self._queue, list[Publish]()
        while queue and len(taken) < n:
            chunk = queue.popleft()
            want = n - len(taken)
            if len(chunk) > want:
                queue.appendleft(chunk[want:])
                chunk = chunk[:want]
            taken += chunk
        self._queued -= len(taken)
        return taken

    async def _one_step(self, messages: list[Publish]) -> None:
        """Turn queued messages into points, submitted to the writer in one call."""
        lines, rejected, sys_messages = self.points.lines(messages)
        if lines:
            self.writer.submit(lines)
            self.submitted += len(lines)
        for reason, count in rejected.items():
            self._reject(reason, count)
        self.metrics.messages.labels("telemetry").inc(len(messages) - len(sys_messages))
        self.received -= len(sys_messages)  # counted on arrival; `received` is telemetry only
        for topic, payload in sys_messages:
            await self.on_sys(topic.decode(errors="replace"), payload)

    def _reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] += n
        self.metrics.rejected.labels(reason).inc(n)

    def _summarise(self) -> None:
        """Log what was shed and rejected in the last minute, at most once a minute."""
        since, shed0, rejected0 = self._summary
        now = time.monotonic()
        if now - since < SUMMARY_EVERY_S:
            return
        rejected = self.rejected.total()
        self._summary = (now, self.shed, rejected)
        if self.shed > shed0 or rejected > rejected0:
            log.warning(
                "telemetry lane, last %.0f s: %d messages shed (queue full), %d rejected; "
                "totals: received %d, points %d, shed %d, rejected %s",
                now - since,
                self.shed - shed0,
                rejected - rejected0,
                self.received,
                self.submitted,
                self.shed,
                dict(self.rejected),
            )

    def stats(self) -> dict[str, int]:
        """Return the lane's counters (for /metrics, `hub_stats` and the bench)."""
        return {
            "received": self.received,
            "shed": self.shed,
            "points": self.submitted,
            "rejected": self.rejected.total(),
            "queue": self._queued,
            "connected": int(self.connected),
        }


class _LaneCollector(Collector):
    """Expose the lane's plain-int counters at scrape time (no per-message metric call)."""

    def __init__(self, lane: TelemetryLane) -> None:
        self.lane = lane

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """Yield the lane's counters and gauges."""
        lane = self.lane
        yield CounterMetricFamily(
            "watchpost_telemetry_shed",
            "Telemetry messages shed because the lane's queue was full (overload)",
            value=lane.shed,
        )
        yield CounterMetricFamily(
            "watchpost_telemetry_received",
            "Messages received on the telemetry lane (not the broker's $SYS counters)",
            value=lane.received,
        )
        yield CounterMetricFamily(
            "watchpost_telemetry_points",
            "Telemetry points handed to the InfluxDB writer",
            value=lane.submitted,
        )
        yield CounterMetricFamily(
            "watchpost_telemetry_writer_wait_seconds",
            "Time the lane held off because the InfluxDB writer was behind (it sheds meanwhile)",
            value=lane.writer_wait_s,
        )
        yield GaugeMetricFamily(
            "watchpost_telemetry_connected",
            "1 while the telemetry lane's MQTT connection is up",
            value=float(lane.connected),
        )
        yield GaugeMetricFamily(
            "watchpost_telemetry_queue_depth",
            "Telemetry messages waiting in the lane's queue",
            value=lane.stats()["queue"],
        )
