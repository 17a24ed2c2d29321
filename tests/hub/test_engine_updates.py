"""Updates to those already paged: who acknowledged, arrived, resolved or cancelled an alarm,
as a `Notify` with the alarm's new state, over MQTT only."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.alarms.actions import Notify, Outcome
from hub.store.schema import WorkerRow
from protocol.messages import WorkerReply

SITE = "sunflower"
HOME = "home-b1-101"  # grid-1: w-zhang-wei; backup w-wang-fang (王芳)
FLAT = "home-b1-302"
STAIR = "stair-b1"
HOOK = "json://127.0.0.1:9/zhang"


def reply(alarm: str, action: str, outcome: str | None = None) -> WorkerReply:
    """Return a worker's reply."""
    return WorkerReply(
        alarm=alarm,
        action=action,  # type: ignore[arg-type]
        ts=datetime.now(UTC),
        outcome=outcome,  # type: ignore[arg-type]
    )


def updates(outcome: Outcome) -> dict[str, Notify]:
    """Return the outcome's notifications by worker."""
    return {a.worker: a for a in outcome.actions if isinstance(a, Notify)}


async def escalated_call(engine, events, clock, store) -> str:
    """Raise a call and let it reach the backup tier: two grid workers are paged."""
    await engine.on_event(SITE, events(HOME, "call"))
    await engine.tick(clock.advance(61))
    return str(store.list_alarms(site=SITE)[0].id)


async def test_ack_tells_every_other_worker_paged_who_took_it(engine, events, clock, store):
    with store.session(write=True) as s:
        zhang = s.get(WorkerRow, (SITE, "w-zhang-wei"))
        assert zhang is not None
        zhang.notify = [HOOK]
    alarm_id = await escalated_call(engine, events, clock, store)
    out = await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "ack"))
    told = updates(out)
    assert list(told) == ["w-zhang-wei"]  # not the one who acknowledged
    update = told["w-zhang-wei"]
    assert update.alert.alarm == alarm_id
    assert update.alert.state == "acknowledged"
    assert update.alert.title_zh == "【一键呼叫】王芳已接单：1号楼101 王秀英（84岁）"
    assert update.alert.title_en == (
        "[SOS call] Wang Fang has acknowledged: Bldg 1 #101 Wang Xiuying (84)"
    )
    assert update.alert.body_zh.startswith("王芳已接单\n")
    assert update.alert.body_en.startswith("Wang Fang has acknowledged\n")
    # The page went to every channel; the update goes over MQTT only.
    assert update.channels == ("mqtt",)


async def test_pages_still_use_every_channel_of_the_worker(engine, events, store):
    with store.session(write=True) as s:
        zhang = s.get(WorkerRow, (SITE, "w-zhang-wei"))
        assert zhang is not None
        zhang.notify = [HOOK]
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert updates(out)["w-zhang-wei"].channels == ("mqtt", HOOK)


async def test_arrived_and_resolved_are_told_too_with_the_outcome(engine, events, clock, store):
    alarm_id = await escalated_call(engine, events, clock, store)
    await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "ack"))
    out = await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "arrived"))
    assert updates(out)["w-zhang-wei"].alert.state == "on_scene"
    assert "王芳已到场" in updates(out)["w-zhang-wei"].alert.title_zh
    out = await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "resolve", "transported"))
    update = updates(out)["w-zhang-wei"]
    assert update.alert.state == "resolved" and update.channels == ("mqtt",)
    assert "王芳已解除（已送医）" in update.alert.title_zh
    assert "Wang Fang has resolved it (taken to hospital)" in update.alert.title_en


async def test_a_resent_ack_tells_nobody_twice(engine, events, clock, store):
    alarm_id = await escalated_call(engine, events, clock, store)
    assert updates(await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "ack")))
    again = await engine.on_reply(SITE, "w-wang-fang", reply(alarm_id, "ack"))
    assert again.duplicate and again.actions == []


async def test_fire_ack_by_the_station_tells_the_grid_worker_and_duty_officer(
    engine, events, store
):
    await engine.on_event(SITE, events(FLAT, "smoke"))
    await engine.on_event(SITE, events(STAIR, "smoke"))
    (alarm,) = store.list_alarms(site=SITE)
    out = await engine.on_reply(SITE, "w-fire-1", reply(alarm.id, "ack"))
    told = updates(out)
    assert sorted(told) == ["w-duty-1", "w-zhang-wei"]
    alert = told["w-duty-1"].alert
    assert alert.state == "acknowledged"
    assert alert.title_zh.startswith("【火警】微型消防站值班已接单：")
    assert alert.title_en.startswith("[FIRE] Mini fire station on duty has acknowledged: ")


async def test_an_ack_from_the_board_tells_everyone_paged(engine, events, store):
    await engine.on_event(SITE, events(HOME, "call"))
    alarm_id = store.list_alarms(site=SITE)[0].id
    out = await engine.act(alarm_id, "board:admin", "ack")
    told = updates(out)
    assert list(told) == ["w-zhang-wei"]
    assert told["w-zhang-wei"].alert.title_en.startswith("[SOS call] board:admin has acknowledged")


async def test_cancel_by_the_resident_is_an_mqtt_update(engine, events, store):
    await engine.on_event(SITE, events(HOME, "call"))
    out = await engine.on_event(SITE, events(HOME, "cancel"))
    update = updates(out)["w-zhang-wei"]
    assert update.alert.state == "cancelled" and update.channels == ("mqtt",)
    assert update.alert.title_zh.startswith("【一键呼叫】居民已取消：")
    assert update.alert.title_en.startswith("[SOS call] The resident has cancelled it: ")


async def test_smoke_clearing_by_itself_is_told_as_the_system(engine, events):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.on_event(SITE, events(FLAT, "smoke_clear"))
    update = updates(out)["w-duty-1"]
    assert update.alert.state == "resolved" and update.channels == ("mqtt",)
    assert "系统已解除（烟雾已消散）" in update.alert.title_zh
