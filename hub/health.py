"""The truth about the hub for /healthz and /metrics, and the store adapters of the alarm path.

`HealthWatch.run` (a task of the hub) every `every_s`: commits a probe write (a store that
cannot write — disk full, database gone — is reported and paged to the duty officer directly,
not through the store), counts dead letters, and keeps the times the alarm path reconnected.
`report()` is /healthz: `ok` is false when the alarm path is down or keeps reconnecting, the
store cannot write, or the dispatcher is stuck (oldest undelivered page older than
`stuck_after_s`, or the outbox not even checked for that long). Dead letters are reported
(`warnings`), not failed on: they were acknowledged and block nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from hub.liveness import Key, Seen
from hub.metrics import HubMetrics
from hub.store import Pending, Store

log = logging.getLogger(__name__)
OUTBOX_KEEP = timedelta(days=7)
"""Delivered outbox rows are kept this long (to look into a complaint), then deleted."""
PRUNE_EVERY_S = 3600.0


class Bus(Protocol):
    """What health reads of the bus."""

    connected: dict[Any, bool]
    reconnects: dict[Any, int]


class Dispatch(Protocol):
    """What health reads of the dispatcher."""

    outbox_oldest_s: float
    outbox_checked_mono: float | None

    def pending(self) -> int:
        """Actions waiting."""
        ...


class Pager(Protocol):
    """Pages the duty officer without the store."""

    def store_failed(self, detail: str) -> None:
        """A store write failed."""
        ...

    def store_ok(self) -> None:
        """A store write worked."""
        ...


class StoreQueues:
    """The store's outbox and dead letters, run in worker threads for the event loop."""

    def __init__(
        self, store: Store, owner: str | None = None, lease: timedelta = timedelta(seconds=10)
    ) -> None:
        self.store = store
        self.owner = owner
        """Several hubs: the hub's name; rows it resends are claimed for `lease` first."""
        self.lease = lease
        self._pruned_at: float | None = None

    async def pending(self, before: datetime) -> Sequence[Pending]:
        """Return undelivered outbox rows written before `before` (claimed, with an owner)."""
        if self.owner is not None:
            return await asyncio.to_thread(self.store.outbox_claim, self.owner, before, self.lease)
        return await asyncio.to_thread(self.store.outbox_pending, before)

    async def hold(self, ids: list[int]) -> None:
        """Renew this hub's lease on rows it is still sending (no-op for a hub alone)."""
        if self.owner is not None and ids:
            await asyncio.to_thread(self.store.outbox_hold, self.owner, ids, self.lease)

    async def delivered(self, ids: list[int]) -> None:
        """Mark outbox rows delivered; once an hour also drop rows delivered a week ago."""
        now = time.monotonic()
        prune = self._pruned_at is None or now - self._pruned_at > PRUNE_EVERY_S
        keep = OUTBOX_KEEP if prune else None
        await asyncio.to_thread(self.store.outbox_delivered, ids, keep)
        if prune:
            self._pruned_at = now

    async def oldest(self) -> datetime | None:
        """Return when the oldest undelivered row was written."""
        return await asyncio.to_thread(self.store.outbox_oldest)

    async def touch(self, seen: list[Seen]) -> list[Key]:
        """Write routine heartbeats; return the devices the store does not have online."""
        rows = [(s.site, s.device, s.at, s.status) for s in seen]
        return await asyncio.to_thread(self.store.touch_devices, rows)

    async def keep(self, topic: str, payload: bytes, error: str, attempts: int) -> int:
        """Keep a dead letter."""
        return await asyncio.to_thread(self.store.dead_letter, topic, payload, error, attempts)


class HealthWatch:
    """Probe the store, watch the alarm path and the dispatcher; build the health report."""

    def __init__(
        self,
        name: str,
        store: Store,
        bus: Bus,
        dispatcher: Dispatch,
        metrics: HubMetrics,
        pager: Pager | None,
        *,
        every_s: float = 2.0,
        stuck_after_s: float = 30.0,
        reconnects_allowed: int = 3,
        reconnect_window_s: float = 60.0,
    ) -> None:
        self.name = name
        self.store = store
        self.bus = bus
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.pager = pager
        self.every_s = every_s
        self.stuck_after_s = stuck_after_s
        self.reconnects_allowed = reconnects_allowed
        self.reconnect_window_s = reconnect_window_s
        self.store_error = ""
        self.dead_letters = 0
        self._reconnect_times: deque[float] = deque(maxlen=100)
        self._seen: dict[Any, int] = {}
        self._started = time.monotonic()

    async def run(self) -> None:
        """Worker task: probe and watch every `every_s` for ever."""
        while True:
            await self.check()
            await asyncio.sleep(self.every_s)

    async def check(self) -> None:
        """Probe the store once and note new alarm-path reconnections."""
        try:
            await asyncio.to_thread(self.store.probe_write, self.name)
        except Exception as exc:  # noqa: BLE001 - a failing store is reported and paged
            self.store_error = repr(exc)[:300]
            self.metrics.store_write(ok=False)
            if self.pager is not None:
                self.pager.store_failed(self.store_error)
        else:
            self.store_error = ""
            self.metrics.store_write(ok=True)
            if self.pager is not None:
                self.pager.store_ok()
        try:
            self.dead_letters = await asyncio.to_thread(self.store.dead_letter_count)
            self.metrics.dead_letters.set(self.dead_letters)
        except Exception:
            log.debug("dead letters not counted", exc_info=True)
        self._sync_reconnects()

    def _sync_reconnects(self) -> None:
        """Count new (re)connections of each path; remember when the alarm path reconnected."""
        now = time.monotonic()
        for path, total in self.bus.reconnects.items():
            # The first connection is not a reconnection.
            new = max(0, total - max(1, self._seen.get(path, 0)))
            if new:
                self.metrics.bus_reconnects.labels(path).inc(new)
                if path == "alarm":
                    self._reconnect_times.extend([now] * new)
            self._seen[path] = max(self._seen.get(path, 0), total)

    def recent_reconnects(self) -> int:
        """Return alarm-path reconnections within the window."""
        cutoff = time.monotonic() - self.reconnect_window_s
        return sum(1 for t in self._reconnect_times if t >= cutoff)

    def report(self, influx: Any) -> dict[str, Any]:
        """Return the /healthz document."""
        for path, up in self.bus.connected.items():
            self.metrics.bus_connected.labels(path).set(1 if up else 0)
        self._sync_reconnects()
        problems: list[str] = []
        if not self.bus.connected.get("alarm", False):
            problems.append("alarm_path_down")
        reconnects = self.recent_reconnects()
        if reconnects > self.reconnects_allowed:
            problems.append("alarm_path_reconnecting")
        writable = self.metrics.store_write_ok
        if not writable:
            problems.append("store_not_writable")
        oldest = self.dispatcher.outbox_oldest_s
        checked = self.dispatcher.outbox_checked_mono
        since_check = time.monotonic() - (checked if checked is not None else self._started)
        if oldest > self.stuck_after_s or since_check > self.stuck_after_s:
            problems.append("dispatcher_stuck")
        warnings = [f"dead_letters: {self.dead_letters}"] if self.dead_letters else []
        return {
            "ok": not problems,
            "problems": problems,
            "warnings": warnings,
            "broker": dict(self.bus.connected),
            "alarm_path_reconnects_recent": reconnects,
            "store": writable,
            "store_error": self.store_error,
            "dead_letters": self.dead_letters,
            "outbox_oldest_s": round(oldest, 3),
            "influx": influx,
            "dispatch_pending": self.dispatcher.pending(),
        }
