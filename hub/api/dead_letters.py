"""Route: the dead letters (alarm-path messages the engine could not handle, acknowledged)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query

from hub.api.deps import Authorized, Context, Who, require
from hub.api.errors import responses

router = APIRouter(
    prefix="/api/v1/dead-letters",
    tags=["dead letters"],
    dependencies=[Authorized],
    responses=responses(401, 403, 422, 429),
)


@router.get("")
async def list_dead_letters(
    ctx: Context, who: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """List dead letters, newest first (payload as a 200-character preview); overseers only."""
    require(who, "audit.read")
    letters = await asyncio.to_thread(ctx.store.dead_letters, limit)
    return [{**dataclasses.asdict(d), "received_at": d.received_at.isoformat()} for d in letters]
