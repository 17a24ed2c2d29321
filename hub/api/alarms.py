"""Alarm routes: list (filters, paging), one with its timeline, and the actions on it.

The actor is always the authenticated user (their worker id when the account is a worker's);
a body cannot name anyone. An alarm the user may not see answers 404, like a missing one.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts.visibility import alarm_clause
from hub.alarms.actions import Outcome as Outcome_
from hub.alarms.ledger import Ledger
from hub.alarms.reassign import reassign
from hub.alarms.replies import Refused
from hub.api.context import ApiContext
from hub.api.deps import Authorized, Context, Who, audited, require
from hub.api.errors import ConflictError, NotFoundError, responses
from hub.policy import Policy
from hub.store.alarm_views import AlarmDetail, AlarmView, detail, list_views, visible_site
from hub.store.schema import AlarmRow, WorkerRow
from protocol.messages import AlarmClass, AlarmState, Outcome, ReplyAction, utcnow
from protocol.topics import ID_PATTERN

router = APIRouter(
    prefix="/api/v1/alarms",
    tags=["alarms"],
    dependencies=[Authorized],
    responses=responses(401, 422, 429),
)

Verb = Literal["ack", "decline", "arrived", "resolve"]


class ActBody(BaseModel):
    """How it ended (resolve) and a note; the actor is whoever is logged in."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"outcome": "handled", "note": "已送医 / taken to hospital"}]
        },
    )

    outcome: Outcome | None = Field(None, description="Required with resolve")
    note: str = Field("", max_length=500, description="Free text for the record")


@router.get("")
async def list_alarms(
    ctx: Context,
    who: Who,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    grid: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    state: AlarmState | None = None,
    cls: AlarmClass | None = None,
    active: bool = False,
    order: Literal["newest", "priority"] = "newest",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AlarmView]:
    """List the alarms you may see: newest first, or open ones by priority (fire first)."""
    filters = []
    if site is not None:
        filters.append(AlarmRow.site == site)
    if grid is not None:
        filters.append(AlarmRow.grid == grid)
    if state is not None:
        filters.append(AlarmRow.state == state)
    if cls is not None:
        filters.append(AlarmRow.cls == cls)
    if active:
        filters.append(AlarmRow.active.expression)  # bare: the partial index fits
    return await asyncio.to_thread(
        list_views,
        ctx.store,
        alarm_clause(who),
        filters=filters,
        priority=order == "priority",
        limit=limit,
        offset=offset,
    )


@router.get("/{alarm_id}", responses=responses(404))
async def get_alarm(ctx: Context, who: Who, alarm_id: str) -> AlarmDetail:
    """Return one alarm with the resident's context, its full timeline and deliveries."""
    found = await asyncio.to_thread(detail, ctx.store, alarm_clause(who), alarm_id)
    if found is None:
        raise NotFoundError("err.not_found", what=alarm_id)
    return found


class ReassignBody(BaseModel):
    """Whom to hand the alarm to, and why."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"worker": "w-li-na", "note": "就近"}]}
    )

    worker: str = Field(pattern=ID_PATTERN, description="Worker id in the alarm's site")
    note: str = Field("", max_length=500)


def _reassign(ctx: ApiContext, alarm_id: str, worker: str, by: str, note: str) -> Outcome_:
    policy = getattr(ctx.engine, "policy", None) or Policy()
    with ctx.store.session(write=True) as s:
        ledger = Ledger(s, policy, utcnow())
        alarm = ledger.alarm(alarm_id)
        row = None if alarm is None else s.get(WorkerRow, (alarm.site, worker))
        if alarm is None or row is None:
            raise NotFoundError("err.not_found", what=worker)
        try:
            reassign(ledger, alarm, row, by, note)
        except Refused as exc:
            raise ConflictError("err.refused", reason=exc.reason) from exc
        s.flush()
        return Outcome_(actions=ledger.actions)


@router.post("/{alarm_id}/reassign", responses=responses(403, 404, 409))
async def reassign_alarm(
    request: Request, ctx: Context, who: Who, alarm_id: str, body: ReassignBody
) -> AlarmView:
    """Hand an open alarm to another worker (duty officer, supervisor): paged at once."""
    site = await asyncio.to_thread(visible_site, ctx.store, alarm_clause(who), alarm_id)
    if site is None:
        raise NotFoundError("err.not_found", what=alarm_id)
    require(who, "alarm.reassign")
    outcome = await asyncio.to_thread(_reassign, ctx, alarm_id, body.worker, who.actor, body.note)
    await audited(
        ctx, request, who, "alarm.reassign", alarm_id, detail=body.model_dump(), site=site
    )
    await ctx.submit(outcome.actions)
    found = await asyncio.to_thread(detail, ctx.store, alarm_clause(who), alarm_id)
    if found is None:
        raise NotFoundError("err.not_found", what=alarm_id)
    return found.alarm


@router.post("/{alarm_id}/{verb}", responses=responses(403, 404, 409))
async def act(
    request: Request, ctx: Context, who: Who, alarm_id: str, verb: Verb, body: ActBody
) -> AlarmView:
    """Accept (ack), decline, report arrival or resolve (with an outcome) as yourself."""
    site = await asyncio.to_thread(visible_site, ctx.store, alarm_clause(who), alarm_id)
    if site is None:
        raise NotFoundError("err.not_found", what=alarm_id)
    require(who, "alarm.act")
    action: ReplyAction = verb
    outcome = await ctx.engine.act(alarm_id, who.actor, action, body.outcome, body.note)
    detail_ = {"outcome": body.outcome, "note": body.note, "actor": who.actor}
    refused = outcome.rejected or ("duplicate" if outcome.duplicate else None)
    await audited(
        ctx,
        request,
        who,
        f"alarm.{verb}",
        alarm_id,
        ok=outcome.rejected is None,
        detail={**detail_, "refused": refused},
        site=site,
    )
    if outcome.rejected:
        raise ConflictError("err.refused", reason=outcome.rejected)
    await ctx.submit(outcome.actions)
    found = await asyncio.to_thread(detail, ctx.store, alarm_clause(who), alarm_id)
    if found is None:
        raise NotFoundError("err.not_found", what=alarm_id)
    return found.alarm
