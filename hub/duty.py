"""The duty watch: rosters and care rounds as InfluxDB points, and "nobody on duty" alarms.

Every `every_s` (default 60 s), for each site in the store:

* `on_duty` (tags site, grid, role; field count): grid workers on duty per grid, and each
  overseeing role (grid "-") — Grafana's roster panels read exactly these names;
* `care_coverage` (tags site, grid; fields due, visited, coverage): residents with a visit plan,
  those visited this month, and the ratio;
* a grid that has just lost its last grid worker on duty raises the site's `trouble` alarm
  `nobody_on_duty`, paged to the duty officer at once (a person, not a log line).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from hub.alarms.actions import Action
from hub.alarms.service import AlarmService
from hub.influx.lines import build_line, float_field
from hub.store import Store
from hub.store.care import coverage
from hub.store.rosters import on_duty
from hub.store.schema import GridRow, SiteRow, WorkerRow
from protocol.messages import utcnow

log = logging.getLogger(__name__)
ROLES = ("duty_officer", "fire_station", "supervisor", "maintenance")


class Lines(Protocol):
    """The InfluxDB writer."""

    def submit(self, lines: Sequence[str]) -> None:
        """Queue line-protocol points."""
        ...


def snapshot(store: Store, now: datetime) -> tuple[list[str], dict[tuple[str, str], int]]:
    """Return the points of every site and the number of grid workers on duty per grid."""
    lines: list[str] = []
    staffed: dict[tuple[str, str], int] = {}
    with store.session() as s:
        for site in s.scalars(select(SiteRow.id).order_by(SiteRow.id)):
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
    return lines, staffed


async def watch(
    store: Store,
    engine: AlarmService,
    writer: Lines,
    submit: Callable[[Sequence[Action]], Awaitable[None]],
    every_s: float = 60.0,
) -> None:
    """Write the points and raise `nobody_on_duty` for newly unstaffed grids, forever."""
    unstaffed: set[tuple[str, str]] = set()
    while True:
        # First look one period after start: the registry import and the rosters settle.
        await asyncio.sleep(every_s)
        try:
            lines, staffed = await asyncio.to_thread(snapshot, store, utcnow())
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
        except Exception:
            log.exception("duty watch failed; trying again in %.0f s", every_s)
