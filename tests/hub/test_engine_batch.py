"""Group commit: `Engine.on_events` runs several events in ONE transaction with the rules and
deduplication of `on_event`, in arrival order, all or nothing (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import hub.alarms.engine as engine_module
from hub.alarms.engine import Engine
from hub.store import Store

SITE = "sunflower"
HOMES = {  # device → its grid worker (tier 0 of a call)
    "home-b1-101": "w-zhang-wei",
    "home-b1-302": "w-zhang-wei",
    "home-b2-201": "w-li-na",
    "home-b3-905": "w-wang-fang",
}


async def test_a_batch_raises_an_alarm_per_device_and_stores_each_event(
    engine, events, pick, store
):
    batch = [(SITE, events(home, "call")) for home in HOMES]
    outs = await engine.on_events(batch)
    assert [pick.notified(o) for o in outs] == [[w] for w in HOMES.values()]
    assert all(pick.states(o) == [("call", "raised"), ("call", "notified")] for o in outs)
    assert sorted(a.device for a in store.list_alarms(site=SITE)) == sorted(HOMES)
    stored = store.list_events(site=SITE)
    assert sorted(e.id for e in stored) == sorted(e.id for _, e in batch)
    assert all(e.alarm_id is not None for e in stored)
    assert await engine.on_events([]) == []


async def test_an_id_seen_before_or_earlier_in_the_batch_is_a_duplicate(
    engine, events, store, pick
):
    old = events("home-b1-101", "call")
    await engine.on_event(SITE, old)
    new, repeat = events("home-b2-201", "fall"), events("home-b2-201", "fall")
    outs = await engine.on_events([(SITE, old), (SITE, new), (SITE, new), (SITE, repeat)])
    assert [o.duplicate for o in outs] == [True, False, True, False]
    # duplicates only confirm again to the device; the repeat re-alerts the worker paged
    assert [pick.indications(o) for o in outs] == [[("home-b1-101", "received")]] + [
        [("home-b2-201", "received")]
    ] * 3
    assert pick.notified(outs[2]) == [] and pick.notified(outs[3]) == ["w-li-na"]
    assert len(store.list_events(site=SITE)) == 3
    fall = next(a for a in store.list_alarms(site=SITE) if a.cls == "fall")
    assert (fall.event_ids, fall.repeats) == ([new.id, repeat.id], 1)


async def test_events_of_one_device_take_effect_in_arrival_order(engine, events, pick, store):
    home = "home-b1-101"
    outs = await engine.on_events([(SITE, events(home, "call")), (SITE, events(home, "cancel"))])
    assert pick.states(outs[0]) == [("call", "raised"), ("call", "notified")]
    assert pick.states(outs[1]) == [("call", "cancelled")]
    assert pick.indications(outs[1]) == [(home, "cancelled")]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.state == "cancelled" and not alarm.active


async def test_a_refused_event_changes_nothing_and_the_others_commit(engine, events, store):
    ghost = events("ghost-1", "call")
    good = events("home-b2-201", "call")
    outs = await engine.on_events([(SITE, ghost), (SITE, good)])
    assert (outs[0].rejected, outs[1].rejected) == ("unknown_device", None)
    assert [e.id for e in store.list_events(site=SITE)] == [good.id]


async def test_a_failing_batch_commits_none_of_its_events(
    engine, events, store, monkeypatch: pytest.MonkeyPatch
):
    real = engine_module.raise_or_repeat
    batch = [(SITE, events(home, "call")) for home in HOMES]
    poison = batch[2][1].id

    def failing(ledger, device, cls, event, *args, **kwargs):
        if event is not None and event.id == poison:
            raise RuntimeError("injected: rule bug")
        return real(ledger, device, cls, event, *args, **kwargs)

    monkeypatch.setattr(engine_module, "raise_or_repeat", failing)
    with pytest.raises(RuntimeError, match="injected"):
        await engine.on_events(batch)
    assert store.list_events(site=SITE) == []
    assert store.list_alarms(site=SITE) == []
    monkeypatch.setattr(engine_module, "raise_or_repeat", real)
    outs = await engine.on_events(batch)  # the engine (and its lock) is still usable
    assert not any(o.duplicate or o.rejected for o in outs)
    assert len(store.list_alarms(site=SITE)) == len(HOMES)


@pytest.fixture
def twin(store_url, store, policy, clock) -> Iterator[Engine]:
    other = Store(store_url)
    yield Engine(other, policy, clock)
    other.close()


async def test_an_event_in_a_batch_and_through_another_hub_is_processed_once(
    engine, twin, events, pick, store
):
    shared, own = events("home-b1-101", "fall"), events("home-b3-905", "call")
    batch, single = await asyncio.gather(
        engine.on_events([(SITE, shared), (SITE, own)]), twin.on_event(SITE, shared)
    )
    assert sorted([batch[0].duplicate, single.duplicate]) == [False, True]
    assert len(pick.notified(batch[0])) + len(pick.notified(single)) == 1
    assert pick.notified(batch[1]) == ["w-wang-fang"]
    assert len(store.list_events(site=SITE)) == 2
