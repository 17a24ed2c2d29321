"""The store on SQLite and PostgreSQL: migrations, durability settings, UTC, queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from hub.store import Store
from hub.store.database import alembic_config
from hub.store.schema import AlarmRow, Base, EventRow

SITE = "sunflower"


def test_migrate_is_idempotent_and_matches_the_models(store: Store) -> None:
    store.migrate()
    with store.engine.connect() as conn:
        versions = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        heads = set(ScriptDirectory.from_config(alembic_config(conn)).get_heads())
    assert versions == heads  # every feature branch's head applied (parallel heads are fine)
    assert "0003" not in versions
    assert "0007" in versions  # revises 0004 (the outbox): its claims for several hubs
    assert diff == []


def test_sqlite_is_durable(tmp_path) -> None:
    db = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        db.migrate()
        with db.engine.connect() as conn:
            pragmas = [
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            ]
        assert pragmas == ["wal", 2, 1]  # synchronous=2 is FULL
    finally:
        db.close()


def test_timestamps_round_trip_as_aware_utc(store: Store) -> None:
    beijing = timezone(timedelta(hours=8))
    ts = datetime(2026, 11, 23, 9, 30, 15, 123000, tzinfo=beijing)
    with store.session(write=True) as s:
        s.add(
            EventRow(
                id="01J00000000000000000000000",
                site=SITE,
                device="home-b1-101",
                seq=1,
                ts=ts,
                received_at=ts,
                kind="test",
                source="t",
                data={},
            )
        )
    with store.session() as s:
        row = s.get(EventRow, "01J00000000000000000000000")
        assert row is not None
        assert row.ts == ts and row.ts.tzinfo == UTC


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"), store.session(write=True) as s:
        s.add(
            EventRow(
                id="01J00000000000000000000001",
                site=SITE,
                device="home-b1-101",
                seq=1,
                ts=datetime(2026, 1, 1),  # noqa: DTZ001 - the point of the test
                received_at=datetime(2026, 1, 1, tzinfo=UTC),
                kind="test",
                source="t",
            )
        )
        s.flush()


async def test_queries_deliveries_and_counts(store: Store, engine, events, clock) -> None:
    await engine.on_event(SITE, events("home-b1-101", "call"))
    clock.advance(1)
    await engine.on_event(SITE, events("stair-b2", "fault"))
    clock.advance(1)
    await engine.on_event(SITE, events("home-b2-201", "fall"))
    newest_first = [a.cls for a in store.list_alarms()]
    assert newest_first == ["fall", "trouble", "call"]
    assert [a.cls for a in store.list_alarms(cls="trouble")] == ["trouble"]
    assert [a.cls for a in store.list_alarms(limit=1)] == ["fall"]
    assert store.list_alarms(site="elsewhere") == []
    assert len(store.list_alarms(state="notified", active_only=True)) == 3
    call = store.list_alarms(cls="call")[0]
    assert store.get_alarm(call.id) == call and store.get_alarm("missing") is None
    store.record_delivery(call.id, "w-zhang-wei", "mqtt", "sent", ts=clock())
    store.record_delivery(call.id, "w-zhang-wei", "wecom://x", "failed", detail="t/o", ts=clock())
    assert [(d.channel, d.status) for d in store.deliveries(call.id)] == [
        ("mqtt", "sent"),
        ("wecom://x", "failed"),
    ]
    with pytest.raises(ValueError, match="status"):
        store.record_delivery(call.id, "w-zhang-wei", "mqtt", "lost")
    counts = store.alarm_counts()
    assert counts["trouble"]["notified"] == 1 and counts["fall"]["raised"] == 1
    assert set(store.alarm_counts()) == {
        "call",
        "fall",
        "fire",
        "pre_alarm",
        "inactivity",
        "trouble",
    }
    assert store.alarm_counts()["fire"] == dict.fromkeys(
        ("raised", "notified", "acknowledged", "on_scene", "resolved", "cancelled"), 0
    )
    assert all(
        n == 0 for per in store.alarm_counts(site="elsewhere").values() for n in per.values()
    )


def test_one_active_alarm_per_device_and_class_is_enforced(store: Store) -> None:
    from sqlalchemy.exc import IntegrityError

    now = datetime.now(UTC)

    def alarm(aid: str, active: bool) -> AlarmRow:
        return AlarmRow(
            id=aid, site=SITE, device="home-b1-101", cls="call", state="raised", reason="",
            active=active, raised_at=now, updated_at=now, tier=0, repeats=0, event_ids=[],
        )  # fmt: skip

    with store.session(write=True) as s:
        s.add_all([alarm("a1", False), alarm("a2", False), alarm("a3", True)])
    with pytest.raises(IntegrityError), store.session(write=True) as s:
        s.add(alarm("a4", True))


def _plan(store: Store, query: Any, params: dict[str, Any]) -> str:
    """Return the database's plan for `query` (an index is preferred where one fits)."""
    with store.engine.connect() as conn:
        compiled = query.compile(conn)
        values = compiled.construct_params(params)
        if conn.dialect.name == "sqlite":
            ordered = tuple(
                v.isoformat() if isinstance(v, datetime) else v
                for v in (values[k] for k in compiled.positiontup or ())
            )
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", ordered).all()
            return " ".join(str(r[-1]) for r in rows)
        conn.exec_driver_sql("SET enable_seqscan = off")  # a test table is tiny
        return " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", values).all())


def test_a_devices_alarm_reads_use_an_index_not_a_scan_of_every_alarm(store: Store) -> None:
    # Every SOS asks for the device's active alarm and counts its false alarms of 30 days.
    # Scanning the table made one SOS cost 13 ms of CPU instead of 6 with 20,000 closed alarms
    # in the store (simulators/bench_engine.py --history).
    from hub.alarms.ledger import _ACTIVE
    from hub.store.suspect import _FALSE_ALARMS

    since = datetime.now(UTC) - timedelta(days=30)
    for query, params in (
        (_ACTIVE, {"site": SITE, "device": "home-b1-101", "cls": "call"}),
        (_FALSE_ALARMS, {"site": SITE, "device": "home-b1-101", "since": since}),
    ):
        plan = _plan(store, query, params)
        # The device's alarms, or its active ones (the partial unique index).
        assert "ix_alarms_device" in plan or "uq_alarms_active" in plan, plan


def test_newest_alarms_first_are_read_by_index(store: Store) -> None:
    """The API's and the board's "every alarm, newest first" reads its page from an index
    (migration 0010), not by sorting the whole table."""
    query = select(AlarmRow).order_by(AlarmRow.raised_at.desc(), AlarmRow.id).limit(100)
    plan = _plan(store, query, {})
    assert "ix_alarms_raised_at" in plan, plan


def test_sqlite_writers_take_the_lock_up_front_readers_do_not(tmp_path) -> None:
    import sqlite3

    path = tmp_path / "hub.db"
    db = Store(f"sqlite:///{path}")
    db.migrate()
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with db.session(write=True) as s:
            s.execute(text("SELECT 1")).all()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        with db.session() as s:
            s.execute(text("SELECT 1")).all()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
    finally:
        other.close()
        db.close()


def test_migrations_downgrade_to_nothing_and_back(store: Store) -> None:
    from alembic import command

    from hub.store.database import alembic_config

    with store.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is None
    store.migrate()
    assert store.list_alarms() == []


def test_outbox_rows_pending_until_delivered_then_pruned(store: Store) -> None:
    from datetime import timedelta

    from hub.store import queues
    from protocol.messages import utcnow

    now = utcnow()
    with store.session(write=True) as s:
        old = queues.add_outbox(s, now - timedelta(days=9), "notify", None, {"k": 1})
        new = queues.add_outbox(s, now - timedelta(seconds=5), "command", None, {"k": 2})
    assert [p.id for p in store.outbox_pending(now)] == [old, new]
    assert store.outbox_oldest() == now - timedelta(days=9)
    store.outbox_delivered([old, new])
    assert store.outbox_pending(now) == [] and store.outbox_oldest() is None
    with store.session(write=True) as s:  # delivered long ago
        s.get(queues.OutboxRow, old).delivered_at = now - timedelta(days=8)  # type: ignore[union-attr]
    store.outbox_delivered([], prune_after=timedelta(days=7))
    with store.session() as s:
        assert s.get(queues.OutboxRow, old) is None
        assert s.get(queues.OutboxRow, new) is not None
