"""Routes: health, metrics (behind their setting), events (list)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from hub.accounts.visibility import site_of
from hub.api.deps import Authorized, Context, Who, require
from hub.api.errors import responses
from hub.metrics import CONTENT_TYPE
from hub.store import EventRecord
from protocol.topics import ID_PATTERN

public = APIRouter()
events = APIRouter(
    prefix="/api/v1/events",
    tags=["events"],
    dependencies=[Authorized],
    responses=responses(401, 403, 422, 429),
)


@public.get("/healthz")
async def healthz(ctx: Context) -> JSONResponse:
    """Report broker, store and InfluxDB health; 503 unless the alarm path and store are up."""
    report = await ctx.health()
    return JSONResponse(report, status_code=200 if report["ok"] else 503)


@public.get("/metrics", responses={404: {"description": "hidden by the metrics setting"}})
async def metrics(ctx: Context) -> Response:
    """Return every hub metric in the Prometheus text format."""
    await ctx.health()  # refreshes the connection gauges
    counts = await asyncio.to_thread(ctx.store.alarm_counts)
    ctx.metrics.set_alarm_counts(counts)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)


@events.get("")
async def list_events(
    ctx: Context,
    who: Who,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    device: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[EventRecord]:
    """List stored events, oldest first (edge timestamp and hub receipt time)."""
    require(who, "site.all")
    return await asyncio.to_thread(
        ctx.store.list_events, site=site_of(who, site), device=device, since=since, limit=limit
    )
