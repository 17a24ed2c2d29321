"""The live feed: Server-Sent Events of the alarms a user may see, as they change.

Each connection polls the store (every `POLL_S`) for visible alarms updated since its cursor,
so it works the same with several hub processes on one PostgreSQL. On (re)connect the page
reloads the list, then follows the feed: nothing is missed across a flaky connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, select

from hub.accounts.visibility import alarm_clause
from hub.api.deps import Authorized, Context, Who
from hub.api.errors import responses
from hub.store import Store
from hub.store.alarm_views import view
from hub.store.schema import AlarmRow
from protocol.messages import utcnow

router = APIRouter(prefix="/api/v1", tags=["feed"], responses=responses(401, 429))
POLL_S = 0.2
KEEPALIVE_S = 15.0
# Rows committed by a slower transaction may carry an earlier updated_at than one already
# seen: look back this far, and skip versions already sent.
LOOKBACK = timedelta(seconds=5)


def _changed(
    store: Store, visible: ColumnElement[bool], since: datetime, sent: dict[str, str]
) -> list[str]:
    out = []
    query = (
        select(AlarmRow)
        .where(visible, AlarmRow.updated_at >= since - LOOKBACK)
        .order_by(AlarmRow.updated_at)
        .limit(500)
    )
    with store.session() as s:
        for row in s.scalars(query):
            version = f"{row.updated_at.isoformat()}|{row.state}|{row.tier}|{row.repeats}"
            if sent.get(row.id) == version:
                continue
            sent[row.id] = version
            out.append(view(s, row).model_dump_json())
    return out


async def _stream(
    request: Request, store: Store, visible: ColumnElement[bool]
) -> AsyncIterator[str]:
    sent: dict[str, str] = {}
    cursor = utcnow()
    yield "retry: 2000\nevent: hello\ndata: {}\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        now = utcnow()
        for item in await asyncio.to_thread(_changed, store, visible, cursor, sent):
            yield f"event: alarm\ndata: {item}\n\n"
            quiet = 0.0
        cursor = now
        if len(sent) > 5000:
            sent.clear()
        await asyncio.sleep(POLL_S)
        quiet += POLL_S
        if quiet >= KEEPALIVE_S:
            yield f": keepalive {json.dumps(now.isoformat())}\n\n"
            quiet = 0.0


@router.get(
    "/feed",
    dependencies=[Authorized],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "alarm events"}},
)
async def feed(request: Request, ctx: Context, who: Who) -> StreamingResponse:
    """Stream `alarm` events (an alarm view as JSON) for every visible alarm that changes."""
    return StreamingResponse(
        _stream(request, ctx.store, alarm_clause(who)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
