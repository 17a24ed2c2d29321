"""Care rounds: visit plans, what is due (and overdue), a visit in two taps, coverage."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts import Principal
from hub.accounts.visibility import site_of
from hub.api.deps import Authorized, Context, Who, audited, require
from hub.api.errors import ForbiddenError, NotFoundError, responses
from hub.store.care import CareItem, Coverage, coverage, plans, resident_grid
from hub.store.people import CarePlanRow, CareVisitRow
from hub.store.schema import WorkerRow
from protocol.messages import utcnow
from protocol.topics import ID_PATTERN

SiteQuery = Annotated[
    str | None, Query(pattern=ID_PATTERN, description="Site (admins only; others: their own)")
]

router = APIRouter(
    prefix="/api/v1/care",
    tags=["care rounds"],
    dependencies=[Authorized],
    responses=responses(401, 403, 404, 422, 429),
)


class PlanBody(BaseModel):
    """Visit every `interval_days`; `worker` is who goes (default: the grid's worker)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"interval_days": 7, "worker": None}]}
    )

    interval_days: int = Field(ge=1, le=366)
    worker: str | None = Field(None, pattern=ID_PATTERN)


class VisitBody(BaseModel):
    """A visit made now: how it went, and a note."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"resident": "r-wang-xiuying", "outcome": "ok"}]},
    )

    resident: str = Field(pattern=ID_PATTERN)
    outcome: Literal["ok", "not_home", "concern"]
    note: str = Field("", max_length=500)


def _site(who: Principal, site: str | None) -> str:
    chosen = site_of(who, site)
    if chosen is None:
        raise NotFoundError("err.not_found", what="site")
    return chosen


def _grids(who: Principal) -> tuple[str, ...] | None:
    return who.grids if who.role == "grid_worker" else None


@router.get("/due")
async def due(
    ctx: Context, who: Who, site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None
) -> list[CareItem]:
    """Return the visit plans you cover, soonest due first, with `overdue` flags."""
    chosen = _site(who, site)

    def run() -> list[CareItem]:
        with ctx.store.session() as s:
            return plans(s, chosen, utcnow(), _grids(who))

    return await asyncio.to_thread(run)


@router.get("/coverage")
async def care_coverage(
    ctx: Context, who: Who, site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None
) -> list[Coverage]:
    """Return per grid: residents with a plan visited this month over residents with a plan."""
    chosen = _site(who, site)

    def run() -> list[Coverage]:
        with ctx.store.session() as s:
            return coverage(s, chosen, utcnow())

    return await asyncio.to_thread(run)


@router.put("/plans/{resident}")
async def set_plan(
    request: Request, ctx: Context, who: Who, resident: str, body: PlanBody, site: SiteQuery = None
) -> dict[str, bool]:
    """Create or change a resident's visit plan."""
    require(who, "care.plan")
    site = _site(who, site)

    def run() -> None:
        with ctx.store.session(write=True) as s:
            if resident_grid(s, site, resident) is None:
                raise NotFoundError("err.not_found", what=resident)
            if body.worker is not None and s.get(WorkerRow, (site, body.worker)) is None:
                raise NotFoundError("err.not_found", what=body.worker)
            row = s.get(CarePlanRow, (site, resident))
            if row is None:
                s.add(CarePlanRow(site=site, resident=resident, **body.model_dump()))
            else:
                row.interval_days = body.interval_days
                row.worker = body.worker

    await asyncio.to_thread(run)
    await audited(ctx, request, who, "care.plan", resident, detail=body.model_dump())
    return {"ok": True}


@router.post("/visits", status_code=201)
async def record_visit(
    request: Request, ctx: Context, who: Who, body: VisitBody, site: SiteQuery = None
) -> CareItem:
    """Record a visit made now by you (grid workers: residents of your grids)."""
    require(who, "care.visit")
    site = _site(who, site)
    now = utcnow()

    def run() -> CareItem:
        with ctx.store.session(write=True) as s:
            place = resident_grid(s, site, body.resident)
            if place is None or s.get(CarePlanRow, (site, body.resident)) is None:
                raise NotFoundError("err.not_found", what=body.resident)
            if who.role == "grid_worker" and place[0] not in who.grids:
                raise ForbiddenError("err.forbidden", role=who.role)
            s.add(
                CareVisitRow(
                    site=site,
                    resident=body.resident,
                    worker=who.actor,
                    ts=now,
                    outcome=body.outcome,
                    note=body.note,
                )
            )
            s.flush()
            found = [c for c in plans(s, site, now, None) if c.resident == body.resident]
        if not found:
            raise NotFoundError("err.not_found", what=body.resident)
        return found[0]

    item = await asyncio.to_thread(run)
    await audited(ctx, request, who, "care.visit", body.resident, detail=body.model_dump())
    return item
