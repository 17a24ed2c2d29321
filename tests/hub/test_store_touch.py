"""`Store.touch_devices`: routine heartbeats written in bulk (SQLite and PostgreSQL).

Last seen only moves forward, a status older (by the device's clock) than the recorded one is
not written over it, and a device the store does not have online is returned, not written.
"""

from __future__ import annotations

from datetime import timedelta

from hub.store.schema import DeviceStateRow
from protocol.messages import Status

SITE = "sunflower"


async def test_heartbeats_move_forward_and_offline_devices_are_returned(engine, clock, store):
    for device in ("stair-b2", "stair-b3"):
        await engine.on_status(SITE, Status(device=device, ts=clock(), state="online"))
    await engine.on_status(SITE, Status(device="stair-b1", ts=clock(), state="offline"))
    t0 = clock()
    later = t0 + timedelta(seconds=30)
    newer_status = Status(device="stair-b2", ts=later, state="online", fw="2.0", outbox=3)
    newer = newer_status.model_dump(mode="json")
    older = Status(device="stair-b3", ts=t0 - timedelta(seconds=5), state="online")
    stale = store.touch_devices(
        [
            (SITE, "stair-b2", later, newer_status),
            (SITE, "stair-b3", t0 - timedelta(seconds=60), older),
            (SITE, "stair-b1", later, newer_status),
            (SITE, "home-b1-101", later, newer_status),  # never reported: not online in the store
        ]
    )
    assert sorted(stale) == [(SITE, "home-b1-101"), (SITE, "stair-b1")]
    b2, b3 = store.device_state(SITE, "stair-b2"), store.device_state(SITE, "stair-b3")
    assert b2 is not None and b2.last_seen == later
    assert b3 is not None and b3.last_seen == t0  # not moved back
    with store.session() as s:
        row = s.get(DeviceStateRow, (SITE, "stair-b3"))
        assert row is not None and row.last_status is not None
        assert (
            row.last_status["ts"]
            == Status(device="x", ts=t0, state="online").model_dump(mode="json")["ts"]
        )
        row2 = s.get(DeviceStateRow, (SITE, "stair-b2"))
        assert row2 is not None and row2.last_status == newer
