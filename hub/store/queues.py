"""Durable queues of the alarm path: the outbox of pages and commands, and the dead letters.

* `outbox`: every alert and device command the engine decides on is written here in the SAME
  transaction as the alarm change that caused it; the dispatcher sends it and marks it
  delivered. A row without `delivered_at` after a crash is sent again (duplicates allowed,
  losses not; workers' apps dedup by alarm id and state). Several hubs on one PostgreSQL: a
  sweep *claims* the rows it resends (`claim`: `FOR UPDATE SKIP LOCKED`, then a lease in
  `claimed_by`/`claimed_until`), so two hubs never resend the same row at once, and a hub
  renews the lease of rows it is still sending (`hold`, every second).
* `dead_letters`: an alarm-path message the engine still failed on after a bounded number of
  tries; kept for a person to look at, then the message is acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.store.schema import Base, Json
from hub.store.timestamps import UtcDateTime

RowId = BigInteger().with_variant(Integer, "sqlite")
PREVIEW = 200


class OutboxRow(Base):
    """One page or command to send; written with the alarm change, sent until delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "id"),)
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alarm_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeadLetterRow(Base):
    """An alarm-path message the engine could not handle after its tries (acknowledged)."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ProbeRow(Base):
    """One row per hub, rewritten by the health check: proof that the store takes writes."""

    __tablename__ = "store_probe"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


def probe(session: Session, name: str, now: datetime) -> None:
    """Write this hub's probe row (a real commit: it fails when the disk is full)."""
    row = session.get(ProbeRow, name)
    if row is None:
        session.add(ProbeRow(name=name, at=now))
    else:
        row.at = now


@dataclass(frozen=True, slots=True)
class Pending:
    """An undelivered outbox row."""

    id: int
    created_at: datetime
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A dead letter as the API shows it (payload cut to a readable preview)."""

    id: int
    received_at: datetime
    topic: str
    preview: str
    size: int
    error: str
    attempts: int


def add_outbox(
    session: Session, now: datetime, kind: str, alarm_id: str | None, payload: dict[str, Any]
) -> int:
    """Add one outbox row in the caller's transaction and return its id."""
    row = OutboxRow(created_at=now, alarm_id=alarm_id, kind=kind, payload=payload, attempts=0)
    session.add(row)
    session.flush()
    return row.id


def pending(session: Session, before: datetime, limit: int) -> list[Pending]:
    """Return undelivered rows created before `before`, oldest first."""
    rows = session.scalars(
        select(OutboxRow)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.created_at < before)
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return [Pending(r.id, r.created_at, r.kind, r.payload) for r in rows]


def claim(
    session: Session, owner: str, before: datetime, now: datetime, lease: timedelta, limit: int
) -> list[Pending]:
    """Claim undelivered rows written before `before` that no other hub holds; return them.

    A row is free when nobody claimed it, its lease ran out, or `owner` (this hub, also before
    a restart) holds it. Rows another hub is claiming right now are skipped, not waited for.
    """
    rows = session.scalars(
        select(OutboxRow)
        .where(
            OutboxRow.delivered_at.is_(None),
            OutboxRow.created_at < before,
            or_(
                OutboxRow.claimed_until.is_(None),
                OutboxRow.claimed_until < now,
                OutboxRow.claimed_by == owner,
            ),
        )
        .order_by(OutboxRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.claimed_by, row.claimed_until = owner, now + lease
    return [Pending(r.id, r.created_at, r.kind, r.payload) for r in rows]


def hold(session: Session, owner: str, ids: list[int], now: datetime, lease: timedelta) -> None:
    """Claim or renew undelivered rows `owner` is sending, unless a peer holds a live lease."""
    session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id.in_(ids),
            OutboxRow.delivered_at.is_(None),
            or_(
                OutboxRow.claimed_until.is_(None),
                OutboxRow.claimed_until < now,
                OutboxRow.claimed_by == owner,
            ),
        )
        .values(claimed_by=owner, claimed_until=now + lease)
    )


def oldest_pending(session: Session) -> datetime | None:
    """Return when the oldest undelivered row was written, or None."""
    return session.scalar(
        select(func.min(OutboxRow.created_at)).where(OutboxRow.delivered_at.is_(None))
    )


def mark_delivered(session: Session, ids: list[int], now: datetime) -> None:
    """Mark rows delivered."""
    for row in session.scalars(select(OutboxRow).where(OutboxRow.id.in_(ids))):
        row.delivered_at = now
        row.attempts += 1


def prune_delivered(session: Session, now: datetime, keep: timedelta) -> int:
    """Delete rows delivered longer than `keep` ago; return how many."""
    result = session.execute(delete(OutboxRow).where(OutboxRow.delivered_at < now - keep))
    return int(getattr(result, "rowcount", 0) or 0)


def add_dead_letter(
    session: Session, now: datetime, topic: str, payload: bytes, error: str, attempts: int
) -> int:
    """Keep one dead letter; return its id."""
    row = DeadLetterRow(
        received_at=now, topic=topic[:300], payload=payload, error=error[:2000], attempts=attempts
    )
    session.add(row)
    session.flush()
    return row.id


def dead_letters(session: Session, limit: int) -> list[DeadLetter]:
    """Return the newest dead letters first."""
    rows = session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit))
    return [
        DeadLetter(
            r.id,
            r.received_at,
            r.topic,
            r.payload[:PREVIEW].decode("utf-8", "replace"),
            len(r.payload),
            r.error,
            r.attempts,
        )
        for r in rows
    ]


def count_dead_letters(session: Session) -> int:
    """Return how many dead letters are kept."""
    return int(session.scalar(select(func.count(DeadLetterRow.id))) or 0)
