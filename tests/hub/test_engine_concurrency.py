"""Two hub processes on one database (shared MQTT subscription): no double alarm, no double
page, no double escalation. Each engine has its own Store, as separate processes would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from hub.alarms.engine import Engine
from hub.store import Store

SITE = "sunflower"
HOME = "home-b1-101"


@pytest.fixture
def twin(store_url, store, policy, clock) -> Iterator[Engine]:
    other = Store(store_url)
    yield Engine(other, policy, clock)
    other.close()


async def test_racing_calls_make_one_alarm_and_one_page(engine, twin, events, pick, store):
    pages = []
    for _ in range(5):
        a, b = events(HOME, "call"), events(HOME, "call")
        outs = await asyncio.gather(engine.on_event(SITE, a), twin.on_event(SITE, b))
        assert all(o.rejected is None for o in outs)
        pages += [w for o in outs for w in pick.notified(o)]
    # one page, and one "pressed again" re-alert: at most one a minute, across both hubs
    assert pages == ["w-zhang-wei", "w-zhang-wei"]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.repeats == 9 and len(alarm.event_ids) == 10


async def test_same_event_through_two_hubs_is_processed_once(engine, twin, events, pick):
    event = events(HOME, "fall")
    outs = await asyncio.gather(engine.on_event(SITE, event), twin.on_event(SITE, event))
    assert sorted(o.duplicate for o in outs) == [False, True]
    assert sum(len(pick.notified(o)) for o in outs) == 1


async def test_due_escalation_fires_once_across_hubs(engine, twin, events, clock, pick):
    await engine.on_event(SITE, events(HOME, "call"))
    now = clock.advance(61)
    outs = await asyncio.gather(engine.tick(now), twin.tick(now))
    assert sorted(w for o in outs for w in pick.notified(o)) == ["w-wang-fang"]
