"""Arrival timer: acknowledged, nobody on scene within the policy's time → note and tell the
duty officer (for fire also the supervisor), once; the due time survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.alarms.actions import Notify, Outcome
from hub.alarms.engine import Engine
from hub.policy import Policy
from hub.store import Store
from protocol.messages import WorkerReply

SITE = "sunflower"
HOME = "home-b1-101"  # grid-1: w-zhang-wei (张伟)
FLAT = "home-b1-302"
STAIR = "stair-b1"
OVERDUE = "not on scene"


def reply(alarm: str, action: str, outcome: str | None = None) -> WorkerReply:
    """Return a worker's reply."""
    return WorkerReply(
        alarm=alarm,
        action=action,  # type: ignore[arg-type]
        ts=datetime.now(UTC),
        outcome=outcome,  # type: ignore[arg-type]
    )


def told(outcome: Outcome, alarm_id: str) -> dict[str, Notify]:
    """Return the outcome's notifications about `alarm_id`, by worker (long silences also
    raise device trouble)."""
    return {
        a.worker: a for a in outcome.actions if isinstance(a, Notify) and a.alarm_id == alarm_id
    }


def overdue_notes(store: Store, alarm_id: str) -> list[str]:
    """Return the alarm's arrival-overdue notes."""
    return [t.note for t in store.alarm_history(alarm_id) if OVERDUE in t.note]


async def acked_call(engine, events, store) -> str:
    """Raise a call and let its grid worker acknowledge it."""
    await engine.on_event(SITE, events(HOME, "call"))
    alarm_id = str(store.list_alarms(site=SITE)[0].id)
    assert (await engine.on_reply(SITE, "w-zhang-wei", reply(alarm_id, "ack"))).rejected is None
    return alarm_id


async def test_no_arrival_in_time_tells_the_duty_officer_once(engine, events, clock, store):
    alarm_id = await acked_call(engine, events, store)
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.arrival_due_at == clock() + timedelta(seconds=600)
    assert told(await engine.tick(clock.advance(599)), alarm_id) == {}
    out = await engine.tick(clock.advance(1))
    notice = told(out, alarm_id)
    assert list(notice) == ["w-duty-1"]  # a call does not reach the supervisor
    alert = notice["w-duty-1"].alert
    assert (alert.alarm, alert.state) == (alarm_id, "acknowledged")
    assert alert.title_zh.startswith("【一键呼叫】张伟已接单 10 分钟，仍未到场：")
    assert "Zhang Wei acknowledged 10 min ago and has not arrived" in alert.title_en
    assert overdue_notes(store, alarm_id) == [
        "w-zhang-wei not on scene 10 min after ack; told w-duty-1"
    ]
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.arrival_due_at is None and alarm.state == "acknowledged"
    for _ in range(3):
        assert told(await engine.tick(clock.advance(3600)), alarm_id) == {}
    assert len(overdue_notes(store, alarm_id)) == 1


async def test_the_duty_officer_told_hears_of_the_arrival(engine, events, clock, store):
    alarm_id = await acked_call(engine, events, store)
    await engine.tick(clock.advance(600))
    out = await engine.on_reply(SITE, "w-zhang-wei", reply(alarm_id, "arrived"))
    assert told(out, alarm_id)["w-duty-1"].alert.state == "on_scene"


async def test_fire_overdue_after_three_minutes_tells_duty_officer_and_supervisor(
    engine, events, clock, store
):
    await engine.on_event(SITE, events(FLAT, "smoke"))
    await engine.on_event(SITE, events(STAIR, "smoke"))
    (alarm,) = store.list_alarms(site=SITE)
    await engine.on_reply(SITE, "w-fire-1", reply(alarm.id, "ack"))
    assert told(await engine.tick(clock.advance(179)), alarm.id) == {}
    notice = told(await engine.tick(clock.advance(1)), alarm.id)
    assert sorted(notice) == ["w-duty-1", "w-sup-1"]
    assert "微型消防站值班已接单 3 分钟，仍未到场" in notice["w-sup-1"].alert.title_zh
    assert overdue_notes(store, alarm.id) == [
        "w-fire-1 not on scene 3 min after ack; told w-duty-1, w-sup-1"
    ]


async def test_arriving_or_resolving_in_time_stops_the_timer(engine, events, clock, store):
    arrives = await acked_call(engine, events, store)
    await engine.on_reply(SITE, "w-zhang-wei", reply(arrives, "arrived"))
    await engine.on_event(SITE, events("home-b2-201", "fall"))
    resolves = next(a.id for a in store.list_alarms(site=SITE) if a.cls == "fall")
    await engine.on_reply(SITE, "w-li-na", reply(resolves, "ack"))
    await engine.on_reply(SITE, "w-li-na", reply(resolves, "resolve", "false_alarm"))
    for alarm_id in (arrives, resolves):
        alarm = store.get_alarm(alarm_id)
        assert alarm is not None and alarm.arrival_due_at is None
    out = await engine.tick(clock.advance(3600))
    assert told(out, arrives) == told(out, resolves) == {}
    assert overdue_notes(store, arrives) == overdue_notes(store, resolves) == []


async def test_trouble_has_no_arrival_timer(engine, events, clock, store):
    out = await engine.on_event(SITE, events("stair-b1", "fault"))
    alarm_id = out.actions[0].alarm_id
    await engine.on_reply(SITE, "w-maint-1", reply(alarm_id, "ack"))
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.state == "acknowledged" and alarm.arrival_due_at is None
    assert told(await engine.tick(clock.advance(7 * 86400)), alarm_id) == {}


async def test_policy_sets_the_timeout_per_class(store, events, clock):
    policy = Policy(arrival_timeout_s={"call": 60, "fall": None}, missed_heartbeats=100)
    engine = Engine(store, policy, clock)
    alarm_id = await acked_call(engine, events, store)
    await engine.on_event(SITE, events("home-b2-201", "fall"))
    fall = next(a.id for a in store.list_alarms(site=SITE) if a.cls == "fall")
    await engine.on_reply(SITE, "w-li-na", reply(fall, "ack"))
    assert list(told(await engine.tick(clock.advance(60)), alarm_id)) == ["w-duty-1"]
    assert overdue_notes(store, alarm_id) != []
    assert told(await engine.tick(clock.advance(86400)), fall) == {}
    assert overdue_notes(store, fall) == []


async def test_arrival_timer_survives_a_restart(store_url, store, policy, events, clock):
    alarm_id = await acked_call(Engine(store, policy, clock), events, store)
    store.close()
    # The hub was down for a quarter of an hour: a new process, the same database.
    clock.advance(900)
    reopened = Store(store_url)
    reopened.migrate()
    try:
        out = await Engine(reopened, policy, clock).tick(clock())
        assert list(told(out, alarm_id)) == ["w-duty-1"]
        assert "15 min" in told(out, alarm_id)["w-duty-1"].alert.title_en
        assert len(overdue_notes(reopened, alarm_id)) == 1
    finally:
        reopened.close()
