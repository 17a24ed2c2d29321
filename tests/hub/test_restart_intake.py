"""A restarted hub takes what waited for it once, and the newest of each device's statuses.

While the hub is down, the broker queues the QoS 1 messages of its persistent session; when it
comes back and subscribes again, the broker also replays every retained status. So each status
sent meanwhile may reach the hub twice (queued, and the newest again as retained), and in either
order. Events are never retained: they come once from the queue, or again if the hub dies
before acknowledging them (tests/hub/test_crash.py).

This runs the hub as its own process against a real Mosquitto: up, stopped, devices report
(an old and a newer status each, a `test` event each, one SOS), up again. Every event is stored
once, the SOS raises one alarm and pages once, and every device ends with its newer status
(its firmware version and outbox depth, as the API shows them), never the older one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest

from protocol.codec import encode, new_event_id
from protocol.messages import Event, Status, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto
from simulators.workers import WorkerPool
from tests.hub.receiver import metric, write_site

pytestmark = pytest.mark.integration

GRID_WORKER = "w-zhang-wei"
SOS_HOME = "home-b1-101"


async def test_a_restart_takes_queued_and_retained_intake_once_each(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_site(tmp_path, site_id)
    workdir = tmp_path / "hub"
    first = HubProcess(workdir, mosquitto.url, site, extra_args=["--name", "twice"])
    await asyncio.to_thread(first.start)
    devices = sorted(d["device"] for d in await asyncio.to_thread(first.get, "/api/v1/devices"))
    await asyncio.to_thread(first.stop)  # its persistent session stays with the broker

    older, newer = utcnow() - timedelta(seconds=2), utcnow() - timedelta(seconds=1)
    events = [
        Event(id=new_event_id(), device=d, seq=1, ts=newer, kind="test", source="test")
        for d in devices
    ]
    sos = Event(id=new_event_id(), device=SOS_HOME, seq=2, ts=utcnow(), kind="call", source="t")
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for device in devices:
            topic = device_topic(site_id, device, "status")
            for ts, fw, outbox in ((older, "1.0.0", 7), (newer, "2.0.0", 0)):
                status = Status(
                    device=device, ts=ts, state="online", fw=fw, outbox=outbox, heartbeat_s=60
                )
                await edge.publish(topic, encode(status), qos=1, retain=True)
        for event in [*events, sos]:
            await edge.publish(device_topic(site_id, event.device, "event"), encode(event), qos=1)

    again = first.again()
    pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER], respond=False)
    async with pool.running():
        await asyncio.to_thread(again.start)
        try:
            alert = await pool[GRID_WORKER].wait_for_alert(within_s=20)
            async with asyncio.timeout(20):
                while True:
                    health = await asyncio.to_thread(again.get, "/api/v1/devices")
                    stored = await asyncio.to_thread(again.get, "/api/v1/events")
                    if len(stored) >= len(events) + 1 and all(h["fw"] == "2.0.0" for h in health):
                        break
                    await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # whatever else the broker had for it
            health = await asyncio.to_thread(again.get, "/api/v1/devices")
            stored = await asyncio.to_thread(again.get, "/api/v1/events")
            alarms = await asyncio.to_thread(again.get, "/api/v1/alarms")
            metrics = await asyncio.to_thread(again.get, "/metrics")
        finally:
            await asyncio.to_thread(again.stop)
        await asyncio.sleep(0.5)
        alerts = [a for a in pool[GRID_WORKER].inbox if a.alert.alarm == alert.alert.alarm]

    # Both intakes happened: the two queued statuses of each device and its retained one.
    statuses = metric(metrics, "watchpost_ingest_messages_total", channel="status")
    assert statuses >= 3 * len(devices), statuses
    ids = [e["id"] for e in stored]
    assert sorted(ids) == sorted(e.id for e in [*events, sos])  # each once, none lost
    assert sorted((h["device"], h["online"], h["fw"], h["outbox"]) for h in health) == [
        (d, True, "2.0.0", 0) for d in devices
    ]
    (alarm,) = alarms
    assert (alarm["device"], alarm["event_ids"]) == (SOS_HOME, [sos.id])
    assert len(alerts) == 1, alerts  # paged once
