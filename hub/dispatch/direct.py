"""Pages that must not depend on the store: the store itself failing, and an SOS it could not
record. They go out over MQTT and Apprise straight from the registry held in memory.

* `store_failed`: `trouble` to every duty officer on the roster, at most once per
  `reminder_s`, and one "store recovered" when writes work again;
* `unsaved_alarm`: a life-safety event the engine could not commit is paged at once (once per
  event id) to the device's grid workers and the duty officers. The message itself stays
  un-acknowledged: the broker redelivers it and the engine pages it properly once the store
  writes again (a duplicate page, never a lost one).

Sends run in their own task (`run`), so a slow Apprise target never holds up ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hub.bus import BusError
from hub.dispatch.dispatcher import Publisher
from hub.dispatch.notifier import AppriseNotifier
from hub.dispatch.webhook import DeliveryError
from protocol.codec import encode
from protocol.messages import AlarmClass, Event, WorkerAlert, utcnow
from protocol.site_config import Registry
from protocol.topics import worker_topic

log = logging.getLogger(__name__)
RECOVERED_AFTER_S = 30.0
"""Writes must work this long, without a failure, before "store recovered" is paged."""
CLASS_OF: Mapping[str, AlarmClass] = {"call": "call", "fall": "fall", "smoke": "fire"}
_LABEL = {"call": ("一键呼叫", "SOS call"), "fall": ("跌倒报警", "Fall"), "fire": ("火警", "FIRE")}


@dataclass(frozen=True, slots=True)
class Person:
    """A worker to page directly."""

    site: str
    id: str
    channels: tuple[str, ...] = ()


@dataclass(slots=True)
class Roster:
    """Who to page without the store, from the registry loaded at start."""

    officers: dict[str, list[Person]] = field(default_factory=dict)
    grid_workers: dict[tuple[str, str], list[Person]] = field(default_factory=dict)
    device_grid: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def from_registry(cls, registry: Registry | None) -> Roster:
        """Build the roster of one site's registry (empty without one)."""
        roster = cls()
        if registry is None:
            return roster
        site = registry.site.site
        for w in registry.site.workers:
            person = Person(site, w.id, tuple(w.notify))
            if w.role == "duty_officer" and w.on_duty:
                roster.officers.setdefault(site, []).append(person)
            if w.role == "grid_worker":
                for grid in w.grids:
                    roster.grid_workers.setdefault((site, grid), []).append(person)
        for d in registry.devices:
            roster.device_grid[(site, d.device)] = d.grid
        return roster


class DirectPager:
    """Pages the duty officer (and an unsaved SOS's grid workers) without touching the store."""

    def __init__(
        self,
        bus: Publisher,
        notifier: AppriseNotifier | None,
        roster: Roster,
        *,
        reminder_s: float = 600.0,
    ) -> None:
        self.bus = bus
        self.notifier = notifier
        self.roster = roster
        self.reminder_s = reminder_s
        self.store_down_since: float | None = None
        self._paged_at: float | None = None
        self._failed_at: float | None = None
        self._paged_events: OrderedDict[str, None] = OrderedDict()
        self._queue: asyncio.Queue[tuple[Person, WorkerAlert]] = asyncio.Queue(10_000)
        self.sent = 0

    def store_failed(self, detail: str) -> None:
        """Note a failed store write; page the duty officers if not paged recently."""
        now = time.monotonic()
        self._failed_at = now
        if self.store_down_since is None:
            self.store_down_since = now
        if self._paged_at is not None and now - self._paged_at < self.reminder_s:
            return
        self._paged_at = now
        zh = f"【系统故障】报警数据库无法写入：{detail[:200]}"
        en = f"[System trouble] The alarm store cannot write: {detail[:200]}"
        body = (
            "新报警仍会直接推送，但无法记录；请立即检查磁盘空间和数据库。",
            "New alarms are still paged directly but cannot be recorded; check disk space and "
            "the database now.",
        )
        for site, officers in self.roster.officers.items():
            alert = self._alert(
                f"store-{int(time.time())}", "trouble", site, None, None, (zh, en), body
            )
            self._queue_all(officers, alert)

    def store_ok(self) -> None:
        """Note a store write that worked; page 'recovered' if the failure was paged."""
        if self.store_down_since is None:
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < RECOVERED_AFTER_S:
            return  # a write between failures is not a recovery yet
        self.store_down_since = None
        if self._paged_at is None:
            return
        self._paged_at = None
        texts = (
            "【系统恢复】报警数据库已恢复写入",
            "[System recovered] The alarm store writes again",
        )
        for site, officers in self.roster.officers.items():
            alert = self._alert(
                f"store-{int(time.time())}", "trouble", site, None, None, texts, ("", "")
            )
            self._queue_all(officers, alert, state="resolved")

    def unsaved_alarm(self, site: str, event: Event) -> None:
        """Page a life-safety event the store could not record (once per event id)."""
        cls = CLASS_OF.get(event.kind)
        if cls is None or event.id in self._paged_events:
            return
        self._paged_events[event.id] = None
        while len(self._paged_events) > 10_000:
            self._paged_events.popitem(last=False)
        grid = self.roster.device_grid.get((site, event.device))
        people = [
            *self.roster.grid_workers.get((site, grid or ""), []),
            *self.roster.officers.get(site, []),
        ]
        label_zh, label_en = _LABEL[cls]
        texts = (f"【{label_zh}】设备 {event.device}", f"[{label_en}] device {event.device}")
        body = (
            "报警数据库故障，本条报警直接推送，尚未记录；数据库恢复后会再次推送。",
            "The alarm store is failing: this alarm is paged directly and not yet recorded; it "
            "will be paged again once the store writes.",
        )
        alert = self._alert(f"unsaved-{event.id}", cls, site, grid, event.device, texts, body)
        self._queue_all(list({p.id: p for p in people}.values()), alert)

    def _alert(
        self,
        alarm: str,
        cls: AlarmClass,
        site: str,
        grid: str | None,
        device: str | None,
        titles: tuple[str, str],
        body: tuple[str, str],
    ) -> WorkerAlert:
        now = utcnow()
        return WorkerAlert(
            alarm=alarm[:64],
            cls=cls,
            state="raised",
            ts=now,
            raised_at=now,
            site=site,
            grid=grid,
            device=device,
            title_zh=titles[0][:200],
            title_en=titles[1][:200],
            body_zh=body[0],
            body_en=body[1],
        )

    def _queue_all(self, people: Sequence[Person], alert: WorkerAlert, state: str = "") -> None:
        if state:
            alert = alert.model_copy(update={"state": state})
        for person in people:
            try:
                self._queue.put_nowait((person, alert))
            except asyncio.QueueFull:
                log.error("direct page to %s dropped: queue full", person.id)

    async def flush(self, within_s: float = 2.0) -> None:
        """Wait (at most `within_s`) until every queued page was handed to the broker."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within_s):
                await self._queue.join()

    async def run(self) -> None:
        """Worker task: send queued direct pages (MQTT, then the person's Apprise channels)."""
        while True:
            person, alert = await self._queue.get()
            try:
                await self._send(person, alert)
            except Exception:
                log.exception("direct page of %s to %s failed", alert.alarm, person.id)
            finally:
                self._queue.task_done()

    async def _send(self, person: Person, alert: WorkerAlert) -> None:
        topic = worker_topic(person.site, person.id, "alert")
        for attempt in range(1, 6):
            try:
                await self.bus.publish(topic, encode(alert), wait_s=2.0)
            except BusError as exc:
                log.warning(
                    "direct page %s to %s: %s (try %d)", alert.alarm, person.id, exc, attempt
                )
                await asyncio.sleep(0.2 * attempt)
            else:
                self.sent += 1
                break
        if self.notifier is None:
            return
        for url in person.channels:
            if url.startswith(("http://", "https://")):
                continue  # webhooks need the signer of the dispatcher; Apprise URLs only here
            try:
                await self.notifier.send(url, alert)
            except DeliveryError as exc:
                log.warning("direct page %s to %s failed: %s", alert.alarm, person.id, exc)
