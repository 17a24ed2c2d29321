"""Group commit on the alarm path, with the real bus, ingest, engine, SQLite store and Mosquitto:
a burst that queued up while the hub was busy is committed in one transaction and every
message of it acknowledged; if that transaction fails, each event gets its own, and one that
still fails is redelivered without blocking the others or overtaking its sender's next event.

The hub is made "busy" without sleeping: its first event waits inside the engine until the test
has seen the whole burst queued in the hub's client (`Bus.backlog()`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.alarms.actions import Action, Outcome
from hub.alarms.engine import Engine
from hub.app import StoreDirectory
from hub.bus import BrokerAddress, Bus
from hub.ingest import MAX_BATCH, Ingest
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from protocol.codec import encode, new_event_id
from protocol.messages import Event, EventKind, Status, utcnow
from protocol.site_config import load_site
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.hub.receiver import metric, write_site

pytestmark = pytest.mark.integration

HOMES = ("home-b1-101", "home-b1-302", "home-b2-201", "home-b3-905")


def event(device: str, kind: EventKind = "call") -> Event:
    """Return a new event from `device`."""
    return Event(id=new_event_id(), device=device, seq=1, ts=utcnow(), kind=kind, source="test")


class Busy:
    """The real engine; its first `on_event` waits for `release` (a hub busy on a slow commit).

    `poison` fails (like a database error) each input that contains it, `fails` times.
    """

    def __init__(self, engine: Engine, poison: str | None = None, fails: int = 0) -> None:
        self.engine = engine
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.poison = poison
        self.fails = fails

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def _maybe_fail(self, events: Sequence[Event]) -> None:
        if self.fails and any(e.id == self.poison for e in events):
            self.fails -= 1
            raise RuntimeError("injected: database is locked")

    async def on_event(self, site: str, event: Event) -> Outcome:
        """Wait for `release` the first time; fail on the poison while `fails` lasts."""
        if not self.entered.is_set():
            self.entered.set()
            await self.release.wait()
        self._maybe_fail([event])
        return await self.engine.on_event(site, event)

    async def on_inputs(self, items: Sequence[tuple[str, Event | Status]]) -> list[Outcome]:
        """Fail a batch holding the poison while `fails` lasts."""
        self._maybe_fail([e for _, e in items if isinstance(e, Event)])
        return await self.engine.on_inputs(items)


class NoSeries:
    """Time series off for these tests."""

    def submit(self, lines: Sequence[str]) -> None:
        """Drop the points."""


class AlarmPath:
    """One hub's alarm path in this process: store, busy engine, ingest and a restartable bus."""

    def __init__(self, tmp_path: Path, broker: Mosquitto, site: str, engine: Busy) -> None:
        self.broker, self.site, self.engine = broker, site, engine
        self.store = engine.engine.store
        self.metrics = HubMetrics()
        self.actions: list[Action] = []
        self.ingest = Ingest(
            engine, StoreDirectory(self.store), NoSeries(), self.metrics, self.submit
        )  # type: ignore[arg-type]
        self.bus = self._bus()

    def _bus(self) -> Bus:
        return Bus(
            BrokerAddress("127.0.0.1", self.broker.port), f"b-{self.site}", backoff_max_s=0.5
        )

    async def submit(self, batch: Sequence[Action]) -> None:
        """Record the actions dispatch would carry out."""
        self.actions.extend(batch)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Bus]:
        """Run a fresh bus (same persistent client id) until the block ends."""
        self.bus = self._bus()
        run = self.bus.run_batches("alarm", self.ingest.on_alarm_batch, max_batch=MAX_BATCH)
        task = asyncio.create_task(run, name="alarm-path")
        try:
            async with asyncio.timeout(10):
                await self.bus.wait_alarm_path()
            yield self.bus
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def publish(self, *events: Event) -> None:
        """Publish events at QoS 1 from their devices (the broker PUBACKs them at once)."""
        async with aiomqtt.Client("127.0.0.1", self.broker.port) as edge:
            for e in events:
                await edge.publish(device_topic(self.site, e.device, "event"), encode(e), qos=1)

    def stored(self) -> list[str]:
        """Return the ids of the stored events."""
        return [e.id for e in self.store.list_events(site=self.site)]

    def metric(self, name: str) -> float:
        """Return one sample of this hub's metrics."""
        return metric(self.metrics.render().decode(), name)


async def until(check: Callable[[], bool], within_s: float = 15.0) -> None:
    """Poll `check` until it holds (the bound only stops a broken test from hanging)."""
    async with asyncio.timeout(within_s):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


@contextlib.contextmanager
def opened_store(tmp_path: Path, site: str) -> Any:
    """Yield a migrated SQLite store holding the test's copy of the example site."""
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site)))
    try:
        yield store
    finally:
        store.close()


async def test_a_burst_queued_behind_a_busy_hub_is_committed_at_once_and_all_acked(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    with opened_store(tmp_path, site_id) as store:
        hub = AlarmPath(tmp_path, mosquitto, site_id, Busy(Engine(store, Policy(), utcnow)))
        first = event(HOMES[0])
        burst = [event(home) for _ in range(5) for home in HOMES]
        async with hub.running() as bus:
            await hub.publish(first)
            await until(hub.engine.entered.is_set)
            await hub.publish(*burst)
            await until(lambda: bus.backlog() == len(burst))
            hub.engine.release.set()
            # Counted after the PUBACKs were handed to the client (a committed row alone could
            # be seen before them), then a QoS 1 round trip on the same connection: the broker
            # has every PUBACK before it answers this publish.
            done = "watchpost_event_to_store_seconds_count"
            await until(lambda: hub.metric(done) == 1 + len(burst))
            await bus.publish(f"watchpost/v1/{site_id}/dev/{HOMES[0]}/cmd", b"{}", qos=1)
        # One event alone (as before group commit), then the whole burst in one transaction.
        assert hub.metric("watchpost_ingest_batch_size_count") == 2
        assert hub.metric("watchpost_ingest_batch_size_sum") == 1 + len(burst)
        assert sorted(a.device for a in store.list_alarms(site=site_id)) == sorted(HOMES)
        assert sorted(hub.stored()) == sorted(e.id for e in [first, *burst])
        # Every message was acknowledged: reconnecting with the same session brings back
        # nothing before the next new event.
        sentinel = event(HOMES[1], "test")
        async with hub.running():
            await hub.publish(sentinel)
            await until(lambda: sentinel.id in hub.stored())
        assert hub.metric("watchpost_ingest_duplicates_total") == 0
        assert hub.metric("watchpost_engine_errors_total") == 0


@pytest.mark.allow_logged_errors
async def test_a_poison_event_in_a_failed_batch_blocks_only_its_own_device(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    with opened_store(tmp_path, site_id) as store:
        call = event(HOMES[1])  # fails in the batch and once on its own, then the retry works
        busy = Busy(Engine(store, Policy(), utcnow), poison=call.id, fails=2)
        hub = AlarmPath(tmp_path, mosquitto, site_id, busy)
        cancel = event(HOMES[1], "cancel")  # must not overtake the call it cancels
        others = [event(HOMES[2]), event(HOMES[3])]
        async with hub.running() as bus:
            await hub.publish(event(HOMES[0], "test"))
            await until(busy.entered.is_set)
            await hub.publish(call, cancel, *others)
            await until(lambda: bus.backlog() == 4)
            busy.release.set()
            await until(lambda: cancel.id in hub.stored())
            sentinel = event(HOMES[0], "test")
            await hub.publish(sentinel)
            await until(lambda: sentinel.id in hub.stored())
            reconnects = bus.reconnects["alarm"]
        assert busy.fails == 0
        assert hub.metric("watchpost_ingest_batch_fallbacks_total") == 1
        assert hub.metric("watchpost_engine_errors_total") == 1
        assert reconnects == 1  # retried in the hub (TRIES), never through a reconnection
        alarms = {a.device: a for a in store.list_alarms(site=site_id)}
        assert alarms[HOMES[1]].state == "cancelled"  # call, then cancel: order kept
        assert {alarms[e.device].state for e in others} == {"notified"}
        assert len(hub.stored()) == len(set(hub.stored())) == 6
        # The other devices' events were acked in the failed batch: never redelivered.
        assert hub.metric("watchpost_ingest_duplicates_total") == 0
