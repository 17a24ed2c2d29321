"""Lanes: an SOS published after a backlog of `test` events and statuses is committed and
paged before the backlog is drained (issue #8, "done when"), against a real Mosquitto with the
hub as its own process.

The backlog waits in the broker for the hub's persistent session (the hub is stopped while it
is published): 1,100 `test` events and 120 statuses from 20 devices, then one SOS from another
home — more than the broker's in-flight window (1,000 messages). When the hub comes back, the
broker hands the backlog over in order; the hub's reader sorts it into lanes as it arrives, and
the SOS, the 1,221st message, is taken as soon as it arrives, ahead of everything still queued:
it is stored and paged while most of the backlog still waits (what is left stays in the
broker for the hub's session; losses are the fault suite's business).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from protocol.codec import encode
from protocol.messages import Status, utcnow
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.faults.harness import (
    HOME_WORKER,
    edge,
    event,
    hub_process,
    until,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration

SOS_FROM = "home-b3-905"


async def test_an_sos_after_a_backlog_is_committed_and_paged_before_the_backlog_drains(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id, extra_per_home=5)
    noisy = [f"{home}-{n}" for home in HOME_WORKER for n in range(1, 6)]
    hub = hub_process(tmp_path / "hub", mosquitto.url, site)
    pool = workers(mosquitto.url, site_id)
    await asyncio.to_thread(hub.start)  # creates the hub's persistent session
    await asyncio.to_thread(hub.stop)
    backlog = []
    async with edge(mosquitto.port) as client:
        for i in range(55):
            for device in noisy:
                test = event(device, "test", seq=i + 1)
                backlog.append(test.id)
                await client.publish(device_topic(site_id, device, "event"), encode(test), qos=1)
            if i % 10 == 0:
                for device in noisy:
                    status = Status(device=device, ts=utcnow(), state="online")
                    await client.publish(
                        device_topic(site_id, device, "status"), encode(status), qos=1
                    )
        sos = event(SOS_FROM)
        await client.publish(device_topic(site_id, SOS_FROM, "event"), encode(sos), qos=1)
    async with pool.running():
        started = time.monotonic()
        await asyncio.to_thread(hub.start)
        try:
            worker = pool["w-wang-fang"]
            await until(lambda: any(a.alert.device == SOS_FROM for a in worker.inbox), 60, "SOS")
            paged_after = time.monotonic() - started
            events = await asyncio.to_thread(hub.get, "/api/v1/events?limit=10000")
        finally:
            await asyncio.to_thread(hub.stop)
    order = [e["id"] for e in events]
    print(f"SOS paged {paged_after:.2f} s after start, {len(order)} of {len(backlog)} stored")
    assert sos.id in order
    assert len(order) < len(backlog) // 2, len(order)  # paged long before the backlog drained
    assert set(order) <= {*backlog, sos.id} and len(set(order)) == len(order)
