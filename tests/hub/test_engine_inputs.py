"""`Engine.on_inputs`: events and statuses in one group commit, each with exactly the outcome
its own `on_event`/`on_status` would give, and the store left exactly as they would leave it.

Every scenario runs twice on the same clock: input by input on one store (the reference), and
as ONE `on_inputs` batch on a twin store; outcomes and stored rows must match. SQLite and
PostgreSQL (the `store_url` fixture).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine as Engine_
from sqlalchemy import select, text

from hub.alarms import engine as engine_module
from hub.alarms.actions import Outcome, SendCommand, Transition
from hub.alarms.engine import Engine
from hub.alarms.rules.trouble import FLAP_CHANGES
from hub.store import Store
from hub.store.schema import AlarmRow, DeviceStateRow, EventRow
from protocol.messages import Event, Status

SITE = "sunflower"
HOME = "home-b1-101"
STAIR = "stair-b3"


@pytest.fixture
def twin_url(request: pytest.FixtureRequest, store_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database of the same kind as `store_url`."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
        return
    admin: Engine_ = request.getfixturevalue("pg_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield store_url.split("?")[0] + f"?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture
def twin(twin_url, sunflower, policy, clock) -> Iterator[Engine]:
    db = Store(twin_url)
    db.migrate()
    db.import_registry(sunflower)
    yield Engine(db, policy, clock)
    db.close()


def status(clock, device: str, state: str = "online", **kw: Any) -> Status:
    return Status(
        device=device, ts=clock() + timedelta(seconds=kw.pop("late", 0)), state=state, **kw
    )  # type: ignore[arg-type]


def summary(outcome: Outcome) -> tuple[object, ...]:
    """An outcome without its random alarm ids."""
    actions = []
    for a in outcome.actions:
        if isinstance(a, Transition):
            actions.append(("transition", a.cls, a.state, a.device))
        elif isinstance(a, SendCommand):
            actions.append(("command", a.device, a.command.model_dump(exclude={"alarm"})))
        else:
            actions.append(("notify", a.worker, a.alert.title_en))  # type: ignore[union-attr]
    return (outcome.rejected, outcome.duplicate, actions)


def rows(store: Store) -> dict[str, object]:
    """What the store holds, without random ids and receipt microseconds."""
    with store.session() as s:
        states = sorted(
            (r.site, r.device, r.online, r.last_seen, r.heartbeat_s, r.last_status,
             r.offline_since, r.flap_since, r.flaps)
            for r in s.scalars(select(DeviceStateRow))
        )  # fmt: skip
        alarms = sorted(
            (a.device or "", a.cls, a.reason, a.state, a.active, a.count, a.repeats, a.outcome)
            for a in s.scalars(select(AlarmRow))
        )
        events = sorted(
            (e.id, e.device, e.kind, e.alarm_id is not None) for e in s.scalars(select(EventRow))
        )
    return {"states": states, "alarms": alarms, "events": events}


async def both(
    engine: Engine, twin: Engine, items: list[tuple[str, Event | Status]]
) -> list[Outcome]:
    """Feed `items` one by one to `engine` and as one batch to `twin`; assert they agree."""
    one_by_one = []
    for site, item in items:
        if isinstance(item, Event):
            one_by_one.append(await engine.on_event(site, item))
        else:
            one_by_one.append(await engine.on_status(site, item))
    batched = await twin.on_inputs(items)
    assert [summary(o) for o in batched] == [summary(o) for o in one_by_one]
    assert rows(twin.store) == rows(engine.store)
    return batched


async def test_a_mixed_batch_is_what_its_inputs_one_by_one_are(engine, twin, events, clock, pick):
    test = events(STAIR, "test")
    items: list[tuple[str, Event | Status]] = [
        (SITE, status(clock, STAIR, heartbeat_s=60.0)),  # first status: a new row
        (SITE, test),
        (SITE, status(clock, STAIR, "offline")),
        (SITE, status(clock, STAIR, "online", late=1)),
        (SITE, status(clock, "nobody-here")),  # unknown device
        (SITE, status(clock, STAIR, "online", late=-5)),  # stale: older than the one recorded
        (SITE, events(HOME, "call")),
        (SITE, events(HOME, "activity")),
        (SITE, status(clock, HOME, heartbeat_s=45.0)),
        (SITE, test),  # resent: a duplicate
        (SITE, events("nobody-here", "activity")),
    ]
    outs = await both(engine, twin, items)
    assert [o.rejected for o in outs][4] == "unknown_device"
    assert [o.duplicate for o in outs][9]
    assert pick.notified(outs[6]) == ["w-zhang-wei"]
    state = twin.store.device_state(SITE, HOME)
    assert state is not None and state.online and state.heartbeat_s == 45.0


async def test_flapping_within_one_batch_raises_one_alarm_in_order(
    engine, twin, events, clock, pick
):
    items: list[tuple[str, Event | Status]] = [(SITE, status(clock, STAIR))]
    for n in range(FLAP_CHANGES + 2):
        state = "offline" if n % 2 == 0 else "online"
        items.append((SITE, status(clock, STAIR, state, late=n + 1)))
        items.append((SITE, events(STAIR, "test")))  # a sign of life: online again
    outs = await both(engine, twin, items)
    raised = [i for i, o in enumerate(outs) if ("trouble", "raised") in pick.states(o)]
    assert len(raised) == 1
    (alarm,) = twin.store.list_alarms(site=SITE)
    assert alarm.reason == "flapping"


async def test_back_online_resolves_the_offline_trouble(engine, twin, events, clock, pick):
    offline = [
        (SITE, status(clock, STAIR, "offline")),
        (SITE, status(clock, "stair-b2", "offline")),
    ]
    await both(engine, twin, offline)  # type: ignore[arg-type]
    clock.advance(engine.policy.offline_grace_s + 1)
    for e in (engine, twin):
        out = await e.tick(clock())
        assert pick.notified(out) == ["w-maint-1", "w-maint-1"]
    items: list[tuple[str, Event | Status]] = [
        (SITE, events(HOME, "test")),
        (SITE, status(clock, STAIR, late=1)),
        (SITE, status(clock, STAIR, late=2)),
        (SITE, events("stair-b2", "activity")),
        (SITE, events("stair-b2", "test")),
    ]
    outs = await both(engine, twin, items)
    assert [pick.states(o) for o in outs] == [
        [],
        [("trouble", "resolved")],
        [],
        [("trouble", "resolved")],
        [],
    ]


async def test_a_failing_batch_commits_none_of_its_inputs(
    twin, events, clock, monkeypatch: pytest.MonkeyPatch
):
    real = engine_module.raise_or_repeat
    call = events(HOME, "call")

    def failing(*args: Any, **kwargs: Any) -> AlarmRow:
        raise RuntimeError("injected: rule bug")

    monkeypatch.setattr(engine_module, "raise_or_repeat", failing)
    batch: list[tuple[str, Event | Status]] = [
        (SITE, status(clock, STAIR)),
        (SITE, events(HOME, "test")),
        (SITE, call),
    ]
    with pytest.raises(RuntimeError, match="injected"):
        await twin.on_inputs(batch)
    assert twin.store.device_state(SITE, STAIR) is None
    assert twin.store.list_events(site=SITE) == []
    monkeypatch.setattr(engine_module, "raise_or_repeat", real)
    outs = await twin.on_inputs(batch)
    assert not any(o.duplicate or o.rejected for o in outs)
    assert len(twin.store.list_events(site=SITE)) == 2


async def test_supervision_judges_devices_fed_in_batches(twin, events, clock, pick):
    await twin.tick(clock())  # the first pass: every device, nobody late yet
    beats = [(SITE, status(clock, d, heartbeat_s=30.0)) for d in (STAIR, "stair-b2", HOME)]
    await twin.on_inputs(beats)  # type: ignore[arg-type]
    limit = twin.policy.missed_heartbeats * 30.0 + twin.policy.offline_grace_s
    out = await twin.tick(clock.advance(limit / 2))
    assert pick.notified(out) == []
    await twin.on_inputs([(SITE, events(STAIR, "test")), (SITE, status(clock, HOME, late=1))])
    await twin.tick(clock.advance(limit / 2 + 1))
    late = {a.device for a in twin.store.list_alarms(site=SITE)}
    assert "stair-b2" in late and STAIR not in late and HOME not in late


async def test_a_last_will_taken_by_another_hub_is_supervised_here_too(
    engine, store_url, policy, clock, pick
):
    await engine.tick(clock())  # this hub's first pass: nobody is due for a long while
    peer_store = Store(store_url)
    try:
        peer = Engine(peer_store, policy, clock)
        await peer.on_inputs([(SITE, status(clock, STAIR, "offline"))])
    finally:
        peer_store.close()
    out = await engine.tick(clock.advance(engine.policy.offline_grace_s + 1))
    assert pick.notified(out) == ["w-maint-1"]  # found by the sweep, not by a full pass


async def test_more_devices_due_than_a_tick_judges_are_judged_the_next_ticks(
    twin, clock, pick, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(engine_module, "JUDGE", 1)
    monkeypatch.setattr(engine_module, "JUDGE_STEP", 1)
    monkeypatch.setattr(engine_module, "SWEEP", 0)  # only the devices due
    await twin.tick(clock())  # first pass: every device, none late
    beats = [(SITE, status(clock, d, heartbeat_s=30.0)) for d in (STAIR, "stair-b2")]
    await twin.on_inputs(beats)  # type: ignore[arg-type]
    await twin.on_inputs([(SITE, status(clock, d, "offline", late=1)) for d in (STAIR, "stair-b2")])  # type: ignore[misc]
    clock.advance(twin.policy.offline_grace_s + 1)
    first = await twin.tick(clock())
    second = await twin.tick(clock.advance(1))  # within the supervision interval
    assert pick.notified(first) == ["w-maint-1"]
    assert pick.notified(second) == ["w-maint-1"]
    assert sorted(a.device for a in twin.store.list_alarms(site=SITE)) == ["stair-b2", STAIR]


async def test_a_tick_judges_in_small_transactions_an_sos_can_go_between(
    twin, clock, pick, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(engine_module, "JUDGE", 3)
    monkeypatch.setattr(engine_module, "JUDGE_STEP", 1)
    monkeypatch.setattr(engine_module, "SWEEP", 0)  # only the devices due
    await twin.tick(clock())  # first pass: every device, none late
    devices = (STAIR, "stair-b2", "stair-b1")
    await twin.on_inputs([(SITE, status(clock, d, heartbeat_s=30.0)) for d in devices])  # type: ignore[misc]
    await twin.on_inputs([(SITE, status(clock, d, "offline", late=1)) for d in devices])  # type: ignore[misc]
    clock.advance(twin.policy.offline_grace_s + 1)
    steps: list[int] = []
    judge = engine_module.supervise

    def counted(ledger, since, keys=None):
        steps.append(-1 if keys is None else len(keys))
        return judge(ledger, since, keys)

    monkeypatch.setattr(engine_module, "supervise", counted)
    out = await twin.tick(clock())
    assert steps == [1, 1, 1]  # three transactions of one device each, all in this tick
    assert sorted(a.device for a in twin.store.list_alarms(site=SITE)) == sorted(devices)
    assert pick.notified(out) == ["w-maint-1"] * 3
