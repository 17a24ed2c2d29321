"""Alarm-lane load benchmarks: (a) a storm, (b) heartbeat capacity; `watchpost hub` as its own
process with Mosquitto and an SQLite store, registry from `simulators.bench_startup.write_site`.

(a) **storm** (`--only storm`): N devices each publish a retained `status` (power came back)
and a `test` event (a community drill), the devices in a random order (`ORDER_SEED`), QoS 1,
as fast as one paho publisher goes; right after, `SOS` presses from 5 other devices, 0.2 s
apart. Figures: SOS ts → grid worker alert (p50/p99/max) and how long the hub took to commit
the whole backlog.

(b) **heartbeat** (`--only heartbeat`): D devices each send a retained `status` every 30 s
(spread evenly: D/30 per second, the devices in that random order) for `seconds`, and one SOS
every 5 s. Figures: SOS → alert p50/p99 in the first and the last third of the run (a backlog
that grows shows as a rising latency), and the status messages the hub had not yet taken in
when the run ended.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from protocol.codec import encode
from protocol.messages import Status, utcnow
from protocol.topics import device_topic, worker_topic
from simulators.bench_figures import Note, Result, percentile
from simulators.bench_hub import Alerts, event_message, metric
from simulators.bench_mqtt import Publisher, Recorder
from simulators.bench_startup import PER_BUILDING, SITE, write_site
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto

SOS_EVERY_S = 5.0
GRIDS = 20
ORDER_SEED = 8
"""Devices publish in a random order (the same every run), not the registry's: a street's
devices come back after a power cut, and beat at their own phases, in no order of their ids
(in the registry's order every group commit's rows land on a few neighbouring pages)."""


def shuffled(n: int) -> list[int]:
    """Homes 0 … n-1 in the benchmarks' random order."""
    order = list(range(n))
    random.Random(ORDER_SEED).shuffle(order)
    return order


def device(i: int) -> str:
    """Return the id of home `i` in the generated registry."""
    return f"home-{i:06d}"


def grid_worker(i: int) -> str:
    """Return the grid worker of home `i` (`write_site` puts building b in grid b mod 20)."""
    return f"w-grid-{(i // PER_BUILDING) % GRIDS + 1}"


def status(i: int) -> tuple[str, bytes]:
    """Return the topic and payload of home `i`'s `online` heartbeat."""
    msg = Status(device=device(i), ts=utcnow(), state="online", fw="1.0.0", heartbeat_s=30)
    return device_topic(SITE, device(i), "status"), encode(msg)


@contextlib.contextmanager
def profiled(hub: HubProcess, name: str) -> Iterator[None]:
    """With WATCHPOST_BENCH_PROFILE=DIR, record the hub with py-spy into DIR/NAME.txt.

    Collapsed stacks (`--format raw`, one line per stack with its sample count) of every busy
    thread, 250 samples/s (docs/bench.md, "Where the time goes"; `python -m
    simulators.bench_profile FILE` summarises one). py-spy slows the hub: figures from a
    profiled run are not the benchmark's figures.
    """
    folder = os.environ.get("WATCHPOST_BENCH_PROFILE")
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not folder or spy is None or hub.proc is None:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / f"{name}.txt"
    cmd = [spy, "record", "--pid", str(hub.proc.pid), "--rate", "250", "--format", "raw"]
    proc = subprocess.Popen(
        [*cmd, "--threads", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)  # let py-spy attach
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def running_hub(work: Path, homes: int) -> Iterator[tuple[Mosquitto, HubProcess]]:
    """Start Mosquitto and the hub with a registry of `homes` homes; stop both by PID."""
    with Mosquitto(work / "broker") as broker:
        site_dir = write_site(work / "site", homes, broker.url)
        hub = HubProcess(work / "hub", broker.url, site_dir)
        hub.start(timeout=300)
        try:
            yield broker, hub
        finally:
            hub.stop()


class SosProbe:
    """Presses SOS on chosen homes and records SOS ts → grid worker alert."""

    def __init__(self, url: str, homes: list[int]) -> None:
        self.alerts = Alerts()
        workers = sorted({grid_worker(i) for i in homes})
        topics = [worker_topic(SITE, w, "alert") for w in workers]
        self.recorder = Recorder(url, "bench-sos-worker", topics, self.alerts.on_message)
        self.publisher = Publisher(url, "bench-sos", inflight=10)
        self.sent: dict[str, float] = {}
        self.at: dict[str, float] = {}

    def __enter__(self) -> SosProbe:
        self.recorder.start()
        self.publisher.start()
        self.started = time.time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.publisher.stop()
        self.recorder.stop()

    def press(self, home: int) -> None:
        """Publish one SOS from home `home`."""
        topic, payload, ts = event_message(device(home), 1, "call")
        self.sent[device(home)] = ts.timestamp()
        self.at[device(home)] = time.time() - self.started
        self.publisher.publish(topic, payload, qos=1)

    def wait(self, within_s: float) -> None:
        """Wait until every SOS has its alert, or `within_s` passed."""
        deadline = time.monotonic() + within_s
        while len(self.alerts.first) < len(self.sent) and time.monotonic() < deadline:
            time.sleep(0.05)

    def latencies(self, since_s: float = 0.0, until_s: float = 1e9) -> list[float]:
        """Return SOS → alert in ms of the presses made between `since_s` and `until_s`."""
        with self.alerts.lock:
            first = dict(self.alerts.first)
        return [
            (first[d] - self.sent[d]) * 1000
            for d in self.sent
            if d in first and since_s <= self.at[d] < until_s
        ]

    def missing(self) -> int:
        """Return how many SOS have no alert yet."""
        return len(self.sent) - len(self.alerts.first)


def _add_latency(result: Result, key: str, label: str, ms: list[float]) -> None:
    result.add(f"{key}_p50_ms", f"{label}: SOS → alert p50", percentile(ms, 50), "ms")
    result.add(f"{key}_p99_ms", f"{label}: SOS → alert p99", percentile(ms, 99), "ms")
    result.add(f"{key}_max_ms", f"{label}: SOS → alert max", max(ms, default=0.0), "ms")


def bench_storm(quick: bool, note: Note) -> Result:
    """(a) N statuses + N `test` events at once, then SOS: how long does the SOS wait?"""
    n = 200 if quick else 4_000
    result = Result("storm", f"(a) storm: {n:,} statuses + {n:,} test events, then SOS")
    sos_homes = list(range(n, n + 5))
    with (
        tempfile.TemporaryDirectory(prefix="watchpost-bench-storm-") as tmp,
        running_hub(Path(tmp), n + len(sos_homes)) as (broker, hub),
    ):
        base = _taken(hub)
        with (
            SosProbe(broker.url, sos_homes) as probe,
            Publisher(broker.url, "storm") as pub,
            profiled(hub, f"storm-{n}"),
        ):
            note(f"storm: publishing {2 * n:,} messages")
            started = time.monotonic()
            for i in shuffled(n):
                pub.publish(*status(i), qos=1)
                topic, payload, _ = event_message(device(i), 1, "test")
                pub.publish(topic, payload, qos=1)
            pub.wait_acked(2 * n, 120)
            result.add("publish_s", "storm published (broker PUBACKs)",
                       time.monotonic() - started, "s")  # fmt: skip
            for home in sos_homes:
                probe.press(home)
                time.sleep(0.2)
            probe.wait(60)
            note("storm: waiting for the hub to commit the backlog")
            done = _until_taken(hub, base + 2 * n + len(sos_homes), 120)
            result.add("drain_s", "hub took in the whole storm (storm start →)",
                       done - started, "s")  # fmt: skip
            _add_latency(result, "sos", "after the storm", probe.latencies())
            each = ", ".join(f"{ms:.0f}" for ms in probe.latencies())
            result.notes.append(f"each SOS → alert in press order: {each} ms")
            result.add("sos_missing", "SOS without an alert in 60 s", probe.missing(), "")
    result.notes.append(
        f"{n:,} devices in a random order: retained status + `test` event each, QoS 1, one "
        "paho publisher; then "
        "5 SOS from other devices 0.2 s apart; latency = event ts → alert on the grid worker topic"
    )
    return result


def _taken(hub: HubProcess) -> float:
    """Return how many events and statuses the hub has taken in (decoded, for the engine)."""
    name = "watchpost_ingest_messages_total"
    return metric(hub, name, 'channel="event"') + metric(hub, name, 'channel="status"')


def _until_taken(hub: HubProcess, target: float, within_s: float) -> float:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and _taken(hub) < target:
        time.sleep(0.2)
    return time.monotonic()


@dataclass
class _Heartbeats:
    """D devices' statuses, paced evenly over 30 s, from a thread."""

    publisher: Publisher
    devices: int
    sent: int = 0

    def run(self, stop: threading.Event) -> None:
        order = shuffled(self.devices)  # each device at its own phase of the 30 s
        per_s, started = self.devices / 30.0, time.monotonic()
        while not stop.is_set():
            self.publisher.publish(*status(order[self.sent % self.devices]), qos=1)
            self.sent += 1
            ahead = started + self.sent / per_s - time.monotonic()
            if ahead > 0:
                stop.wait(ahead)


def bench_heartbeat(quick: bool, note: Note) -> Result:
    """(b) D devices heartbeating every 30 s, SOS every 5 s: does SOS latency stay flat?"""
    sizes = (500,) if quick else (5_000, 20_000, 100_000)
    result = Result("heartbeat", "(b) heartbeat capacity: SOS latency over time")
    for d in sizes:
        # Every device's first status is a transition (unknown → online) for the engine; the
        # later ones are routine. Run for two heartbeat periods after that first wave has
        # been taken in (100,000 devices here: it takes ~50 s), so the last third is steady.
        seconds = 15.0 if quick else 60.0 if d <= 20_000 else 120.0
        with tempfile.TemporaryDirectory(prefix="watchpost-bench-heartbeat-") as tmp:
            n_sos = int(seconds / SOS_EVERY_S)
            sos_homes = list(range(d, d + n_sos))
            with running_hub(Path(tmp), d + n_sos) as (broker, hub):
                _heartbeat_run(broker, hub, d, sos_homes, seconds, note, result)
    result.notes.append(
        f"each run {'15 s' if quick else '60 s (D = 100,000: 120 s)'}: D devices send a "
        "retained `status` every 30 s "
        f"(QoS 1, one paho publisher, evenly paced, the devices in a random order) and one SOS "
        f"every {SOS_EVERY_S:.0f} s from "
        "other devices; backlog = statuses sent but not yet taken in by the hub, read from its "
        "/metrics at the end of each third: keeping up means it does not grow in the last third"
    )
    return result


def _heartbeat_run(broker: Mosquitto, hub: HubProcess, d: int, sos_homes: list[int],
                   seconds: float, note: Note, result: Result) -> None:  # fmt: skip
    taken = ("watchpost_ingest_messages_total", 'channel="status"')
    stop = threading.Event()
    with (
        SosProbe(broker.url, sos_homes) as probe,
        Publisher(broker.url, f"hb-{d}") as pub,
        profiled(hub, f"heartbeat-{d}"),
    ):
        beats = _Heartbeats(pub, d)
        thread = threading.Thread(target=beats.run, args=(stop,), name="heartbeats")
        thread.start()
        backlog: list[tuple[float, int, float]] = []  # (s since start, sent, taken in)
        started = time.monotonic()
        try:
            for k, home in enumerate(sos_homes):
                note(f"heartbeat: D={d:,}, SOS {k + 1}/{len(sos_homes)}")
                probe.press(home)
                time.sleep(SOS_EVERY_S)
                if (k + 1) % (len(sos_homes) // 3 or 1) == 0:
                    sent = beats.sent
                    backlog.append((time.monotonic() - started, sent, metric(hub, *taken)))
        finally:
            stop.set()
            thread.join(10)
        behind = beats.sent - metric(hub, *taken)
        probe.wait(30)
    third = seconds / 3
    key, label = f"d{d}", f"D={d:,} ({d / 30:,.0f} status/s)"
    for n, (at, sent, took) in enumerate(backlog[:3], start=1):
        result.add(f"{key}_backlog_{n}", f"{label}: backlog after {at:.0f} s",
                   max(0.0, sent - took), "msgs")  # fmt: skip
    if len(backlog) >= 3:
        (t0, _, in0), (t1, _, in1) = backlog[1], backlog[2]
        result.add(f"{key}_intake_last_per_s", f"{label}: taken in per s, last third",
                   (in1 - in0) / (t1 - t0), "msg/s")  # fmt: skip
    _add_latency(result, f"{key}_first", f"{label}, first {third:.0f} s", probe.latencies(0, third))
    _add_latency(result, f"{key}_last", f"{label}, last {third:.0f} s",
                 probe.latencies(seconds - third))  # fmt: skip
    result.add(f"{key}_sos_missing", f"{label}: SOS without an alert 30 s after", probe.missing())
    result.add(f"{key}_status_behind", f"{label}: statuses not yet taken in at the end",
               max(0.0, behind), "msgs")  # fmt: skip
    result.add(f"{key}_offered_per_s", f"{label}: statuses sent", beats.sent / seconds, "msg/s")
