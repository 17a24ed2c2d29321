"""SOS calls and falls: routing to the grid worker, alert text, dedup, repeats, cancel."""

from __future__ import annotations

import pytest

from hub.alarms.actions import Notify
from hub.store.schema import ResidentRow

SITE = "sunflower"
HOME = "home-b1-101"  # 王秀英, grid-1: grid worker w-zhang-wei


async def test_call_pages_the_grid_worker_and_tells_the_resident(engine, events, pick, store):
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert out.rejected is None and not out.duplicate
    assert pick.notified(out) == ["w-zhang-wei"]
    assert pick.states(out) == [("call", "raised"), ("call", "notified")]
    assert pick.indications(out) == [(HOME, "received")]
    alarm = store.list_alarms(site=SITE, active_only=True)[0]
    assert (alarm.cls, alarm.state, alarm.grid, alarm.resident) == (
        "call",
        "notified",
        "grid-1",
        "r-wang-xiuying",
    )


async def test_alert_text_is_bilingual_with_resident_context(engine, events):
    out = await engine.on_event(SITE, events(HOME, "call"))
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert alert.title_zh == "【一键呼叫】1号楼101 王秀英（84岁）"
    assert alert.title_en == "[SOS call] Bldg 1 #101 Wang Xiuying (84)"
    assert alert.resident is not None
    assert alert.resident.key_safe.startswith("门口密码盒")
    assert alert.resident.contacts[0].phone == "13800000001"
    assert "高血压 hypertension" in alert.body_zh
    assert "Emergency contact: 李明 13800000001" in alert.body_en


async def test_fall_routes_like_a_call(engine, events, pick):
    out = await engine.on_event(SITE, events("home-b2-201", "fall"))
    assert pick.notified(out) == ["w-li-na"]
    assert pick.states(out)[0] == ("fall", "raised")


async def test_redelivered_event_is_a_duplicate_confirmed_again(engine, events, store, pick):
    event = events(HOME, "call")
    first = await engine.on_event(SITE, event)
    again = await engine.on_event(SITE, event)
    assert first.actions and again.duplicate
    assert pick.notified(again) == [] and pick.states(again) == []
    assert pick.indications(again) == [(HOME, "received")]  # the device may have missed it
    assert len(store.list_alarms(site=SITE)) == 1


async def test_repeat_re_alerts_everyone_paged_at_most_once_a_minute(
    engine, events, clock, pick, store
):
    await engine.on_event(SITE, events(HOME, "call"))
    second = events(HOME, "call")
    out = await engine.on_event(SITE, second)
    assert pick.notified(out) == ["w-zhang-wei"]
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert alert.title_zh.startswith("【一键呼叫】居民再次按下求助（第2次）")
    assert "Pressed again, 2nd time" in alert.title_en
    assert pick.indications(out) == [(HOME, "received")]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.repeats == 1 and alarm.last_event == second.id and len(alarm.event_ids) == 2
    clock.advance(30)
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert pick.notified(out) == []  # within the minute: counted, not paged again
    clock.advance(31)
    out = await engine.on_event(SITE, events(HOME, "call"))
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert "Pressed again, 4th time" in alert.title_en and "第4次" in alert.title_zh


async def test_repeat_on_an_acknowledged_alarm_re_alerts_the_worker(engine, events, pick, store):
    await engine.on_event(SITE, events("home-b2-201", "fall"))
    (alarm,) = store.list_alarms(site=SITE)
    await engine.act(alarm.id, "w-li-na", "ack")
    out = await engine.on_event(SITE, events("home-b2-201", "fall"))
    assert pick.notified(out) == ["w-li-na"]
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert "Fall detected again, 2nd time" in alert.title_en
    assert alert.state == "acknowledged"


async def test_unknown_device_is_rejected(engine, events, store):
    out = await engine.on_event(SITE, events("ghost-1", "call"))
    assert out.rejected == "unknown_device" and out.actions == []
    out = await engine.on_event("other-site", events(HOME, "call"))
    assert out.rejected == "unknown_device"
    assert store.list_alarms() == []


async def test_cancel_within_window_cancels_and_tells_those_paged(
    engine, events, clock, pick, store
):
    await engine.on_event(SITE, events(HOME, "call"))
    clock.advance(engine.policy.cancel_window_s - 1)
    out = await engine.on_event(SITE, events(HOME, "cancel"))
    assert pick.states(out) == [("call", "cancelled")]
    assert pick.notified(out) == ["w-zhang-wei"]
    assert next(a for a in out.actions if isinstance(a, Notify)).alert.state == "cancelled"
    assert pick.indications(out) == [(HOME, "cancelled")]
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.state, alarm.active) == ("cancelled", False)
    assert store.alarm_history(alarm.id)[-1].by == "resident"


async def test_cancel_after_window_tells_the_worker_resident_says_ok(
    engine, events, clock, pick, store
):
    await engine.on_event(SITE, events(HOME, "call"))
    clock.advance(engine.policy.cancel_window_s + 1)
    out = await engine.on_event(SITE, events(HOME, "cancel"))
    assert pick.states(out) == []
    assert pick.notified(out) == ["w-zhang-wei"]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.state == "notified" and alarm.active
    assert "resident says OK" in store.alarm_history(alarm.id)[-1].note


async def test_cancel_after_acknowledgement_does_not_cancel(engine, events, pick, store):
    """A worker is on the way: the resident's cancel is news for them, not a cancel."""
    await engine.on_event(SITE, events(HOME, "call"))
    (alarm,) = store.list_alarms(site=SITE)
    await engine.act(alarm.id, "w-zhang-wei", "ack")
    out = await engine.on_event(SITE, events(HOME, "cancel"))
    assert pick.states(out) == []
    assert pick.notified(out) == ["w-zhang-wei"]
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert "居民按了取消键，表示没事" in alert.title_zh and "Resident says OK" in alert.title_en
    assert pick.indications(out) == [(HOME, "acknowledged")]
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.state, alarm.active) == ("acknowledged", True)


async def test_a_new_call_after_cancel_raises_a_new_alarm(engine, events, pick, store):
    await engine.on_event(SITE, events(HOME, "call"))
    await engine.on_event(SITE, events(HOME, "cancel"))
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert pick.notified(out) == ["w-zhang-wei"]
    assert len(store.list_alarms(site=SITE)) == 2


@pytest.mark.allow_logged_errors
async def test_corrupt_resident_data_still_pages(engine, events, pick, store):
    with store.session(write=True) as s:
        row = s.get(ResidentRow, (SITE, "r-wang-xiuying"))
        assert row is not None
        row.contacts = [{"name": "李明"}]  # phone lost by a bad manual edit
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert pick.notified(out) == ["w-zhang-wei"]
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert alert.title_en == f"[SOS call] {HOME}" and alert.resident is None
