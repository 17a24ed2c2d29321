"""Liveness in memory: a heartbeat that changes nothing never reaches the engine; the store
still learns when the device was last seen, and stays the truth (issue #8, item 2).

An in-process hub on a real Mosquitto and SQLite store.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import aiomqtt
import httpx
from sqlalchemy import update

from hub.store import Store
from hub.store.schema import DeviceStateRow
from protocol.codec import encode
from protocol.messages import Status, utcnow
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.faults.harness import until
from tests.hub.receiver import hub_settings, metric, running_hub, write_site

DEVICE = "stair-b2"


async def _metric(api: httpx.AsyncClient, name: str) -> float:
    return metric((await api.get("/metrics")).text, name)


async def test_routine_heartbeats_skip_the_engine_and_are_written_in_batches(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    settings = hub_settings(tmp_path, mosquitto.url, write_site(tmp_path, site_id))
    store = Store(settings.store)
    topic = device_topic(site_id, DEVICE, "status")
    beats = []
    async with running_hub(settings) as api, aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for i in range(10):
            beat = Status(device=DEVICE, ts=utcnow() + timedelta(milliseconds=i), state="online")
            beats.append(beat)
            await edge.publish(topic, encode(beat), qos=1)
        name = "watchpost_ingest_heartbeats_routine_total"
        routine = 0.0
        async with asyncio.timeout(10):
            while routine < 9:
                routine = await _metric(api, name)
                await asyncio.sleep(0.05)
        state = store.device_state(site_id, DEVICE)
        assert state is not None and state.online
        last = beats[-1].ts.isoformat()
        await until(lambda: _last_status_ts(store, site_id) == last, 10, "the last beat written")
        # Supervision (or a peer hub) marked the device offline in the store meanwhile: the
        # next heartbeat is routine in memory, the batch write finds it stale, and the one
        # after goes to the engine, which puts the device back online.
        with store.session(write=True) as s:
            s.execute(
                update(DeviceStateRow)
                .where(DeviceStateRow.site == site_id, DeviceStateRow.device == DEVICE)
                .values(online=False)
            )
        for _ in range(3):
            await edge.publish(
                topic, encode(Status(device=DEVICE, ts=utcnow(), state="online")), qos=1
            )
            await asyncio.sleep(1.5)
        await until(lambda: _online(store, site_id), 10, "back online in the store")
        # 9 of the first 10; of the last 3 the first (then found stale) and the third.
        assert await _metric(api, name) == 11
    store.close()
    assert routine == 9  # the first status of a device not known online went to the engine


def _last_status_ts(store: Store, site: str) -> str | None:
    with store.session() as s:
        row = s.get(DeviceStateRow, (site, DEVICE))
        ts = None if row is None or row.last_status is None else row.last_status.get("ts")
    return None if ts is None else datetime.fromisoformat(str(ts)).isoformat()


def _online(store: Store, site: str) -> bool:
    state = store.device_state(site, DEVICE)
    return state is not None and state.online
