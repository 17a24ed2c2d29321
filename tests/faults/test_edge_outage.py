"""A long edge outage (issue #7, extra row).

Four homes run the real edge outbox, pump and bus (`edge.outbox`, `edge.pump`, `edge.bus`)
through a TCP link the test can cut (`simulators.relay.Relay` in front of the broker). While the
link is down, each home queues 25 `test` events, one SOS in the middle and 30 telemetry
readings (a long outage, compressed: what matters is the backlog, not the hours). When the link
comes back, each home replays its outbox: events first, oldest first (the edge's order), and
the hub — which sees 31 events at once from each home, past its per-sender burst — handles the
excess last instead of dropping it. Every SOS is paged within 1 s of its home's reconnection,
every event is stored exactly once, each home's oldest first, and no event sent after an SOS
is stored before it (the hub commits life-safety events ahead of the rest it holds, so the SOS
usually overtakes older `test` events that arrive with it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.bus import Bus
from edge.outbox import Outbox
from edge.pump import OutboxPump
from protocol.codec import encode, new_event_id
from protocol.device_config import BrokerConfig
from protocol.messages import Event, Status, Telemetry, utcnow
from protocol.topics import device_topic
from simulators.relay import Relay
from simulators.services import Mosquitto
from tests.faults.harness import (
    HOME_WORKER,
    SOS_WITHIN_S,
    Figures,
    hub_process,
    until,
    worker_of,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration


class Home:
    """One device's real outbox, pump and bus, through the link."""

    def __init__(self, workdir: Path, site: str, device: str, link: Relay) -> None:
        self.site, self.device = site, device
        self.outbox = Outbox(workdir / f"{device}.db", max_events=10_000, max_telemetry=10_000)
        self.bus = Bus(
            BrokerConfig(url=link.url, keepalive_s=5),
            client_id=device,
            password=None,
            cmd_topic=device_topic(site, device, "cmd"),
            status_topic=device_topic(site, device, "status"),
            status_payload=self._status,
            on_command=self._command,
            backoff=(0.05, 0.2),
        )
        self.pump = OutboxPump(self.outbox, self.bus, 100, on_sent=lambda _: None)
        self.events: list[Event] = []

    def _status(self, online: bool) -> bytes:
        state = "online" if online else "offline"
        return encode(Status(device=self.device, ts=utcnow(), state=state))

    async def _command(self, payload: bytes) -> None:
        return None

    def add_event(self, kind: str) -> Event:
        """Queue one event in the outbox (as the agent does on a button press)."""
        made: list[Event] = []

        def payload(seq: int) -> bytes:
            event = Event(
                id=new_event_id(),
                device=self.device,
                seq=seq,
                ts=utcnow(),
                kind=kind,  # type: ignore[arg-type]
                source="fault",
            )
            made.append(event)
            return encode(event)

        self.outbox.add_event(device_topic(self.site, self.device, "event"), kind, payload)
        self.events.append(made[0])
        self.pump.wake()
        return made[0]

    def add_reading(self, value: float) -> None:
        """Queue one telemetry reading."""
        reading = Telemetry(device=self.device, ts=utcnow(), readings={"temp_c": value})
        self.outbox.add_telemetry(
            device_topic(self.site, self.device, "telemetry"), encode(reading)
        )


@contextlib.asynccontextmanager
async def running(homes: list[Home]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(t) for h in homes for t in (h.bus.run(), h.pump.run())]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for home in homes:
            home.outbox.close()


async def test_after_a_long_edge_outage_alarms_come_first_and_nothing_is_lost(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id)
    hub = hub_process(tmp_path / "hub", mosquitto.url, site)
    figures = Figures("long_edge_outage")
    pool = workers(mosquitto.url, site_id)
    link = Relay(mosquitto.url)
    await link.up()
    homes = [Home(tmp_path, site_id, device, link) for device in HOME_WORKER]
    async with pool.running():
        await asyncio.to_thread(hub.start)
        try:
            async with running(homes):
                await until(lambda: all(h.bus.connected for h in homes), 10, "homes online")
                link.cut()
                await until(lambda: not any(h.bus.connected for h in homes), 10, "the outage")
                sos = {}
                for home in homes:
                    for i in range(30):
                        home.add_reading(20.0 + i / 10)
                    for i in range(25):
                        home.add_event("test")
                        if i == 10:
                            sos[home.device] = home.add_event("call")
                await asyncio.sleep(2.0)
                await link.up()
                await until(lambda: all(h.bus.connected for h in homes), 10, "homes back")
                back = time.monotonic()
                for home in homes:
                    worker = pool[worker_of(home.device)]
                    await until(lambda w=worker, d=home.device: _paged(w, d), 10, "the SOS")
                    got = next(a for a in worker.inbox if a.alert.device == home.device)
                    figures.delay(got.received_mono - back)
                    figures.sent += 1
                    figures.delivered += 1
                sent = [e.id for h in homes for e in h.events]
                await until(lambda: len(_stored(hub)) >= len(sent), 20, "every event stored")
                stored = _stored(hub)
        finally:
            await link.close()
            await asyncio.to_thread(hub.stop)
    figures.extra = {"events": len(sent), "stored": len(stored), "per_home": 26}
    figures.lost = len(set(sent) - {e["id"] for e in stored})
    figures.duplicated = len(stored) - len({e["id"] for e in stored})
    for home in homes:  # per home: oldest first, and nothing sent after the SOS overtakes it
        mine = [e for e in stored if e["device"] == home.device]
        rest = [e["seq"] for e in mine if e["kind"] != "call"]
        assert rest == sorted(rest)
        call = next(i for i, e in enumerate(mine) if e["kind"] == "call")
        assert all(e["seq"] < mine[call]["seq"] for e in mine[:call])
        figures.extra.setdefault("sos_stored_at", []).append(call)
    figures.write()
    assert figures.lost == 0 and figures.duplicated == 0
    assert figures.worst_delay_s < SOS_WITHIN_S, figures


def _paged(worker, device: str) -> bool:  # type: ignore[no-untyped-def]
    return any(a.alert.device == device for a in worker.inbox)


def _stored(hub) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    events: list[dict] = hub.get("/api/v1/events?limit=10000")  # type: ignore[type-arg]
    return events
