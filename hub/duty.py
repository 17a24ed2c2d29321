"""The duty watch: rosters and care rounds as InfluxDB points, and "nobody on duty" alarms.

Every `every_s` (default 60 s), for each site in the store:

* `on_duty` (tags site, grid, role; field count): grid workers on duty per grid, and each
  overseeing role (grid "-") — Grafana's roster panels read exactly these names;
* `care_coverage` (tags site, grid; fields due, visited, coverage): residents with a visit plan,
  those visited this month, and the ratio;
* a grid that has just lost its last grid worker on duty raises the site's `trouble` alarm
  `nobody_on_duty`, paged to the duty officer at once (a person, not a log line);
* a care visit overdue: the worker's phone page lists it as overdue at once (their reminder);
  still not made `CARE_GRACE` later, it raises the site's `trouble` alarm `care_overdue` for the
  duty officer, naming the residents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select

from hub.alarms.actions import Action
from hub.alarms.service import AlarmService
from hub.influx.lines import build_line, float_field
from hub.store import Store
from hub.store.care import coverage, plans
from hub.store.rosters import on_duty
from hub.store.schema import GridRow, SiteRow, WorkerRow
from protocol.messages import utcnow

log = logging.getLogger(__name__)
ROLES = ("duty_officer", "fire_station", "supervisor", "maintenance")
CARE_GRACE = timedelta(hours=24)


class Lines(Protocol):
    """The InfluxDB writer."""

    def submit(self, lines: Sequence[str]) -> None:
        """Queue line-protocol points."""
        ...


Snapshot = tuple[list[str], dict[tuple[str, str], int], set[tuple[str, str, datetime]]]


def snapshot(store: Store, now: datetime, grace: timedelta = CARE_GRACE) -> Snapshot:
    """Return the points of every site, grid workers on duty per grid, and the care visits
    overdue by more than `grace` as (site, resident, due_at)."""
    lines: list[str] = []
    staffed: dict[tuple[str, str], int] = {}
    late: set[tuple[str, str, datetime]] = set()
    with store.session() as s:
        for site in s.scalars(select(SiteRow.id).order_by(SiteRow.id)):
            late |= {
                (site, c.resident, c.due_at)
                for c in plans(s, site, now, None)
                if c.last_visit is not None and c.due_at + grace < now
            }
            workers = list(s.scalars(select(WorkerRow).where(WorkerRow.site == site)))
            on = {w.id for w in on_duty(s, site, workers, now)}
            for grid in s.scalars(select(GridRow.id).where(GridRow.site == site)):
                n = sum(
                    1 for w in workers if w.id in on and w.role == "grid_worker" and grid in w.grids
                )
                staffed[(site, grid)] = n
                tags = {"site": site, "grid": grid, "role": "grid_worker"}
                lines.append(build_line("on_duty", tags, {"count": f"{n}i"}, now))
            for role in ROLES:
                n = sum(1 for w in workers if w.id in on and w.role == role)
                tags = {"site": site, "grid": "-", "role": role}
                lines.append(build_line("on_duty", tags, {"count": f"{n}i"}, now))
            for c in coverage(s, site, now):
                fields = {
                    "due": f"{c.due}i",
                    "visited": f"{c.visited}i",
                    "coverage": float_field(c.coverage),
                }
                lines.append(
                    build_line("care_coverage", {"site": site, "grid": c.grid}, fields, now)
                )
    return lines, staffed, late


async def watch(
    store: Store,
    engine: AlarmService,
    writer: Lines,
    submit: Callable[[Sequence[Action]], Awaitable[None]],
    every_s: float = 60.0,
    grace: timedelta = CARE_GRACE,
) -> None:
    """Write the points; raise `nobody_on_duty` and `care_overdue` when they newly apply."""
    unstaffed: set[tuple[str, str]] = set()
    reported: set[tuple[str, str, datetime]] = set()
    while True:
        # First look one period after start: the registry import and the rosters settle.
        await asyncio.sleep(every_s)
        try:
            lines, staffed, late = await asyncio.to_thread(snapshot, store, utcnow(), grace)
            writer.submit(lines)
            now_empty = {key for key, n in staffed.items() if n == 0}
            fresh = sorted(now_empty - unstaffed)
            unstaffed = now_empty
            if fresh:
                grids = ", ".join(f"{site}/{grid}" for site, grid in fresh)
                outcome = await engine.on_system(
                    "nobody_on_duty", len(fresh), f"无人当班 / nobody on duty: {grids}"
                )
                await submit(outcome.actions)
            overdue = sorted(late - reported)
            reported = late
            if overdue:
                who = ", ".join(f"{site}/{resident}" for site, resident, _ in overdue)
                outcome = await engine.on_system(
                    "care_overdue", len(overdue), f"走访逾期 / care visit overdue: {who}"[:500]
                )
                await submit(outcome.actions)
        except Exception:
            log.exception("duty watch failed; trying again in %.0f s", every_s)
