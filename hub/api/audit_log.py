"""The audit log, read back: admins see all, duty officers and supervisors their site."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query

from hub.accounts.audit import AuditRecord, entries
from hub.accounts.visibility import site_of
from hub.api.deps import Authorized, Context, Who, require
from hub.api.errors import responses
from protocol.topics import ID_PATTERN

router = APIRouter(
    prefix="/api/v1/audit",
    tags=["audit"],
    dependencies=[Authorized],
    responses=responses(401, 403, 422, 429),
)


@router.get("")
async def read_audit(
    ctx: Context,
    who: Who,
    site: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    username: Annotated[str | None, Query(max_length=48)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditRecord]:
    """Return audited writes, newest first (who, when, what, from where); page with before_id."""
    require(who, "audit.read")
    return await asyncio.to_thread(
        entries,
        ctx.store,
        site=site_of(who, site),
        username=username,
        action=action,
        target=target,
        before_id=before_id,
        limit=limit,
    )
