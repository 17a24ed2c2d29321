"""Hub benchmark: the real hub as its own process (`watchpost hub`), driven only over MQTT and HTTP.

(a) Ingest: N QoS 1 events (`test`, every tenth a `call`) from M registered devices, timed from
the first publish until the hub's `watchpost_event_to_store_seconds_count` says all are
committed; lost = published - stored.
(b) Alarm latency under load: a paced QoS 0 telemetry flood from other devices while one SOS
(`call`) per device is published; latency = the event's own `ts` → the alert arriving on the
grid worker's `watchpost/v1/{site}/worker/{worker}/alert` topic (wall clocks, one machine).

Broker, influxd and hub listen on free 127.0.0.1 ports, keep data in a temp dir and are
stopped by PID.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from protocol.codec import decode, encode, new_event_id
from protocol.errors import ProtocolError
from protocol.messages import Event, EventKind, Telemetry, WorkerAlert, utcnow
from protocol.site_config import Registry
from protocol.topics import device_topic, worker_topic
from simulators.bench_figures import Note, Result, percentile
from simulators.bench_mqtt import Publisher, Recorder
from simulators.community import (
    CommunityOptions,
    generate_community,
    home_devices,
    write_community,
)
from simulators.hubproc import HubProcess
from simulators.services import Influxd, Mosquitto, ServiceError

SITE = "bench"
SOS_GAP_S = 0.25
"""Seconds between two SOS presses in the latency part."""


@dataclass(frozen=True)
class HubSizes:
    """How much load each part of the hub benchmark sends."""

    events: int
    ingest_devices: int
    sos: int
    flood_devices: int
    floods: tuple[int, ...]

    @property
    def homes(self) -> int:
        """Return how many homes the generated community needs."""
        return self.ingest_devices + self.sos * len(self.floods) + self.flood_devices


QUICK = HubSizes(events=300, ingest_devices=10, sos=8, flood_devices=10, floods=(300,))
FULL = HubSizes(events=2_000, ingest_devices=20, sos=30, flood_devices=40, floods=(1_000, 4_000))


def metric(hub: HubProcess, name: str, label: str = "") -> float:
    """Return the sum of the samples of one hub metric whose labels contain `label` (0 if none)."""
    text = hub.get("/metrics", auth=False)
    total = 0.0
    for line in str(text).splitlines():
        series, _, value = line.rpartition(" ")
        metric_name, _, labels = series.partition("{")
        if metric_name == name and label in labels:
            total += float(value)
    return total


def stored_ids(hub: HubProcess) -> set[str] | None:
    """Return the ids of the events the hub stored for the bench site (None: no events API)."""
    try:
        records = hub.get(f"/api/v1/events?site={SITE}&limit=100000")
    except (OSError, ValueError):
        return None
    if not isinstance(records, list):
        return None
    return {str(r["id"]) for r in records if isinstance(r, dict) and "id" in r}


def event_message(device: str, seq: int, kind: EventKind) -> tuple[str, bytes, datetime]:
    ts = utcnow()
    event = Event(id=new_event_id(), device=device, seq=seq, ts=ts, kind=kind, source="bench")
    return device_topic(SITE, device, "event"), encode(event), ts


def _ingest(hub: HubProcess, url: str, devices: list[str], n: int, result: Result) -> None:
    """Publish `n` events and wait until the hub has committed them all (or stops progressing)."""
    stored_name = "watchpost_event_to_store_seconds_count"
    base = metric(hub, stored_name)
    events = [
        event_message(
            devices[i % len(devices)], i // len(devices), "call" if i % 10 == 0 else "test"
        )
        for i in range(n)
    ]
    with Publisher(url, "bench-ingest", inflight=100) as publisher:
        started = time.monotonic()
        for topic, payload, _ in events:
            publisher.publish(topic, payload, qos=1)
        publisher.wait_acked(n, 120)
        acked = time.monotonic()
        stored, last_change, seen = 0.0, time.monotonic(), -1.0
        while stored < n and time.monotonic() - last_change < 15:
            stored = metric(hub, stored_name) - base
            if stored != seen:
                seen, last_change = stored, time.monotonic()
            time.sleep(0.05)
        done = last_change
    result.add("ingest_per_s", "(a) ingest: published → committed", n / (done - started),
               "events/s")  # fmt: skip
    result.add("publish_per_s", "(a) broker PUBACKs to the publisher", n / (acked - started),
               "events/s")  # fmt: skip
    result.add("ingest_lost", "(a) lost (published - committed)", int(n - stored), "events")
    found = stored_ids(hub)
    if found is not None:
        missing = {json.loads(payload)["id"] for _, payload, _ in events} - found
        result.add("ingest_missing_ids", "(a) ids missing from GET /api/v1/events", len(missing),
                   "events")  # fmt: skip
    result.add("ingest_duplicates", "(a) duplicates seen by the hub",
               int(metric(hub, "watchpost_ingest_duplicates_total")), "events")  # fmt: skip
    result.notes.append(
        f"(a) {n:,} QoS 1 events (10% call, 90% test) from {len(devices)} devices, "
        "one paho publisher, 100 in flight"
    )


class _Flood:
    """A QoS 0 telemetry flood at a fixed rate from a thread, until stopped."""

    def __init__(self, url: str, devices: list[str], per_s: int) -> None:
        self.publisher = Publisher(url, "bench-flood", inflight=100)
        self.devices = devices
        self.per_s = per_s
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-flood", daemon=True)

    def _run(self) -> None:
        tick, started = 0.01, time.monotonic()
        per_tick = max(1, round(self.per_s * tick))
        while not self._stop.is_set():
            for _ in range(per_tick):
                device = self.devices[self.sent % len(self.devices)]
                reading = {"smoke_level": 0.05, "uptime_s": float(self.sent)}
                msg = Telemetry(device=device, ts=utcnow(), readings=reading)
                self.publisher.publish(device_topic(SITE, device, "telemetry"), encode(msg), qos=0)
                self.sent += 1
            # pace against the start time so that a slow tick does not lower the rate
            ahead = started + self.sent / self.per_s - time.monotonic()
            if ahead > 0:
                self._stop.wait(ahead)

    def __enter__(self) -> _Flood:
        self.publisher.start()
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.seconds = time.monotonic() - self.started
        self.publisher.stop()


class Alerts:
    """First `call` alert per device on the grid worker's topic, with its arrival wall time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first: dict[str, float] = {}
        self.bad = 0

    def on_message(self, topic: str, payload: bytes, when: float) -> None:
        """Record an alert (runs in paho's thread)."""
        try:
            alert = decode("alert", payload)
        except ProtocolError:
            self.bad += 1
            return
        assert isinstance(alert, WorkerAlert)
        if alert.cls == "call" and alert.device:
            with self.lock:
                self.first.setdefault(alert.device, when)


def _grid_worker(registry: Registry) -> str:
    grid = registry.site.grids[0].id
    for worker in registry.site.workers:
        if worker.role == "grid_worker" and grid in worker.grids:
            return worker.id
    raise ServiceError(f"the generated community has no grid worker for {grid}")


def _settled(hub: HubProcess, base: float, within: float) -> tuple[float, float]:
    """Wait until the hub's telemetry count stops growing; return (count, seconds waited)."""
    started = time.monotonic()
    last, changed = -1.0, started
    while time.monotonic() - changed < 1.0 and time.monotonic() - started < within:
        now = metric(hub, "watchpost_ingest_messages_total", 'channel="telemetry"') - base
        if now != last:
            last, changed = now, time.monotonic()
        time.sleep(0.1)
    return last, max(0.0, changed - started)


def _latency(
    hub: HubProcess, url: str, worker: str, devices: tuple[list[str], list[str]], per_s: int,
    note: Note, result: Result,
) -> None:  # fmt: skip
    """Send one SOS per device under a telemetry flood; measure event ts → worker alert."""
    sos_devices, flood_devices = devices
    alerts = Alerts()
    inbox = worker_topic(SITE, worker, "alert")
    sent: dict[str, float] = {}
    with (
        Recorder(url, f"bench-worker-{per_s}", [inbox], alerts.on_message),
        Publisher(url, f"bench-sos-{per_s}", inflight=10) as sos,
    ):
        base = metric(hub, "watchpost_ingest_messages_total", 'channel="telemetry"')
        with _Flood(url, flood_devices, per_s) as flood:
            time.sleep(1.0)  # let the flood reach its pace
            for device in sos_devices:
                note(f"hub: SOS {len(sent) + 1}/{len(sos_devices)} under {per_s:,}/s telemetry")
                topic, payload, ts = event_message(device, 0, "call")
                sent[device] = ts.timestamp()
                sos.publish(topic, payload, qos=1)
                time.sleep(SOS_GAP_S)
            deadline = time.monotonic() + 10
            while len(alerts.first) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)
        note("hub: waiting for the telemetry backlog to drain")
        telemetry, drain_s = _settled(hub, base, 20.0)
    with alerts.lock:
        ms = [(alerts.first[d] - sent[d]) * 1000 for d in sent if d in alerts.first]
    k, at = f"flood_{per_s}", f"flood {per_s:,}/s"
    result.add(f"{k}_alert_p50_ms", f"(b) {at}: SOS ts → grid worker alert, p50",
               percentile(ms, 50), "ms")  # fmt: skip
    result.add(f"{k}_alert_p99_ms", f"(b) {at}: SOS → alert, p99", percentile(ms, 99), "ms")
    result.add(f"{k}_alert_max_ms", f"(b) {at}: SOS → alert, max", max(ms, default=0.0), "ms")
    result.add(f"{k}_alerts_missing", f"(b) {at}: SOS without an alert in 10 s",
               len(sent) - len(ms), "")  # fmt: skip
    result.add(f"{k}_sent_per_s", f"(b) {at}: telemetry actually sent",
               flood.sent / flood.seconds, "msg/s")  # fmt: skip
    result.add(f"{k}_ingested_pct", f"(b) {at}: telemetry the hub ingested",
               100.0 * telemetry / max(1, flood.sent), "%")  # fmt: skip
    result.add(f"{k}_drain_s", f"(b) {at}: hub still catching up after the flood", drain_s, "s")


def bench_hub(quick: bool, note: Note) -> Result:
    """Measure the hub process: event ingest rate and SOS alert latency under a flood."""
    result = Result("hub", "hub as its own process: ingest and alarm latency")
    sizes = QUICK if quick else FULL
    with (
        tempfile.TemporaryDirectory(prefix="watchpost-bench-hub-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        note("hub: starting mosquitto and influxd")
        broker = stack.enter_context(Mosquitto(work / "broker"))
        try:
            influx_url: str | None = stack.enter_context(Influxd(work / "influxd")).url
        except ServiceError as exc:
            influx_url = None
            result.notes.append(f"no influxd, hub runs without it: {exc}")
        opt = CommunityOptions(site=SITE, broker_url=broker.url, outbox_dir=str(work / "outbox"))
        registry = generate_community(sizes.homes, 1, opt)
        site_dir = write_community(registry, work / "site")
        note("hub: starting `watchpost hub`")
        hub = HubProcess(work / "hub", broker.url, site_dir, influx_url=influx_url)
        try:
            stack.enter_context(hub)
        except (ServiceError, OSError) as exc:
            result.skipped = f"hub not available: {str(exc)[-400:]}"
            return result
        devices = [d.device for d in home_devices(registry)]
        note(f"hub: ingesting {sizes.events:,} events")
        _ingest(hub, broker.url, devices[: sizes.ingest_devices], sizes.events, result)
        rest, worker = devices[sizes.ingest_devices :], _grid_worker(registry)
        floods = rest[-sizes.flood_devices :]
        for stage, per_s in enumerate(sizes.floods):
            sos = rest[stage * sizes.sos : (stage + 1) * sizes.sos]
            _latency(hub, broker.url, worker, (sos, floods), per_s, note, result)
        result.add("broker_dropped", "broker drops seen by the hub ($SYS)",
                   int(metric(hub, "watchpost_broker_dropped_increase_total")), "msgs")  # fmt: skip
        result.notes.append(
            f"(b) per flood rate: {sizes.sos} SOS (one per device, {SOS_GAP_S} s apart, "
            f"QoS 1) while {sizes.flood_devices} other devices send QoS 0 telemetry"
        )
    return result
