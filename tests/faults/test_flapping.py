"""A flapping device (issue #7, row "flapping").

A stairwell device goes offline/online 30 times (every 0.25 s here; every 2 s for a minute in
the issue: the count, not the pace, is what matters, and the flap window is 10 minutes).
Maintenance gets ONE trouble alarm, reason `flapping`, with the count on it — not 15 alarms and
30 alerts — and a home's SOS during the flapping is paged within 1 s.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from protocol.codec import encode
from protocol.messages import Status, utcnow
from simulators.services import Mosquitto
from tests.faults.harness import (
    SOS_WITHIN_S,
    Figures,
    edge,
    hub_process,
    publish,
    sos_paged,
    until,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration

FLAPPER = "stair-b1"


async def _flap(port: int, site: str, changes: int) -> None:
    async with edge(port) as client:
        for i in range(changes):
            state = "offline" if i % 2 == 0 else "online"
            status = Status(device=FLAPPER, ts=utcnow(), state=state)
            await publish(client, site, FLAPPER, "status", encode(status))
            await asyncio.sleep(0.25)


async def test_a_flapping_device_is_one_trouble_alarm_with_its_count(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id)
    hub = hub_process(tmp_path / "hub", mosquitto.url, site)
    figures = Figures("flapping")
    pool = workers(mosquitto.url, site_id)
    async with pool.running():
        await asyncio.to_thread(hub.start)
        try:
            async with edge(mosquitto.port) as client:
                await publish(
                    client,
                    site_id,
                    FLAPPER,
                    "status",
                    encode(Status(device=FLAPPER, ts=utcnow(), state="online")),
                )
                flapping = asyncio.create_task(_flap(mosquitto.port, site_id, 30))
                await asyncio.sleep(3)
                _, delay = await sos_paged(client, pool, site_id, "home-b2-201")
                figures.sent, figures.delivered = 1, 1
                figures.delay(delay)
                await flapping
            maintenance = pool["w-maint-1"]
            await until(lambda: len(maintenance.inbox) >= 1, 10, "the flapping page")
            await asyncio.sleep(2)  # anything more would arrive now
            alarms = await asyncio.to_thread(hub.get, "/api/v1/alarms?cls=trouble")
        finally:
            await asyncio.to_thread(hub.stop)
    pages = [a.alert for a in maintenance.inbox if a.alert.state in ("raised", "notified")]
    figures.extra = {"trouble_alarms": len(alarms), "maintenance_pages": len(pages)}
    figures.extra["count"] = alarms[0]["count"] if alarms else 0
    figures.write()
    assert [(a["device"], a["reason"]) for a in alarms] == [(FLAPPER, "flapping")]
    assert alarms[0]["count"] >= 6
    assert len(pages) == 1
    assert figures.worst_delay_s < SOS_WITHIN_S
