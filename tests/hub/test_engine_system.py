"""Alarms of the system itself (`Engine.on_system`): broker drops raise one `trouble` alarm per
site, with no device, paged to the duty officer at once; repeats only update it; a person
acknowledges and resolves it. On SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from hub.alarms.actions import Notify, Outcome, Transition
from hub.alarms.engine import Engine
from hub.policy import Escalation, Policy
from hub.store import Store
from hub.store.schema import AlarmRow
from protocol.messages import WorkerReply
from protocol.site_config import load_site
from tests.hub.receiver import write_site

SITE = "sunflower"
OTHER = "oak"
DUTY = "w-duty-1"
DROPS_ZH = "消息代理丢弃了 {n} 条消息，报警可能丢失"
DROPS_EN = "The MQTT broker dropped {n} messages; alarms may have been lost"


@pytest.fixture
def two_sites(store: Store, tmp_path: Path) -> Store:
    """Return the store holding a second site besides sunflower."""
    store.import_registry(load_site(write_site(tmp_path, OTHER)))
    return store


def pages(outcome: Outcome) -> list[Notify]:
    """Return the Notify actions of an outcome."""
    return [a for a in outcome.actions if isinstance(a, Notify)]


def reply(alarm: str, action: str, outcome: str | None = None) -> WorkerReply:
    """Return a worker's reply to `alarm`."""
    return WorkerReply(alarm=alarm, action=action, ts=datetime.now(UTC), outcome=outcome)  # type: ignore[arg-type]


async def test_drops_raise_one_alarm_per_site_paged_to_the_duty_officer(engine, two_sites, pick):
    out = await engine.on_system("broker_drops", 25, "the broker dropped 25 messages")
    alarms = two_sites.list_alarms(cls="trouble")
    assert sorted(a.site for a in alarms) == [OTHER, SITE]
    for alarm in alarms:
        assert (alarm.reason, alarm.state, alarm.count) == ("broker_drops", "notified", 25)
        assert (alarm.device, alarm.grid, alarm.building, alarm.resident) == (None,) * 4
        history = two_sites.alarm_history(alarm.id)
        assert history[0].note == "the broker dropped 25 messages"
    # Tier 0 of broker drops: the duty officer (and maintenance, who fix the broker).
    assert sorted((n.site, n.worker) for n in pages(out)) == [
        (OTHER, DUTY),
        (OTHER, "w-maint-1"),
        (SITE, DUTY),
        (SITE, "w-maint-1"),
    ]
    alert = next(n.alert for n in pages(out) if n.site == SITE and n.worker == DUTY)
    assert alert.title_zh == f"【系统故障】{DROPS_ZH.format(n=25)}"
    assert alert.title_en == f"[System trouble] {DROPS_EN.format(n=25)}"
    assert (alert.cls, alert.device, alert.grid, alert.resident) == ("trouble", None, None, None)
    assert "向日葵" in alert.body_zh
    assert pick.states(out) == [("trouble", "raised"), ("trouble", "notified")] * 2
    assert all(t.grid is None for t in out.actions if isinstance(t, Transition))


async def test_further_drops_update_the_alarm_without_paging_again(engine, store, clock):
    await engine.on_system("broker_drops", 25, "the broker dropped 25 messages")
    clock.advance(5)
    out = await engine.on_system("broker_drops", 7, "the broker dropped 7 messages")
    assert out.actions == []
    [alarm] = store.list_alarms(cls="trouble")
    assert (alarm.count, alarm.repeats, alarm.state) == (32, 1, "notified")
    assert (
        store.alarm_history(alarm.id)[-1].note == "the broker dropped 7 messages; 32 since raised"
    )


async def test_the_duty_officer_acknowledges_and_resolves_it(engine, store, clock, pick):
    await engine.on_system("broker_drops", 3, "the broker dropped 3 messages")
    [alarm] = store.list_alarms(cls="trouble")
    out = await engine.on_reply(SITE, DUTY, reply(alarm.id, "ack"))
    assert pick.states(out) == [("trouble", "acknowledged")]
    # Maintenance was paged too: it hears who took it, with the alarm's own text.
    [news] = pages(out)
    assert news.worker == "w-maint-1"
    assert news.alert.title_en.endswith(DROPS_EN.format(n=3))
    out = await engine.on_reply(SITE, DUTY, reply(alarm.id, "resolve", "handled"))
    assert pick.states(out) == [("trouble", "resolved")]
    done = store.get_alarm(alarm.id)
    assert done is not None and (done.active, done.outcome) == (False, "handled")
    # Once resolved, new drops are a new alarm, paged again.
    clock.advance(60)
    out = await engine.on_system("broker_drops", 1, "the broker dropped 1 messages")
    assert pick.notified(out) == [DUTY, "w-maint-1"]
    assert len(store.list_alarms(cls="trouble")) == 2


async def test_resolvable_from_the_api_too(engine, store, pick):
    await engine.on_system("broker_drops", 3, "")
    [alarm] = store.list_alarms(cls="trouble")
    out = await engine.act(alarm.id, "operator", "resolve", "handled", "queue limit raised")
    assert pick.states(out) == [("trouble", "resolved")]
    assert store.alarm_history(alarm.id)[0].note == "broker_drops: 3"


async def test_unacknowledged_drops_escalate_to_the_supervisor(engine, store, clock, pick):
    await engine.on_system("broker_drops", 3, "")
    assert pick.notified(await engine.tick(clock.advance(599))) == []
    assert pick.notified(await engine.tick(clock.advance(2))) == ["w-sup-1"]


async def test_a_hub_serving_one_site_raises_only_for_it(two_sites, policy, clock):
    engine = Engine(two_sites, policy, clock, sites=[OTHER])
    await engine.on_system("broker_drops", 4, "")
    assert [a.site for a in two_sites.list_alarms(cls="trouble")] == [OTHER]


@pytest.mark.parametrize(("reason", "count"), [("bored", 3), ("broker_drops", 0)])
async def test_unknown_reason_or_nothing_counted_is_refused(engine, store, reason, count):
    out = await engine.on_system(reason, count, "")
    assert out.rejected and out.actions == []
    assert store.list_alarms() == []


def test_one_active_system_alarm_per_site_and_reason_is_enforced(store: Store) -> None:
    now = datetime.now(UTC)

    def alarm(aid: str, active: bool) -> AlarmRow:
        return AlarmRow(
            id=aid, site=SITE, cls="trouble", reason="broker_drops", state="raised",
            active=active, raised_at=now, updated_at=now, tier=0, repeats=0, count=1,
            event_ids=[],
        )  # fmt: skip

    with store.session(write=True) as s:
        s.add_all([alarm("a1", False), alarm("a2", True)])
    with pytest.raises(IntegrityError), store.session(write=True) as s:
        s.add(alarm("a3", True))


def test_policy_routes_broker_drops_to_the_duty_officer_first() -> None:
    policy = Policy(
        escalation_by_reason={"trouble": {"offline": Escalation(tiers=[["maintenance"]])}}
    )
    assert policy.escalation_for("trouble", "broker_drops").tiers[0] == [
        "duty_officer",
        "maintenance",
    ]
    assert policy.escalation_for("trouble", "offline").tiers == [["maintenance"]]
    assert policy.escalation_for("trouble", "fault") == policy.escalation["trouble"]
    with pytest.raises(ValidationError, match="must include duty_officer"):
        Policy(
            escalation_by_reason={"trouble": {"broker_drops": Escalation(tiers=[["maintenance"]])}}
        )
    with pytest.raises(ValidationError, match="not grid workers"):
        Policy(escalation_by_reason={"trouble": {"fault": Escalation(tiers=[["grid"]])}})
