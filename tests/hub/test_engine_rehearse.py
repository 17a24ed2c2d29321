"""The hub rehearses an SOS's path at start: every step runs, nothing is kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from hub.alarms.engine import Engine
from hub.store import Store
from hub.store.schema import Base

SITE = "sunflower"


def snapshot(store: Store) -> dict[str, list[Any]]:
    """Every row of every table, in a stable order."""
    with store.session() as s:
        tables = Base.metadata.sorted_tables
        return {t.name: sorted(map(repr, s.execute(select(t)).all())) for t in tables}


async def test_rehearsal_runs_the_sos_path_and_keeps_nothing(engine, store, events, pick):
    before = snapshot(store)
    inserted: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO"):
            inserted.append(statement.split()[2].strip('"'))

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        took = await engine.rehearse()
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert took is not None and took > 0
    # It raised, paged, acknowledged and cancelled (history, recipients, outbox) ...
    for table in ("events", "alarms", "alarm_transitions", "alarm_recipients", "outbox"):
        assert table in inserted, (table, inserted)
    # ... and rolled all of it back.
    assert snapshot(store) == before
    # The first real SOS afterwards is an ordinary first SOS.
    home = "home-b1-101"
    out = await engine.on_event(SITE, events(home, "call"))
    assert pick.notified(out) == ["w-zhang-wei"]
    assert [a.state for a in store.list_alarms(site=SITE, active_only=True)] == ["notified"]


async def test_rehearsal_leaves_an_open_alarm_of_the_home_as_it_was(engine, store, events):
    home = "home-b1-101"
    await engine.on_event(SITE, events(home, "call"))
    before = snapshot(store)
    assert await engine.rehearse() is not None
    assert snapshot(store) == before


async def test_no_home_registered_means_nothing_to_rehearse(store, policy, clock):
    engine = Engine(store, policy, clock, sites={"no-such-site"})
    assert await engine.rehearse() is None
