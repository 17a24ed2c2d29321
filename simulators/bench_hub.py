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


@dataclass(frozen=True)
class HubSizes:
    """How much load each part of the hub benchmark sends."""

    events: int
    ingest_devices: int
    sos: int
    sos_gap_s: float
    flood_devices: int
    flood_per_s: int

    @property
    def homes(self) -> int:
        """Return how many homes the generated community needs."""
        return self.ingest_devices + self.sos + self.flood_devices


QUICK = HubSizes(
    events=300, ingest_devices=10, sos=8, sos_gap_s=0.25, flood_devices=10, flood_per_s=300
)
FULL = HubSizes(
    events=2_000, ingest_devices=20, sos=40, sos_gap_s=0.25, flood_devices=40, flood_per_s=1_000
)


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


def _event(device: str, seq: int, kind: EventKind) -> tuple[str, bytes, datetime]:
    ts = utcnow()
    event = Event(id=new_event_id(), device=device, seq=seq, ts=ts, kind=kind, source="bench")
    return device_topic(SITE, device, "event"), encode(event), ts


def _ingest(hub: HubProcess, url: str, devices: list[str], n: int, result: Result) -> None:
    """Publish `n` events and wait until the hub has committed them all (or stops progressing)."""
    stored_name = "watchpost_event_to_store_seconds_count"
    base = metric(hub, stored_name)
    events = [
        _event(devices[i % len(devices)], i // len(devices), "call" if i % 10 == 0 else "test")
        for i in range(n)
    ]
    publisher = Publisher(url, "bench-ingest", inflight=100)
    publisher.start()
    try:
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
    finally:
        publisher.stop()
    result.add("ingest_per_s", "(a) ingest: published → committed", n / (done - started),
               "events/s")  # fmt: skip
    result.add("publish_per_s", "(a) broker PUBACKs to the publisher", n / (acked - started),
               "events/s")  # fmt: skip
    result.add("ingest_lost", "(a) lost (published - committed)", int(n - stored), "events")
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


class _Alerts:
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


def _latency(
    hub: HubProcess, url: str, registry: Registry, devices: list[str], sizes: HubSizes, note: Note,
    result: Result,
) -> None:  # fmt: skip
    """Send one SOS per device under a telemetry flood; measure event ts → worker alert."""
    sos_devices, flood_devices = devices[: sizes.sos], devices[sizes.sos :]
    worker = _grid_worker(registry)
    alerts = _Alerts()
    recorder = Recorder(
        url, "bench-worker", [worker_topic(SITE, worker, "alert")], alerts.on_message
    )
    recorder.start()
    sos = Publisher(url, "bench-sos", inflight=10)
    sos.start()
    telemetry_base = metric(hub, "watchpost_ingest_messages_total", 'channel="telemetry"')
    sent: dict[str, float] = {}
    try:
        with _Flood(url, flood_devices, sizes.flood_per_s) as flood:
            time.sleep(1.0)  # let the flood reach its pace
            for device in sos_devices:
                note(f"hub: SOS {len(sent) + 1}/{sizes.sos} under {sizes.flood_per_s}/s telemetry")
                topic, payload, ts = _event(device, 0, "call")
                sent[device] = ts.timestamp()
                sos.publish(topic, payload, qos=1)
                time.sleep(sizes.sos_gap_s)
            deadline = time.monotonic() + 10
            while len(alerts.first) < len(sent) and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.5)
        telemetry = (
            metric(hub, "watchpost_ingest_messages_total", 'channel="telemetry"') - telemetry_base
        )
    finally:
        sos.stop()
        recorder.stop()
    with alerts.lock:
        ms = [(alerts.first[d] - sent[d]) * 1000 for d in sent if d in alerts.first]
    result.add(
        "alert_p50_ms", "(b) SOS event ts → grid worker alert, p50", percentile(ms, 50), "ms"
    )
    result.add("alert_p99_ms", "(b) SOS → alert, p99", percentile(ms, 99), "ms")
    result.add("alert_max_ms", "(b) SOS → alert, max", max(ms) if ms else 0.0, "ms")
    result.add("alerts_missing", "(b) SOS without an alert within 10 s", len(sent) - len(ms), "")
    result.add("flood_per_s", "(b) telemetry flood sent", flood.sent / flood.seconds, "msg/s")
    result.add("flood_ingested_pct", "(b) flood messages the hub ingested",
               100.0 * telemetry / max(1, flood.sent), "%")  # fmt: skip
    result.notes.append(
        f"(b) {sizes.sos} SOS (one per device, {sizes.sos_gap_s} s apart, QoS 1) while "
        f"{len(flood_devices)} other devices send QoS 0 telemetry at {sizes.flood_per_s}/s"
    )


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
        _latency(hub, broker.url, registry, devices[sizes.ingest_devices :], sizes, note, result)
    return result
