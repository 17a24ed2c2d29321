"""Escalation through the tiers with an injected clock, decline, and survival of a restart."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.alarms.engine import Engine
from hub.policy import Policy
from hub.store import Store
from protocol.messages import WorkerReply

SITE = "sunflower"
HOME = "home-b1-101"  # grid-1: w-zhang-wei; backup w-wang-fang


async def test_unacknowledged_call_climbs_every_tier_then_repeats_the_last(
    engine, events, clock, pick, store
):
    out = await engine.on_event(SITE, events(HOME, "call"))
    assert pick.notified(out) == ["w-zhang-wei"]
    out = await engine.tick(clock.advance(59))
    assert pick.notified(out) == []
    paged = []
    for _ in range(5):
        out = await engine.tick(clock.advance(60))
        paged.append(pick.notified(out))
    assert paged == [["w-wang-fang"], ["w-duty-1"], ["w-sup-1"], ["w-sup-1"], ["w-sup-1"]]
    alarm = store.list_alarms(site=SITE)[0]
    assert (alarm.tier, alarm.state) == (3, "notified")
    assert "tier 1: w-wang-fang" in store.alarm_history(alarm.id)[2].note


async def test_every_paged_tier_may_acknowledge(engine, events, clock, pick, store):
    await engine.on_event(SITE, events(HOME, "call"))
    await engine.tick(clock.advance(61))
    alarm = store.list_alarms(site=SITE)[0]
    ack = WorkerReply(alarm=alarm.id, action="ack", ts=datetime.now(UTC))
    out = await engine.on_reply(SITE, "w-wang-fang", ack)
    assert pick.states(out) == [("call", "acknowledged")]
    await engine.tick(clock.advance(3600))
    # No further tier (the arrival timer's notice is tested in test_engine_arrival.py).
    alarm = store.list_alarms(site=SITE)[0]
    assert (alarm.tier, alarm.state) == (1, "acknowledged")
    assert not any("not acknowledged at tier 1" in t.note for t in store.alarm_history(alarm.id))


async def test_decline_escalates_at_once(engine, events, pick, store):
    await engine.on_event(SITE, events(HOME, "call"))
    alarm = store.list_alarms(site=SITE)[0]
    decline = WorkerReply(alarm=alarm.id, action="decline", ts=datetime.now(UTC), note="ill")
    out = await engine.on_reply(SITE, "w-zhang-wei", decline)
    assert pick.notified(out) == ["w-wang-fang"]
    history = store.alarm_history(alarm.id)
    assert (history[-1].by, history[-1].note) == (
        "w-zhang-wei",
        "declined: ill; tier 1: w-wang-fang",
    )


async def test_policy_timeouts_per_class_and_tier(store, events, clock, pick):
    policy = Policy(
        escalation={"call": {"tiers": [["grid"], ["duty_officer"]], "timeouts_s": [10, 20]}},
        missed_heartbeats=100,
    )
    engine = Engine(store, policy, clock)
    await engine.on_event(SITE, events(HOME, "call"))
    assert pick.notified(await engine.tick(clock.advance(10))) == ["w-duty-1"]
    assert pick.notified(await engine.tick(clock.advance(10))) == []
    assert pick.notified(await engine.tick(clock.advance(10))) == ["w-duty-1"]


async def test_escalation_survives_a_restart(store_url, store, policy, events, clock, pick):
    first = Engine(store, policy, clock)
    await first.on_event(SITE, events(HOME, "call"))
    store.close()
    # The hub was down for five minutes: a new process, a new store object, the same database.
    clock.advance(300)
    reopened = Store(store_url)
    reopened.migrate()
    try:
        second = Engine(reopened, policy, clock)
        out = await second.tick(clock())
        assert pick.notified(out) == ["w-wang-fang"]
        alarm = reopened.list_alarms(site=SITE)[0]
        assert alarm.tier == 1 and alarm.next_escalation_at is not None
        assert alarm.next_escalation_at > clock()
    finally:
        reopened.close()


async def test_trouble_never_reaches_the_fire_station_or_grid(engine, events, clock, pick):
    out = await engine.on_event(SITE, events("stair-b1", "fault"))
    assert pick.notified(out) == ["w-maint-1"]
    alarm_id = out.actions[0].alarm_id
    seen = set()
    for _ in range(6):
        out = await engine.tick(clock.advance(4 * 3600))
        seen.update(
            a.worker for a in out.actions if getattr(a, "worker", None) and a.alarm_id == alarm_id
        )
    assert seen == {"w-duty-1"}


async def test_a_tick_escalates_in_small_transactions_an_sos_can_go_between(
    engine, events, clock, pick, store, monkeypatch
):
    from hub.alarms import engine as engine_module

    homes = [HOME, "home-b1-302", "home-b2-201"]
    for home in homes:
        await engine.on_event(SITE, events(home, "call"))
    monkeypatch.setattr(engine_module, "TIMER_STEP", 1)
    steps: list[int] = []
    fire = engine_module.escalate_due

    def counted(ledger, limit=None):
        steps.append(fire(ledger, limit))
        return steps[-1]

    monkeypatch.setattr(engine_module, "escalate_due", counted)
    out = await engine.tick(clock.advance(61))
    assert steps == [1, 1, 1, 0]  # one alarm a transaction, until none is due
    assert sorted(a.tier for a in store.list_alarms(site=SITE)) == [1, 1, 1]
    assert len(pick.notified(out)) == 3


@pytest.mark.allow_logged_errors
async def test_a_failing_later_step_keeps_what_the_earlier_steps_committed(
    engine, events, clock, pick, store, monkeypatch
):

    await engine.on_event(SITE, events(HOME, "call"))
    await engine.tick(clock())  # the first supervision pass
    clock.advance(engine.policy.supervision_interval_s)

    def broken(ledger) -> None:
        raise RuntimeError("store trouble in a later step")

    monkeypatch.setattr(engine, "_judge_due", broken)
    out = await engine.tick(clock.advance(61))  # a pass (judging fails) and an escalation
    assert pick.notified(out) == ["w-wang-fang"]  # the escalation's page is still returned
    assert store.list_alarms(site=SITE)[0].tier == 1
