"""Who is on duty now: weekly shifts plus one-day exceptions (absent, extra), in site time.

A worker with no weekly shifts is on duty whenever the registry says so (`workers.on_duty`,
the behaviour before rosters); a worker with shifts is on duty only inside one. An exception
for today overrides both: `absent` takes them off, `extra` puts them on (a swap is one of
each). Shifts and exceptions are their own tables: a registry re-import keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.people import RosterExceptionRow, ShiftRow
from hub.store.schema import SiteRow, WorkerRow

EXCEPTION_KINDS = ("absent", "extra")


def site_zone(session: Session, site: str) -> ZoneInfo:
    """Return the site's time zone (Asia/Shanghai when unknown); once per session and site
    (the ORM does not keep the row: routing asked twice per page, a query each)."""
    zones: dict[str, ZoneInfo] = session.info.setdefault("site_zones", {})
    zone = zones.get(site)
    if zone is not None:
        return zone
    row = session.get(SiteRow, site)
    try:
        zone = ZoneInfo(row.timezone if row is not None else "Asia/Shanghai")
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("Asia/Shanghai")
    zones[site] = zone
    return zone


def in_shift(shift: ShiftRow, local: datetime) -> bool:
    """Return True if local time `local` falls in the weekly `shift` (overnight shifts too)."""
    t = local.time()
    day = local.weekday()
    if shift.start < shift.end:
        return shift.weekday == day and shift.start <= t < shift.end
    # Overnight (or 24 h when start == end): from start on its weekday to end the next day.
    if shift.weekday == day and t >= shift.start:
        return True
    return (shift.weekday + 1) % 7 == day and t < shift.end


def on_duty(
    session: Session, site: str, workers: Iterable[WorkerRow], now: datetime
) -> list[WorkerRow]:
    """Return those of `workers` (all of `site`) on duty at `now`, in the given order."""
    listed = list(workers)
    if not listed:
        return []
    local = now.astimezone(site_zone(session, site))
    today = local.date()
    ids = [w.id for w in listed]
    exceptions = {
        e.worker: e.kind
        for e in session.scalars(
            select(RosterExceptionRow)
            .where(RosterExceptionRow.site == site, RosterExceptionRow.day == today)
            .where(RosterExceptionRow.worker.in_(ids))
            .order_by(RosterExceptionRow.id)
        )
    }
    shifts: dict[str, list[ShiftRow]] = {}
    for s in session.scalars(
        select(ShiftRow).where(ShiftRow.site == site, ShiftRow.worker.in_(ids))
    ):
        shifts.setdefault(s.worker, []).append(s)
    out = []
    for w in listed:
        kind = exceptions.get(w.id)
        if kind == "absent":
            continue
        if kind == "extra":
            out.append(w)
            continue
        if not w.on_duty:
            continue
        mine = shifts.get(w.id)
        if mine is None or any(in_shift(s, local) for s in mine):
            out.append(w)
    return out


def covering(session: Session, site: str, grid: str, now: datetime) -> list[WorkerRow]:
    """Return the workers on `extra` duty today covering `grid` (a swap across grids)."""
    today = now.astimezone(site_zone(session, site)).date()
    ids = session.scalars(
        select(RosterExceptionRow.worker).where(
            RosterExceptionRow.site == site,
            RosterExceptionRow.day == today,
            RosterExceptionRow.kind == "extra",
            RosterExceptionRow.grid == grid,
        )
    ).all()
    if not ids:
        return []
    return list(
        session.scalars(
            select(WorkerRow)
            .where(WorkerRow.site == site, WorkerRow.id.in_(set(ids)))
            .order_by(WorkerRow.id)
        )
    )


def add_shift(
    session: Session, site: str, worker: str, weekday: int, start: time, end: time
) -> int:
    """Add a weekly shift; return its id."""
    row = ShiftRow(site=site, worker=worker, weekday=weekday, start=start, end=end)
    session.add(row)
    session.flush()
    return row.id


def add_exception(
    session: Session,
    site: str,
    worker: str,
    day: date,
    kind: str,
    note: str,
    by: str,
    grid: str | None = None,
) -> int:
    """Record an absence or an extra duty (covering `grid`, if given) for one day; return its id."""
    if kind not in EXCEPTION_KINDS:
        raise ValueError(f"kind: one of {EXCEPTION_KINDS}")
    row = RosterExceptionRow(
        site=site, worker=worker, day=day, kind=kind, note=note, created_by=by, grid=grid
    )
    session.add(row)
    session.flush()
    return row.id


def week_of(day: date) -> list[date]:
    """Return the seven days from Monday of `day`'s week."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]
