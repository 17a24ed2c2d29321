"""Check-in end to end: the real agent on mock pins reports a morning of motion as `activity`
events (at most one per sensor per 10 minutes) that the hub's check-in rule counts; a resident
whose home saw nothing gets an `inactivity` alarm. The hub is the real ingest and engine on a
real Mosquitto, with the engine's clock injected (no real hours are waited)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hub.alarms.actions import Action
from hub.alarms.engine import Engine
from hub.app import StoreDirectory
from hub.bus import BrokerAddress, Bus
from hub.ingest import Ingest
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from hub.store.schema import EventRow, ResidentRow
from protocol.site_config import load_site
from simulators.services import Mosquitto
from tests.edge.conftest import device_config, running, until
from tests.hub.receiver import write_site

pytestmark = pytest.mark.integration

ACTIVE, QUIET = "home-b1-101", "home-b2-201"  # residents r-wang-xiuying, r-chen-shufen
PIR = 23
TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """A hand-driven clock: UTC for the engine, monotonic seconds for the agent."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)
        self.mono = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono


class NoSeries:
    """Time series off for this test."""

    def submit(self, lines: Sequence[str]) -> None:
        """Drop the points."""


def set_windows(store: Store, start: datetime, end: datetime) -> None:
    """Give the two residents of this test the same check-in window, the others none."""
    with store.session(write=True) as s:
        for row in s.scalars(select(ResidentRow)):
            if row.id in ("r-wang-xiuying", "r-chen-shufen"):
                row.checkin_start, row.checkin_end = start.time(), end.time()
            else:
                row.checkin_start = row.checkin_end = None


async def test_a_morning_of_motion_is_a_check_in_a_morning_of_nothing_is_not(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    local = datetime.now(TZ)
    end = local + timedelta(minutes=5)
    if end.date() != local.date() or local.hour < 3:
        pytest.skip("the window would cross midnight")
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    set_windows(store, local - timedelta(hours=3), end)
    clock = Clock()
    engine = Engine(store, Policy(), clock)

    async def submit(batch: Sequence[Action]) -> None:
        pass

    ingest = Ingest(engine, StoreDirectory(store), NoSeries(), HubMetrics(), submit)  # type: ignore[arg-type]
    bus = Bus(BrokerAddress("127.0.0.1", mosquitto.port), f"hub-{site_id}", backoff_max_s=0.5)
    task = asyncio.create_task(bus.run("alarm", ingest.on_alarm_path), name="alarm-path")
    active = device_config(
        tmp_path / "a",
        site_id,
        mosquitto.url,
        device=ACTIVE,
        inputs={"activity": [{"name": "hall-pir", "pin": PIR, "what": "motion"}]},
    )
    quiet = device_config(tmp_path / "q", site_id, mosquitto.url, device=QUIET)
    try:
        async with asyncio.timeout(10):
            await bus.wait_alarm_path()
        await engine.tick(clock.now)  # the engine first sees the windows (judged from now on)
        async with (
            running(active, clock=clock.monotonic) as a,
            running(quiet, clock=clock.monotonic) as q,
        ):
            await until(lambda: a.agent.connected and q.agent.connected, what="connected")
            # A morning of motion: the PIR fires three times every 15 minutes for 3 hours.
            for step in range(12):
                for _ in range(3):
                    a.pin(PIR).drive_high()
                    await asyncio.sleep(0.02)
                    a.pin(PIR).drive_low()
                    await asyncio.sleep(0.02)
                seen = 3 * (step + 1)
                await until(lambda n=seen: a.agent.activity_seen == n, what="motion seen")
                clock.mono += 15 * 60
            await until(lambda: a.agent.activity_events == 12, what="12 activity events")
            await until(lambda: a.agent.outbox_pending == 0, what="all at the broker")
            await until(lambda: len(stored(store, ACTIVE)) == 12, what="hub has them")
        # The window closes; the engine judges it.
        clock.now += timedelta(minutes=6)
        await engine.tick(clock.now)
        inactive = [a for a in store.list_alarms(site=site_id) if a.cls == "inactivity"]
        assert [a.device for a in inactive] == [QUIET]
        assert all(e.data == {"what": "motion"} for e in stored(store, ACTIVE))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()


def stored(store: Store, device: str) -> list[EventRow]:
    """Return the activity events the hub committed for `device`."""
    with store.session() as s:
        rows = s.scalars(
            select(EventRow).where(EventRow.device == device, EventRow.kind == "activity")
        ).all()
        s.expunge_all()
        return list(rows)


async def test_cancel_press_with_nothing_open_is_a_check_in(tmp_path: Path) -> None:
    """我很好 / I'm OK: a short cancel press when nothing is open is an `activity` event."""
    from tests.edge.conftest import dead_url
    from tests.edge.test_agent_gpio import stored as outbox

    config = device_config(tmp_path, "s1", dead_url())
    async with running(config, shutdown_timeout=0.2) as run:
        run.pin(27).drive_low()
        await until(lambda: len(outbox(config)) == 1, what="check-in event")
        (event,) = outbox(config)
        assert (event.kind, event.source, event.data) == (
            "activity",
            "gpio:cancel",
            {"what": "checkin"},
        )
        assert run.agent.indicate_state == "checked_in"


async def test_virtual_home_motion_sensor(tmp_path: Path) -> None:
    """Simulators drive a wired PIR like a person walking past it."""
    from simulators.home import VirtualHome
    from tests.edge.conftest import dead_url

    config = device_config(
        tmp_path, "s1", dead_url(), inputs={"activity": [{"name": "pir", "pin": PIR}]}
    )
    home = VirtualHome(config)
    task = asyncio.create_task(home.run(), name="home")
    try:

        def entered() -> bool:
            try:
                return home.agent.sensors is not None
            except AssertionError:
                return False

        await until(entered, what="agent running")
        await home.motion()
        await until(lambda: home.agent.activity_events == 1, what="activity event")
        await home.motion()  # within 10 minutes: seen, not sent again
        await until(lambda: home.agent.activity_seen == 2, what="second motion seen")
        assert home.agent.activity_events == 1
        with pytest.raises(ValueError, match="no activity sensor"):
            await home.motion("kitchen")
    finally:
        home.agent.stop()
        async with asyncio.timeout(10):
            await task
