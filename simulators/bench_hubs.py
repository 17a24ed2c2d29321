"""`watchpost bench --hubs K`: the same load on 1, 2, … K hubs in one share group, one run.

Every hub is its own process (`simulators.hubgroup`), all on ONE Mosquitto, one PostgreSQL and
one influxd, in a share group (`--share-group`; also for one hub, so the code path is the same).
For each K, on fresh databases:

1. telemetry flat out: N QoS 0 readings from a raw-socket publisher; ingested/s = growth of the
   hubs' summed `watchpost_telemetry_points_total` (first to last change);
2. events: E QoS 1 `test` events from D devices; committed/s = published → all rows in the store;
3. SOS latency: S `call`s, one every 0.2 s, under a paced telemetry flood; SOS `ts` → the grid
   worker's alert (wall clocks, one machine);
4. failover: one hub SIGKILLed, S `call`s published while it is down, the hub restarted after
   `RESTART_S` (systemd's `RestartSec=1`); how many were paged within 2 s, and when the last was.

On this machine the broker, the flood, the hubs, PostgreSQL and influxd share 2 cores: more hubs
cannot add CPU, they add processes that are still there when one of them dies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from protocol.codec import encode, new_event_id
from protocol.messages import Event, EventKind, utcnow
from protocol.site_config import load_site
from protocol.topics import device_topic, worker_filter
from simulators.bench_figures import Note, Result, percentile
from simulators.bench_hub import metric
from simulators.bench_mqtt import Publisher, Recorder
from simulators.bench_telemetry import rate, report, watch
from simulators.community import CommunityOptions, generate_community, home_devices
from simulators.community import write_community as write_site
from simulators.hubgroup import AlertLog, HubGroup
from simulators.services import Influxd, Mosquitto, Postgres

SITE = "bench"
RESTART_S = 1.0
"""Seconds between a hub's death and its restart (systemd `RestartSec=1`)."""


@dataclass(frozen=True)
class HubsSizes:
    """How much load each K gets."""

    telemetry: int
    events: int
    devices: int
    sos: int
    paced_per_s: int


QUICK = HubsSizes(telemetry=20_000, events=1_000, devices=100, sos=10, paced_per_s=2_000)
FULL = HubsSizes(telemetry=100_000, events=4_000, devices=400, sos=30, paced_per_s=5_000)


def _flood(port: int, devices: list[str], n: int, per_s: float) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "simulators.bench_flood", "publish", "--port", str(port)]
    cmd += ["--site", SITE, "--devices", ",".join(devices), "--n", str(n), "--rate", str(per_s)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE)


def _sum(group: HubGroup, name: str) -> float:
    return sum(metric(h, name) for h in group.hubs if h.proc is not None)


def _broker_drops(group: HubGroup) -> float:
    """Return the broker's drop count as the hubs saw it (each watches the same `$SYS` value)."""
    live = [h for h in group.hubs if h.proc is not None]
    return max((metric(h, "watchpost_broker_dropped_increase_total") for h in live), default=0.0)


def _events(group: HubGroup) -> int:
    engine = create_engine(group.store_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)
    finally:
        engine.dispose()


def _event(device: str, seq: int, kind: EventKind) -> tuple[str, bytes, float]:
    ts = utcnow()
    event = Event(id=new_event_id(), device=device, seq=seq, ts=ts, kind=kind, source="bench")
    return device_topic(SITE, device, "event"), encode(event), ts.timestamp()


class _Run:
    """One K: its hubs, its publisher and its alert log."""

    def __init__(self, group: HubGroup, broker: Mosquitto, homes: list[str], worker: str) -> None:
        self.group, self.broker, self.homes, self.worker = group, broker, homes, worker
        self.alerts = AlertLog()
        self.seq = 0

    def telemetry(self, n: int, result: Result, k: int) -> None:
        before = _sum(self.group, "watchpost_telemetry_shed_total")
        drops = _broker_drops(self.group)
        proc = _flood(self.broker.port, self.homes, n, 0.0)
        samples = watch(
            lambda: _sum(self.group, "watchpost_telemetry_points_total"), proc, quiet_s=5.0
        )
        report(proc)
        got, _, per_s = rate(samples)
        shed = _sum(self.group, "watchpost_telemetry_shed_total") - before
        dropped = _broker_drops(self.group) - drops
        result.add(f"k{k}_broker_dropped", f"K={k}: dropped by the broker ($SYS)", dropped, "msgs")
        result.add(f"k{k}_telemetry_per_s", f"K={k}: telemetry ingested, flat out", per_s, "msg/s")
        result.add(f"k{k}_telemetry_lost_pct", f"K={k}: telemetry shed or lost",
                   100 * (n - got) / n, "%")  # fmt: skip
        result.notes.append(f"K={k}: {shed:,.0f} readings shed (counted by the hubs)")

    def events(self, n: int, devices: int, publisher: Publisher, result: Result, k: int) -> None:
        base = _events(self.group)
        self.seq += 1000
        msgs = [_event(self.homes[i % devices], self.seq + i // devices, "test") for i in range(n)]
        started = time.monotonic()
        for topic, payload, _ in msgs:
            publisher.publish(topic, payload)
        while _events(self.group) - base < n and time.monotonic() - started < 120:
            time.sleep(0.05)
        seconds = time.monotonic() - started
        result.add(f"k{k}_events_per_s", f"K={k}: QoS 1 events committed", n / seconds, "events/s")

    def sos(self, homes: list[str], publisher: Publisher, gap_s: float = 0.2) -> dict[str, float]:
        sent: dict[str, float] = {}
        for home in homes:
            self.seq += 1
            topic, payload, ts = _event(home, self.seq, "call")
            sent[home] = ts
            publisher.publish(topic, payload)
            time.sleep(gap_s)
        return sent

    def latencies(self, sent: dict[str, float], within_s: float) -> list[float]:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            with self.alerts.lock:
                if all(h in self.alerts.first for h in sent):
                    break
            time.sleep(0.05)
        with self.alerts.lock:
            first = dict(self.alerts.first)
        return [(first[h] - t) * 1000 for h, t in sent.items() if h in first]


def _one_k(k: int, sizes: HubsSizes, services: tuple[Mosquitto, Postgres, Influxd], work: Path,
           note: Note, result: Result) -> None:  # fmt: skip
    broker, pg, influxd = services
    registry = load_site(work / "site")
    homes = [d.device for d in home_devices(registry)]
    worker = next(w.id for w in registry.site.workers if w.role == "grid_worker" and w.grids)
    database, influx_db = f"hubs_{k}_{uuid.uuid4().hex[:8]}", f"hubs_{k}"
    pg.create_database(database)
    influxd.create_database(influx_db)
    note(f"hubs: starting {k} hub(s)")
    group = HubGroup(work / f"k{k}", broker.url, work / "site", pg.url_for(database), k,
                     influx_url=influxd.url, influx_db=influx_db)  # fmt: skip
    with group:
        run = _Run(group, broker, homes, worker)
        inbox = [worker_filter(SITE, "alert")]
        with (
            Recorder(broker.url, f"bench-hubs-worker-{k}", inbox, run.alerts.on_message),
            Publisher(broker.url, f"bench-hubs-dev-{k}", inflight=100) as publisher,
        ):
            note(f"hubs: K={k}, telemetry flat out")
            run.telemetry(sizes.telemetry, result, k)
            note(f"hubs: K={k}, {sizes.events:,} events")
            run.events(sizes.events, sizes.devices, publisher, result, k)
            note(f"hubs: K={k}, SOS under {sizes.paced_per_s:,}/s telemetry")
            flood = _flood(broker.port, homes[-50:], sizes.paced_per_s * 5, sizes.paced_per_s)
            ms = run.latencies(run.sos(homes[: sizes.sos], publisher), 10)
            report(flood)
            result.add(f"k{k}_sos_p50_ms", f"K={k}: SOS → alert p50", percentile(ms, 50), "ms")
            result.add(f"k{k}_sos_p99_ms", f"K={k}: SOS → alert p99", percentile(ms, 99), "ms")
            note(f"hubs: K={k}, one hub killed, SOS while it is down")
            group.kill(k - 1)
            killed = time.monotonic()
            sent = run.sos(homes[sizes.sos : 2 * sizes.sos], publisher, gap_s=0.05)
            soon = run.latencies(sent, 2.0)
            time.sleep(max(0.0, RESTART_S - (time.monotonic() - killed)))
            restart_s = group.restart(k - 1)
            late = run.latencies(sent, 30)
            result.add(f"k{k}_failover_paged_2s_pct", f"K={k}: hub killed, SOS paged within 2 s",
                       100 * sum(1 for x in soon if x < 2000) / len(sent), "%")  # fmt: skip
            result.add(f"k{k}_failover_last_ms", f"K={k}: hub killed, slowest SOS → alert",
                       max(late, default=0.0), "ms")  # fmt: skip
            result.add(f"k{k}_restart_s", f"K={k}: killed hub restarted → /healthz", restart_s,
                       "s")  # fmt: skip
            result.add(f"k{k}_failover_missing", f"K={k}: SOS never paged", len(sent) - len(late))


def bench_hubs(quick: bool, note: Note, max_hubs: int = 3) -> Result:
    """Run the same load on 1 … `max_hubs` hubs in one share group; one table."""
    sizes = QUICK if quick else FULL
    result = Result("hubs", f"1 … {max_hubs} hubs in one share group, one Mosquitto")
    homes = max(sizes.devices, 2 * sizes.sos) + 60
    # PostgreSQL runs as `postgres`, which cannot enter another 0700 temp dir: its own.
    with (
        tempfile.TemporaryDirectory(prefix="watchpost-bench-hubs-") as tmp,
        tempfile.TemporaryDirectory(prefix="watchpost-bench-pg-") as pg_dir,
    ):
        work = Path(tmp)
        write_site(generate_community(homes, 1, CommunityOptions(site=SITE)), work / "site")
        with (
            Mosquitto(work / "broker") as broker,
            Postgres(Path(pg_dir)) as pg,
            Influxd(work / "influxd") as influxd,
        ):
            for k in range(1, max_hubs + 1):
                _one_k(k, sizes, (broker, pg, influxd), work, note, result)
    result.notes.append(f"load average before the run: {os.getloadavg()[0]:.1f} (2 cores, shared)")
    result.notes.append(
        f"{sizes.telemetry:,} readings flat out, {sizes.events:,} events from {sizes.devices} "
        f"devices, {sizes.sos} SOS under {sizes.paced_per_s:,}/s telemetry, then {sizes.sos} "
        f"SOS with one hub killed (restarted after {RESTART_S:.0f} s); every K on fresh databases"
    )
    return result
