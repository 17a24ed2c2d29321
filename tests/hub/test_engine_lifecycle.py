"""Worker replies and API actions: the lifecycle, its invalid transitions and rejections."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from protocol.messages import WorkerReply

SITE = "sunflower"
HOME = "home-b1-101"
WORKER = "w-zhang-wei"


def reply(alarm: str, action: str, outcome: str | None = None) -> WorkerReply:
    return WorkerReply(
        alarm=alarm,
        action=action,
        ts=datetime.now(UTC),
        outcome=outcome,  # type: ignore[arg-type]
    )


@pytest.fixture
async def alarm_id(engine, events, store) -> str:
    await engine.on_event(SITE, events(HOME, "call"))
    return store.list_alarms(site=SITE)[0].id


async def test_full_lifecycle_with_indications(engine, store, alarm_id, clock, pick):
    out = await engine.on_reply(SITE, WORKER, reply(alarm_id, "ack"))
    assert pick.states(out) == [("call", "acknowledged")]
    assert pick.indications(out) == [(HOME, "acknowledged")]
    clock.advance(300)
    out = await engine.on_reply(SITE, WORKER, reply(alarm_id, "arrived"))
    assert pick.indications(out) == [(HOME, "on_scene")]
    out = await engine.on_reply(SITE, WORKER, reply(alarm_id, "resolve", "handled"))
    assert pick.indications(out) == [(HOME, "resolved")]
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None
    assert (alarm.state, alarm.outcome, alarm.active) == ("resolved", "handled", False)
    history = [(t.from_state, t.to_state, t.by) for t in store.alarm_history(alarm_id)]
    assert history == [
        (None, "raised", "system"),
        ("raised", "notified", "system"),
        ("notified", "acknowledged", WORKER),
        ("acknowledged", "on_scene", WORKER),
        ("on_scene", "resolved", WORKER),
    ]
    assert all(t.ts.tzinfo is not None for t in store.alarm_history(alarm_id))
    assert [d.status for d in store.deliveries(alarm_id)] == ["acked"]


async def test_ack_stops_escalation(engine, store, alarm_id, clock, pick):
    await engine.on_reply(SITE, WORKER, reply(alarm_id, "ack"))
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.next_escalation_at is None
    await engine.tick(clock.advance(3600))
    # Still tier 0 and no escalation note (the arrival timer has its own tests).
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.tier == 0
    assert not any("not acknowledged" in t.note for t in store.alarm_history(alarm_id))


async def test_a_resent_reply_is_a_duplicate(engine, store, alarm_id):
    for action, outcome in [("ack", None), ("arrived", None), ("resolve", "handled")]:
        first = await engine.on_reply(SITE, WORKER, reply(alarm_id, action, outcome))
        again = await engine.on_reply(SITE, WORKER, reply(alarm_id, action, outcome))
        assert first.actions and again.duplicate and again.actions == []
    assert len(store.alarm_history(alarm_id)) == 5


async def test_a_second_worker_cannot_ack_an_acknowledged_alarm(engine, alarm_id):
    await engine.on_reply(SITE, WORKER, reply(alarm_id, "ack"))
    out = await engine.on_reply(SITE, "w-duty-1", reply(alarm_id, "ack"))
    assert out.rejected == "invalid_transition"


@pytest.mark.parametrize(
    ("steps", "bad", "reason"),
    [
        (["ack", "arrived"], "ack", "invalid_transition"),
        (["ack", "arrived"], "decline", "invalid_transition"),
        (["ack"], "resolve", "outcome_required"),
        (["ack", "resolve:handled"], "arrived", "alarm_closed"),
    ],
)
async def test_invalid_transitions_are_rejected_and_change_nothing(
    engine, store, alarm_id, steps, bad, reason
):
    for step in steps:
        action, _, outcome = step.partition(":")
        out = await engine.on_reply(SITE, WORKER, reply(alarm_id, action, outcome or None))
        assert out.rejected is None
    before = store.alarm_history(alarm_id)
    out = await engine.on_reply(SITE, WORKER, reply(alarm_id, bad))
    assert out.rejected == reason and out.actions == []
    assert store.alarm_history(alarm_id) == before


async def test_unknown_alarm_worker_and_outsider_are_rejected(engine, store, alarm_id):
    out = await engine.on_reply(SITE, WORKER, reply("no-such-alarm", "ack"))
    assert out.rejected == "unknown_alarm"
    out = await engine.on_reply(SITE, "w-nobody", reply(alarm_id, "ack"))
    assert out.rejected == "unknown_worker"
    # w-li-na covers grid-2 and was not paged for this grid-1 alarm.
    out = await engine.on_reply(SITE, "w-li-na", reply(alarm_id, "ack"))
    assert out.rejected == "not_on_alarm"
    out = await engine.on_reply("other-site", WORKER, reply(alarm_id, "ack"))
    assert out.rejected == "unknown_worker"
    alarm = store.get_alarm(alarm_id)
    assert alarm is not None and alarm.state == "notified"


async def test_duty_officer_may_answer_any_alarm_of_the_site(engine, alarm_id, pick):
    out = await engine.on_reply(SITE, "w-duty-1", reply(alarm_id, "ack"))
    assert pick.states(out) == [("call", "acknowledged")]


async def test_api_action_follows_the_same_rules(engine, store, alarm_id, pick):
    out = await engine.act(alarm_id, "board:admin", "resolve", "false_alarm", "test press")
    assert pick.states(out) == [("call", "resolved")]
    assert store.alarm_history(alarm_id)[-1].by == "board:admin"
    out = await engine.act(alarm_id, "board:admin", "ack")
    assert out.rejected == "alarm_closed"
    out = await engine.act("nope", "board:admin", "ack")
    assert out.rejected == "unknown_alarm"


async def test_counts_per_class(engine, store, alarm_id, events):
    await engine.on_reply(SITE, WORKER, reply(alarm_id, "ack"))
    await engine.on_event(SITE, events("home-b2-201", "call"))
    await engine.on_event(SITE, events("home-b2-201", "cancel"))
    counts = store.alarm_counts()
    assert counts["call"] == {
        "raised": 2,
        "notified": 2,
        "acknowledged": 1,
        "on_scene": 0,
        "resolved": 0,
        "cancelled": 1,
    }
