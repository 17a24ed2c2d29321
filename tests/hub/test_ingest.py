"""Ingest with the real engine, store, Mosquitto and influxd: a flood of bad messages is counted
per reason and survived; a redelivered event is a duplicate; time series reach InfluxDB; the
broker's drop counter is watched, and drops page the duty officer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from hub.alarms.actions import Action, Notify, Outcome
from hub.alarms.engine import Engine
from hub.app import StoreDirectory
from hub.bus import BrokerAddress, Bus
from hub.ingest import Ingest
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from protocol.codec import encode, new_event_id
from protocol.messages import Event, Status, Telemetry, WorkerAlert, utcnow
from protocol.site_config import load_site
from protocol.topics import device_topic, worker_topic
from simulators.services import Influxd, Mosquitto
from tests.hub.receiver import hub_settings, metric, running_hub, write_site

pytestmark = pytest.mark.integration

DEVICE = "home-b1-101"


def sos(device: str = DEVICE, seq: int = 1) -> Event:
    """Return a valid SOS press."""
    return Event(
        id=new_event_id(), device=device, seq=seq, ts=utcnow(), kind="call", source="gpio:call"
    )


def raw_event(**changes: Any) -> bytes:
    """Return a valid SOS as JSON, with some fields changed."""
    doc = json.loads(encode(sos()))
    doc.update(changes)
    return json.dumps(doc).encode()


async def wait_metric(api: httpx.AsyncClient, name: str, at_least: float, **labels: str) -> float:
    """Poll /metrics until a sample reaches `at_least`; return its value."""
    async with asyncio.timeout(15):
        while True:
            value = metric((await api.get("/metrics")).text, name, **labels)
            if value >= at_least:
                return value
            await asyncio.sleep(0.05)


async def wait_alarms(api: httpx.AsyncClient, n: int) -> list[dict[str, Any]]:
    """Poll the API until at least `n` alarms exist."""
    async with asyncio.timeout(15):
        while True:
            alarms: list[dict[str, Any]] = (await api.get("/api/v1/alarms")).json()
            if len(alarms) >= n:
                return alarms
            await asyncio.sleep(0.05)


async def test_flood_of_bad_messages_is_counted_per_reason_and_survived(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    # A burst past the per-sender limit would be counted as `rate_limited` (tests/faults).
    settings = hub_settings(
        tmp_path, mosquitto.url, write_site(tmp_path, site_id), sender_burst=100
    )
    event_topic = device_topic(site_id, DEVICE, "event")
    flood: list[tuple[str, bytes, str]] = [
        (event_topic, b"{oops", "not_json"),
        (event_topic, b"[1, 2]", "not_object"),
        (event_topic, raw_event(v=2), "bad_version"),
        (event_topic, raw_event(seq="many"), "invalid"),
        (event_topic, raw_event(kind="party"), "unknown_kind"),
        (event_topic, b'{"v": 1, "seq": NaN}', "non_finite"),
        (event_topic, b"x" * 20_000, "too_large"),
        (event_topic, raw_event(device="home-b1-302"), "device_mismatch"),
        (device_topic(site_id, "ghost-1", "event"), raw_event(device="ghost-1"), "unknown_device"),
        (f"watchpost/v1/{site_id}/dev/Bad_Device/event", raw_event(), "bad_topic"),
        (worker_topic(site_id, "w-zhang-wei", "reply"), b'{"v":1,"alarm":"a"}', "invalid"),
        (device_topic(site_id, DEVICE, "telemetry"), b"\xff\xfe", "not_json"),
    ]
    async with running_hub(settings) as api, aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for _ in range(5):
            for topic, payload, _reason in flood:
                await edge.publish(topic, payload, qos=1)
        await edge.publish(event_topic, encode(sos()), qos=1)
        alarms = await wait_alarms(api, 1)
        assert alarms[0]["device"] == DEVICE
        assert alarms[0]["cls"] == "call"
        expected: dict[str, int] = {}
        for _topic, _payload, reason in flood:
            expected[reason] = expected.get(reason, 0) + 5
        for reason, n in expected.items():
            got = await wait_metric(api, "watchpost_ingest_rejected_total", n, reason=reason)
            assert got == n, reason
        text = (await api.get("/metrics")).text
        assert metric(text, "watchpost_ingest_messages_total", channel="event") >= 45
        assert metric(text, "watchpost_engine_errors_total") == 0
        assert (await api.get("/healthz")).json()["ok"] is True


async def test_redelivered_event_is_a_counted_duplicate(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    settings = hub_settings(tmp_path, mosquitto.url, write_site(tmp_path, site_id))
    event = sos()
    async with running_hub(settings) as api, aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for _ in range(3):
            await edge.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
        assert await wait_metric(api, "watchpost_ingest_duplicates_total", 2) == 2
        alarms = await wait_alarms(api, 1)
        assert len(alarms) == 1
        assert alarms[0]["event_ids"] == [event.id]
        text = (await api.get("/metrics")).text
        assert metric(text, "watchpost_receive_to_store_seconds_count") == 3
        assert metric(text, "watchpost_event_to_store_seconds_count") == 1


async def test_time_series_reach_influxdb(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, influx_db: str, site_id: str
) -> None:
    settings = hub_settings(
        tmp_path,
        mosquitto.url,
        write_site(tmp_path, site_id),
        influx=influxd.url,
        database=influx_db,
    )
    reading = Telemetry(device=DEVICE, ts=utcnow(), readings={"battery_v": 3.71})
    status = Status(device=DEVICE, ts=utcnow(), state="online", fw="1.0.0", heartbeat_s=30)
    measurements = ("telemetry", "event", "alarm", "device_status", "command")
    async with running_hub(settings), aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        await edge.publish(device_topic(site_id, DEVICE, "telemetry"), encode(reading), qos=0)
        await edge.publish(device_topic(site_id, DEVICE, "event"), encode(sos()), qos=1)
        await edge.publish(device_topic(site_id, DEVICE, "status"), encode(status), qos=1)
        series: dict[str, Any] = {}
        async with asyncio.timeout(20):
            while len(series) < len(measurements):
                for measurement in measurements:
                    result = influxd.query(
                        f"SELECT * FROM \"{measurement}\" WHERE site = '{site_id}'", db=influx_db
                    )
                    rows = result["results"][0].get("series")  # type: ignore[index]
                    if rows:
                        series[measurement] = rows[0]
                await asyncio.sleep(0.2)
    telemetry = dict(
        zip(series["telemetry"]["columns"], series["telemetry"]["values"][0], strict=True)
    )
    assert telemetry["battery_v"] == pytest.approx(3.71)
    assert telemetry["grid"] == "grid-1"
    event = dict(zip(series["event"]["columns"], series["event"]["values"][0], strict=True))
    assert event["kind"] == "call"
    status_row = dict(
        zip(series["device_status"]["columns"], series["device_status"]["values"][0], strict=True)
    )
    assert status_row["online"] == 1
    assert status_row["fw"] == "1.0.0"
    command = dict(zip(series["command"]["columns"], series["command"]["values"][0], strict=True))
    assert (command["cmd"], command["device"], command["ok"]) == ("indicate", DEVICE, 1)
    assert {"raised", "notified"} <= {
        dict(zip(series["alarm"]["columns"], v, strict=True))["state"]
        for v in series["alarm"]["values"]
    }


async def force_drops(broker: Mosquitto, site_id: str, n: int = 30) -> None:
    """Make the broker drop n - 5 QoS 1 messages: a persistent subscriber away, queue of 5."""
    async with aiomqtt.Client(
        "127.0.0.1", broker.port, identifier=f"{site_id}-slow", clean_session=False
    ) as slow:
        await slow.subscribe(f"{site_id}/drops", 1)
    async with aiomqtt.Client("127.0.0.1", broker.port) as pub:
        for i in range(n):
            await pub.publish(f"{site_id}/drops", str(i).encode(), qos=1)


async def test_broker_drops_are_watched_and_counted(
    tmp_path: Path, mosquitto_factory: Any, site_id: str
) -> None:
    # A broker with the stock-like tiny queue: a lagging persistent subscriber loses messages.
    broker: Mosquitto = mosquitto_factory(
        limits="max_queued_messages 5\nsys_interval 1\npersistent_client_expiration 1d\n"
    )
    settings = hub_settings(tmp_path, broker.url, write_site(tmp_path, site_id))
    async with running_hub(settings) as api:
        # The hub has seen the broker's $SYS counters (its baseline) before anything drops.
        await wait_metric(api, "watchpost_broker_sys", 1, stat="clients_connected")
        await force_drops(broker, site_id)
        dropped = await wait_metric(api, "watchpost_broker_dropped_increase_total", 1)
        assert dropped >= 20
        sys_value = metric(
            (await api.get("/metrics")).text,
            "watchpost_broker_sys",
            stat="publish_messages_dropped",
        )
        assert sys_value >= dropped


async def test_broker_drops_page_the_duty_officer(
    tmp_path: Path, mosquitto_factory: Any, influxd: Influxd, influx_db: str, site_id: str
) -> None:
    broker: Mosquitto = mosquitto_factory(
        limits="max_queued_messages 5\nsys_interval 1\npersistent_client_expiration 1d\n"
    )
    settings = hub_settings(
        tmp_path,
        broker.url,
        write_site(tmp_path, site_id),
        influx=influxd.url,
        database=influx_db,
    )
    alert_topic = worker_topic(site_id, "w-duty-1", "alert")
    async with (
        running_hub(settings) as api,
        aiomqtt.Client("127.0.0.1", broker.port, identifier=f"{site_id}-duty") as duty,
    ):
        await duty.subscribe(alert_topic, 1)
        await wait_metric(api, "watchpost_broker_sys", 1, stat="clients_connected")
        await force_drops(broker, site_id)
        async with asyncio.timeout(20):
            message = await anext(duty.messages)
        alert = WorkerAlert.model_validate_json(bytes(message.payload))  # type: ignore[arg-type]
        assert (alert.site, alert.cls, alert.state, alert.device) == (
            site_id, "trouble", "notified", None
        )  # fmt: skip
        assert "消息代理丢弃了" in alert.title_zh and "报警可能丢失" in alert.title_zh
        assert "The MQTT broker dropped" in alert.title_en
        async with asyncio.timeout(15):
            while True:  # drops may span two $SYS reports: wait until the alarm counted all
                alarm = (await api.get(f"/api/v1/alarms/{alert.alarm}")).json()["alarm"]
                if alarm["count"] >= 20:
                    break
                await asyncio.sleep(0.05)
        dropped = metric(
            (await api.get("/metrics")).text, "watchpost_broker_dropped_increase_total"
        )
        assert (alarm["count"], alarm["device"], alarm["grid"]) == (dropped, None, None)
        [listed] = (await api.get("/api/v1/alarms", params={"cls": "trouble"})).json()
        assert (listed["id"], listed["reason"]) == (alert.alarm, "broker_drops")
        done = await api.post(
            f"/api/v1/alarms/{alert.alarm}/resolve",
            json={"outcome": "handled", "note": "queue limit raised"},
        )
        assert done.status_code == 200 and done.json()["state"] == "resolved"
        states: set[str] = set()
        async with asyncio.timeout(20):
            while not {"raised", "notified", "resolved"} <= states:
                result = influxd.query(
                    f"SELECT * FROM \"alarm\" WHERE site = '{site_id}'", db=influx_db
                )
                for rows in result["results"][0].get("series") or []:  # type: ignore[index]
                    points = [dict(zip(rows["columns"], v, strict=True)) for v in rows["values"]]
                    assert all((p["class"], p.get("grid")) == ("trouble", None) for p in points)
                    states |= {p["state"] for p in points}
                await asyncio.sleep(0.2)


class FailsOnce:
    """The real engine, but its first `on_system` fails (like a locked database)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def on_system(self, reason: str, count: int, detail: str = "") -> Outcome:
        """Fail the first time, then hand over to the engine."""
        if not self.failed:
            self.failed = True
            raise RuntimeError("injected: database is locked")
        return await self.engine.on_system(reason, count, detail)


class Points:
    """A time-series sink that keeps nothing."""

    def submit(self, lines: Sequence[str]) -> None:
        """Drop the points."""


def sys_message(topic: str, value: int) -> tuple[str, bytes]:
    """Return a `$SYS` counter as the telemetry lane hands it over."""
    return f"$SYS/broker/{topic}", str(value).encode()


@pytest.mark.allow_logged_errors
async def test_drops_the_engine_failed_on_are_reported_with_the_next_sys_message(
    engine: Engine, store: Store
) -> None:
    actions: list[Action] = []

    async def submit(batch: Sequence[Action]) -> None:
        actions.extend(batch)

    metrics = HubMetrics()
    ingest = Ingest(FailsOnce(engine), StoreDirectory(store), Points(), metrics, submit)  # type: ignore[arg-type]
    await ingest.on_broker_sys(*sys_message("publish/messages/dropped", 100))  # baseline
    await ingest.on_broker_sys(*sys_message("publish/messages/dropped", 125))
    assert store.list_alarms() == []
    assert metric(metrics.render().decode(), "watchpost_engine_errors_total") == 1
    await ingest.on_broker_sys(*sys_message("clients/connected", 3))
    [alarm] = store.list_alarms()
    assert (alarm.reason, alarm.count) == ("broker_drops", 25)
    assert "w-duty-1" in [a.worker for a in actions if isinstance(a, Notify)]
    await ingest.on_broker_sys(*sys_message("clients/connected", 4))
    assert store.get_alarm(alarm.id).count == 25  # type: ignore[union-attr]


async def test_hub_rides_out_a_broker_restart_without_losing_an_sos(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    settings = hub_settings(tmp_path, mosquitto.url, write_site(tmp_path, site_id))
    async with running_hub(settings) as api:
        await asyncio.to_thread(mosquitto.stop)
        async with asyncio.timeout(15):
            while True:
                if (await api.get("/healthz")).status_code == 503:
                    break
                await asyncio.sleep(0.05)
        assert (await api.get("/healthz")).json()["broker"]["alarm"] is False
        await asyncio.to_thread(mosquitto.start)
        # Published at once: the hub may still be reconnecting; its persistent session queues it.
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
            await edge.publish(device_topic(site_id, DEVICE, "event"), encode(sos()), qos=1)
        alarms = await wait_alarms(api, 1)
        assert alarms[0]["device"] == DEVICE
        assert (await api.get("/healthz")).status_code == 200


class FlakyOnce:
    """The real engine, made to fail its first `on_event` (fault injection, like a DB hiccup)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    async def on_event(self, site: str, event: Event) -> Outcome:
        """Fail once, then behave."""
        if not self.failed:
            self.failed = True
            raise RuntimeError("injected: database is locked")
        return await self.engine.on_event(site, event)


class NoSeries:
    """Time series off for this test."""

    def submit(self, lines: Sequence[str]) -> None:
        """Drop the points."""


@pytest.mark.allow_logged_errors
async def test_event_the_engine_failed_on_once_is_retried_not_lost(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'flaky.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    engine = FlakyOnce(Engine(store, Policy(), utcnow))
    metrics = HubMetrics()
    actions: list[Action] = []

    async def submit(batch: Sequence[Action]) -> None:
        actions.extend(batch)

    ingest = Ingest(engine, StoreDirectory(store), NoSeries(), metrics, submit)  # type: ignore[arg-type]
    bus = Bus(BrokerAddress("127.0.0.1", mosquitto.port), f"flaky-{site_id}", backoff_max_s=0.5)
    task = asyncio.create_task(bus.run("alarm", ingest.on_alarm_path), name="alarm-path")
    try:
        async with asyncio.timeout(10):
            await bus.wait_alarm_path()
        event = sos()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
            await edge.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
        async with asyncio.timeout(15):
            while True:
                if store.list_alarms():
                    break
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        store.close()
    assert engine.failed
    assert metric(metrics.render().decode(), "watchpost_engine_errors_total") == 1
    # Retried in the hub, not through a reconnection: the path never dropped.
    assert bus.reconnects["alarm"] == 1
    assert any(isinstance(a, Notify) for a in actions)
