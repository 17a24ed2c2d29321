"""Care rounds: a visit plan per resident, visits made, what is due, coverage per grid.

A resident with a plan is due `interval_days` after their last visit (at once if never
visited) and overdue once that moment has passed. Coverage of a grid for a month: residents
with a plan visited in that month (site time) over residents with a plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.store.people import CarePlanRow, CareVisitRow
from hub.store.rosters import site_zone
from hub.store.schema import BuildingRow, HouseholdRow, ResidentRow

VISIT_OUTCOMES = ("ok", "not_home", "concern")


class CareItem(BaseModel):
    """One resident's visit plan and where it stands."""

    resident: str
    name: str
    grid: str
    address: str
    worker: str | None
    interval_days: int
    last_visit: datetime | None
    due_at: datetime
    overdue: bool


class Coverage(BaseModel):
    """Visited this month over due, for one grid."""

    site: str
    grid: str
    due: int
    visited: int
    coverage: float


def resident_grid(session: Session, site: str, resident: str) -> tuple[str, str] | None:
    """Return (grid, address) of a resident, or None if unknown."""
    row = session.execute(
        select(BuildingRow.grid, BuildingRow.address, HouseholdRow.unit)
        .join(
            HouseholdRow,
            (HouseholdRow.site == BuildingRow.site) & (HouseholdRow.building == BuildingRow.id),
        )
        .join(
            ResidentRow,
            (ResidentRow.site == HouseholdRow.site) & (ResidentRow.household == HouseholdRow.id),
        )
        .where(ResidentRow.site == site, ResidentRow.id == resident)
    ).first()
    if row is None:
        return None
    grid, address, unit = row
    return str(grid), f"{address} {unit}".strip()


def plans(
    session: Session, site: str, now: datetime, grids: tuple[str, ...] | None
) -> list[CareItem]:
    """Return every plan of `site` (in `grids`, None: all) with its due time, most overdue first."""
    last = dict(
        session.execute(
            select(CareVisitRow.resident, func.max(CareVisitRow.ts))
            .where(CareVisitRow.site == site)
            .group_by(CareVisitRow.resident)
        ).all()
    )
    out = []
    for plan in session.scalars(select(CarePlanRow).where(CarePlanRow.site == site)):
        place = resident_grid(session, site, plan.resident)
        resident = session.get(ResidentRow, (site, plan.resident))
        if place is None or resident is None or (grids is not None and place[0] not in grids):
            continue
        seen = last.get(plan.resident)
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=now.tzinfo)
        due = now if seen is None else seen + timedelta(days=plan.interval_days)
        out.append(
            CareItem(
                resident=plan.resident,
                name=resident.name,
                grid=place[0],
                address=place[1],
                worker=plan.worker,
                interval_days=plan.interval_days,
                last_visit=seen,
                due_at=due,
                overdue=seen is None or due < now,
            )
        )
    out.sort(key=lambda c: c.due_at)
    return out


def coverage(session: Session, site: str, now: datetime) -> list[Coverage]:
    """Return, per grid with plans, residents visited this month (site time) over planned."""
    zone = site_zone(session, site)
    local = now.astimezone(zone)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    visited = set(
        session.scalars(
            select(CareVisitRow.resident).where(
                CareVisitRow.site == site, CareVisitRow.ts >= month_start
            )
        )
    )
    per: dict[str, list[int]] = {}
    for plan in session.scalars(select(CarePlanRow).where(CarePlanRow.site == site)):
        place = resident_grid(session, site, plan.resident)
        if place is None:
            continue
        counts = per.setdefault(place[0], [0, 0])
        counts[0] += 1
        counts[1] += plan.resident in visited
    return [
        Coverage(site=site, grid=g, due=d, visited=v, coverage=(v / d) if d else 1.0)
        for g, (d, v) in sorted(per.items())
    ]
