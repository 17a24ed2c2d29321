"""Upsert a site registry (site.yaml + devices/*.yaml) into the store, idempotently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.schema import (
    Base,
    BuildingRow,
    DeviceRow,
    GridRow,
    HouseholdRow,
    ResidentRow,
    SiteRow,
    WorkerRow,
)
from protocol.site_config import Registry, SiteConfig


def _upsert(
    session: Session, model: type[Base], key: tuple[str, ...], values: dict[str, Any]
) -> None:
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
        return
    for name, value in values.items():
        setattr(row, name, value)


def import_registry(session: Session, registry: Registry) -> None:
    """Insert or update every grid, building, household, resident, worker and device."""
    _places(session, registry.site)
    _people(session, registry.site)
    _devices(session, registry)


def _places(session: Session, site: SiteConfig) -> None:
    sid = site.site
    _upsert(
        session,
        SiteRow,
        (sid,),
        {"id": sid, "name_zh": site.name_zh, "name_en": site.name_en, "timezone": site.timezone},
    )
    for g in site.grids:
        _upsert(session, GridRow, (sid, g.id), {"site": sid, **g.model_dump()})
    session.flush()
    for b in site.buildings:
        _upsert(session, BuildingRow, (sid, b.id), {"site": sid, **b.model_dump()})
    session.flush()
    for h in site.households:
        _upsert(session, HouseholdRow, (sid, h.id), {"site": sid, **h.model_dump()})
    session.flush()


def _people(session: Session, site: SiteConfig) -> None:
    sid = site.site
    households = {h.id: h for h in site.households}
    for r in site.residents:
        home = households[r.household]
        values: dict[str, Any] = {
            "site": sid,
            "id": r.id,
            "household": r.household,
            "name": r.name,
            "age": r.age,
            "conditions": list(r.conditions),
            "contacts": [c.model_dump() for c in r.contacts],
            "key_safe": home.key_safe,
            "floor": home.floor,
            "checkin_start": r.checkin.window_start if r.checkin else None,
            "checkin_end": r.checkin.window_end if r.checkin else None,
        }
        _upsert(session, ResidentRow, (sid, r.id), values)
    for w in site.workers:
        _upsert(session, WorkerRow, (sid, w.id), {"site": sid, **w.model_dump()})
    # A worker dropped from the registry keeps their history but is paged no more.
    listed = {w.id for w in site.workers}
    for row in session.scalars(select(WorkerRow).where(WorkerRow.site == sid)):
        if row.id not in listed:
            row.on_duty = False
    session.flush()


def _devices(session: Session, registry: Registry) -> None:
    sid = registry.site.site
    for d in registry.devices:
        values = {
            "site": sid,
            "id": d.device,
            "grid": d.grid,
            "building": d.building,
            "household": d.household,
            "resident": d.resident,
            "location": d.location,
            "has_siren": d.outputs.siren is not None,
            "heartbeat_s": d.timing.heartbeat_s,
        }
        _upsert(session, DeviceRow, (sid, d.device), values)
    session.flush()
