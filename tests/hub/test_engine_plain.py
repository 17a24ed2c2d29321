"""The group commit's fast path for plain events (`test`, `activity`; hub/alarms/plain.py):
the same outcomes as the ORM path — stored once, refused when the device is unknown, a duplicate
when the id is known (before or earlier in the batch), in arrival order around alarm events, and
a sign of life (a device back online resolves its offline trouble). SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from hub.store.schema import DeviceStateRow
from protocol.messages import Status

SITE = "sunflower"
HOME = "home-b1-101"


async def test_plain_events_in_a_batch_are_stored_once_in_order(engine, events, pick, store):
    early, moved = events(HOME, "test"), events(HOME, "activity")
    first = await engine.on_events([(SITE, early), (SITE, moved)])
    assert [(o.rejected, o.duplicate) for o in first] == [(None, False), (None, False)]
    activity = events("home-b2-201", "activity")
    call = events(HOME, "call")
    ghost = events("nobody-here", "test")
    batch = [(SITE, activity), (SITE, call), (SITE, ghost), (SITE, activity), (SITE, early)]
    outs = await engine.on_events(batch)
    assert [o.rejected for o in outs] == [None, None, "unknown_device", None, None]
    assert [o.duplicate for o in outs] == [False, False, False, True, True]
    assert pick.notified(outs[1]) == ["w-zhang-wei"]
    stored = store.list_events(site=SITE)
    ids = [e.id for e in stored]
    assert sorted(ids) == sorted([early.id, moved.id, activity.id, call.id])
    assert {e.id: e.kind for e in stored}[activity.id] == "activity"
    state = store.device_state(SITE, "home-b2-201")
    assert state is not None and state.online


async def test_a_test_event_brings_an_offline_device_back(engine, events, clock, pick, store):
    await engine.on_status(SITE, Status(device="stair-b3", ts=clock(), state="offline"))
    out = await engine.tick(clock.advance(engine.policy.offline_grace_s + 1))
    assert pick.notified(out) == ["w-maint-1"]
    outs = await engine.on_events(
        [(SITE, events("stair-b3", "test")), (SITE, events("stair-b3", "test"))]
    )
    assert pick.states(outs[0]) == [("trouble", "resolved")]
    assert pick.states(outs[1]) == []
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.outcome == "recovered"


async def test_a_sign_of_life_keeps_the_status_the_device_last_sent(engine, events, clock, store):
    """A `test` event brings a device back within its grace, in a batch without statuses: its
    row changes (online again) but the status it last sent stays recorded, so an older status
    replayed afterwards is still recognised as stale (rules/order.py) and changes nothing."""
    sent = clock()
    await engine.on_status(SITE, Status(device="stair-b3", ts=sent, state="offline", fw="2.1.0"))
    clock.advance(2)
    outs = await engine.on_events(
        [(SITE, events("stair-b3", "test")), (SITE, events(HOME, "test"))]
    )
    assert [o.rejected for o in outs] == [None, None]
    with store.session() as s:
        row = s.get(DeviceStateRow, (SITE, "stair-b3"))
        assert row is not None and row.online
        assert row.last_status is not None and row.last_status["fw"] == "2.1.0"
    older = Status(device="stair-b3", ts=sent - timedelta(seconds=60), state="offline")
    await engine.on_inputs([(SITE, older), (SITE, events(HOME, "activity"))])
    state = store.device_state(SITE, "stair-b3")
    assert state is not None and state.online
