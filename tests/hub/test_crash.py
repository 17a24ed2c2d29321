"""The crash test: PUBACK only after commit.

The hub runs as its own process with the test hook `WATCHPOST_TEST_CRASH_BEFORE_COMMIT=1`, which
makes it `os._exit(1)` after receiving an SOS and before the engine commits it. Restarted with
the same store and the same persistent-session client id, the hub gets the un-acknowledged
QoS 1 message again from the broker and raises the alarm. Had the hub acknowledged on receipt,
the broker would have forgotten the message and no alarm would ever be raised. The same holds
for a burst the hub received at once (group commit): it comes back whole and is committed once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from hub.store import Store
from protocol.codec import encode, new_event_id
from protocol.messages import Event, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto
from simulators.workers import WorkerPool
from tests.hub.receiver import metric, write_site

pytestmark = pytest.mark.integration

DEVICE = "home-b1-101"
GRID_WORKER = "w-zhang-wei"
HOMES = ("home-b1-101", "home-b1-302", "home-b2-201", "home-b3-905")


async def test_hub_dying_before_commit_gets_the_sos_again_after_restart(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_site(tmp_path, site_id)
    workdir = tmp_path / "hub"
    db = workdir / "hub.db"
    crashing = HubProcess(
        workdir,
        mosquitto.url,
        site,
        store_url=f"sqlite:///{db}",
        extra_args=["--name", "crashy"],
        env={"WATCHPOST_TEST_CRASH_BEFORE_COMMIT": "1"},
    )
    await asyncio.to_thread(crashing.start)
    proc = crashing.proc
    assert proc is not None
    event = Event(
        id=new_event_id(), device=DEVICE, seq=7, ts=utcnow(), kind="call", source="gpio:call"
    )
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        # The broker PUBACKs the edge at once: it has the message; the hub has not acked yet.
        await edge.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
    assert await asyncio.to_thread(proc.wait, 20) == 1
    crashing.proc = None

    store = Store(f"sqlite:///{db}")
    try:
        assert store.list_alarms() == [], "the hub committed before the crash hook fired"
    finally:
        store.close()

    restarted = crashing.again()
    pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER], respond=False)
    async with pool.running():
        await asyncio.to_thread(restarted.start)
        try:
            got = await pool[GRID_WORKER].wait_for_alert(within_s=20)
            alarms = await asyncio.to_thread(restarted.get, "/api/v1/alarms")
        finally:
            await asyncio.to_thread(restarted.stop)
    assert len(alarms) == 1
    assert alarms[0]["event_ids"] == [event.id]
    assert alarms[0]["device"] == DEVICE
    assert got.alert.alarm == alarms[0]["id"]
    log = (workdir / "hub.log").read_text(errors="replace")
    assert "test hook: exiting before committing event" in log


async def test_a_burst_redelivered_after_a_crash_is_committed_once_each(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_site(tmp_path, site_id)
    workdir = tmp_path / "hub"
    store_url = f"sqlite:///{workdir / 'hub.db'}"
    crashing = HubProcess(
        workdir,
        mosquitto.url,
        site,
        store_url=store_url,
        extra_args=["--name", "crashy"],
        env={"WATCHPOST_TEST_CRASH_BEFORE_COMMIT": "1"},
    )
    await asyncio.to_thread(crashing.start)
    proc = crashing.proc
    assert proc is not None
    burst = [
        Event(id=new_event_id(), device=home, seq=seq, ts=utcnow(), kind="call", source="test")
        for seq in range(1, 4)
        for home in HOMES
    ]
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for event in burst:
            await edge.publish(device_topic(site_id, event.device, "event"), encode(event), qos=1)
    assert await asyncio.to_thread(proc.wait, 20) == 1
    crashing.proc = None

    restarted = crashing.again()
    await asyncio.to_thread(restarted.start)
    try:
        async with asyncio.timeout(20):
            while True:
                stored = await asyncio.to_thread(restarted.get, "/api/v1/events")
                if len(stored) >= len(burst):
                    break
                await asyncio.sleep(0.05)
        alarms = await asyncio.to_thread(restarted.get, "/api/v1/alarms")
        metrics = await asyncio.to_thread(restarted.get, "/metrics")
    finally:
        await asyncio.to_thread(restarted.stop)
    assert sorted(e["id"] for e in stored) == sorted(e.id for e in burst)
    assert sorted(a["device"] for a in alarms) == sorted(HOMES)
    for alarm in alarms:  # one alarm per device; its events in the order they were sent
        sent = [e.id for e in burst if e.device == alarm["device"]]
        assert (alarm["event_ids"], alarm["repeats"]) == (sent, len(sent) - 1)
    assert metric(metrics, "watchpost_ingest_duplicates_total") == 0
    assert metric(metrics, "watchpost_ingest_batch_size_sum") == len(burst)
