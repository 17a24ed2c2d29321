"""Per-device order when several hubs split one device's messages (hub/alarms/rules/order.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from hub.alarms.engine import Engine
from hub.store import Store
from protocol.messages import Status

SITE = "sunflower"
HOME = "home-b1-101"


async def test_a_cancel_committed_before_its_call_still_cancels_it(engine, events, store, pick):
    call, cancel = events(HOME, "call"), events(HOME, "cancel")
    out = await engine.on_event(SITE, cancel)  # the peer hub got the cancel first
    assert pick.states(out) == []
    out = await engine.on_event(SITE, call)
    assert ("call", "cancelled") in pick.states(out)
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.state, alarm.active) == ("cancelled", False)
    # replaying the cancel (the broker redelivers it) changes nothing
    again = await engine.on_event(SITE, cancel)
    assert again.duplicate


async def test_an_earlier_cancel_does_not_cancel_a_later_call(engine, events, store):
    cancel, call = events(HOME, "cancel"), events(HOME, "call")
    await engine.on_event(SITE, cancel)
    await engine.on_event(SITE, call)
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.active and alarm.state == "notified"


async def test_a_cancel_from_before_a_reboot_does_not_cancel(engine, events, store, clock):
    old = events(HOME, "cancel").model_copy(update={"seq": 900})
    await engine.on_event(SITE, old)
    clock.advance(5)
    call = events(HOME, "call")  # seq restarted at 2 after a reboot, later ts: a new press
    await engine.on_event(SITE, call)
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.active


def _status(clock, state: str, ago_s: float = 0.0) -> Status:
    return Status(device=HOME, ts=clock() - timedelta(seconds=ago_s), state=state)  # type: ignore[arg-type]


async def test_an_older_status_taken_later_is_ignored(engine, store, clock):
    await engine.on_status(SITE, _status(clock, "online"))
    await engine.on_status(SITE, _status(clock, "offline", ago_s=10))  # older: a peer was slow
    state = store.device_state(SITE, HOME)
    assert state is not None and state.online
    await engine.on_status(SITE, _status(clock, "offline"))
    state = store.device_state(SITE, HOME)
    assert state is not None and not state.online


async def test_two_engines_racing_on_one_postgresql_keep_each_devices_order(
    store_url, sunflower, policy, clock, events
):
    """Call and cancel of every home given to two engines at once: every alarm ends cancelled."""
    if not store_url.startswith("postgresql"):
        pytest.skip("the race needs a server database")
    stores = [Store(store_url), Store(store_url)]
    stores[0].migrate()
    stores[0].import_registry(sunflower)
    homes = [d.device for d in sunflower.devices if d.device.startswith("home-")][:8]
    a, b = (Engine(s, policy, clock) for s in stores)
    try:
        pairs = [(events(h, "call"), events(h, "cancel")) for h in homes]
        await asyncio.gather(
            *(a.on_event(SITE, call) for call, _ in pairs),
            *(b.on_event(SITE, cancel) for _, cancel in pairs),
        )
        alarms = stores[0].list_alarms(site=SITE)
        assert sorted(x.device for x in alarms) == sorted(homes)
        assert {(x.state, x.active) for x in alarms} == {("cancelled", False)}
    finally:
        for s in stores:
            s.close()
