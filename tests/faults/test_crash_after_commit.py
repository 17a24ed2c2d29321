"""No committed alarm without its page (issue #7, row 4).

The hub runs with the test hook `WATCHPOST_TEST_CRASH_AFTER_COMMIT=1`: it `os._exit(1)`s right
after the engine committed an alarm that pages someone, before anything was sent — the moment
where the old in-memory dispatch queue lost 10 of 10 pages. Restarted without the hook on the
same store, the hub reads the outbox (written in the alarm's own transaction) and pages every
alarm: lost = 0, duplicates allowed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from protocol.codec import encode
from protocol.topics import device_topic
from simulators.services import Mosquitto
from simulators.workers import WorkerPool
from tests.faults.harness import (
    HOME_WORKER,
    Figures,
    edge,
    event,
    hub_process,
    until,
    worker_of,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration


async def test_alarms_committed_before_a_crash_are_all_paged_after_restart(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id, extra_per_home=2)
    devices = [f"{home}-{n}" for home in HOME_WORKER for n in (1, 2)] + [
        "home-b1-101",
        "home-b2-201",
    ]
    crashing = hub_process(
        tmp_path / "hub", mosquitto.url, site, WATCHPOST_TEST_CRASH_AFTER_COMMIT="1"
    )
    pool = workers(mosquitto.url, site_id)
    figures = Figures("sigkill_after_commit", sent=len(devices))
    async with pool.running():
        await asyncio.to_thread(crashing.start)
        proc = crashing.proc
        assert proc is not None
        sent_at = time.monotonic()
        async with edge(mosquitto.port) as client:
            for device in devices:
                sos = event(device)
                await client.publish(device_topic(site_id, device, "event"), encode(sos), qos=1)
        assert await asyncio.to_thread(proc.wait, 20) == 1
        crashing.proc = None
        paged_before_restart = sum(len(w.inbox) for w in pool.workers)
        restarted = hub_process(tmp_path / "hub", mosquitto.url, site)
        restarted.http_port, restarted.token = crashing.http_port, crashing.token
        await asyncio.to_thread(restarted.start)
        try:
            await until(lambda: all(_paged(pool, d) for d in devices), 20, "every alarm paged")
            alarms = await asyncio.to_thread(restarted.get, "/api/v1/alarms?limit=1000")
            outbox_left = await asyncio.to_thread(restarted.get, "/healthz", auth=False)
        finally:
            await asyncio.to_thread(restarted.stop)
    log = (tmp_path / "hub" / "hub.log").read_text(errors="replace")
    assert "test hook: exiting after committing, before paging" in log
    pages = [a.alert for w in pool.workers for a in w.inbox if a.alert.cls == "call"]
    ids = [p.alarm for p in pages if p.state in ("raised", "notified")]
    figures.delivered = len({p.device for p in pages})
    figures.duplicated = len(ids) - len(set(ids))
    figures.lost = len(set(devices) - {p.device for p in pages})
    figures.worst_delay_s = round(time.monotonic() - sent_at, 3)  # includes the restart
    figures.extra = {"paged_before_restart": paged_before_restart, "alarms": len(alarms)}
    figures.write()
    assert paged_before_restart == 0, "the hook fired after a page went out"
    assert figures.lost == 0
    assert sorted(a["device"] for a in alarms) == sorted(devices)
    assert outbox_left["outbox_oldest_s"] < 30


def _paged(pool: WorkerPool, device: str) -> bool:
    return any(a.alert.device == device for a in pool[worker_of(device)].inbox)
