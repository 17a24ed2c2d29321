"""Ingest: every MQTT message is parsed, validated, checked against the registry, handed to the
alarm engine and only then acknowledged; its time series go to InfluxDB.

A message that does not follow the contract is logged (warning), counted per reason in
`watchpost_ingest_rejected_total{reason}`, acknowledged (so the broker does not resend it for
ever) and dropped; the hub keeps going. A message the *engine* fails on is not acknowledged: the
alarm path reconnects and the broker redelivers it.

Group commit: the alarm path hands over every message already waiting (`on_alarm_batch`).
Consecutive events go to the engine in ONE transaction and are acknowledged after it committed;
a status or reply first flushes the events before it. If that transaction fails, each event
gets its own; one that fails again is left un-acked, and so is every later message from the
same sender (its order is kept), while the other senders' messages go through.

The broker's `$SYS` drop counter: every increase becomes `engine.on_system("broker_drops")`, a
`trouble` alarm for every site served, paged to the duty officer. If the engine fails, the
drops are kept and reported again with the next `$SYS` message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hub.alarms.actions import Action, Outcome
from hub.alarms.service import AlarmService
from hub.bus import Received, Redeliver
from hub.influx import event_line, status_line, telemetry_line
from hub.metrics import HubMetrics
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import Event, Status, Telemetry, WorkerReply, utcnow
from protocol.topics import Topic, parse_topic

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[Action]], Awaitable[None]]
Sender = tuple[str, str, str]
"""(site, role, ident) of a topic: the device or worker that published it."""
MAX_BATCH = 200
"""Most alarm-path messages handled at once (only what is already queued; never waited for)."""


class Directory(Protocol):
    """The registry facts ingest needs: is a device known, and in which grid is it."""

    async def device_grid(self, site: str, device: str) -> str | None:
        """Return the device's grid ('' if it has none), or None if the device is unknown."""
        ...


class TimeSeries(Protocol):
    """Where points go (the InfluxWriter)."""

    def submit(self, lines: Sequence[str]) -> None:
        """Queue points; never blocks, never raises."""
        ...


@dataclass(frozen=True, slots=True)
class _Decoded:
    msg: Received
    topic: Topic
    payload: object
    grid: str

    @property
    def sender(self) -> Sender:
        return (self.topic.site, self.topic.role, self.topic.ident)


@dataclass(slots=True)
class _Batch:
    """One alarm-path batch: events waiting for the group commit, senders left un-acked."""

    events: list[_Decoded] = field(default_factory=list)
    held: set[Sender] = field(default_factory=set)


class Ingest:
    """Handlers for the alarm path and the telemetry path of `hub.bus.Bus`."""

    def __init__(
        self,
        engine: AlarmService,
        directory: Directory,
        series: TimeSeries,
        metrics: HubMetrics,
        submit: Submit,
        *,
        crash_before_commit: bool = False,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.series = series
        self.metrics = metrics
        self.submit = submit
        self.crash_before_commit = crash_before_commit
        self._drops_unreported = 0

    def _reject(self, reason: str, msg: Received, detail: object) -> None:
        self.metrics.rejected.labels(reason).inc()
        log.warning("dropped message on %s: %s", msg.topic[:200], detail)

    async def _decode(self, msg: Received) -> tuple[Topic, object, str] | None:
        """Parse topic and payload and look the device up; None when the message was rejected."""
        try:
            topic = parse_topic(msg.topic)
            self.metrics.messages.labels(topic.channel).inc()
            device = topic.ident if topic.role == "dev" else None
            payload = decode(topic.channel, msg.payload, device=device)
        except ProtocolError as exc:
            self._reject(exc.reason, msg, exc)
            return None
        grid = ""
        if topic.role == "dev":
            try:
                found = await self.directory.device_grid(topic.site, topic.ident)
            except Exception as exc:
                log.exception("device lookup failed for %s; leaving it un-acked", msg.topic)
                raise Redeliver(f"device lookup failed for {msg.topic}") from exc
            if found is None:
                self._reject("unknown_device", msg, f"device {topic.ident!r} is not registered")
                return None
            grid = found
        return topic, payload, grid

    async def on_alarm_path(self, msg: Received) -> None:
        """Handle an event, status or worker reply; PUBACK only after the engine committed."""
        await self.on_alarm_batch([msg])

    async def on_alarm_batch(self, msgs: Sequence[Received]) -> None:
        """Handle waiting alarm-path messages in order; events group-committed, then PUBACKed.

        Raises `Redeliver` at the end if any message was left un-acked for the broker to resend.
        """
        batch = _Batch()
        for msg in msgs:
            try:
                decoded = await self._decode(msg)
            except Redeliver:
                await self._flush(batch)
                raise
            if decoded is None:
                msg.ack()
                continue
            item = _Decoded(msg, *decoded)
            if item.sender in batch.held:
                continue  # an earlier message of this sender failed: both are redelivered
            if isinstance(item.payload, Event):
                self._crash_hook(item.payload)
                batch.events.append(item)
                continue
            await self._flush(batch)
            await self._one(batch, item)
        await self._flush(batch)
        if batch.held:
            raise Redeliver(f"engine failed on messages from {len(batch.held)} sender(s)")

    def _crash_hook(self, event: Event) -> None:
        if self.crash_before_commit:
            # TEST HOOK (settings.test_crash_before_commit, off by default): die like a power
            # cut between receipt and commit, to prove the broker redelivers un-acked events.
            log.warning("test hook: exiting before committing event %s", event.id)
            os._exit(1)

    async def _flush(self, batch: _Batch) -> None:
        """Commit the waiting events together, then ack them; one by one if that fails."""
        items, batch.events = batch.events, []
        if not items:
            return
        self.metrics.batch_size.observe(len(items))
        if len(items) > 1:
            pairs = [(i.topic.site, i.payload) for i in items if isinstance(i.payload, Event)]
            try:
                outcomes = await self.engine.on_events(pairs)
            except Exception as exc:  # noqa: BLE001 - any failure: retry each event on its own
                self.metrics.batch_fallbacks.inc()
                log.warning("group commit of %d events failed (%r); one by one", len(items), exc)
            else:
                for item in items:
                    item.msg.ack()
                for item, outcome in zip(items, outcomes, strict=True):
                    await self._done(item, outcome)
                return
        for item in items:
            await self._one(batch, item)

    async def _one(self, batch: _Batch, item: _Decoded) -> None:
        """Run one message in its own transaction; on failure hold its sender, leave it un-acked."""
        if item.sender in batch.held:
            return
        try:
            outcome = await self._engine(item.topic, item.payload)
        except Exception:
            self.metrics.engine_errors.inc()
            log.exception("engine failed on %s; leaving it un-acked for redelivery", item.msg.topic)
            batch.held.add(item.sender)
            return
        item.msg.ack()
        await self._done(item, outcome)

    async def _done(self, item: _Decoded, outcome: Outcome) -> None:
        """Count and write what was committed, then hand its actions to dispatch."""
        self._account(item.msg, item.topic, item.payload, item.grid, outcome)
        if outcome.actions:
            await self.submit(outcome.actions)

    async def _engine(self, topic: Topic, payload: object) -> Outcome:
        if isinstance(payload, Event):
            return await self.engine.on_event(topic.site, payload)
        if isinstance(payload, Status):
            return await self.engine.on_status(topic.site, payload)
        if isinstance(payload, WorkerReply):
            return await self.engine.on_reply(topic.site, topic.ident, payload)
        # parse_topic only admits event/status/reply here; anything else is a wiring bug.
        raise TypeError(f"no engine input for {type(payload).__name__} on {topic}")

    def _account(
        self, msg: Received, topic: Topic, payload: object, grid: str, outcome: Outcome
    ) -> None:
        if outcome.duplicate:
            self.metrics.duplicates.inc()
        if outcome.rejected:
            self._reject(outcome.rejected, msg, f"engine refused it ({outcome.rejected})")
        if isinstance(payload, Event):
            self.metrics.receive_to_store.observe(time.monotonic() - msg.received_mono)
            if not outcome.duplicate:
                self.metrics.event_to_store.observe(_since(payload.ts))
                self._write(
                    lambda: event_line(
                        topic.site,
                        grid,
                        payload.device,
                        payload.kind,
                        payload.id,
                        payload.seq,
                        payload.ts,
                    )
                )
        elif isinstance(payload, Status):
            online = payload.state == "online"
            self._write(
                lambda: status_line(
                    topic.site, grid, payload.device, online, payload.ts, fw=payload.fw
                )
            )

    def _write(self, build: Callable[[], str]) -> None:
        """Queue one point; a value line protocol cannot carry is counted, never fatal."""
        try:
            line = build()
        except ValueError as exc:
            self.metrics.rejected.labels("bad_line").inc()
            log.warning("point not written: %s", exc)
            return
        self.series.submit([line])

    async def on_telemetry_path(self, msg: Received) -> None:
        """Handle telemetry (to InfluxDB) and the broker's `$SYS` counters."""
        if msg.topic.startswith("$SYS/"):
            self._drops_unreported += self.metrics.broker_stat(msg.topic, msg.payload)
            if self._drops_unreported:
                await self._report_drops()
            return
        decoded = await self._decode(msg)
        if decoded is None:
            return
        topic, payload, grid = decoded
        if isinstance(payload, Telemetry):
            self._write(
                lambda: telemetry_line(
                    topic.site, grid, payload.device, payload.ts, payload.readings
                )
            )
        else:
            self._reject("bad_topic", msg, "only telemetry belongs on the telemetry path")

    async def _report_drops(self) -> None:
        """Raise the broker-drops alarm; on failure keep the count for the next `$SYS` report."""
        n = self._drops_unreported
        total = self.metrics.broker_dropped_total
        detail = f"the broker dropped {n} messages (its counter: {total})"
        try:
            outcome = await self.engine.on_system("broker_drops", n, detail)
        except Exception:
            self.metrics.engine_errors.inc()
            log.exception("engine failed on %d broker drops; retrying with the next $SYS", n)
            return
        self._drops_unreported -= n
        if outcome.actions:
            await self.submit(outcome.actions)


def _since(ts: datetime) -> float:
    """Return seconds from `ts` to now, never negative (device clocks can run ahead)."""
    return max(0.0, (utcnow() - ts).total_seconds())
