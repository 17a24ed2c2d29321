"""Trouble (maintenance queue) and the daily check-in window (inactivity)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.alarms.engine import Engine
from hub.policy import Policy
from protocol.messages import Status

SITE = "sunflower"
HOME = "home-b1-101"  # 王秀英: check-in window 07:00-10:00 Asia/Shanghai (23:00-02:00 UTC)


def status(clock, device: str, state: str = "online", heartbeat_s: float | None = None) -> Status:
    return Status(device=device, ts=clock(), state=state, heartbeat_s=heartbeat_s)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["low_battery", "tamper", "fault"])
async def test_device_trouble_goes_to_maintenance(engine, events, pick, store, kind):
    out = await engine.on_event(SITE, events("stair-b2", kind))
    assert pick.notified(out) == ["w-maint-1"]
    assert pick.states(out) == [("trouble", "raised"), ("trouble", "notified")]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.reason == kind


async def test_trouble_alert_names_the_reason(engine, events):
    out = await engine.on_event(SITE, events("stair-b2", "low_battery"))
    alert = out.actions[-1].alert
    assert alert.title_zh == "【设备故障·电量低】2号楼楼梯间"
    assert alert.title_en == "[Device trouble: low battery] stairwell"


async def test_second_trouble_on_one_device_is_noted_not_paged(engine, events, store):
    await engine.on_event(SITE, events("stair-b2", "low_battery"))
    out = await engine.on_event(SITE, events("stair-b2", "tamper"))
    assert out.actions == []
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.repeats == 1 and store.alarm_history(alarm.id)[-1].note == "also: tamper"


async def test_last_will_raises_offline_after_the_grace_and_return_resolves_it(
    engine, clock, pick, store
):
    out = await engine.on_status(SITE, status(clock, "stair-b3", "offline"))
    assert pick.notified(out) == []  # hysteresis: not before the grace
    state = store.device_state(SITE, "stair-b3")
    assert state is not None and not state.online
    out = await engine.tick(clock.advance(engine.policy.offline_grace_s - 1))
    assert pick.notified(out) == []
    out = await engine.tick(clock.advance(engine.policy.supervision_interval_s + 2))
    assert pick.notified(out) == ["w-maint-1"]
    out = await engine.on_status(SITE, status(clock, "stair-b3", "online"))
    assert pick.states(out) == [("trouble", "resolved")]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.outcome == "recovered"


async def test_unknown_device_status_is_rejected(engine, clock):
    out = await engine.on_status(SITE, status(clock, "ghost-2"))
    assert out.rejected == "unknown_device"


async def test_missed_heartbeats_raise_offline_once(store, clock, pick):
    engine = Engine(
        store, Policy(missed_heartbeats=3, offline_grace_s=30, supervision_interval_s=1), clock
    )
    await engine.on_status(SITE, status(clock, "stair-b1", heartbeat_s=10))
    out = await engine.tick(clock.advance(60))
    assert pick.notified(out) == []
    out = await engine.tick(clock.advance(1))
    offline = {a.device for a in store.list_alarms(site=SITE, cls="trouble")}
    assert offline == {"stair-b1"} and pick.notified(out) == ["w-maint-1"]
    # Devices never heard from are judged on their configured heartbeat (30 s) from start.
    await engine.tick(clock.advance(60))
    assert len(store.list_alarms(site=SITE, cls="trouble")) == 7
    out = await engine.tick(clock.advance(60))
    assert [c for c, s in pick.states(out) if s == "raised"] == []


async def test_a_restarted_hub_gives_devices_time_to_report(store, clock, pick):
    policy = Policy(missed_heartbeats=3, offline_grace_s=30, supervision_interval_s=1)
    await Engine(store, policy, clock).on_status(SITE, status(clock, "stair-b1"))
    clock.advance(3600)
    restarted = Engine(store, policy, clock)
    # stair-b1 was last heard an hour ago, but silence counts from the restart.
    out = await restarted.tick(clock())
    assert pick.notified(out) == []
    out = await restarted.tick(clock.advance(100))
    assert pick.notified(out) == []
    await restarted.on_status(SITE, status(clock, "stair-b2"))
    await restarted.tick(clock.advance(21))
    offline = {a.device for a in store.list_alarms(cls="trouble")}
    assert "stair-b1" in offline and "stair-b2" not in offline


async def test_inactivity_event_raises_directly(engine, events, pick):
    out = await engine.on_event(SITE, events(HOME, "inactivity"))
    assert pick.notified(out) == ["w-zhang-wei"]
    assert pick.states(out)[0] == ("inactivity", "raised")


def inactivity(store) -> list[str]:
    return [a.resident for a in store.list_alarms(site=SITE, cls="inactivity")]


async def test_checkin_window(engine, events, clock, store):
    await engine.tick(clock())  # 10:00 local: today's window just closed, not judged
    assert inactivity(store) == []
    # Next day: a sign of life at 08:00 local is inside the window.
    clock.advance(timedelta(hours=22).total_seconds())
    await engine.on_event(SITE, events(HOME, "activity"))
    await engine.tick(clock.advance(timedelta(hours=2, seconds=1).total_seconds()))
    assert inactivity(store) == []
    # The day after: only an event at 06:00 local, before the window opens.
    clock.advance(timedelta(hours=20).total_seconds())
    await engine.on_event(SITE, events(HOME, "test"))
    await engine.tick(clock.advance(timedelta(hours=3).total_seconds()))
    assert clock().astimezone(store_tz()).hour == 9
    assert inactivity(store) == []
    out = await engine.tick(clock.advance(timedelta(hours=1).total_seconds()))
    assert inactivity(store) == ["r-wang-xiuying"]
    (page,) = [a for a in out.actions if getattr(a, "worker", None) == "w-zhang-wei"]
    assert page.alert.title_zh == "【无活动报警·签到时段内无活动】1号楼101 王秀英（84岁）"
    (alarm,) = store.list_alarms(site=SITE, cls="inactivity")
    assert "07:00-10:00 (Asia/Shanghai)" in store.alarm_history(alarm.id)[0].note
    # Judged once per day, even across a restart.
    restarted = Engine(store, engine.policy, clock)
    await restarted.tick(clock.advance(60))
    assert inactivity(store) == ["r-wang-xiuying"]
    assert len(store.list_alarms(site=SITE, cls="inactivity")) == 1


def store_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Shanghai")


async def test_a_device_back_within_the_grace_pages_nobody(engine, clock, pick, store):
    await engine.on_status(SITE, status(clock, "stair-b2", "online"))
    await engine.on_status(SITE, status(clock, "stair-b2", "offline"))
    clock.advance(5)
    await engine.on_status(SITE, status(clock, "stair-b2", "online"))
    out = await engine.tick(clock.advance(engine.policy.offline_grace_s + 60))
    assert pick.notified(out) == []
    assert store.list_alarms(site=SITE, cls="trouble") == []


async def test_flapping_is_one_trouble_alarm_with_a_count(engine, clock, pick, store):
    paged: list[str] = []
    for _ in range(15):  # 30 changes, one every 2 s, as in the issue
        for state in ("offline", "online"):
            clock.advance(2)
            out = await engine.on_status(SITE, status(clock, "stair-b1", state))
            paged += pick.notified(out)
            paged += pick.notified(await engine.tick(clock()))
    assert paged == ["w-maint-1"]
    (alarm,) = store.list_alarms(site=SITE, cls="trouble")
    assert (alarm.device, alarm.reason, alarm.active) == ("stair-b1", "flapping", True)
    assert alarm.count == 29  # every change (the first offline, from unknown, is none)
