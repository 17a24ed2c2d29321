"""Hub fixtures: a real PostgreSQL per session, a store on SQLite and on PostgreSQL, an engine
with an injected clock, and the example registry (firmware-config/sites/sunflower).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine as Engine_
from sqlalchemy import create_engine, text

from hub.alarms.actions import Notify, Outcome, SendCommand, Transition
from hub.alarms.engine import Engine
from hub.policy import Policy
from hub.store import Store
from protocol.messages import Event, EventKind, IndicateCmd, SirenCmd
from protocol.site_config import Registry, load_site
from simulators.services import Postgres

SUNFLOWER = Path(__file__).resolve().parents[2] / "firmware-config" / "sites" / "sunflower"
# 10:00 Beijing time on a Monday: inside nobody's check-in window edge cases by default.
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


class Clock:
    """A hand-driven UTC clock for the engine: `advance()` instead of sleeping."""

    def __init__(self, now: datetime = T0) -> None:
        """Start at `now`."""
        self.now = now

    def __call__(self) -> datetime:
        """Return the current fake time."""
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move time forward and return the new now."""
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture(scope="session")
def pg_admin(pg_server: Postgres) -> Iterator[Engine_]:
    """Return an SQLAlchemy engine on the session server's default database."""
    admin = create_engine(pg_server.url, isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return a SQLAlchemy URL of an empty database, once on SQLite and once on PostgreSQL.

    On PostgreSQL each test gets its own schema (first on the search path): creating one is
    instant, where CREATE DATABASE costs about half a second.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    server: Postgres = request.getfixturevalue("pg_server")
    admin: Engine_ = request.getfixturevalue("pg_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{server.url}?options=-csearch_path%3D{schema}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(scope="session")
def sunflower() -> Registry:
    """Return the example site's registry."""
    return load_site(SUNFLOWER)


@pytest.fixture
def store(store_url: str, sunflower: Registry) -> Iterator[Store]:
    """Return a migrated store holding the sunflower registry."""
    db = Store(store_url)
    db.migrate()
    db.import_registry(sunflower)
    yield db
    db.close()


@pytest.fixture
def clock() -> Clock:
    """Return a fake clock starting at T0."""
    return Clock()


@pytest.fixture
def policy() -> Policy:
    """Return the default policy with slow heartbeats, so supervision stays out of the way."""
    return Policy(missed_heartbeats=100, offline_grace_s=3600)


@pytest.fixture
def engine(store: Store, policy: Policy, clock: Clock) -> Engine:
    """Return an engine on the test's store, policy and clock."""
    return Engine(store, policy, clock)


class Events:
    """Make events with fresh ids and per-device sequence numbers, stamped by the clock."""

    def __init__(self, clock: Clock) -> None:
        """Stamp events with `clock`."""
        self.clock = clock
        self.seq: dict[str, int] = {}

    def __call__(self, device: str, kind: EventKind, **data: str | int | float) -> Event:
        """Return a new event from `device`."""
        self.seq[device] = self.seq.get(device, 0) + 1
        return Event(
            id=str(uuid.uuid4()),
            device=device,
            seq=self.seq[device],
            ts=self.clock(),
            kind=kind,
            source="test",
            data=data,
        )


@pytest.fixture
def events(clock: Clock) -> Events:
    """Return an event factory stamped by the test's clock."""
    return Events(clock)


def notified(outcome: Outcome) -> list[str]:
    """Return the workers an outcome pages, in order."""
    return [a.worker for a in outcome.actions if isinstance(a, Notify)]


def states(outcome: Outcome) -> list[tuple[str, str]]:
    """Return (class, state) of every transition in an outcome."""
    return [(a.cls, a.state) for a in outcome.actions if isinstance(a, Transition)]


def indications(outcome: Outcome) -> list[tuple[str, str]]:
    """Return (device, state) of every indicate command in an outcome."""
    return [
        (a.device, a.command.state)
        for a in outcome.actions
        if isinstance(a, SendCommand) and isinstance(a.command, IndicateCmd)
    ]


def sirens(outcome: Outcome) -> list[tuple[str, bool]]:
    """Return (device, on) of every siren command in an outcome."""
    return [
        (a.device, a.command.on)
        for a in outcome.actions
        if isinstance(a, SendCommand) and isinstance(a.command, SirenCmd)
    ]


class Pick:
    """Helpers that pick actions out of an `Outcome`."""

    notified = staticmethod(notified)
    states = staticmethod(states)
    indications = staticmethod(indications)
    sirens = staticmethod(sirens)


@pytest.fixture
def pick() -> type[Pick]:
    """Return helpers that pick actions out of an `Outcome` (notified, states, ...)."""
    return Pick
