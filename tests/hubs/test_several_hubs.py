"""Two and three real hub processes on one Mosquitto, one PostgreSQL and one influxd.

They split the devices' traffic in one share group (`--share-group`), and prove: no telemetry
point written twice, one alarm and one set of alerts per event, a cancel still cancels the call
a peer hub took after it, exactly one escalation per due timer, and nothing lost when a hub is
SIGKILLed in the middle of an alarm storm and restarted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from protocol.codec import encode, new_event_id
from protocol.messages import Event, EventKind, Telemetry, WorkerReply, utcnow
from protocol.site_config import load_site
from protocol.topics import device_topic, worker_filter, worker_topic
from simulators.bench_mqtt import Publisher, Recorder
from simulators.community import home_devices
from simulators.hubgroup import AlertLog, HubGroup
from simulators.services import Influxd, Mosquitto
from tests.hub.receiver import metric
from tests.hubs.conftest import ESCALATE_S, SITE

pytestmark = pytest.mark.integration

DUTY = "w-duty-1"


class Site:
    """The generated community's homes, its grid worker, and an event publisher."""

    def __init__(self, folder: Any) -> None:
        registry = load_site(folder)
        self.homes = [d.device for d in home_devices(registry)]
        self.grid_worker = next(
            w.id for w in registry.site.workers if w.role == "grid_worker" and w.grids
        )
        self.seq: dict[str, int] = {}

    def event(self, device: str, kind: EventKind) -> tuple[str, bytes]:
        self.seq[device] = self.seq.get(device, 0) + 1
        event = Event(id=new_event_id(), device=device, seq=self.seq[device], ts=utcnow(),
                      kind=kind, source="test")  # fmt: skip
        return device_topic(SITE, device, "event"), encode(event)


def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        time.sleep(0.1)


def settled(count: Callable[[], int], quiet_s: float = 1.5, within: float = 30) -> int:
    """Return `count()` once it stopped changing for `quiet_s`."""
    deadline, last, since = time.monotonic() + within, count(), time.monotonic()
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.2)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
    return last


def scalar(group: HubGroup, sql: str) -> Any:
    engine = create_engine(group.store_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def rows(group: HubGroup, sql: str) -> list[Any]:
    engine = create_engine(group.store_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


ESCALATIONS = (
    "SELECT alarm_id, count(*) FROM alarm_transitions "
    "WHERE note LIKE 'not acknowledged at tier 0%' GROUP BY alarm_id"
)


def points_written(influxd: Influxd) -> float:
    answer: Any = influxd.query("SHOW STATS FOR 'write'")
    series = answer["results"][0]["series"][0]
    return float(dict(zip(series["columns"], series["values"][0], strict=True))["pointReq"])


def telemetry_count(influxd: Influxd, db: str) -> int:
    answer: Any = influxd.query("SELECT count(battery) FROM telemetry", db=db)
    series = answer["results"][0].get("series")
    return 0 if not series else int(series[0]["values"][0][1])


def test_two_hubs_write_each_point_once_and_page_each_alarm_once(
    hub_group: Callable[[int], HubGroup],
    mosquitto: Mosquitto,
    influxd: Influxd,
    influx_db: str,
    community: Any,
) -> None:
    group = hub_group(2)
    site = Site(community / "site")
    alerts = AlertLog()
    inbox = worker_filter(SITE, "alert")
    with (
        Recorder(mosquitto.url, "test-workers", [inbox], alerts.on_message),
        Publisher(mosquitto.url, "test-devices", inflight=50) as devices,
    ):
        # Telemetry: 3,000 readings with distinct timestamps, QoS 0.
        n, base = 3_000, utcnow() - timedelta(minutes=5)
        before = points_written(influxd)
        for i in range(n):
            home = site.homes[i % len(site.homes)]
            reading = Telemetry(device=home, ts=base + timedelta(milliseconds=i),
                                readings={"battery": 3.0 + i % 100 / 100})  # fmt: skip
            devices.publish(device_topic(SITE, home, "telemetry"), encode(reading), qos=0)
        until(lambda: telemetry_count(influxd, influx_db) == n, 30, "every reading in InfluxDB")
        per_hub = [metric(h.get("/metrics", auth=False), "watchpost_telemetry_points_total")
                   for h in group.hubs]  # fmt: skip
        written = points_written(influxd) - before
        assert sum(per_hub) == n, per_hub  # each reading went to exactly one hub
        assert all(x > 0 for x in per_hub), per_hub  # and the group split them
        # each point written once (twice would be >= 2n); the rest is the hubs' own hub_stats
        assert n <= written < n + 100, written

        # Alarms: 10 homes call then cancel at once, 30 call; every home sends two tests.
        pairs, callers = site.homes[:10], site.homes[10:]
        published = 0
        for home in site.homes:
            kinds: list[EventKind] = ["call", "cancel"] if home in pairs else ["call"]
            for kind in [*kinds, "test", "test"]:
                devices.publish(*site.event(home, kind))
                published += 1
        until(lambda: scalar(group, "SELECT count(*) FROM events") == published, 30,
              "every event stored")  # fmt: skip
        assert scalar(group, "SELECT count(DISTINCT id) FROM events") == published
        alarms = rows(group, "SELECT device, state FROM alarms WHERE cls = 'call'")
        assert sorted(d for d, _ in alarms) == sorted(site.homes)  # one alarm per calling home
        states = dict(alarms)
        assert {states[h] for h in pairs} == {"cancelled"}  # a peer's cancel still cancels
        assert {states[h] for h in callers} <= {"raised", "notified"}

        # The grid worker acknowledges 5 calls: whichever hub takes a reply, the store decides.
        acked = [a for a, _ in rows(group, "SELECT id, 1 FROM alarms WHERE state = 'notified'")][:5]
        for alarm in acked:
            reply = WorkerReply(alarm=alarm, action="ack", ts=utcnow())
            devices.publish(worker_topic(SITE, site.grid_worker, "reply"), encode(reply))
        until(lambda: scalar(group, "SELECT count(*) FROM alarms WHERE state = 'acknowledged'")
              == len(acked), 20, "every reply applied")  # fmt: skip
        # Each unacknowledged call escalates once, whichever hub's timer fires first (an acked
        # one only if its timer ran out before the ack: the machine may be slow).
        open_calls = {
            a for a, _ in rows(group, "SELECT id, 1 FROM alarms WHERE state = 'notified'")
        }
        assert len(open_calls) == len(callers) - len(acked)
        until(lambda: {a for a, _ in rows(group, ESCALATIONS)} >= open_calls, ESCALATE_S + 20,
              "every open call escalated")  # fmt: skip
        time.sleep(2)  # both hubs tick every second: a second escalation would show now
        escalated = dict(rows(group, ESCALATIONS))
        assert set(escalated.values()) == {1}
        until(lambda: set(alerts.pages(1, [DUTY])) == set(escalated), 10, "tier 1 paged")

    ids = {a for a, _ in rows(group, "SELECT id, 1 FROM alarms WHERE cls = 'call'")}
    assert set(alerts.pages(0, [site.grid_worker])) == ids  # every alarm paged
    doubles = {k: v for k, v in alerts.seen.items() if v > 1}
    assert doubles == {}  # one set of alerts per event: no page or update sent twice
    # The API of every hub shows the same alarms.
    seen = [{a["id"] for a in h.get("/api/v1/alarms?limit=1000")} for h in group.hubs]
    assert all(s >= ids for s in seen)


def test_a_hub_killed_mid_storm_loses_nothing(
    hub_group: Callable[[int], HubGroup], mosquitto: Mosquitto, community: Any
) -> None:
    group = hub_group(3)
    site = Site(community / "site")
    alerts = AlertLog()
    inbox = worker_filter(SITE, "alert")
    storm = [site.event(h, k) for k in ("call", "test", "test", "test") for h in site.homes]
    half = len(storm) // 2
    with (
        Recorder(mosquitto.url, "test-workers", [inbox], alerts.on_message),
        Publisher(mosquitto.url, "test-devices", inflight=50) as devices,
    ):
        for topic, payload in storm[:half]:
            devices.publish(topic, payload)
        group.kill(2)  # SIGKILL hub-3 in the middle of the storm
        killed = time.monotonic()
        for topic, payload in storm[half:]:
            devices.publish(topic, payload)
        assert devices.wait_acked(len(storm), 30)
        stored_while_dead = settled(lambda: scalar(group, "SELECT count(*) FROM events"))
        raised_while_dead = scalar(group, "SELECT count(*) FROM alarms WHERE cls = 'call'")
        # Every alarm raised so far escalates while hub-3 is dead, also those hub-3 raised.
        until(lambda: len(rows(group, ESCALATIONS)) == raised_while_dead, ESCALATE_S + 20,
              "the alarms raised before the restart escalated")  # fmt: skip
        # Mosquitto keeps the dead hub's share (un-acked, and new ones) in its session.
        assert stored_while_dead < len(storm)
        restart_s = group.restart(2)
        until(lambda: scalar(group, "SELECT count(*) FROM events") == len(storm), 30,
              "the dead hub's messages stored after its restart")  # fmt: skip
        recovered_s = time.monotonic() - killed
        assert scalar(group, "SELECT count(DISTINCT id) FROM events") == len(storm)
        calls = len(site.homes)
        assert scalar(group, "SELECT count(*) FROM alarms WHERE cls = 'call'") == calls
        until(lambda: len(rows(group, ESCALATIONS)) == calls, ESCALATE_S + 20, "all escalated")
        time.sleep(2)
        assert {n for _, n in rows(group, ESCALATIONS)} == {1}
        ids = {a for a, _ in rows(group, "SELECT id, 1 FROM alarms WHERE cls = 'call'")}
        until(lambda: set(alerts.pages(0, [site.grid_worker])) == ids, 30, "every alarm paged")
    print(  # the figures docs/deployment.md quotes (pytest -s)
        f"stored while hub-3 was dead: {stored_while_dead}/{len(storm)}; restart to /healthz "
        f"{restart_s:.1f} s; kill to all stored {recovered_s:.1f} s; duplicate alerts "
        f"{sum(v - 1 for v in alerts.seen.values() if v > 1)}"
    )
