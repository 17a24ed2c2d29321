"""Device health, response statistics, and emergency broadcasts (sirens in a building or
the whole site).

A broadcast takes two steps: POST plans it and answers a confirmation code and the devices it
would sound; POST …/confirm with that code (within a minute) sends `siren on` to each; POST
…/stop sends `siren off`. Each step is audited.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.accounts import Principal
from hub.accounts.audit import entries
from hub.accounts.visibility import alarm_clause, site_of
from hub.alarms.actions import SendCommand
from hub.api.deps import Authorized, Context, Who, audited, require
from hub.api.errors import ConflictError, NotFoundError, UnauthorizedError, responses
from hub.store.site_views import DeviceHealth, device_health, siren_devices
from hub.store.stats import ResponseStats, response_stats
from protocol.messages import SirenCmd, utcnow
from protocol.topics import ID_PATTERN

router = APIRouter(
    prefix="/api/v1", dependencies=[Authorized], responses=responses(401, 403, 422, 429)
)
CONFIRM_WITHIN_S = 60.0


@router.get("/devices", tags=["devices"])
async def devices(
    ctx: Context, who: Who, site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None
) -> list[DeviceHealth]:
    """Return device health (online, last heartbeat, battery, outbox depth) you may see."""
    grids = who.grids if who.role == "grid_worker" else None
    return await asyncio.to_thread(device_health, ctx.store, site_of(who, site), grids)


class BroadcastBody(BaseModel):
    """Where to sound the sirens: one building, or the whole site (building null)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"building": "b1"}, {"building": None}]}
    )

    building: str | None = Field(None, pattern=ID_PATTERN, description="Building id; null: all")
    site: str | None = Field(None, pattern=ID_PATTERN, description="Site (admins only)")


class ConfirmBody(BaseModel):
    """The code the plan answered."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$")


class Broadcast(BaseModel):
    """A planned or sounding broadcast."""

    id: str
    site: str
    building: str | None
    devices: list[str]
    code: str | None = None
    sounding: bool = False


def _site(who: Principal, requested: str | None) -> str:
    site = site_of(who, requested)
    if site is None:
        raise ConflictError("err.refused", reason="no_sirens")
    return site


async def _sirens(ctx: Context, b: Broadcast, on: bool) -> None:
    now = utcnow()
    await ctx.submit(
        [SendCommand(b.site, d, SirenCmd(ts=now, on=on, alarm=b.id)) for d in b.devices]
    )


@router.post("/broadcasts", tags=["broadcasts"], status_code=201, responses=responses(409))
async def plan_broadcast(
    request: Request, ctx: Context, who: Who, body: BroadcastBody
) -> Broadcast:
    """Plan a broadcast; nothing sounds until it is confirmed with the answered code."""
    require(who, "broadcast")
    site = _site(who, body.site)
    found = await asyncio.to_thread(siren_devices, ctx.store, site, body.building)
    if not found:
        raise ConflictError("err.refused", reason="no_sirens")
    plan = Broadcast(
        id=f"bc-{secrets.token_hex(6)}",
        site=site,
        building=body.building,
        devices=found,
        code=f"{secrets.randbelow(1_000_000):06d}",
    )
    now = time.monotonic()
    for key in [k for k, (_, until) in ctx.pending.items() if until < now]:
        del ctx.pending[key]  # plans never confirmed
    ctx.pending[plan.id] = (plan, now + CONFIRM_WITHIN_S)
    await audited(
        ctx,
        request,
        who,
        "broadcast.plan",
        plan.id,
        detail={"building": body.building, "devices": found},
        site=site,
    )
    return plan


def _pending(ctx: Context, who: Principal, broadcast_id: str) -> Broadcast:
    entry = ctx.pending.get(broadcast_id)
    if entry is None or (who.role != "admin" and entry[0].site != who.site):
        raise NotFoundError("err.not_found", what=broadcast_id)
    plan: Broadcast = entry[0]
    return plan


@router.post("/broadcasts/{broadcast_id}/confirm", tags=["broadcasts"], responses=responses(404))
async def confirm_broadcast(
    request: Request, ctx: Context, who: Who, broadcast_id: str, body: ConfirmBody
) -> Broadcast:
    """Sound the planned sirens (`siren` on) now."""
    require(who, "broadcast")
    plan = _pending(ctx, who, broadcast_id)
    deadline = ctx.pending[broadcast_id][1]
    if plan.sounding or plan.code != body.code or time.monotonic() > deadline:
        await audited(ctx, request, who, "broadcast.sound", plan.id, ok=False, site=plan.site)
        raise UnauthorizedError("err.confirm")
    sounding = plan.model_copy(update={"sounding": True, "code": None})
    ctx.pending[broadcast_id] = (sounding, float("inf"))
    await _sirens(ctx, sounding, on=True)
    await audited(
        ctx,
        request,
        who,
        "broadcast.sound",
        plan.id,
        detail={"devices": plan.devices},
        site=plan.site,
    )
    return sounding


def _sounded(ctx: Context, who: Principal, broadcast_id: str) -> Broadcast | None:
    """Recover a broadcast that sounded before a hub restart, from its audit entry."""
    found = entries(ctx.store, action="broadcast.sound", target=broadcast_id, limit=5)
    for e in found:
        devices = e.detail.get("devices")
        mine = who.role == "admin" or e.site == who.site
        if e.ok and e.site is not None and isinstance(devices, list) and mine:
            return Broadcast(
                id=broadcast_id, site=e.site, building=None, devices=[str(d) for d in devices]
            )
    return None


@router.post("/broadcasts/{broadcast_id}/stop", tags=["broadcasts"], responses=responses(404))
async def stop_broadcast(request: Request, ctx: Context, who: Who, broadcast_id: str) -> Broadcast:
    """Silence a broadcast's sirens (`siren` off); works after a hub restart too."""
    require(who, "broadcast")
    if broadcast_id in ctx.pending:
        plan = _pending(ctx, who, broadcast_id)
        del ctx.pending[broadcast_id]
    else:
        recovered = await asyncio.to_thread(_sounded, ctx, who, broadcast_id)
        if recovered is None:
            raise NotFoundError("err.not_found", what=broadcast_id)
        plan = recovered
    stopped = plan.model_copy(update={"sounding": False, "code": None})
    await _sirens(ctx, stopped, on=False)
    await audited(
        ctx,
        request,
        who,
        "broadcast.stop",
        plan.id,
        detail={"devices": plan.devices},
        site=plan.site,
    )
    return stopped


@router.get("/broadcasts", tags=["broadcasts"])
async def list_broadcasts(ctx: Context, who: Who) -> list[Broadcast]:
    """Return broadcasts planned or sounding in your site."""
    require(who, "broadcast")
    return [
        p.model_copy(update={"code": None})
        for p, _ in ctx.pending.values()
        if who.role == "admin" or p.site == who.site
    ]


@router.get("/stats", tags=["statistics"])
async def stats(
    ctx: Context,
    who: Who,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> list[ResponseStats]:
    """Return time to acknowledge and to arrive per class and grid (default: the last 30 days),
    against the targets: acknowledged within 60 s, on scene within 3 minutes."""
    end = until or utcnow()
    start = since or end - timedelta(days=30)
    return await asyncio.to_thread(response_stats, ctx.store, alarm_clause(who), start, end)
