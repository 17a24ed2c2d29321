"""A message the engine keeps failing on becomes a dead letter: kept, acknowledged, paged.

The real engine and store, a real Mosquitto and the hub's bus; the engine is made to fail on
one event id every time (a poison the decoder let through). After `TRIES` attempts the message
is kept in `dead_letters`, acknowledged (it never comes back, nothing waits behind it), counted
in /metrics, and a `trouble` alarm (`dead_letter`) pages the duty officer. The same sender's
next SOS is committed as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.alarms.actions import Action, Notify, Outcome
from hub.alarms.engine import Engine
from hub.api import ApiContext, create_app
from hub.app import StoreDirectory
from hub.bus import BrokerAddress, Bus
from hub.health import StoreQueues
from hub.ingest import TRIES, Ingest
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from protocol.codec import encode, new_event_id
from protocol.messages import Event, Status, utcnow
from protocol.site_config import load_site
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.api.kit import TestClient
from tests.faults.harness import until
from tests.hub.receiver import metric, write_site

pytestmark = pytest.mark.integration
DEVICE = "home-b1-101"


class Poisoned:
    """The real engine, failing every time on one event id."""

    def __init__(self, engine: Engine, poison: str) -> None:
        self.engine = engine
        self.poison = poison
        self.failures = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def on_event(self, site: str, event: Event) -> Outcome:
        """Fail on the poison, behave otherwise."""
        if event.id == self.poison:
            self.failures += 1
            raise RuntimeError("injected: the engine cannot handle this event")
        return await self.engine.on_event(site, event)

    async def on_inputs(self, items: Sequence[tuple[str, Event | Status]]) -> list[Outcome]:
        """Fail the whole batch if it holds the poison (as a transaction would)."""
        if any(isinstance(e, Event) and e.id == self.poison for _, e in items):
            raise RuntimeError("injected: batch with the poison")
        return await self.engine.on_inputs(items)


def call(seq: int) -> Event:
    return Event(id=new_event_id(), device=DEVICE, seq=seq, ts=utcnow(), kind="call", source="test")


@pytest.mark.allow_logged_errors
async def test_a_poison_event_becomes_a_dead_letter_and_pages_the_duty_officer(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    poison, good = call(1), call(2)
    engine = Poisoned(Engine(store, Policy(), utcnow), poison.id)
    metrics = HubMetrics()
    actions: list[Action] = []

    async def submit(batch: Sequence[Action]) -> None:
        actions.extend(batch)

    ingest = Ingest(
        engine,  # type: ignore[arg-type]
        StoreDirectory(store),
        _NoSeries(),
        metrics,
        submit,
        letters=StoreQueues(store),
        retry_s=0.01,
    )
    bus = Bus(BrokerAddress("127.0.0.1", mosquitto.port), f"dl-{site_id}", backoff_max_s=0.5)
    task = asyncio.create_task(bus.run_batches("alarm", ingest.on_alarm_batch, max_batch=100))
    try:
        async with asyncio.timeout(10):
            await bus.wait_alarm_path()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
            for event in (poison, good):
                await edge.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
        await until(lambda: bool(store.list_alarms(cls="call") and store.dead_letters()))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    try:
        [letter] = store.dead_letters()
        assert letter.attempts == TRIES and "cannot handle" in letter.error
        assert poison.id in letter.preview
        [trouble] = store.list_alarms(cls="trouble")
        assert trouble.reason == "dead_letter"
        assert "w-duty-1" in [a.worker for a in actions if isinstance(a, Notify)]
        assert [e.id for e in store.list_events()] == [good.id]
        assert bus.reconnects["alarm"] == 1  # acknowledged: never redelivered, never blocking
        text = metrics.render().decode()
        assert metric(text, "watchpost_dead_lettered_total") == 1
        assert metric(text, "watchpost_ingest_rejected_total", reason="dead_letter") == 1
        app = create_app(ApiContext(engine, store, metrics, submit, _health, "tok"))  # type: ignore[arg-type]
        with TestClient(app) as http:
            got = http.get("/api/v1/dead-letters", headers={"Authorization": "Bearer tok"})
        assert got.status_code == 200
        assert [d["topic"] for d in got.json()] == [device_topic(site_id, DEVICE, "event")]
    finally:
        store.close()


async def _health() -> dict[str, Any]:
    return {"ok": True}


class _NoSeries:
    def submit(self, lines: Sequence[str]) -> None:
        """Drop the points."""
