"""Carry out the engine's actions off the ingest path.

Two bounded queues, each drained by its own worker tasks in the hub's TaskGroup:

* **fast**: `Transition` → InfluxDB `alarm` point; `SendCommand` → device `cmd` topic;
  `Notify` → the worker's MQTT alert topic (QoS 1; the app's persistent session holds it while
  the phone is offline). Each of these is a publish to the local broker.
* **slow**: the worker's other channels (webhooks, Apprise), each retried with backoff, so a
  slow or dead webhook never holds up an MQTT alert, nor the acking of events.

Every delivery attempt's result is recorded per alarm, worker and channel (`DeliveryLog`).

Durability: every `Notify` and `SendCommand` the engine returns was already written to the
store's outbox with the alarm change (`outbox_id`). Once its MQTT publish got the broker's
PUBACK and the page's other channels (webhooks, Apprise) are done — sent, or failed after
every attempt — the row is marked delivered (in batches, `run_outbox`). A row still
undelivered a few seconds after it was written and not being worked on here (after a crash, a
broker outage longer than the retries, a full queue) is read back and sent again.
Duplicates are possible (workers' apps dedup by alarm id and state); losses are not.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hub.alarms.actions import Action, Notify, SendCommand, Transition
from hub.alarms.outbox import restore
from hub.bus import BusError
from hub.dispatch.notifier import AppriseNotifier
from hub.dispatch.webhook import DeliveryError, WebhookSender
from hub.influx import alarm_line, command_line, device_quality_line
from hub.metrics import HubMetrics
from hub.store.suspect import is_suspect
from protocol.codec import encode
from protocol.messages import SirenCmd, utcnow
from protocol.topics import device_topic, worker_topic

log = logging.getLogger(__name__)


_Attempt = Callable[[], Awaitable[None]]


class Publisher(Protocol):
    """The alarm path of the bus."""

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, wait_s: float = 5.0
    ) -> None:
        """Publish once; raise BusError on failure."""
        ...


class DeliveryLog(Protocol):
    """Where delivery results are kept (the store)."""

    async def record(
        self, alarm_id: str, worker: str, channel: str, tier: int, ok: bool, detail: str
    ) -> None:
        """Record one delivery's final result."""
        ...


class OutboxRow(Protocol):
    """An undelivered outbox row."""

    @property
    def id(self) -> int:
        """Row id."""
        ...

    @property
    def kind(self) -> str:
        """'notify' or 'command'."""
        ...

    @property
    def payload(self) -> dict[str, Any]:
        """The action, as stored."""
        ...


class Outbox(Protocol):
    """The store's outbox, seen from the dispatcher (async; the store runs in a thread)."""

    async def pending(self, before: datetime) -> Sequence[OutboxRow]:
        """Return undelivered rows written before `before`, oldest first."""
        ...

    async def delivered(self, ids: list[int]) -> None:
        """Mark rows delivered."""
        ...

    async def oldest(self) -> datetime | None:
        """Return when the oldest undelivered row was written."""
        ...

    async def hold(self, ids: list[int]) -> None:
        """Renew this hub's claim on rows it is still sending (several hubs; else a no-op)."""
        ...


class Series(Protocol):
    """The InfluxDB writer."""

    def submit(self, lines: Sequence[str]) -> None:
        """Queue points; never blocks, never raises."""
        ...


@dataclass(frozen=True, slots=True)
class _External:
    """One Notify to deliver on one non-MQTT channel."""

    notify: Notify
    url: str


def channel_kind(url: str) -> str:
    """Return the metric label of a channel: mqtt, webhook or the Apprise scheme."""
    if url == "mqtt":
        return "mqtt"
    scheme = url.split("://", 1)[0].lower()
    return "webhook" if scheme in ("http", "https") else scheme


_HOSTED = frozenset({"http", "https", "json", "jsons", "form", "forms", "xml", "xmls"})


def redact(url: str) -> str:
    """Return `url` without secrets: only the host of web targets, only the scheme of others."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    if scheme.lower() not in _HOSTED:
        # wecom://, dingtalk://, ntfy://... carry tokens and keys where a host would be.
        return f"{scheme}://…"
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…"


class Dispatcher:
    """Bounded queues of actions plus the coroutines that carry them out."""

    def __init__(
        self,
        bus: Publisher,
        series: Series,
        deliveries: DeliveryLog,
        metrics: HubMetrics,
        webhooks: WebhookSender,
        notifier: AppriseNotifier,
        *,
        channels: Mapping[tuple[str, str], Sequence[str]] | None = None,
        queue_size: int = 10_000,
        attempts: int = 4,
        mqtt_attempts: int = 12,
    ) -> None:
        self.bus = bus
        self.series = series
        self.deliveries = deliveries
        self.metrics = metrics
        self.webhooks = webhooks
        self.notifier = notifier
        self.channels: dict[tuple[str, str], tuple[str, ...]] = {
            k: tuple(v) for k, v in (channels or {}).items()
        }
        self.attempts = attempts
        self.mqtt_attempts = mqtt_attempts
        self.fast: asyncio.Queue[Action] = asyncio.Queue(queue_size)
        self.slow: asyncio.Queue[_External] = asyncio.Queue(queue_size)
        self._in_flight: set[int] = set()
        self._parts: dict[int, int] = {}  # outbox row -> external channels still to do
        self._delivered: list[int] = []
        self.outbox_oldest_s = 0.0
        self.outbox_checked_mono: float | None = None

    async def submit(self, actions: Iterable[Action]) -> None:
        """Queue actions; waits only when the queue is full (back-pressure, never loss)."""
        for action in actions:
            row = getattr(action, "outbox_id", None)
            if row is not None:
                if row in self._in_flight:
                    continue  # already being sent (the sweep found a row ingest just queued)
                self._in_flight.add(row)
            await self.fast.put(action)
        self.metrics.dispatch_queue.set(self.fast.qsize() + self.slow.qsize())

    def _finished(self, action: Action, ok: bool) -> None:
        row = getattr(action, "outbox_id", None)
        if row is None:
            return
        self._in_flight.discard(row)
        if ok:
            self._delivered.append(row)

    async def run_outbox(
        self,
        outbox: Outbox,
        *,
        every_s: float = 0.25,
        resend_after_s: float = 3.0,
        first_after_s: float = 0.0,
    ) -> None:
        """Worker task: mark sent rows delivered; resend rows left undelivered (also at start).

        At start, rows written before the start are resent at once; with `first_after_s` (several
        hubs) only those older than that, so a peer's rows in flight stay the peer's.
        """
        started = utcnow()
        first = True
        last_sweep = 0.0
        while True:
            try:
                await self._mark(outbox)
                if first or time.monotonic() - last_sweep >= 1.0:
                    now = utcnow()
                    before = (
                        min(started, now - timedelta(seconds=first_after_s))
                        if first
                        else now - timedelta(seconds=resend_after_s)
                    )
                    # Several hubs: keep peers off the rows still being sent here (a slow
                    # webhook can take longer than their takeover delay).
                    await outbox.hold(sorted(self._in_flight))
                    await self._sweep(outbox, before)
                    first, last_sweep = False, time.monotonic()
            except Exception:
                # A store that cannot be read or written (disk full, database down) must not end
                # the task: the health report says so, and the next round tries again.
                log.exception("outbox round failed; trying again")
            await asyncio.sleep(every_s)

    async def _mark(self, outbox: Outbox) -> None:
        ids, self._delivered = self._delivered, []
        if not ids:
            return
        try:
            await outbox.delivered(ids)
        except Exception:
            self._delivered.extend(ids)
            raise

    async def _sweep(self, outbox: Outbox, before: datetime) -> None:
        rows = await outbox.pending(before)
        oldest = await outbox.oldest()
        self.outbox_oldest_s = (
            0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
        )
        self.outbox_checked_mono = time.monotonic()
        self.metrics.outbox_oldest.set(self.outbox_oldest_s)
        actions: list[Action] = []
        for row in rows:
            if row.id in self._in_flight:
                continue
            try:
                actions.append(restore(row.id, row.kind, row.payload))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("outbox row %d unreadable (%s); marking it done", row.id, exc)
                self.metrics.outbox_resent.labels("unreadable").inc()
                self._delivered.append(row.id)
        if actions:
            log.warning("outbox: sending %d undelivered page(s)/command(s) again", len(actions))
            self.metrics.outbox_resent.labels("resent").inc(len(actions))
            await self.submit(actions)

    def pending(self) -> int:
        """Return how many actions and external deliveries are waiting or running."""
        return self.fast.qsize() + self.slow.qsize()

    async def drain(self) -> None:
        """Wait until both queues are empty and every taken item is done."""
        await self.fast.join()
        await self.slow.join()

    async def run_fast(self) -> None:
        """Worker task: carry out actions from the fast queue for ever."""
        while True:
            action = await self.fast.get()
            try:
                await self._execute(action)
            except Exception:
                # A bug in one action must not stop every later alarm from going out.
                log.exception("dispatch of %s failed", type(action).__name__)
                row = getattr(action, "outbox_id", None)
                if row is not None:
                    self._in_flight.discard(row)
            finally:
                self.fast.task_done()
                self.metrics.dispatch_queue.set(self.pending())

    async def run_slow(self) -> None:
        """Worker task: deliver to webhooks and Apprise URLs for ever."""
        while True:
            item = await self.slow.get()
            try:
                await self._external(item)
            except Exception:
                log.exception("delivery to %s failed", redact(item.url))
            finally:
                self._part_done(item.notify)
                self.slow.task_done()
                self.metrics.dispatch_queue.set(self.pending())

    async def _execute(self, action: Action) -> None:
        if isinstance(action, Transition):
            self._alarm_point(action)
        elif isinstance(action, SendCommand):
            await self._command(action)
        else:
            await self._notify(action)

    def _alarm_point(self, t: Transition) -> None:
        seconds = max(0.0, (t.ts - t.raised_at).total_seconds())
        try:
            line = alarm_line(t.site, t.grid or "", t.cls, t.state, t.alarm_id, seconds, t.ts)
        except ValueError as exc:  # LineError: a value line protocol cannot carry
            log.warning("alarm point of %s not written: %s", t.alarm_id, exc)
            return
        lines = [line]
        if t.false_alarms_30d is not None and t.device is not None:
            count = t.false_alarms_30d
            # Grafana: devices with 3+ false alarms in 30 days (docs/influx.md, device_quality)
            lines.append(
                device_quality_line(t.site, t.grid or "", t.device, count, is_suspect(count), t.ts)
            )
        self.series.submit(lines)

    async def _command(self, action: SendCommand) -> None:
        topic = device_topic(action.site, action.device, "cmd")
        ok, _, _ = await self._retry(
            lambda: self.bus.publish(topic, encode(action.command)), self.mqtt_attempts
        )
        self._finished(action, ok)
        self.metrics.commands.labels("ok" if ok else "failed").inc()
        if not ok:
            log.warning("command %s to %s not published", action.command.cmd, action.device)
        cmd = action.command
        on = cmd.on if isinstance(cmd, SirenCmd) else None
        # Grafana counts sirens sounded from these points (dashboards: mini fire station).
        self.series.submit(
            [command_line(action.site, action.device, cmd.cmd, ok, datetime.now(UTC), on=on)]
        )

    async def _notify(self, action: Notify) -> None:
        topic = worker_topic(action.site, action.worker, "alert")
        # The local broker is worth waiting for (about two minutes): once it has the alert, the
        # worker's persistent session holds it until the phone is back.
        ok, attempts, detail = await self._retry(
            lambda: self.bus.publish(topic, encode(action.alert)), self.mqtt_attempts
        )
        # The engine's channels are authoritative: a state update asks for MQTT only.
        extra = [c for c in action.channels or () if c != "mqtt"]
        if action.channels is None:
            extra += self.channels.get((action.site, action.worker), ())
        urls = list(dict.fromkeys(extra))
        row = action.outbox_id
        if ok and urls and row is not None:
            # The row is delivered once the other channels are done too (sent, or failed after
            # every attempt): a crash before that sends the whole page again.
            self._parts[row] = len(urls)
        else:
            self._finished(action, ok)
        for url in urls:
            await self.slow.put(_External(action, url))
        await self._record(action, "mqtt", ok, detail, attempts)

    def _part_done(self, notify: Notify) -> None:
        """One external channel of a page is done; the last one marks its row delivered."""
        row = notify.outbox_id
        if row is None or row not in self._parts:
            return
        self._parts[row] -= 1
        if self._parts[row] <= 0:
            del self._parts[row]
            self._finished(notify, True)

    async def _external(self, item: _External) -> None:
        notify, url = item.notify, item.url
        kind = channel_kind(url)
        if kind == "webhook":
            document = {
                "v": 1,
                "worker": notify.worker,
                "tier": notify.tier,
                "alert": notify.alert.model_dump(mode="json", by_alias=True),
            }
            ok, attempts, detail = await self._retry(
                lambda: self.webhooks.send(url, document), self.attempts
            )
        else:
            ok, attempts, detail = await self._retry(
                lambda: self.notifier.send(url, notify.alert), self.attempts
            )
        if not ok:
            log.warning(
                "%s delivery of alarm %s to %s failed: %s",
                kind,
                notify.alarm_id,
                redact(url),
                detail,
            )
        await self._record(notify, kind, ok, detail, attempts, where=redact(url))

    async def _record(
        self, n: Notify, kind: str, ok: bool, detail: str, attempts: int, where: str = ""
    ) -> None:
        self.metrics.deliveries.labels(kind, "ok" if ok else "failed").inc()
        note = f"{attempts} attempt(s)" + (f": {detail}" if detail else "")
        channel = f"{kind}:{where}" if where else kind
        await self.deliveries.record(n.alarm_id, n.worker, channel, n.tier, ok, note[:500])

    async def _retry(self, attempt: _Attempt, attempts: int) -> tuple[bool, int, str]:
        """Run `attempt` up to `attempts` times with jittered backoff: (ok, tries, detail)."""
        detail = ""
        for n in range(1, attempts + 1):
            try:
                await attempt()
            except (BusError, DeliveryError) as exc:
                detail = str(exc)
                if n < attempts:
                    await asyncio.sleep(min(10.0, 0.25 * 2**n) * random.uniform(0.5, 1.0))
            else:
                return True, n, ""
        return False, attempts, detail
