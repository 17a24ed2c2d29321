"""Clock skew on a device (issue #7, extra row).

Two homes' devices have clocks 3 hours ahead and 3 hours behind. Their SOS calls are paged
within 1 s like any other; the events are ordered by the hub's receive time (not the device's
`ts`) and flagged with the skew (`clock_skew_s`), and counted in
`watchpost_ingest_clock_skewed_total{direction}`.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from protocol.codec import encode
from protocol.messages import utcnow
from protocol.topics import device_topic
from simulators.services import Mosquitto
from tests.faults.harness import (
    SOS_WITHIN_S,
    Figures,
    edge,
    event,
    hub_process,
    metric,
    until,
    worker_of,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration

SKEWED = {"home-b2-201": 3.0, "home-b3-905": -3.0, "home-b1-101": 0.0}  # hours


async def test_skewed_device_clocks_are_flagged_and_ordered_by_receipt(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id)
    hub = hub_process(tmp_path / "hub", mosquitto.url, site)
    figures = Figures("clock_skew")
    pool = workers(mosquitto.url, site_id)
    sent = []
    async with pool.running():
        await asyncio.to_thread(hub.start)
        try:
            async with edge(mosquitto.port) as client:
                for device, hours in SKEWED.items():
                    sos = event(device, ts=utcnow() + timedelta(hours=hours))
                    worker = pool[worker_of(device)]
                    seen = len(worker.inbox)
                    started = time.monotonic()
                    await client.publish(device_topic(site_id, device, "event"), encode(sos), qos=1)
                    await until(lambda w=worker, n=seen: len(w.inbox) > n, 10, "the SOS page")
                    figures.delay(worker.inbox[-1].received_mono - started)
                    figures.sent += 1
                    figures.delivered += 1
                    sent.append(sos)
            stored = await asyncio.to_thread(hub.get, "/api/v1/events")
            metrics = await asyncio.to_thread(hub.get, "/metrics")
        finally:
            await asyncio.to_thread(hub.stop)
    figures.extra = {"flags": {e["device"]: e["clock_skew_s"] for e in stored}}
    figures.write()
    assert [e["id"] for e in stored] == [e.id for e in sent]  # receipt order, not device time
    skew = {e["device"]: e["clock_skew_s"] for e in stored}
    assert skew["home-b1-101"] is None
    assert 3 * 3600 - 60 < skew["home-b2-201"] < 3 * 3600 + 60
    assert -3 * 3600 - 60 < skew["home-b3-905"] < -3 * 3600 + 60
    assert metric(metrics, "watchpost_ingest_clock_skewed_total", direction="ahead") == 1
    assert metric(metrics, "watchpost_ingest_clock_skewed_total", direction="behind") == 1
    assert figures.worst_delay_s < SOS_WITHIN_S
