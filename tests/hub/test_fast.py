"""`hub.store.fast` runs Core statements exactly as SQLAlchemy would, on both stores;
`hub.store.reads.loaded` gives what `Session.get` gives; `hub.store.flush.write_by_core`
writes what the ORM's flush would.

Each statement is run twice, once by the shortcut and once by `Connection.execute`, and the
two must agree: the values returned (times aware UTC, JSON decoded, booleans), the rows
written, the errors raised. On SQLite the shortcut must also really be taken (the driver's own
trace of the SQL shows it, where SQLAlchemy's events do not).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, bindparam, event, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from hub.store import Store, fast
from hub.store.flush import write_by_core
from hub.store.queues import OutboxRow
from hub.store.reads import loaded
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow, EventRow

SITE = "sunflower"
T0 = datetime(2026, 12, 3, 8, 30, 15, 123456, tzinfo=UTC)

ADD_EVENT = insert(EventRow)
EVENT = select(EventRow.ts, EventRow.received_at, EventRow.data, EventRow.seq).where(
    EventRow.id == bindparam("id")
)
ACTIVE = select(AlarmRow.id, AlarmRow.active, AlarmRow.raised_at).where(
    AlarmRow.site == bindparam("site"), AlarmRow.active
)
ADD_OUTBOX = insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True)


def _event(event_id: str, seq: int) -> dict[str, object]:
    return {
        "id": event_id,
        "site": SITE,
        "device": "home-b1-101",
        "seq": seq,
        "ts": T0,
        "received_at": T0,
        "kind": "test",
        "source": "button",
        "data": {"note": "注意", "n": seq},
        "alarm_id": None,
        "clock_skew_s": None,
    }


def _alarm(alarm_id: str) -> dict[str, object]:
    values = dict.fromkeys(c.key for c in AlarmRow.__table__.columns)
    return values | {
        "id": alarm_id,
        "site": SITE,
        "cls": "call",
        "reason": "call",
        "state": "raised",
        "active": True,
        "raised_at": T0,
        "updated_at": T0,
        "tier": 0,
        "repeats": 0,
        "event_ids": ["e-1"],
        "count": 0,
    }


@contextmanager
def _traced(conn: Connection) -> Iterator[list[str]]:
    """The SQL the driver itself ran meanwhile (SQLite only)."""
    driver = conn.connection.driver_connection
    seen: list[str] = []
    driver.set_trace_callback(seen.append)  # type: ignore[union-attr]
    try:
        yield seen
    finally:
        driver.set_trace_callback(None)  # type: ignore[union-attr]


def test_the_shortcut_returns_and_writes_what_sqlalchemy_does(store: Store) -> None:
    with store.engine.begin() as conn:
        fast.run(conn, ADD_EVENT, _event("e-fast", 1))
        conn.execute(ADD_EVENT, _event("e-core", 2))
        fast.run(conn, insert(AlarmRow), _alarm("a-fast"))
        for event_id, seq in (("e-fast", 1), ("e-core", 2)):
            by_fast = fast.first(conn, EVENT, {"id": event_id})
            by_core = tuple(conn.execute(EVENT, {"id": event_id}).one())
            assert by_fast == by_core == (T0, T0, {"note": "注意", "n": seq}, seq)
            assert by_fast[0].tzinfo is not None
        assert fast.rows(conn, ACTIVE, {"site": SITE}) == [("a-fast", True, T0)]
        assert [tuple(r) for r in conn.execute(ACTIVE, {"site": SITE})] == [("a-fast", True, T0)]
        assert fast.scalar(conn, ACTIVE, {"site": "elsewhere"}) is None
        assert fast.first(conn, EVENT, {"id": "none"}) is None


def test_returning_gives_each_row_its_id_in_order(store: Store) -> None:
    rows = [
        {
            "created_at": T0,
            "alarm_id": f"a-{i}",
            "kind": "notify",
            "payload": {"i": i},
            "attempts": 0,
            "delivered_at": None,
            "claimed_by": None,
            "claimed_until": None,
        }
        for i in range(5)
    ]
    with store.engine.begin() as conn:
        ids = fast.returned(conn, ADD_OUTBOX, rows)
        stored = dict(conn.execute(select(OutboxRow.id, OutboxRow.alarm_id)).all())
    assert len(set(ids)) == 5
    assert [stored[i] for i in ids] == [f"a-{i}" for i in range(5)]


def test_a_constraint_fails_as_sqlalchemys_integrity_error(store: Store) -> None:
    with store.engine.begin() as conn:
        fast.run(conn, ADD_EVENT, _event("e-1", 1))
        with pytest.raises(IntegrityError):
            fast.run(conn, ADD_EVENT, _event("e-1", 2))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_on_sqlite_the_driver_runs_it_and_sqlalchemy_does_not(store: Store) -> None:
    by_sqlalchemy: list[str] = []

    def seen(*args: object) -> None:
        by_sqlalchemy.append(str(args[2]))

    read = select(EventRow.seq).where(EventRow.id == bindparam("id"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")  # the transaction has begun
        event.listen(store.engine, "after_cursor_execute", seen)
        try:
            with _traced(conn) as traced:
                fast.run(conn, ADD_EVENT, _event("e-1", 1))
                assert fast.scalar(conn, read, {"id": "e-1"}) == 1
        finally:
            event.remove(store.engine, "after_cursor_execute", seen)
        # The driver ran both; SQLAlchemy's execution (and its events) never saw them.
        assert [s.split()[0] for s in traced] == ["INSERT", "SELECT"]
        assert by_sqlalchemy == []
        # Someone watching the SQL before it runs (a test, the bench's count): SQLAlchemy
        # runs it, with the same SQL.
        event.listen(store.engine, "before_cursor_execute", seen)
        try:
            with _traced(conn) as again:
                assert fast.scalar(conn, read, {"id": "e-1"}) == 1
        finally:
            event.remove(store.engine, "before_cursor_execute", seen)
    assert len(by_sqlalchemy) == 1 and by_sqlalchemy[0].startswith("SELECT events.seq")
    assert again == traced[1:]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_python_side_defaults_are_left_to_sqlalchemy(store: Store) -> None:
    """An INSERT that leaves out a column with a Python default (`event_ids`: a new list)."""
    values = _alarm("a-1")
    del values["event_ids"], values["reason"]
    with store.engine.begin() as conn:
        fast.run(conn, insert(AlarmRow), values)
        row = conn.execute(select(AlarmRow.event_ids, AlarmRow.reason)).one()
    assert tuple(row) == ([], "")


def test_loaded_is_session_get(store: Store) -> None:
    """`reads.loaded`: the row Session.get gives, tracked by the session like one it loaded."""
    key = (SITE, "home-b1-101")
    with store.session(write=True) as s:
        row = loaded(s, DeviceRow, key, lock=True)
        assert row is not None and loaded(s, DeviceRow, key) is row  # the session's own
        assert loaded(s, DeviceRow, (SITE, "nobody")) is None
        # No liveness row yet (the import writes none); one pending in the session is the one.
        assert loaded(s, DeviceStateRow, key) is None
        fresh = DeviceStateRow(site=SITE, device=key[1], online=False)
        s.add(fresh)
        assert loaded(s, DeviceStateRow, key) is fresh
    with store.session() as s:
        expected = s.get(DeviceRow, key)
        assert expected is not None
        columns = [p.key for p in inspect(DeviceRow).column_attrs]
        assert [getattr(row, c) for c in columns] == [getattr(expected, c) for c in columns]
    with store.session(write=True) as s:
        state = loaded(s, DeviceStateRow, key)
        assert state is not None and state.online is False
        state.online, state.last_seen = True, T0  # a change to a loaded row is written
    with store.session() as s:
        again = s.get(DeviceStateRow, key)
        assert again is not None and (again.online, again.last_seen) == (True, T0)


def test_write_by_core_writes_what_the_flush_would(store: Store) -> None:
    """`flush.write_by_core`: two alarms and two liveness rows changed alike, one pair written
    by it and one by the ORM's flush, read back the same; its objects leave the session."""
    homes = ("home-b1-101", "home-b1-302")
    with store.engine.begin() as conn:
        for n in (1, 2):
            conn.execute(insert(AlarmRow), _alarm(f"a-{n}") | {"device": homes[n - 1]})
    later = T0.replace(minute=45)
    with store.session(write=True) as s:
        for n, home in enumerate(homes, start=1):
            alarm = s.get(AlarmRow, f"a-{n}")
            assert alarm is not None
            alarm.state, alarm.next_escalation_at, alarm.tier = "notified", later, 1
            alarm.event_ids = [*alarm.event_ids, "e-2"]
            s.add(DeviceStateRow(site=SITE, device=home, online=True, last_seen=later))
            if n == 1:
                write_by_core(s, (AlarmRow, DeviceStateRow))
                assert alarm not in s and not s.new and not s.dirty
        device = s.get(DeviceRow, (SITE, homes[0]))
        assert device is not None
        device.location = "moved"  # not a model it writes: left to the flush
        write_by_core(s, (AlarmRow,))
        assert device in s.dirty
    with store.session() as s:
        alarms = [s.get(AlarmRow, f"a-{n}") for n in (1, 2)]
        states = [s.get(DeviceStateRow, (SITE, home)) for home in homes]
        moved = s.get(DeviceRow, (SITE, homes[0]))
        columns = [p.key for p in inspect(AlarmRow).column_attrs if p.key not in ("id", "device")]
        by_core, by_flush = ([getattr(a, c) for c in columns] for a in alarms)
        assert by_core == by_flush
        assert alarms[0] is not None and alarms[0].next_escalation_at == later
        assert alarms[0].event_ids == ["e-1", "e-2"]
        columns = [p.key for p in inspect(DeviceStateRow).column_attrs if p.key != "device"]
        assert [getattr(states[0], c) for c in columns] == [getattr(states[1], c) for c in columns]
        assert states[0] is not None and (states[0].flaps, states[0].last_seen) == (0, later)
        assert moved is not None and moved.location == "moved"
