"""Ingest of the alarm lane: every event, status and worker reply is parsed, validated, checked
against the registry, handed to the alarm engine and only then acknowledged; its time series go
to InfluxDB. (Telemetry has its own lane: `hub.telemetry`.)

Nothing one message does can end a task of the hub (docs/reliability.md):

* a message that does not follow the contract (too large, nested too deep, numbers the store
  cannot hold, dates out of range, unknown device, anything the decoder raises) is a counted
  rejection (`watchpost_ingest_rejected_total{reason}`), acknowledged and dropped; at most one
  summary log line per reason per minute (`hub.limits.RejectionLog`);
* a sender past its token bucket is rejected as `rate_limited` (its first life-safety event of
  a kind in a minute always goes through) and life-safety events of every sender are
  committed before anything else waiting (`hub.limits`);
* a message the *engine* fails on is tried `TRIES` times; then it is kept in the store's
  dead-letter table, acknowledged, and a `trouble` alarm (`dead_letter`) pages the duty
  officer. If even the dead letter cannot be written, the store is failing: the duty officer
  is paged directly (`hub.dispatch.direct`), a life-safety event is paged directly too, and
  the message stays un-acknowledged for the broker to redeliver once the store writes again.

Group commit: the alarm path hands over every message already waiting (`on_alarm_batch`).
Consecutive events and statuses go to the engine in ONE transaction (`on_inputs`) and are
acknowledged after it committed; a reply first flushes what is before it. If that transaction
fails, each message gets its own; one that fails (and cannot be dead-lettered) is left
un-acked, and so is every later message from the same sender (its order is kept), while the
other senders' messages go through.

The broker's `$SYS` counters arrive through the telemetry lane (`on_broker_sys`). Every increase
of the drop counter becomes `engine.on_system("broker_drops")`, a
`trouble` alarm for every site served, paged to the duty officer. If the engine fails, the
drops are kept and reported again with the next `$SYS` message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hub.alarms.actions import Action, Notify, Outcome
from hub.alarms.engine import CLOCK_SKEW_FLAG_S
from hub.alarms.service import AlarmService
from hub.bus import Received, Redeliver
from hub.influx import event_line, status_line
from hub.limits import LIFE_SAFETY, RejectionLog, SenderLimits, kind_hint
from hub.liveness import Key, Liveness, Seen
from hub.metrics import HubMetrics
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import Event, Status, WorkerReply, utcnow
from protocol.topics import Topic, parse_topic

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[Action]], Awaitable[None]]
Sender = tuple[str, str, str]
"""(site, role, ident) of a topic: the device or worker that published it."""
MAX_BATCH = 1000
"""Most urgent alarm-path messages taken at once (only what is already queued; never waited
for); the lanes (`hub.lanes`) hold everything the broker handed over (`hub.bus.RECEIVE_MAXIMUM`)."""
MAX_COMMIT = 200
"""Most events committed in one transaction."""
TRIES = 3
"""Engine attempts per message before it becomes a dead letter."""
TOUCH_CHUNK = 250
"""Routine heartbeats written per transaction (see `Ingest.run_liveness`)."""


class DeadLetters(Protocol):
    """Where messages the engine could not handle are kept (the store)."""

    async def keep(self, topic: str, payload: bytes, error: str, attempts: int) -> int:
        """Store one dead letter; raise if the store cannot write."""
        ...


class LivenessStore(Protocol):
    """Where routine heartbeats are written (the store)."""

    async def touch(self, seen: list[Seen]) -> list[Key]:
        """Write them; return the devices the store does not have online."""
        ...


class StoreAlarm(Protocol):
    """Who hears that the store failed, and of alarms it could not record (no store used)."""

    def store_failed(self, detail: str) -> None:
        """A store write failed."""
        ...

    def store_ok(self) -> None:
        """A store write worked."""
        ...

    def unsaved_alarm(self, site: str, event: Event) -> None:
        """Page a life-safety event the store could not record."""
        ...

    async def flush(self) -> None:
        """Wait (briefly) until those pages were handed to the broker."""
        ...


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
    store_down: bool = False


class Ingest:
    """Handlers for the alarm path of `hub.bus.Bus` and the broker's `$SYS` counters."""

    def __init__(
        self,
        engine: AlarmService,
        directory: Directory,
        series: TimeSeries,
        metrics: HubMetrics,
        submit: Submit,
        *,
        crash_before_commit: bool = False,
        crash_after_commit: bool = False,
        letters: DeadLetters | None = None,
        alarm: StoreAlarm | None = None,
        limits: SenderLimits | None = None,
        retry_s: float = 0.05,
        liveness: Liveness | None = None,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.series = series
        self.metrics = metrics
        self.submit = submit
        self.crash_before_commit = crash_before_commit
        self.crash_after_commit = crash_after_commit
        self.letters = letters
        self.alarm = alarm
        self.limits = limits or SenderLimits()
        self.retry_s = retry_s
        self.liveness = liveness
        self.rejections = RejectionLog()
        self._drops_unreported = 0
        # Counted per batch, not per message (prometheus_client's `labels().inc()` is ~4 µs).
        self._taken: dict[str, int] = {}
        self._routine_n = 0

    def _reject(self, reason: str, msg: Received, detail: object) -> None:
        self.metrics.rejected.labels(reason).inc()
        self.rejections.add(reason, msg.topic, detail)

    async def _decode(
        self, msg: Received, *, limited: bool = False
    ) -> tuple[Topic, object, str, bool] | None:
        """Parse topic and payload and look the device up; None when the message was rejected.

        `limited`: the sender's token bucket is checked right after the topic (the last item
        says whether the sender is past it); a stuck button's repeat of a life-safety kind
        committed moments ago is rejected before the payload is even parsed, so a flood from
        one sender costs a few microseconds a message.
        """
        over = False
        try:
            topic = parse_topic(msg.topic)
            self._taken[topic.channel] = self._taken.get(topic.channel, 0) + 1
            sender = (topic.site, topic.role, topic.ident)
            if limited and not self.limits.allow(sender):
                over = True
                hint = kind_hint(msg.payload)
                if self.limits.repeat(sender, hint) or (
                    hint is None and self.limits.junking(sender)
                ):
                    self._reject("rate_limited", msg, f"{topic.ident}: past its limit")
                    return None
            device = topic.ident if topic.role == "dev" else None
            payload = decode(topic.channel, msg.payload, device=device)
        except ProtocolError as exc:
            self._reject(exc.reason, msg, exc)
            if over:
                self.limits.junk(sender)
            return None
        except Exception as exc:  # noqa: BLE001 - a decoder bug must not end the path
            self._reject("decode_error", msg, repr(exc)[:300])
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
        return topic, payload, grid, over

    async def on_alarm_path(self, msg: Received) -> None:
        """Handle an event, status or worker reply; PUBACK only after the engine committed."""
        await self.on_alarm_batch([msg])

    async def on_alarm_batch(self, msgs: Sequence[Received]) -> None:
        """Handle waiting alarm-path messages: life-safety first, events group-committed, then
        PUBACKed; a sender past its limit is rejected (counted, acked).

        Raises `Redeliver` at the end if any message was left un-acked for the broker to resend.
        """
        try:
            await self._batch(msgs)
        finally:
            self._count()

    def _count(self) -> None:
        """Add what this batch took in to the metrics."""
        for channel, n in self._taken.items():
            self.metrics.messages.labels(channel).inc(n)
        self._taken.clear()
        if self._routine_n:
            self.metrics.heartbeats_routine.inc(self._routine_n)
            self._routine_n = 0

    async def _batch(self, msgs: Sequence[Received]) -> None:
        batch = _Batch()
        first: list[_Decoded] = []
        rest: list[_Decoded] = []
        late: list[_Decoded] = []
        waiting: set[Sender] = set()  # senders with a message for the engine in this batch
        for msg in msgs:
            try:
                decoded = await self._decode(msg, limited=True)
            except Redeliver:
                batch.held.add(("", "", ""))  # the registry lookup failed: leave it un-acked
                continue
            if decoded is None:
                msg.ack()
                continue
            topic, payload, grid, over = decoded
            item = _Decoded(msg, topic, payload, grid)
            if item.sender not in waiting and self._routine(item):
                continue
            waiting.add(item.sender)
            kind = payload.kind if isinstance(payload, Event) else None
            urgent = kind in LIFE_SAFETY or isinstance(payload, WorkerReply)
            (late if over else first if urgent else rest).append(item)
        # Life-safety events and workers' replies never wait behind status, `test` events or a
        # sender past its limit: they are committed and acked first; a noisy sender's messages
        # come last (all within this batch: nothing is held un-acked). A sender's own messages
        # keep their order within each group.
        for item in [*first, *rest, *late]:
            await self._take(batch, item)
        await self._flush(batch)
        if batch.store_down and self.alarm is not None:
            # The direct pages go out on this connection: send them before dropping it.
            await self.alarm.flush()
        if batch.held:
            raise Redeliver(f"messages from {len(batch.held)} sender(s) left for redelivery")

    def _routine(self, item: _Decoded) -> bool:
        """Ack a heartbeat that changes nothing at once, without the engine (hub.liveness)."""
        payload = item.payload
        if self.liveness is None or not isinstance(payload, Status):
            return False
        if not self.liveness.routine(item.topic.site, payload, utcnow()):
            return False
        item.msg.ack()
        self._routine_n += 1
        self._account(item.msg, item.topic, payload, item.grid, Outcome())
        return True

    async def run_liveness(self, store: LivenessStore, every_s: float = 1.0) -> None:
        """Worker task: write routine heartbeats every `every_s`, `TOUCH_CHUNK` a transaction.

        Small transactions, because SQLite has one writer: an SOS's commit waits for the
        heartbeat transaction in progress (100,000 devices: 3,333 heartbeats a second; written
        as one transaction it held the SOS back by up to ~300 ms under load).
        """
        while True:
            await asyncio.sleep(every_s)
            if self.liveness is None:
                continue
            seen = self.liveness.take()
            for i in range(0, len(seen), TOUCH_CHUNK):
                part = seen[i : i + TOUCH_CHUNK]
                try:
                    stale = await store.touch(part)
                except Exception:
                    rest = seen[i:]
                    self.liveness.give_back(rest)
                    log.warning("%d heartbeats not written; trying again", len(rest), exc_info=True)
                    break
                self.liveness.forget(stale)

    async def _take(self, batch: _Batch, item: _Decoded) -> None:
        if item.sender in batch.held or batch.store_down:
            batch.held.add(item.sender)
            self._unsaved(item)
            return
        if isinstance(item.payload, Event | Status):
            if isinstance(item.payload, Event):
                self._crash_hook(item.payload)
            batch.events.append(item)
            if len(batch.events) >= MAX_COMMIT:
                await self._flush(batch)
            return
        await self._flush(batch)
        await self._one(batch, item)

    def _crash_hook(self, event: Event) -> None:
        if self.crash_before_commit:
            # TEST HOOK (settings.test_crash_before_commit, off by default): die like a power
            # cut between receipt and commit, to prove the broker redelivers un-acked events.
            log.warning("test hook: exiting before committing event %s", event.id)
            os._exit(1)

    async def _flush(self, batch: _Batch) -> None:
        """Commit the waiting events and statuses together, then ack them; one by one if that
        fails."""
        items, batch.events = batch.events, []
        if not items:
            return
        self.metrics.batch_size.observe(len(items))
        if len(items) > 1:
            pairs = [
                (i.topic.site, i.payload) for i in items if isinstance(i.payload, Event | Status)
            ]
            try:
                outcomes = await self.engine.on_inputs(pairs)
            except Exception as exc:  # noqa: BLE001 - any failure: retry each event on its own
                self.metrics.batch_fallbacks.inc()
                log.warning("group commit of %d messages failed (%r); one by one", len(items), exc)
            else:
                self._store_ok()
                for item in items:
                    item.msg.ack()
                for item, outcome in zip(items, outcomes, strict=True):
                    await self._done(item, outcome)
                return
        for item in items:
            await self._one(batch, item)

    async def _one(self, batch: _Batch, item: _Decoded) -> None:
        """Run one message in its own transaction, `TRIES` times; then keep it as a dead letter.

        If the dead letter cannot be written either, the store is failing: hold the sender
        (and every later message of this batch) un-acked for redelivery.
        """
        if item.sender in batch.held or batch.store_down:
            batch.held.add(item.sender)
            self._unsaved(item)
            return
        error: Exception | None = None
        for attempt in range(TRIES):
            try:
                outcome = await self._engine(item.topic, item.payload)
            except Exception as exc:  # noqa: BLE001 - counted, retried, then dead-lettered
                error = exc
                self.metrics.engine_errors.inc()
                if attempt + 1 < TRIES:
                    await asyncio.sleep(self.retry_s * 2**attempt)
                continue
            self._store_ok()
            item.msg.ack()
            await self._done(item, outcome)
            return
        log.error("engine failed %d times on %s: %r", TRIES, item.msg.topic[:200], error)
        await self._dead_letter(batch, item, repr(error))

    async def _dead_letter(self, batch: _Batch, item: _Decoded, error: str) -> None:
        if self.letters is None:
            batch.held.add(item.sender)
            return
        try:
            await self.letters.keep(item.msg.topic, item.msg.payload, error, TRIES)
        except Exception as exc:  # noqa: BLE001 - the store cannot write at all
            self.metrics.store_write(ok=False)
            log.error("store cannot write (%r); leaving messages un-acked for redelivery", exc)
            if self.alarm is not None:
                self.alarm.store_failed(repr(exc)[:300])
            batch.store_down = True
            batch.held.add(item.sender)
            self._unsaved(item)
            return
        item.msg.ack()
        self.metrics.dead_lettered.inc()
        self.metrics.rejected.labels("dead_letter").inc()
        try:
            outcome = await self.engine.on_system(
                "dead_letter", 1, f"{item.msg.topic}: {error}"[:500]
            )
        except Exception:
            self.metrics.engine_errors.inc()
            log.exception("the dead-letter trouble alarm could not be raised")
            return
        if outcome.actions:
            await self.submit(outcome.actions)

    def _unsaved(self, item: _Decoded) -> None:
        """A life-safety event the store could not take is paged directly (not via the store)."""
        if self.alarm is not None and isinstance(item.payload, Event):
            self.alarm.unsaved_alarm(item.topic.site, item.payload)

    def _store_ok(self) -> None:
        self.metrics.store_write(ok=True)
        if self.alarm is not None:
            self.alarm.store_ok()

    async def _done(self, item: _Decoded, outcome: Outcome) -> None:
        """Count and write what was committed, then hand its actions to dispatch."""
        if isinstance(item.payload, Event) and not outcome.rejected:
            self.limits.committed(item.sender, item.payload.kind)
        if isinstance(item.payload, Status) and self.liveness is not None and not outcome.rejected:
            self.liveness.committed(item.topic.site, item.payload)
        self._account(item.msg, item.topic, item.payload, item.grid, outcome)
        if outcome.actions:
            if self.crash_after_commit and any(isinstance(a, Notify) for a in outcome.actions):
                # TEST HOOK (settings.test_crash_after_commit): die like a power cut after the
                # alarm was committed and before its pages left (the outbox must page them).
                log.warning("test hook: exiting after committing, before paging")
                logging.shutdown()
                os._exit(1)
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
                        self._trusted_ts(payload.ts),
                        what=payload.data.get("what"),
                    )
                )
        elif isinstance(payload, Status):
            online = payload.state == "online"
            self._write(
                lambda: status_line(
                    topic.site, grid, payload.device, online, payload.ts, fw=payload.fw
                )
            )

    def _trusted_ts(self, ts: datetime) -> datetime:
        """Return `ts`, or the hub's now when the device clock is off by more than 5 minutes."""
        now = utcnow()
        skew = (ts - now).total_seconds()
        if abs(skew) <= CLOCK_SKEW_FLAG_S:
            return ts
        self.metrics.clock_skewed.labels("ahead" if skew > 0 else "behind").inc()
        return now

    def _write(self, build: Callable[[], str]) -> None:
        """Queue one point; a value line protocol cannot carry is counted, never fatal."""
        try:
            line = build()
        except ValueError as exc:
            self.metrics.rejected.labels("bad_line").inc()
            self.rejections.add("bad_line", "influx", exc)
            return
        self.series.submit([line])

    async def on_broker_sys(self, topic: str, payload: bytes) -> None:
        """Record one of the broker's `$SYS` counters; page on dropped messages; never raises."""
        try:
            self._drops_unreported += self.metrics.broker_stat(topic, payload)
            if self._drops_unreported:
                await self._report_drops()
        except Exception:  # one counter must never end the telemetry lane
            log.exception("broker counter %s not handled", topic[:200])

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
