"""Alarms as people see them: with the resident's context, who was paged, who took it.

Queries take a visibility clause (`hub.accounts.visibility`) so a user never reads a row
outside it. Open alarms sort by priority (fire first), then oldest first.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, case, select
from sqlalchemy.orm import Session

from hub.store.records import AlarmRecord, DeliveryRecord, TransitionRecord
from hub.store.residents import resident_context
from hub.store.schema import (
    AlarmRow,
    DeliveryRow,
    DeviceRow,
    RecipientRow,
    TransitionRow,
    WorkerRow,
)
from hub.store.store import Store
from protocol.messages import ResidentContext

PRIORITY: dict[str, int] = {"fire": 0, "call": 1, "fall": 1, "inactivity": 2, "pre_alarm": 3}


class Paged(BaseModel):
    """A worker paged for an alarm."""

    worker: str
    name: str
    role: str
    phone: str
    tier: int


class AlarmView(AlarmRecord):
    """An alarm with its context, as the board and the phone page show it."""

    context: ResidentContext | None = None
    location: str = ""
    paged: list[Paged] = Field(default_factory=list)
    acknowledged_by: str | None = None
    arrived_by: str | None = None


class AlarmDetail(BaseModel):
    """One alarm with its full timeline and deliveries."""

    alarm: AlarmView
    history: list[TransitionRecord]
    deliveries: list[DeliveryRecord]


def _first_by(session: Session, alarm_id: str, state: str) -> str | None:
    return session.scalars(
        select(TransitionRow.by)
        .where(TransitionRow.alarm_id == alarm_id, TransitionRow.to_state == state)
        .order_by(TransitionRow.id.desc())
        .limit(1)
    ).first()


def view(session: Session, row: AlarmRow) -> AlarmView:
    """Return the view of one alarm row."""
    base: dict[str, Any] = AlarmRecord.model_validate(row).model_dump()
    context = None
    location = ""
    if row.device is not None:
        device = session.get(DeviceRow, (row.site, row.device))
        if device is not None:
            context = resident_context(session, device)
            location = device.location
    paged = [
        Paged(worker=w.id, name=w.name, role=w.role, phone=w.phone, tier=r.tier)
        for r, w in session.execute(
            select(RecipientRow, WorkerRow)
            .join(WorkerRow, WorkerRow.id == RecipientRow.worker)
            .where(RecipientRow.alarm_id == row.id, WorkerRow.site == row.site)
            .order_by(RecipientRow.tier, RecipientRow.worker)
        )
    ]
    return AlarmView(
        **base,
        context=context,
        location=location,
        paged=paged,
        acknowledged_by=_first_by(session, row.id, "acknowledged"),
        arrived_by=_first_by(session, row.id, "on_scene"),
    )


def list_views(
    store: Store,
    visible: ColumnElement[bool],
    *,
    filters: list[ColumnElement[bool]],
    priority: bool,
    limit: int,
    offset: int,
) -> list[AlarmView]:
    """Return visible alarms matching `filters`: by priority then oldest, or newest first."""
    query = select(AlarmRow).where(visible, *filters)
    if priority:
        rank = case(PRIORITY, value=AlarmRow.cls, else_=9)
        query = query.order_by(rank, AlarmRow.raised_at, AlarmRow.id)
    else:
        query = query.order_by(AlarmRow.raised_at.desc(), AlarmRow.id)
    query = query.limit(limit).offset(offset)
    with store.session() as s:
        return [view(s, row) for row in s.scalars(query)]


def detail(store: Store, visible: ColumnElement[bool], alarm_id: str) -> AlarmDetail | None:
    """Return one visible alarm with its history and deliveries, or None."""
    with store.session() as s:
        row = s.scalars(select(AlarmRow).where(AlarmRow.id == alarm_id, visible)).first()
        if row is None:
            return None
        history = s.scalars(
            select(TransitionRow)
            .where(TransitionRow.alarm_id == alarm_id)
            .order_by(TransitionRow.ts, TransitionRow.id)
        )
        deliveries = s.scalars(
            select(DeliveryRow)
            .where(DeliveryRow.alarm_id == alarm_id)
            .order_by(DeliveryRow.ts, DeliveryRow.id)
        )
        return AlarmDetail(
            alarm=view(s, row),
            history=[TransitionRecord.model_validate(h) for h in history],
            deliveries=[DeliveryRecord.model_validate(d) for d in deliveries],
        )


def visible_site(store: Store, visible: ColumnElement[bool], alarm_id: str) -> str | None:
    """Return the alarm's site if it exists and `visible` selects it, else None."""
    with store.session() as s:
        found = s.scalars(select(AlarmRow.site).where(AlarmRow.id == alarm_id, visible)).first()
        return None if found is None else str(found)
