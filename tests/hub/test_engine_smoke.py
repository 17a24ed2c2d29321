"""Smoke verification: quiet pre-alarm, confirmation (sustained / second detector), sirens."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.alarms.engine import Engine
from hub.policy import Policy
from protocol.messages import WorkerReply

SITE = "sunflower"
FLAT = "home-b1-302"  # smoke relay in building b1 (grid-1)
STAIR = "stair-b1"  # smoke relay and the siren of building b1
FIRE_TIER = ["w-duty-1", "w-fire-1", "w-zhang-wei"]


async def test_first_smoke_is_a_pre_alarm_for_the_duty_officer_only(engine, events, pick, store):
    out = await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    assert pick.notified(out) == ["w-duty-1"]
    assert pick.states(out) == [("pre_alarm", "raised"), ("pre_alarm", "notified")]
    assert pick.sirens(out) == []
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.cls == "pre_alarm" and alarm.verify_at is not None


async def test_sustained_smoke_becomes_a_fire(engine, events, clock, pick, store):
    out = await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    assert pick.indications(out) == [(FLAT, "received")]
    out = await engine.tick(clock.advance(engine.policy.smoke_verify_s - 1))
    assert pick.notified(out) == []
    out = await engine.tick(clock.advance(1))
    assert pick.states(out) == [("fire", "raised"), ("fire", "notified")]
    assert sorted(pick.notified(out)) == FIRE_TIER
    assert pick.sirens(out) == [(STAIR, True)]
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.cls, alarm.device, alarm.verify_at) == ("fire", FLAT, None)
    assert "smoke persisted" in store.alarm_history(alarm.id)[-2].note
    assert store.alarm_counts()["fire"]["raised"] == 1


async def test_second_detector_in_the_building_confirms_at_once(engine, events, pick, store):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.on_event(SITE, events(STAIR, "smoke"))
    assert sorted(pick.notified(out)) == FIRE_TIER
    assert pick.sirens(out) == [(STAIR, True)]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.cls == "fire" and len(alarm.event_ids) == 2
    # More smoke in the same building joins the fire: no new page, no second alarm.
    out = await engine.on_event(SITE, events(STAIR, "smoke"))
    assert pick.notified(out) == [] and pick.states(out) == [] and pick.sirens(out) == []
    assert pick.indications(out) == [(STAIR, "received")]
    assert len(store.list_alarms(site=SITE)) == 1
    # Smoke spreading to a third detector is written into the fire's history, once.
    for _ in range(2):
        out = await engine.on_event(SITE, events("home-b1-101", "smoke"))
        assert pick.notified(out) == [] and pick.sirens(out) == []
    notes = [t.note for t in store.alarm_history(alarm.id) if t.from_state == t.to_state]
    assert notes == [
        "smoke also at stair-b1 1号楼楼梯间 / stairwell",
        "smoke also at home-b1-101 1号楼101 卧室 / bedroom",
    ]


async def test_smoke_in_another_building_is_its_own_pre_alarm(engine, events, pick, store):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.on_event(SITE, events("stair-b2", "smoke", analog=True))
    assert pick.states(out)[0] == ("pre_alarm", "raised")
    assert {a.cls for a in store.list_alarms(site=SITE)} == {"pre_alarm"}


async def test_smoke_clear_before_confirmation_resolves_the_pre_alarm(
    engine, events, clock, pick, store
):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.on_event(SITE, events(FLAT, "smoke_clear"))
    assert pick.states(out) == [("pre_alarm", "resolved")]
    assert pick.notified(out) == ["w-duty-1"]
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.state, alarm.outcome) == ("resolved", "cleared")
    out = await engine.tick(clock.advance(3600))
    assert "fire" not in {c for c, _ in pick.states(out)}


async def test_resolving_a_fire_switches_the_sirens_off(engine, events, pick, store):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    await engine.on_event(SITE, events(STAIR, "smoke"))
    (alarm,) = store.list_alarms(site=SITE)
    ack = WorkerReply(alarm=alarm.id, action="ack", ts=datetime.now(UTC))
    assert (await engine.on_reply(SITE, "w-fire-1", ack)).rejected is None
    # Smoke clearing on a confirmed fire is only noted; a person must resolve it.
    out = await engine.on_event(SITE, events(FLAT, "smoke_clear"))
    assert pick.states(out) == [] and pick.sirens(out) == []
    done = WorkerReply(
        alarm=alarm.id, action="resolve", ts=datetime.now(UTC), outcome="fire_extinguished"
    )
    out = await engine.on_reply(SITE, "w-fire-1", done)
    assert pick.sirens(out) == [(STAIR, False)]
    assert pick.states(out) == [("fire", "resolved")]


async def test_verification_off_confirms_the_first_smoke(store, events, clock, pick):
    engine = Engine(store, Policy(smoke_verify_s=0, missed_heartbeats=100), clock)
    out = await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    assert sorted(pick.notified(out)) == FIRE_TIER
    assert pick.sirens(out) == [(STAIR, True)]


async def test_unacknowledged_fire_escalates_past_the_first_tier(engine, events, clock, pick):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    await engine.on_event(SITE, events(STAIR, "smoke"))
    out = await engine.tick(clock.advance(61))
    assert pick.notified(out) == ["w-wang-fang"]
    out = await engine.tick(clock.advance(61))
    assert pick.notified(out) == ["w-sup-1"]


async def test_smoke_verification_survives_a_restart(store_url, store, policy, events, clock, pick):
    from hub.store import Store

    await Engine(store, policy, clock).on_event(SITE, events(FLAT, "smoke", analog=True))
    store.close()
    reopened = Store(store_url)
    try:
        out = await Engine(reopened, policy, clock).tick(clock.advance(policy.smoke_verify_s))
        assert sorted(pick.notified(out)) == FIRE_TIER
        assert pick.sirens(out) == [(STAIR, True)]
    finally:
        reopened.close()


async def test_a_detectors_alarm_contact_is_a_fire_at_once(engine, events, pick, store):
    """A listed detector has verified the smoke itself: the fire station is paged now."""
    out = await engine.on_event(SITE, events(FLAT, "smoke", confirm_s=2.0))
    assert sorted(pick.notified(out)) == FIRE_TIER
    assert pick.sirens(out) == [(STAIR, True)]
    (alarm,) = store.list_alarms(site=SITE)
    assert alarm.cls == "fire"
    assert "alarm contact" in store.alarm_history(alarm.id)[-2].note


async def test_contact_confirms_an_analog_pre_alarm_of_the_same_device(engine, events, pick):
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.on_event(SITE, events(FLAT, "smoke"))
    assert sorted(pick.notified(out)) == FIRE_TIER


async def test_analog_spike_back_below_threshold_within_verification_stays_a_pre_alarm(
    engine, events, clock, pick, store
):
    """A kitchen spike lasting 45 s (longer than the old 30 s) is not a fire."""
    assert engine.policy.smoke_verify_s == 60
    await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
    out = await engine.tick(clock.advance(45))
    assert pick.notified(out) == []
    await engine.on_event(SITE, events(FLAT, "smoke_clear", analog=True))
    out = await engine.tick(clock.advance(60))
    assert "fire" not in {c for c, _ in pick.states(out)}
    (alarm,) = store.list_alarms(site=SITE)
    assert (alarm.cls, alarm.outcome) == ("pre_alarm", "cleared")


def test_verification_cannot_exceed_sixty_seconds():
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        Policy(smoke_verify_s=61)
