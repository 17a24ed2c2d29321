"""The lifecycle table (hub/alarms/lifecycle.py) for EVERY (state, trigger) pair, through the
real `Ledger.fire` on a migrated SQLite store: an allowed pair reaches its next state with its
history entry, any other is refused with its reason and changes nothing. And docs/hub.md
shows the current table.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.alarms.actions import Transition
from hub.alarms.ledger import Ledger
from hub.alarms.lifecycle import (
    CLOSED,
    DOC,
    STATES,
    TABLE,
    TRIGGERS,
    Effect,
    Refused,
    State,
    Trigger,
    decide,
    refusal,
    splice,
)
from hub.policy import Policy
from hub.store import Store
from hub.store.schema import AlarmRow, TransitionRow, WorkerRow
from protocol.site_config import Registry
from tests.hub.conftest import T0

SITE = "sunflower"
HOME = "home-b1-101"
WORKER = "w-zhang-wei"
PAGING = {Effect.ESCALATE, Effect.PAGE_TIER0}


@pytest.fixture(scope="module")
def table_store(tmp_path_factory: pytest.TempPathFactory, sunflower: Registry) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path_factory.mktemp('lifecycle') / 'hub.db'}")
    db.migrate()
    db.import_registry(sunflower)
    yield db
    db.close()


@pytest.fixture
def session(table_store: Store) -> Iterator[Session]:
    """A session whose every change is rolled back after the test."""
    with Session(table_store.engine) as s:
        yield s
        s.rollback()


def _alarm_in(ledger: Ledger, state: State) -> AlarmRow:
    device = ledger.device(SITE, HOME)
    assert device is not None
    alarm = ledger.raise_alarm(device, "call", "call", None)
    alarm.state = state
    alarm.active = state not in CLOSED
    ledger.session.flush()
    ledger.actions.clear()
    return alarm


def _history(session: Session, alarm: AlarmRow) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(TransitionRow)
            .where(TransitionRow.alarm_id == alarm.id)
        )
        or 0
    )


PAIRS = [(s, t) for s in STATES for t in TRIGGERS]


@pytest.mark.parametrize(("state", "trigger"), PAIRS, ids=[f"{s}-{t}" for s, t in PAIRS])
def test_every_pair_moves_or_is_refused(session: Session, state: State, trigger: Trigger) -> None:
    ledger = Ledger(session, Policy(), T0)
    alarm = _alarm_in(ledger, state)
    before = _history(session, alarm)
    worker = session.get(WorkerRow, (SITE, WORKER))
    outcome = "handled" if trigger == "resolve" else None
    expected = TABLE.get((state, trigger))
    if expected is None:
        with pytest.raises(Refused) as refused:
            ledger.fire(alarm, trigger, WORKER, "", outcome, worker=worker)
        assert refused.value.reason == refusal(state, trigger)
        assert refused.value.reason == ("alarm_closed" if state in CLOSED else "invalid_transition")
        assert alarm.state == state
        assert ledger.actions == []
        assert _history(session, alarm) == before
        return
    step = ledger.fire(alarm, trigger, WORKER, "", outcome, worker=worker)
    assert step == expected
    if Effect.HISTORY in step.effects:
        moved = session.scalars(
            select(TransitionRow.to_state).where(
                TransitionRow.alarm_id == alarm.id, TransitionRow.from_state == state
            )
        ).all()
        assert step.next in moved
    else:
        assert step.next == state
    # Paging may go on one step by the table's own `paged` row (raised → notified).
    reached = {step.next}
    if PAGING & set(step.effects) and ("raised", "paged") in TABLE:
        reached.add(TABLE[("raised", "paged")].next)
    assert alarm.state in reached
    assert alarm.active is (alarm.state not in CLOSED)
    if step.next != state:
        assert any(isinstance(a, Transition) and a.state == step.next for a in ledger.actions)


def test_the_table_is_closed_under_its_states() -> None:
    for (state, trigger), step in TABLE.items():
        assert state not in CLOSED, (state, trigger)  # a closed alarm takes no trigger
        assert step.next in STATES
        assert step.effects, (state, trigger)
        if Effect.HISTORY not in step.effects:
            assert step.next == state, (state, trigger)
        if step.next in CLOSED:
            assert step.effects[0] is Effect.CLOSE


def test_decide_refuses_with_the_reason() -> None:
    assert decide("raised", "ack").next == "acknowledged"
    with pytest.raises(Refused) as closed:
        decide("resolved", "ack")
    assert closed.value.reason == "alarm_closed"
    with pytest.raises(Refused) as invalid:
        decide("on_scene", "ack")
    assert invalid.value.reason == "invalid_transition"


def test_docs_show_the_current_table() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert splice(doc) == doc, "run: python -m hub.alarms.lifecycle"


REPLIES_ALLOWED_FROM = {
    "ack": {"raised", "notified"},
    "decline": {"raised", "notified"},
    "arrived": {"raised", "notified", "acknowledged"},
    "resolve": {"raised", "notified", "acknowledged", "on_scene"},
    "cancel": {"raised", "notified"},
}


@pytest.mark.parametrize("trigger", sorted(REPLIES_ALLOWED_FROM))
def test_workers_and_residents_act_from_the_documented_states(trigger: Trigger) -> None:
    """raised → notified → acknowledged → on_scene → resolved(outcome), or cancelled."""
    allowed = {s for s in STATES if (s, trigger) in TABLE}
    assert allowed == REPLIES_ALLOWED_FROM[trigger]
