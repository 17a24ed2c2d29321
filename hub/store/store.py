"""`Store`: the hub's durable state behind one object (registry, events, alarms, deliveries).

Methods are synchronous and each runs in its own short transaction; async callers run them
in a worker thread (the alarm engine does so, serialised by one lock).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, get_args

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from hub.store import queues, touch
from hub.store.checkpoint import Checkpointer
from hub.store.database import IMMEDIATE, make_engine, upgrade_to_head
from hub.store.records import (
    AlarmRecord,
    DeliveryRecord,
    DeviceContext,
    DeviceStateRecord,
    EventRecord,
    TransitionRecord,
    WorkerRecord,
)
from hub.store.registry import import_registry
from hub.store.residents import resident_context
from hub.store.schema import (
    AlarmRow,
    DeliveryRow,
    DeviceRow,
    DeviceStateRow,
    EventRow,
    TransitionRow,
    WorkerRow,
)
from protocol.messages import AlarmClass, AlarmState, utcnow
from protocol.site_config import Registry

COUNTED_STATES: tuple[str, ...] = get_args(AlarmState)
ALARM_CLASSES: tuple[str, ...] = get_args(AlarmClass)
DeliveryStatus = str
_NEGATIVE_TTL_S = 30.0
REGISTRY_TABLES = ("sites", "grids", "buildings", "households", "residents", "devices", "workers")


class Store:
    """The hub's database: open with a SQLAlchemy URL, then `migrate()` before use."""

    def __init__(self, url: str) -> None:
        """Open (not yet migrate) the database at `url` (sqlite:///… or postgresql+psycopg://…)."""
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(**{IMMEDIATE: True}), expire_on_commit=False
        )
        self._known: set[tuple[str, str]] = set()
        self._unknown: dict[tuple[str, str], float] = {}
        self._cache_lock = threading.Lock()
        # SQLite has one writer. Its lock is taken by polling with growing sleeps (busy
        # handler), which is not fair: an SOS's transaction could wait seconds while the
        # heartbeat writer took it back chunk after chunk (100,000 devices on a slow machine:
        # up to 4.8 s). This process's writers queue on a lock of ours instead, and a waiter
        # runs as soon as the transaction before it ends (docs/hub.md). PostgreSQL locks rows.
        self._one_writer: contextlib.AbstractContextManager[Any] = (
            threading.RLock() if self.engine.dialect.name == "sqlite" else contextlib.nullcontext()
        )
        self.checkpointer: Checkpointer | None = None
        path = self.engine.url.database
        if self.engine.dialect.name == "sqlite" and path and path != ":memory:":
            self.checkpointer = Checkpointer(path, self._one_writer).start()

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file now, after a bulk write (a registry
        import), so the reads that follow find their pages in the file and not by looking
        through a WAL of a hundred megabytes (checkpoint.py: the thread would copy it later,
        while the hub starts)."""
        if self.engine.dialect.name != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            conn = raw.driver_connection
            assert conn is not None
            with self._one_writer:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            raw.close()

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (idempotent)."""
        upgrade_to_head(self.engine)

    def close(self) -> None:
        """Stop the checkpoints and release every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """Yield a session; commit when the block succeeds, roll back when it raises."""
        if not write:
            with self._sessions() as session, session.begin():
                yield session
            return
        with self._one_writer, self._writer() as session, session.begin():
            yield session

    def import_registry(self, registry: Registry) -> None:
        """Insert or update a site's registry (idempotent); forget cached device lookups."""
        with self.session(write=True) as s:
            import_registry(s, registry)
        self.analyze_registry()
        with self._cache_lock:
            self._known.clear()
            self._unknown.clear()

    def analyze_registry(self) -> None:
        """Refresh the planner's statistics of the registry tables after an import (PostgreSQL).

        Now, not when autovacuum comes by (up to a minute): with an empty table's statistics,
        every group commit scanned all the devices.
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(text("ANALYZE " + ", ".join(REGISTRY_TABLES)))

    def known_device(self, site: str, device: str) -> bool:
        """Return True if `device` is registered in `site` (cached; misses cached 30 s)."""
        key = (site, device)
        now = time.monotonic()
        with self._cache_lock:
            if key in self._known:
                return True
            if self._unknown.get(key, 0.0) > now:
                return False
        with self.session() as s:
            found = s.get(DeviceRow, key) is not None
        with self._cache_lock:
            if found:
                self._known.add(key)
            else:
                self._unknown[key] = now + _NEGATIVE_TTL_S
        return found

    def device_context(self, site: str, device: str) -> DeviceContext | None:
        """Return where a device is and whom it protects, or None if unknown."""
        with self.session() as s:
            row = s.get(DeviceRow, (site, device))
            if row is None:
                return None
            return DeviceContext(
                site=site,
                device=device,
                grid=row.grid,
                building=row.building,
                household=row.household,
                location=row.location,
                has_siren=row.has_siren,
                resident=resident_context(s, row),
            )

    def workers(self, site: str) -> list[WorkerRecord]:
        """Return a site's workers, by id."""
        query = select(WorkerRow).where(WorkerRow.site == site).order_by(WorkerRow.id)
        with self.session() as s:
            return [WorkerRecord.model_validate(r) for r in s.scalars(query)]

    def set_on_duty(self, site: str, worker: str, on_duty: bool) -> bool:
        """Put a worker on or off the roster until the next registry import; False if unknown."""
        with self.session(write=True) as s:
            row = s.get(WorkerRow, (site, worker))
            if row is None:
                return False
            row.on_duty = on_duty
            return True

    def device_state(self, site: str, device: str) -> DeviceStateRecord | None:
        """Return a device's liveness, or None if it never reported."""
        with self.session() as s:
            row = s.get(DeviceStateRow, (site, device))
            return None if row is None else DeviceStateRecord.model_validate(row)

    def list_alarms(
        self,
        site: str | None = None,
        state: str | None = None,
        cls: str | None = None,
        active_only: bool = False,
        limit: int = 100,
    ) -> list[AlarmRecord]:
        """Return alarms, newest first, filtered by site, state, class and activity."""
        query: Select[tuple[AlarmRow]] = select(AlarmRow)
        if site is not None:
            query = query.where(AlarmRow.site == site)
        if state is not None:
            query = query.where(AlarmRow.state == state)
        if cls is not None:
            query = query.where(AlarmRow.cls == cls)
        if active_only:
            query = query.where(AlarmRow.active)
        query = query.order_by(AlarmRow.raised_at.desc(), AlarmRow.id).limit(limit)
        with self.session() as s:
            return [AlarmRecord.model_validate(r) for r in s.scalars(query)]

    def list_events(
        self,
        site: str | None = None,
        device: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[EventRecord]:
        """Return stored events, oldest first, filtered by site, device and receipt time."""
        query: Select[tuple[EventRow]] = select(EventRow)
        if site is not None:
            query = query.where(EventRow.site == site)
        if device is not None:
            query = query.where(EventRow.device == device)
        if since is not None:
            query = query.where(EventRow.received_at >= since)
        query = query.order_by(EventRow.received_at, EventRow.id).limit(limit)
        with self.session() as s:
            return [EventRecord.model_validate(r) for r in s.scalars(query)]

    def get_alarm(self, alarm_id: str) -> AlarmRecord | None:
        """Return one alarm, or None."""
        with self.session() as s:
            row = s.get(AlarmRow, alarm_id)
            return None if row is None else AlarmRecord.model_validate(row)

    def alarm_history(self, alarm_id: str) -> list[TransitionRecord]:
        """Return an alarm's transitions and notes, oldest first."""
        query = (
            select(TransitionRow)
            .where(TransitionRow.alarm_id == alarm_id)
            .order_by(TransitionRow.ts, TransitionRow.id)
        )
        with self.session() as s:
            return [TransitionRecord.model_validate(r) for r in s.scalars(query)]

    def record_delivery(
        self,
        alarm_id: str,
        worker: str,
        channel: str,
        status: DeliveryStatus,
        tier: int = 0,
        detail: str = "",
        ts: datetime | None = None,
    ) -> None:
        """Record one notification attempt: status is 'sent', 'failed' or 'acked'."""
        if status not in ("sent", "failed", "acked"):
            raise ValueError(f"delivery status {status!r}: use sent, failed or acked")
        row = DeliveryRow(
            alarm_id=alarm_id,
            worker=worker,
            channel=channel[:200],
            tier=tier,
            status=status,
            ts=ts or utcnow(),
            detail=detail,
        )
        with self.session(write=True) as s:
            s.add(row)

    def deliveries(self, alarm_id: str) -> list[DeliveryRecord]:
        """Return an alarm's delivery attempts, oldest first."""
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.alarm_id == alarm_id)
            .order_by(DeliveryRow.ts, DeliveryRow.id)
        )
        with self.session() as s:
            return [DeliveryRecord.model_validate(r) for r in s.scalars(query)]

    def alarm_counts(self, site: str | None = None) -> dict[str, dict[str, int]]:
        """Return, for every alarm class, how many alarms ever reached each lifecycle state."""
        query = select(
            TransitionRow.cls, TransitionRow.to_state, func.count(TransitionRow.alarm_id.distinct())
        ).group_by(TransitionRow.cls, TransitionRow.to_state)
        if site is not None:
            query = query.join(AlarmRow, AlarmRow.id == TransitionRow.alarm_id).where(
                AlarmRow.site == site
            )
        counts = {cls: dict.fromkeys(COUNTED_STATES, 0) for cls in ALARM_CLASSES}
        with self.session() as s:
            for cls, state, n in s.execute(query):
                per = counts.setdefault(cls, dict.fromkeys(COUNTED_STATES, 0))
                if state in per:
                    per[state] = int(n)
        return counts

    def outbox_pending(self, before: datetime, limit: int = 500) -> list[queues.Pending]:
        """Return undelivered outbox rows written before `before`, oldest first."""
        with self.session() as s:
            return queues.pending(s, before, limit)

    def outbox_claim(
        self, owner: str, before: datetime, lease: timedelta, limit: int = 500
    ) -> list[queues.Pending]:
        """Claim undelivered rows no other hub holds (one transaction; see `queues.claim`)."""
        with self.session(write=True) as s:
            return queues.claim(s, owner, before, utcnow(), lease, limit)

    def outbox_hold(self, owner: str, ids: list[int], lease: timedelta) -> None:
        """Renew `owner`'s claim on rows it is still sending (one transaction, 500 ids a go)."""
        with self.session(write=True) as s:
            for i in range(0, len(ids), 500):
                queues.hold(s, owner, ids[i : i + 500], utcnow(), lease)

    def outbox_delivered(self, ids: list[int], prune_after: timedelta | None = None) -> None:
        """Mark outbox rows delivered (one transaction); optionally prune old delivered rows."""
        now = utcnow()
        with self.session(write=True) as s:
            queues.mark_delivered(s, ids, now)
            if prune_after is not None:
                queues.prune_delivered(s, now, prune_after)

    def outbox_oldest(self) -> datetime | None:
        """Return when the oldest undelivered outbox row was written, or None."""
        with self.session() as s:
            return queues.oldest_pending(s)

    def dead_letter(self, topic: str, payload: bytes, error: str, attempts: int) -> int:
        """Keep a message the engine could not handle; return the dead letter's id."""
        with self.session(write=True) as s:
            return queues.add_dead_letter(s, utcnow(), topic, payload, error, attempts)

    def dead_letters(self, limit: int = 100) -> list[queues.DeadLetter]:
        """Return the newest dead letters first."""
        with self.session() as s:
            return queues.dead_letters(s, limit)

    def dead_letter_count(self) -> int:
        """Return how many dead letters are kept."""
        with self.session() as s:
            return queues.count_dead_letters(s)

    def probe_write(self, name: str) -> None:
        """Commit one small write (raises if the store cannot write, e.g. its disk is full)."""
        with self.session(write=True) as s:
            queues.probe(s, name, utcnow())

    def online_devices(self) -> list[tuple[str, str, float | None]]:
        """Return (site, device, heartbeat_s) of every device the store has online."""
        query = select(DeviceStateRow.site, DeviceStateRow.device, DeviceStateRow.heartbeat_s)
        with self.session() as s:
            rows = s.execute(query.where(DeviceStateRow.online.is_(True)))
            return [(site, device, beat) for site, device, beat in rows]

    def touch_devices(self, seen: Sequence[touch.Heartbeat]) -> list[tuple[str, str]]:
        """Write routine heartbeats (last seen, last status) in one transaction.

        Return the devices the store does not have online (their heartbeat was not written:
        the engine must see their next status). See `hub.store.touch`.
        """
        with self.session(write=True) as s:
            return touch.touch(s, seen)
