"""Rosters: who is on duty now per grid and role; weekly shifts; absences, extras and swaps."""

from __future__ import annotations

import asyncio
from datetime import date, time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select

from hub.accounts import Principal
from hub.accounts.visibility import site_of
from hub.api.deps import Authorized, Context, Who, audited, require
from hub.api.errors import NotFoundError, responses
from hub.store import Store
from hub.store.people import RosterExceptionRow, ShiftRow
from hub.store.rosters import add_exception, add_shift, covering, on_duty, site_zone
from hub.store.schema import GridRow, WorkerRow
from protocol.messages import utcnow
from protocol.topics import ID_PATTERN

SiteQuery = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Site (admins only; others: their own)")
]

router = APIRouter(
    prefix="/api/v1/rosters",
    tags=["rosters"],
    dependencies=[Authorized],
    responses=responses(401, 403, 404, 422, 429),
)
OVERSEEN_ROLES = ("duty_officer", "fire_station", "supervisor", "maintenance")


class OnDutyWorker(BaseModel):
    """A worker on duty."""

    id: str
    name: str
    phone: str


class OnDuty(BaseModel):
    """Who is on duty now for a grid (grid workers) or a role (grid null)."""

    site: str
    grid: str | None
    role: str
    workers: list[OnDutyWorker]
    off_duty: list[OnDutyWorker] = Field(default_factory=list, description="The others")


class ShiftBody(BaseModel):
    """A weekly shift: weekday 0 = Monday, local start and end (end <= start: overnight)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"worker": "w-zhang-wei", "weekday": 0, "start": "08:00", "end": "20:00"}]
        },
    )

    worker: str = Field(pattern=ID_PATTERN)
    weekday: int = Field(ge=0, le=6)
    start: time
    end: time


class ExceptionBody(BaseModel):
    """One day off the pattern: `absent`, or `extra` duty."""

    model_config = ConfigDict(extra="forbid")

    worker: str = Field(pattern=ID_PATTERN)
    day: date | None = Field(None, description="Local date of the site; default today")
    kind: Literal["absent", "extra"]
    note: str = Field("", max_length=200)
    grid: str | None = Field(None, pattern=ID_PATTERN, description="extra: cover this grid")


class SwapBody(BaseModel):
    """`absent` is off on `day`, `replacement` covers."""

    model_config = ConfigDict(extra="forbid")

    absent: str = Field(pattern=ID_PATTERN)
    replacement: str = Field(pattern=ID_PATTERN)
    day: date | None = Field(None, description="Local date of the site; default today")
    grid: str | None = Field(
        None, pattern=ID_PATTERN, description="The grid covered; default the absent one's grids"
    )
    note: str = Field("", max_length=200)


def now_on_duty(store: Store, site: str) -> list[OnDuty]:
    """Return who is on duty now in `site`, per grid and per overseeing role."""
    with store.session() as s:
        workers = list(
            s.scalars(select(WorkerRow).where(WorkerRow.site == site).order_by(WorkerRow.id))
        )
        now = utcnow()
        on = {w.id for w in on_duty(s, site, workers, now)}
        grids = list(s.scalars(select(GridRow.id).where(GridRow.site == site).order_by(GridRow.id)))
        covers = {g: [w.id for w in covering(s, site, g, now)] for g in grids}

    def entry(grid: str | None, role: str, chosen: list[WorkerRow]) -> OnDuty:
        people = [OnDutyWorker(id=w.id, name=w.name, phone=w.phone) for w in chosen]
        return OnDuty(
            site=site,
            grid=grid,
            role=role,
            workers=[p for p in people if p.id in on],
            off_duty=[p for p in people if p.id not in on],
        )

    out = [
        entry(
            g,
            "grid_worker",
            [w for w in workers if w.role == "grid_worker" and (g in w.grids or w.id in covers[g])],
        )
        for g in grids
    ]
    # Anyone who could cover a grid (its backups, the other grid workers) is a swap candidate.
    for item in out:
        taken = {p.id for p in item.workers} | {p.id for p in item.off_duty}
        item.off_duty += [
            OnDutyWorker(id=w.id, name=w.name, phone=w.phone)
            for w in workers
            if w.role == "grid_worker" and w.id not in taken
        ]
    out += [entry(None, r, [w for w in workers if w.role == r]) for r in OVERSEEN_ROLES]
    return out


def _site(who: Principal, site: str | None) -> str:
    chosen = site_of(who, site)
    if chosen is None:
        raise NotFoundError("err.not_found", what="site")
    return chosen


def _today(store: Store, site: str) -> date:
    with store.session() as s:
        return utcnow().astimezone(site_zone(s, site)).date()


def _check_worker(store: Store, site: str, worker: str) -> None:
    with store.session() as s:
        if s.get(WorkerRow, (site, worker)) is None:
            raise NotFoundError("err.not_found", what=worker)


@router.get("/now")
async def rosters_now(
    ctx: Context, who: Who, site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None
) -> list[OnDuty]:
    """Return who is on duty now, per grid and per role ("nobody" shows as an empty list)."""
    return await asyncio.to_thread(now_on_duty, ctx.store, _site(who, site))


@router.post("/shifts", status_code=201)
async def create_shift(
    request: Request, ctx: Context, who: Who, body: ShiftBody, site: SiteQuery = None
) -> dict[str, int]:
    """Add a weekly shift."""
    require(who, "roster.write")
    site = _site(who, site)
    await asyncio.to_thread(_check_worker, ctx.store, site, body.worker)

    def run() -> int:
        with ctx.store.session(write=True) as s:
            return add_shift(s, site, body.worker, body.weekday, body.start, body.end)

    shift_id = await asyncio.to_thread(run)
    await audited(
        ctx, request, who, "roster.shift", body.worker, detail=body.model_dump(mode="json")
    )
    return {"id": shift_id}


@router.delete("/shifts/{shift_id}")
async def delete_shift(
    request: Request, ctx: Context, who: Who, shift_id: int, site: SiteQuery = None
) -> dict[str, bool]:
    """Remove a weekly shift."""
    require(who, "roster.write")
    site = _site(who, site)

    def run() -> int:
        with ctx.store.session(write=True) as s:
            result = s.execute(
                delete(ShiftRow).where(ShiftRow.id == shift_id, ShiftRow.site == site)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    if await asyncio.to_thread(run) == 0:
        raise NotFoundError("err.not_found", what=str(shift_id))
    await audited(ctx, request, who, "roster.shift_delete", str(shift_id))
    return {"ok": True}


@router.post("/exceptions", status_code=201)
async def create_exception(
    request: Request, ctx: Context, who: Who, body: ExceptionBody, site: SiteQuery = None
) -> dict[str, int]:
    """Mark a worker absent, or on extra duty, for one day."""
    require(who, "roster.write")
    site = _site(who, site)
    await asyncio.to_thread(_check_worker, ctx.store, site, body.worker)
    day: date = (
        body.day if body.day is not None else await asyncio.to_thread(_today, ctx.store, site)
    )

    def run() -> int:
        with ctx.store.session(write=True) as s:
            return add_exception(
                s, site, body.worker, day, body.kind, body.note, who.username, body.grid
            )

    exception_id = await asyncio.to_thread(run)
    await audited(
        ctx, request, who, f"roster.{body.kind}", body.worker, detail=body.model_dump(mode="json")
    )
    return {"id": exception_id}


@router.post("/swap", status_code=201)
async def swap(
    request: Request, ctx: Context, who: Who, body: SwapBody, site: SiteQuery = None
) -> dict[str, bool]:
    """Take `absent` off duty and put `replacement` on, for one day."""
    require(who, "roster.write")
    site = _site(who, site)
    for worker in (body.absent, body.replacement):
        await asyncio.to_thread(_check_worker, ctx.store, site, worker)

    day: date = (
        body.day if body.day is not None else await asyncio.to_thread(_today, ctx.store, site)
    )

    def run() -> None:
        with ctx.store.session(write=True) as s:
            add_exception(s, site, body.absent, day, "absent", body.note, who.username)
            absent = s.get(WorkerRow, (site, body.absent))
            grids: list[str | None] = (
                [body.grid] if body.grid else list(absent.grids if absent else [])
            )
            for grid in grids or [None]:
                add_exception(
                    s, site, body.replacement, day, "extra", body.note, who.username, grid
                )

    await asyncio.to_thread(run)
    await audited(
        ctx, request, who, "roster.swap", body.absent, detail=body.model_dump(mode="json")
    )
    return {"ok": True}


class RosterDoc(BaseModel):
    """A site's weekly shifts and day exceptions."""

    shifts: list[ShiftBody]
    exceptions: list[ExceptionBody]


@router.get("")
async def roster(
    ctx: Context, who: Who, site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None
) -> RosterDoc:
    """Return the weekly shifts and the exceptions of a site."""
    chosen = _site(who, site)

    def run() -> RosterDoc:
        with ctx.store.session() as s:
            shifts = s.scalars(
                select(ShiftRow).where(ShiftRow.site == chosen).order_by(ShiftRow.id)
            )
            days = s.scalars(
                select(RosterExceptionRow)
                .where(RosterExceptionRow.site == chosen)
                .order_by(RosterExceptionRow.day, RosterExceptionRow.id)
            )
            return RosterDoc(
                shifts=[
                    ShiftBody(worker=r.worker, weekday=r.weekday, start=r.start, end=r.end)
                    for r in shifts
                ],
                exceptions=[
                    ExceptionBody(worker=r.worker, day=r.day, kind=r.kind, note=r.note)
                    for r in days
                ],
            )

    return await asyncio.to_thread(run)
