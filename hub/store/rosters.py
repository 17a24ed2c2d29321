"""Who is on duty now: weekly shifts plus one-day exceptions (absent, extra), in site time.

A worker with no weekly shifts is on duty whenever the registry says so (`workers.on_duty`,
the behaviour before rosters); a worker with shifts is on duty only inside one. An exception
for today overrides both: `absent` takes them off, `extra` puts them on (a swap is one of
each). Shifts and exceptions are their own tables: a registry re-import keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store import fast
from hub.store.people import RosterExceptionRow, RosterVersionRow, ShiftRow
from hub.store.reads import core_for
from hub.store.schema import SiteRow, WorkerRow

EXCEPTION_KINDS = ("absent", "extra")


def site_zone(session: Session, site: str) -> ZoneInfo:
    """Return the site's time zone (Asia/Shanghai when unknown); once per session and site
    (the ORM does not keep the row: routing asked twice per page, a query each)."""
    zones: dict[str, ZoneInfo] = session.info.setdefault("site_zones", {})
    zone = zones.get(site)
    if zone is not None:
        return zone
    row = session.get(SiteRow, site)
    try:
        zone = ZoneInfo(row.timezone if row is not None else "Asia/Shanghai")
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("Asia/Shanghai")
    zones[site] = zone
    return zone


def in_shift(shift: ShiftRow, local: datetime) -> bool:
    """Return True if local time `local` falls in the weekly `shift` (overnight shifts too)."""
    t = local.time()
    day = local.weekday()
    if shift.start < shift.end:
        return shift.weekday == day and shift.start <= t < shift.end
    # Overnight (or 24 h when start == end): from start on its weekday to end the next day.
    if shift.weekday == day and t >= shift.start:
        return True
    return (shift.weekday + 1) % 7 == day and t < shift.end


ROSTERS = "watchpost.rosters"
"""The `session.info` key under which the engine hands its `Rosters` to the rules."""
CHECKED = "watchpost.rosters.checked"
"""The `session.info` key marking that `Rosters` read the version in this transaction."""
MAX_DAYS = 64
"""(site, day) exception sets `Rosters` keeps at most (a day passes; not needed again)."""


@dataclass(frozen=True, slots=True)
class Roster:
    """A site's time zone, workers (by id) and weekly shifts (by worker)."""

    zone: ZoneInfo
    workers: tuple[WorkerRow, ...]
    shifts: dict[str, tuple[ShiftRow, ...]]


@dataclass(frozen=True, slots=True)
class Exceptions:
    """One local day's roster exceptions of a site."""

    kinds: dict[str, str]
    """worker → `absent` or `extra` (the one recorded last)."""
    covering: dict[str, tuple[str, ...]]
    """grid → the workers on `extra` duty covering it (a swap across grids)."""


def load_roster(session: Session, site: str) -> Roster:
    """Read a site's roster from the store (three queries; the site's zone once a session)."""
    zone = site_zone(session, site)
    workers = tuple(
        session.scalars(select(WorkerRow).where(WorkerRow.site == site).order_by(WorkerRow.id))
    )
    return Roster(zone, workers, _shifts(session, site))


def _shifts(session: Session, site: str) -> dict[str, tuple[ShiftRow, ...]]:
    shifts: dict[str, list[ShiftRow]] = {}
    for s in session.scalars(select(ShiftRow).where(ShiftRow.site == site).order_by(ShiftRow.id)):
        shifts.setdefault(s.worker, []).append(s)
    return {w: tuple(rows) for w, rows in shifts.items()}


def load_exceptions(session: Session, site: str, day: date) -> Exceptions:
    """Read a site's roster exceptions of one local day (one query)."""
    kinds: dict[str, str] = {}
    covering: dict[str, list[str]] = {}
    for e in session.scalars(
        select(RosterExceptionRow)
        .where(RosterExceptionRow.site == site, RosterExceptionRow.day == day)
        .order_by(RosterExceptionRow.id)
    ):
        kinds[e.worker] = e.kind
        if e.kind == "extra" and e.grid is not None:
            covering.setdefault(e.grid, []).append(e.worker)
    return Exceptions(kinds, {g: tuple(ws) for g, ws in covering.items()})


_VERSION = select(RosterVersionRow.n).where(RosterVersionRow.id == 1)
"""Built once: read by every transaction that pages."""


class Rosters:
    """Every site's roster and exceptions in memory, for the alarm engine (docs/hub.md).

    Paging an SOS read the site, its workers, their shifts and the day's exceptions: five
    queries of ~25 on its path. Here they are read once and kept while `roster_version.n` is
    unchanged: database triggers move it on every write to those tables, by any process
    (migration 0008), so one read of that number tells whether what is kept is current. Only
    the engine uses this (its transactions never write rosters, so nothing uncommitted is kept);
    the API reads the store each time. The rows kept are detached from their session.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._rosters: dict[str, Roster] = {}
        self._days: dict[tuple[str, date], Exceptions] = {}

    def current(self, session: Session, site: str, day_of: datetime) -> tuple[Roster, Exceptions]:
        """Return the site's roster and the exceptions of the local day of `day_of`."""
        if session.info.get(CHECKED) is not self:  # once a transaction: an escalation tick
            # pages several alarms, a page may try several tiers
            # Written only by triggers on the roster tables (migration 0008).
            roster_rows = (SiteRow, WorkerRow, ShiftRow, RosterExceptionRow)
            version = fast.scalar(core_for(session, roster_rows), _VERSION)
            if version is None or version != self._version:
                self._rosters.clear()
                self._days.clear()
                self._version = version
            session.info[CHECKED] = self
        version = self._version
        roster = self._rosters.get(site)
        if roster is None:
            roster = load_roster(session, site)
            for worker in roster.workers:
                session.expunge(worker)
            for shifts in roster.shifts.values():
                for shift in shifts:
                    session.expunge(shift)
            if version is not None:
                self._rosters[site] = roster
        day = day_of.astimezone(roster.zone).date()
        found = self._days.get((site, day))
        if found is None:
            found = load_exceptions(session, site, day)
            if version is not None:
                if len(self._days) > MAX_DAYS:
                    self._days.clear()
                self._days[(site, day)] = found
        return roster, found


def roster_of(session: Session, site: str, now: datetime) -> tuple[Roster, Exceptions]:
    """The engine's kept roster (`Rosters` in `session.info`) or, elsewhere, the store's."""
    kept = session.info.get(ROSTERS)
    if isinstance(kept, Rosters):
        return kept.current(session, site, now)
    roster = load_roster(session, site)
    return roster, load_exceptions(session, site, now.astimezone(roster.zone).date())


def on_duty_in(
    roster: Roster, exceptions: Exceptions, workers: Iterable[WorkerRow], now: datetime
) -> list[WorkerRow]:
    """Return those of `workers` (all of the roster's site) on duty at `now`, in order."""
    local = now.astimezone(roster.zone)
    out = []
    for w in workers:
        kind = exceptions.kinds.get(w.id)
        if kind == "absent":
            continue
        if kind == "extra":
            out.append(w)
            continue
        if not w.on_duty:
            continue
        mine = roster.shifts.get(w.id)
        if mine is None or any(in_shift(s, local) for s in mine):
            out.append(w)
    return out


def covering_in(roster: Roster, exceptions: Exceptions, grid: str) -> list[WorkerRow]:
    """Return the workers on `extra` duty that day covering `grid`, by id."""
    ids = set(exceptions.covering.get(grid, ()))
    return [w for w in roster.workers if w.id in ids]


def on_duty(
    session: Session, site: str, workers: Iterable[WorkerRow], now: datetime
) -> list[WorkerRow]:
    """Return those of `workers` (all of `site`) on duty at `now`, in the given order."""
    listed = list(workers)
    if not listed:
        return []
    # The caller has the workers: the zone, the shifts and the day's exceptions are enough.
    roster = Roster(site_zone(session, site), (), _shifts(session, site))
    exceptions = load_exceptions(session, site, now.astimezone(roster.zone).date())
    return on_duty_in(roster, exceptions, listed, now)


def covering(session: Session, site: str, grid: str, now: datetime) -> list[WorkerRow]:
    """Return the workers on `extra` duty today covering `grid` (a swap across grids)."""
    roster, exceptions = roster_of(session, site, now)
    return covering_in(roster, exceptions, grid)


def add_shift(
    session: Session, site: str, worker: str, weekday: int, start: time, end: time
) -> int:
    """Add a weekly shift; return its id."""
    row = ShiftRow(site=site, worker=worker, weekday=weekday, start=start, end=end)
    session.add(row)
    session.flush()
    return row.id


def add_exception(
    session: Session,
    site: str,
    worker: str,
    day: date,
    kind: str,
    note: str,
    by: str,
    grid: str | None = None,
) -> int:
    """Record an absence or an extra duty (covering `grid`, if given) for one day; return its id."""
    if kind not in EXCEPTION_KINDS:
        raise ValueError(f"kind: one of {EXCEPTION_KINDS}")
    row = RosterExceptionRow(
        site=site, worker=worker, day=day, kind=kind, note=note, created_by=by, grid=grid
    )
    session.add(row)
    session.flush()
    return row.id


def week_of(day: date) -> list[date]:
    """Return the seven days from Monday of `day`'s week."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]
