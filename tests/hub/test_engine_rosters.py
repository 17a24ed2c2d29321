"""The engine keeps rosters in memory, and a roster change by anyone reaches the next page.

A trigger moves `roster_version` on every write to sites, workers, shifts and exceptions
(migration 0008); the engine re-reads what it keeps when that number moved. Here the changes
come through a database connection of their own, as from the API, a CLI or another hub.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Engine as Database

from hub.store import Store
from hub.store.people import RosterExceptionRow, RosterVersionRow, ShiftRow
from hub.store.schema import SiteRow, WorkerRow
from tests.hub.conftest import T0

SITE = "sunflower"
HOME = "home-b1-101"  # grid-1: w-zhang-wei; backup w-wang-fang
GRID_WORKER = "w-zhang-wei"


@pytest.fixture
def other(store_url: str) -> Iterator[Database]:
    """A database connection pool apart from the store's (another process, in effect)."""
    db = create_engine(store_url)
    yield db
    db.dispose()


def version(db: Database) -> int:
    with db.connect() as conn:
        n = conn.scalar(select(RosterVersionRow.n).where(RosterVersionRow.id == 1))
    assert n is not None
    return n


async def test_every_write_to_a_roster_table_moves_the_version(store: Store, other: Database):
    workers, shifts = WorkerRow.__table__, ShiftRow.__table__
    exceptions, sites = RosterExceptionRow.__table__, SiteRow.__table__
    writes = [
        update(sites).where(sites.c.id == SITE).values(name_en="Sunflower"),
        insert(workers).values(
            site=SITE,
            id="w-new",
            name="新",
            role="grid_worker",
            phone="",
            grids=[],
            backup_for=[],
            notify=[],
            on_duty=True,
        ),
        update(workers).where(workers.c.id == "w-new").values(on_duty=False),
        delete(workers).where(workers.c.id == "w-new"),
        insert(shifts).values(
            site=SITE, worker=GRID_WORKER, weekday=0, start=time(8), end=time(17)
        ),
        update(shifts).values(end=time(18)),
        delete(shifts),
        insert(exceptions).values(
            site=SITE,
            worker=GRID_WORKER,
            day=store_day(),
            kind="absent",
            note="",
            created_by="test",
        ),
        update(exceptions).values(note="sick"),
        delete(exceptions),
    ]
    for statement in writes:
        before = version(other)
        with other.begin() as conn:
            conn.execute(statement)
        assert version(other) > before, statement
    # Writes elsewhere (alarms, events, the registry's devices) leave it alone.
    before = version(other)
    with store.session(write=True) as s:
        s.execute(update(WorkerRow.__table__.metadata.tables["devices"]).values(location="x"))
    assert version(other) == before


def store_day() -> date:
    """The local day of the test clock's start (conftest: T0) in the site's zone."""
    return T0.astimezone(ZoneInfo("Asia/Shanghai")).date()


async def test_an_absence_written_elsewhere_reaches_the_next_page(
    engine, store: Store, other: Database, events, pick
):
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    sos: list[str] = []

    async def page() -> list[str]:
        """One SOS of the home, then its cancel; whom the SOS paged (its SQL in `sos`)."""
        statements.clear()
        out = await engine.on_event(SITE, events(HOME, "call"))
        sos[:] = statements
        await engine.on_event(SITE, events(HOME, "cancel"))
        return pick.notified(out)

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        assert await page() == [GRID_WORKER]
        # Kept: the next page reads no roster table, only the version.
        assert await page() == [GRID_WORKER]
        read = [s for s in sos if s.lstrip().upper().startswith("SELECT")]
        for table in ("workers", "roster_shifts", "roster_exceptions", "sites"):
            assert not [s for s in read if f"FROM {table}" in s], (table, read)
        assert [s for s in read if "FROM roster_version" in s]

        absent = insert(RosterExceptionRow.__table__).values(
            site=SITE, worker=GRID_WORKER, day=store_day(), kind="absent", note="", created_by="t"
        )
        with other.begin() as conn:
            conn.execute(absent)
        paged = await page()
        assert paged and GRID_WORKER not in paged

        with other.begin() as conn:
            conn.execute(delete(RosterExceptionRow.__table__))
        assert await page() == [GRID_WORKER]

        # Off duty in the registry (as the duty toggle writes it): the same.
        with other.begin() as conn:
            conn.execute(
                update(WorkerRow.__table__)
                .where(WorkerRow.__table__.c.id == GRID_WORKER)
                .values(on_duty=False)
            )
        paged = await page()
        assert paged and GRID_WORKER not in paged
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
