"""Routes: health, metrics, alarms (list, one, ack/arrived/resolve), events (list)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.api.deps import Authorized, Context
from hub.api.errors import NotFoundError
from hub.metrics import CONTENT_TYPE
from hub.store import AlarmRecord, EventRecord
from protocol.messages import Outcome, ReplyAction
from protocol.topics import ID_PATTERN

public = APIRouter()
alarms = APIRouter(prefix="/api/v1/alarms", dependencies=[Authorized])
events = APIRouter(prefix="/api/v1/events", dependencies=[Authorized])

Verb = Literal["ack", "arrived", "resolve"]
_ACTION: dict[str, ReplyAction] = {"ack": "ack", "arrived": "arrived", "resolve": "resolve"}


class ActBody(BaseModel):
    """Who acts on an alarm, and how it ended (for resolve)."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(pattern=ID_PATTERN, description="Worker or user id")
    outcome: Outcome | None = Field(None, description="Required with resolve")
    note: str = Field("", max_length=500, description="Free text for the record")


@public.get("/healthz")
async def healthz(ctx: Context) -> JSONResponse:
    """Report broker, store and InfluxDB health; 503 unless the alarm path and store are up."""
    report = await ctx.health()
    return JSONResponse(report, status_code=200 if report["ok"] else 503)


@public.get("/metrics")
async def metrics(ctx: Context) -> Response:
    """Return every hub metric in the Prometheus text format."""
    await ctx.health()  # refreshes the connection gauges
    counts = await asyncio.to_thread(ctx.store.alarm_counts)
    ctx.metrics.set_alarm_counts(counts)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE)


@alarms.get("")
async def list_alarms(
    ctx: Context,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    state: str | None = None,
    cls: str | None = None,
    active: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlarmRecord]:
    """List alarms, newest first."""
    return await asyncio.to_thread(
        ctx.store.list_alarms, site=site, state=state, cls=cls, active_only=active, limit=limit
    )


@events.get("")
async def list_events(
    ctx: Context,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    device: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[EventRecord]:
    """List stored events, oldest first (edge timestamp and hub receipt time)."""
    return await asyncio.to_thread(
        ctx.store.list_events, site=site, device=device, since=since, limit=limit
    )


@alarms.get("/{alarm_id}")
async def get_alarm(ctx: Context, alarm_id: str) -> dict[str, Any]:
    """Return one alarm with its history and deliveries."""
    record = await asyncio.to_thread(ctx.store.get_alarm, alarm_id)
    if record is None:
        raise NotFoundError(f"no alarm {alarm_id!r}")
    history = await asyncio.to_thread(ctx.store.alarm_history, alarm_id)
    deliveries = await asyncio.to_thread(ctx.store.deliveries, alarm_id)
    return {
        "alarm": record.model_dump(mode="json"),
        "history": [h.model_dump(mode="json") for h in history],
        "deliveries": [d.model_dump(mode="json") for d in deliveries],
    }


@alarms.post("/{alarm_id}/{verb}")
async def act(ctx: Context, alarm_id: str, verb: Verb, body: ActBody) -> AlarmRecord:
    """Acknowledge, mark arrived or resolve an alarm, as a worker's app would."""
    if await asyncio.to_thread(ctx.store.get_alarm, alarm_id) is None:
        raise NotFoundError(f"no alarm {alarm_id!r}")
    outcome = await ctx.engine.act(alarm_id, body.actor, _ACTION[verb], body.outcome, body.note)
    if outcome.rejected:
        raise ValueError(f"{verb} refused: {outcome.rejected}")
    await ctx.submit(outcome.actions)
    record = await asyncio.to_thread(ctx.store.get_alarm, alarm_id)
    if record is None:
        raise NotFoundError(f"no alarm {alarm_id!r}")
    return record
