"""Direct pages, without the store: a store that cannot write, and an SOS it could not record,
reach the duty officer (and the SOS its grid worker) over a real Mosquitto, once each."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from hub.bus import BrokerAddress, Bus
from hub.dispatch.direct import DirectPager, Roster
from protocol.codec import new_event_id
from protocol.messages import Event, utcnow
from protocol.site_config import load_site
from simulators.services import Mosquitto
from simulators.workers import WorkerPool
from tests.faults.harness import until
from tests.hub.receiver import write_site

pytestmark = pytest.mark.integration


async def test_unsaved_sos_and_store_trouble_are_paged_once_each(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    roster = Roster.from_registry(load_site(write_site(tmp_path, site_id)))
    bus = Bus(BrokerAddress("127.0.0.1", mosquitto.port), f"direct-{site_id}")
    pager = DirectPager(bus, None, roster)
    pool = WorkerPool.build(mosquitto.url, site_id, ["w-li-na", "w-duty-1"], respond=False)
    sos = Event(
        id=new_event_id(), device="home-b2-201", seq=1, ts=utcnow(), kind="call", source="t"
    )
    async with pool.running():
        tasks = [asyncio.create_task(bus.run("alarm", _ignore)), asyncio.create_task(pager.run())]
        try:
            await bus.wait_alarm_path()
            for _ in range(3):  # redelivered three times: paged once
                pager.unsaved_alarm(site_id, sos)
                pager.store_failed("OperationalError('database or disk is full')")
            pager.store_ok()  # one good write between failures is no recovery
            await pager.flush()
            duty, grid = pool["w-duty-1"], pool["w-li-na"]
            await until(lambda: len(duty.inbox) == 2 and len(grid.inbox) == 1, 10)
            await asyncio.sleep(0.5)  # nothing more arrives
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    [page] = [a.alert for a in grid.inbox]
    assert (page.alarm, page.cls, page.device) == (f"unsaved-{sos.id}", "call", "home-b2-201")
    titles = sorted(a.alert.title_en for a in duty.inbox)
    assert len(duty.inbox) == 2
    assert any("cannot write" in t for t in titles) and any("SOS call" in t for t in titles)
    assert pager.store_down_since is not None  # still down: no "recovered" page yet


async def _ignore(_: object) -> None:
    return None
