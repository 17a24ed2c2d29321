"""The crash test: PUBACK only after commit.

The hub runs as its own process with the test hook `WATCHPOST_TEST_CRASH_BEFORE_COMMIT=1`, which
makes it `os._exit(1)` after receiving an SOS and before the engine commits it. Restarted with
the same store and the same persistent-session client id, the hub gets the un-acknowledged
QoS 1 message again from the broker and raises the alarm. Had the hub acknowledged on receipt,
the broker would have forgotten the message and no alarm would ever be raised.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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
from tests.hub.receiver import write_site

pytestmark = pytest.mark.integration

DEVICE = "home-b1-101"
GRID_WORKER = "w-zhang-wei"


@contextlib.asynccontextmanager
async def running_pool(pool: WorkerPool) -> AsyncIterator[WorkerPool]:
    """Run virtual workers until the block ends."""
    task = asyncio.create_task(pool.run(), name="workers")
    try:
        await pool.wait_connected()
        yield pool
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


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

    restarted = HubProcess(
        workdir,
        mosquitto.url,
        site,
        store_url=f"sqlite:///{db}",
        http_port=crashing.http_port,
        token=crashing.token,
        extra_args=["--name", "crashy"],
    )
    pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER], respond=False)
    async with running_pool(pool):
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
