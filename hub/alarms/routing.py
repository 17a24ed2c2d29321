"""Turn an escalation tier's audiences into the workers to page for an alarm."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from hub.policy import Audience, Escalation
from hub.store.rosters import covering_in, on_duty_in, roster_of
from hub.store.schema import AlarmRow, WorkerRow
from protocol.messages import utcnow

ROLE_OF: dict[str, str] = {
    "duty_officer": "duty_officer",
    "supervisor": "supervisor",
    "fire_station": "fire_station",
    "maintenance": "maintenance",
}


def _matches(worker: WorkerRow, audience: Audience, grid: str | None) -> bool:
    if audience == "grid":
        return worker.role == "grid_worker" and grid is not None and grid in worker.grids
    if audience == "backup":
        return grid is not None and grid in worker.backup_for
    return worker.role == ROLE_OF[audience]


def audience_workers(
    session: Session,
    site: str,
    grid: str | None,
    audiences: Sequence[Audience],
    now: datetime | None = None,
) -> list[WorkerRow]:
    """Return the workers of `site` on duty at `now` (rosters: shifts and exceptions) that any
    of `audiences` names, in roster order."""
    at = now or utcnow()
    roster, exceptions = roster_of(session, site, at)
    named = [w for w in roster.workers if any(_matches(w, a, grid) for a in audiences)]
    found = on_duty_in(roster, exceptions, named, at)
    if grid is not None and "grid" in audiences:
        # A worker swapped in from another grid covers this one today.
        known = {w.id for w in found}
        found += [w for w in covering_in(roster, exceptions, grid) if w.id not in known]
    return found


def tier_workers(
    session: Session,
    alarm: AlarmRow,
    escalation: Escalation,
    tier: int,
    now: datetime | None = None,
) -> tuple[int, list[WorkerRow]]:
    """Return the first tier at or after `tier` that has workers, and them.

    Past the last tier, the last tier that has anyone is paged again (life-safety alarms keep
    paging until someone acknowledges). `(tier, [])` means nobody is on duty at all.
    """
    last = len(escalation.tiers) - 1
    for index in range(min(tier, last + 1), last + 1):
        found = audience_workers(session, alarm.site, alarm.grid, escalation.tiers[index], now)
        if found:
            return index, found
    for index in range(last, -1, -1):
        found = audience_workers(session, alarm.site, alarm.grid, escalation.tiers[index], now)
        if found:
            return index, found
    return min(tier, last), []
