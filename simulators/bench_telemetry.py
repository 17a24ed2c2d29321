"""Telemetry benchmark (c): the hub's telemetry lane against a bare gmqtt subscriber and Node-RED,
on one Mosquitto and one influxd, in one run.

Phases, one consumer at a time so that each has the machine to itself (2 cores here). (1)-(3)
flat out are run `rounds` times, interleaved (gmqtt, Node-RED, hub, gmqtt, …, each a fresh
process), and each figure is the median of its rounds: on a machine shared with other work a
single run of each moves by tens of percent.

1. **gmqtt**: a bare gmqtt subscriber (`simulators.bench_flood gmqtt`, its own process) counts
   N flat-out messages: the ceiling of a Python subscriber, nothing written (its rate: first to
   last message it received).
2. **Node-RED** (`benchmarks/node-red/`): mqtt in (parsed JSON) → function → join 5,000/0.5 s →
   `influxdb batch`, N flat-out messages; written = points InfluxDB accepted (`SHOW STATS`).
3. **hub** (`watchpost hub`, its own process): N flat out, measured exactly as Node-RED is
   (points InfluxDB accepted, `SHOW STATS`; the hub's /metrics are read only before and after,
   to check that sent = points + shed + rejected). Its median rate is C. Then, on one more hub,
   paced at 1× C and 2× C for `paced_s` each: the rate it ingests there (its points counter),
   what it shed, and whether every reading was written or counted.
   On 2 cores shared with Mosquitto, the flood and influxd, Mosquitto and the flood cannot
   offer much more than the hub takes, so:
4. **hub alone**: the same hub build against a stand-in broker (`simulators.bench_flood
   broker`, no Mosquitto) that writes to the hub's telemetry connection as fast as the hub
   reads: 5 N flat out (= capacity C, over a few seconds), then paced at 1× and 2× C. This
   is the overload test: ingested at 2× C against C, and everything offered written or
   counted as shed.

The flood (`simulators.bench_flood publish`, its own process) sends pre-encoded QoS 0 PUBLISH
packets from a raw socket; each message has its own timestamp, so InfluxDB keeps every point.

**Transport.** By default (`transport="unix"`) Mosquitto also listens on a Unix socket and the
three consumers of (1)-(3) take their messages there: the hub with `--broker-socket`, gmqtt
through its loop pointed at the socket (`bench_flood gmqtt --socket`), Node-RED with the broker
`mqtt+unix://PATH`; the flood still publishes over TCP, as devices do. `transport="tcp"`
(`watchpost bench --telemetry-transport tcp`) is the all-TCP comparison of the sessions before.
(4)'s stand-in broker is TCP in both. Every label says which transport its figure used.

A flat-out rate into InfluxDB is taken from the last sample before InfluxDB's count first grew
to the first sample at which 95 % of its growth was there (`span_rate`): the last batch of each
consumer waits for its flush timer (the hub 1 s, Node-RED 0.5 s) and would otherwise weigh on a
run of a second or two by whichever timer fired.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from hub.telemetry.points import Points
from hub.telemetry.wire import Framer
from protocol.codec import decode
from simulators.bench_figures import Note, Result
from simulators.bench_flood import packets, publish
from simulators.bench_hub import metric
from simulators.bench_load import profiled
from simulators.bench_nodered import NodeRed
from simulators.community import (
    CommunityOptions,
    generate_community,
    home_devices,
    write_community,
)
from simulators.hubproc import HubProcess
from simulators.services import Influxd, Mosquitto, ServiceError, stop_process

SITE = "bench"
POINTS = "watchpost_influx_writer"


@dataclass(frozen=True)
class TelemetrySizes:
    """How much the telemetry benchmark sends."""

    n: int
    devices: int
    paced_s: float
    rounds: int


ALONE_FLAT = 5
"""(4) flat out sends this many times N (the stand-in offers 300,000-600,000 msg/s)."""

QUICK = TelemetrySizes(n=20_000, devices=50, paced_s=3.0, rounds=1)
FULL = TelemetrySizes(n=300_000, devices=500, paced_s=10.0, rounds=3)


def flood(port: int, devices: list[str], n: int, rate: float = 0.0) -> subprocess.Popen[bytes]:
    """Start the flood process; it prints its JSON report when it is done."""
    cmd = [sys.executable, "-m", "simulators.bench_flood", "publish", "--port", str(port)]
    cmd += ["--site", SITE, "--devices", ",".join(devices), "--n", str(n), "--rate", str(rate)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE)


def report(proc: subprocess.Popen[bytes]) -> dict[str, float]:
    """Wait for a flood or counter process and return its last JSON line."""
    out, _ = proc.communicate(timeout=600)
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


Sample = tuple[float, float]
"""(wall time, counter value)."""


def watch(read: Callable[[], float], proc: subprocess.Popen[bytes], quiet_s: float = 2.0,
          within_s: float = 300.0, every_s: float = 0.1) -> list[Sample]:  # fmt: skip
    """Sample `read()` every `every_s` while `proc` runs, until it has not grown for `quiet_s`."""
    samples = [(time.time(), read())]
    started = time.monotonic()
    while time.monotonic() - started < within_s:
        time.sleep(every_s)
        samples.append((time.time(), read()))
        grew = next((t for t, v in reversed(samples) if v != samples[-1][1]), samples[0][0])
        if proc.poll() is not None and time.time() - grew > quiet_s:
            break
    return samples


def rate(samples: list[Sample]) -> tuple[float, float, float]:
    """Return (count, seconds, count/s) from the first to the last growth of a counter."""
    base = samples[0][1]
    moving = [i for i in range(1, len(samples)) if samples[i][1] != samples[i - 1][1]]
    if not moving:
        return 0.0, 0.0, 0.0
    first, last = samples[moving[0] - 1], samples[moving[-1]]
    seconds = max(1e-9, last[0] - first[0])
    return last[1] - base, seconds, (last[1] - first[1]) / seconds


def span_rate(samples: list[Sample], share: float = 0.95) -> float:
    """Return count/s from just before a counter first grew until `share` of its growth was in."""
    base, total = samples[0][1], samples[-1][1] - samples[0][1]
    if total <= 0:
        return 0.0
    first = next(i for i in range(1, len(samples)) if samples[i][1] != base) - 1
    end = next(i for i in range(first, len(samples)) if samples[i][1] - base >= share * total)
    t0, v0 = samples[first]
    t1, v1 = samples[end]
    return (v1 - v0) / max(1e-9, t1 - t0)


def influx_points(influxd: Influxd) -> float:
    """Return the points influxd accepted since it started (`SHOW STATS`, module `write`)."""
    answer: Any = influxd.query("SHOW STATS FOR 'write'")
    series = answer["results"][0]["series"][0]
    return float(dict(zip(series["columns"], series["values"][0], strict=True))["pointReq"])


Round = dict[str, float]
"""The figures of one consumer in one round."""


Transport = Literal["unix", "tcp"]
"""How (1)-(3) take their messages from Mosquitto (the flood publishes over TCP either way)."""


def _via(sock: Path | None) -> str:
    """Return the transport of a figure, for its label."""
    return "TCP" if sock is None else "Unix socket"


def _gmqtt(port: int, devices: list[str], n: int, sock: Path | None) -> Round:
    cmd = [sys.executable, "-m", "simulators.bench_flood", "gmqtt", "--port", str(port)]
    cmd += [] if sock is None else ["--socket", str(sock)]
    with subprocess.Popen([*cmd, "--expect", str(n)], stdout=subprocess.PIPE) as counter:
        assert counter.stdout is not None
        counter.stdout.readline()  # {"ready": true}
        report(flood(port, devices, n))
        got = json.loads(counter.stdout.readline())
        counter.wait(30)
    seconds = max(1e-9, got["last"] - got["first"])
    return {
        "per_s": got["received"] / seconds,
        "lost": n - got["received"],
        "cpu_us": got["cpu_s"] / max(1, got["received"]) * 1e6,
    }


def _until(check: Callable[[], bool], what: str, within_s: float = 60.0,
           probe: Callable[[], object] = lambda: None) -> None:  # fmt: skip
    """Call `probe` every 0.25 s until `check()` holds; raise ServiceError after `within_s`."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} not ready within {within_s:.0f} s")
        probe()
        time.sleep(0.25)


def _node_red(work: Path, broker: Mosquitto, influxd: Influxd, devices: list[str],
              n: int) -> Round:  # fmt: skip
    red = NodeRed(work, broker.port, _port(influxd.url), "node_red", mqtt_socket=broker.unix_socket)
    with red:
        # "Connected to broker" is logged before the subscription is in place, and QoS 0
        # messages published before it are gone: send one reading at a time until one is
        # written (the join's 0.5 s timer writes it), then flood.
        start = influx_points(influxd)
        _until(lambda: influx_points(influxd) > start, "Node-RED's subscription",
               probe=lambda: publish(broker.port, SITE, devices[:1], 1, 0.0))  # fmt: skip
        time.sleep(1.0)  # let the probes' batches drain
        cpu = _cpu_s(red.proc)
        samples = watch(lambda: influx_points(influxd), flood(broker.port, devices, n), 3.0,
                        every_s=0.05)  # fmt: skip
        cpu = _cpu_s(red.proc) - cpu
        rss = red.rss_mb()
    written = samples[-1][1] - samples[0][1]
    return {
        "per_s": span_rate(samples),
        "lost": n - written,
        "rss_mb": rss,
        "cpu_us": cpu / max(1, written) * 1e6,
    }


def _hub_flat(work: Path, broker: Mosquitto, influxd: Influxd, devices: list[str], n: int,
              name: str) -> Round:  # fmt: skip
    """One fresh hub, N flat out, measured as Node-RED is: by the points InfluxDB accepted."""
    with _hub(work, broker, work.parent / "site", influxd) as hub:
        _lane_up(hub)
        before = _hub_counts(hub)
        cpu = _cpu_s(hub)
        with profiled(hub, name):
            samples = watch(lambda: influx_points(influxd), flood(broker.port, devices, n),
                            every_s=0.05)  # fmt: skip
        cpu = _cpu_s(hub) - cpu
        after = _hub_counts(hub)
    delta = {k: after[k] - before[k] for k in after}
    delta["cpu_us"] = cpu / max(1, delta["points"]) * 1e6  # reading the shed ones charged too
    delta["unaccounted"] = n - delta["points"] - delta["shed"] - delta["rejected"]
    delta["per_s"] = span_rate(samples)
    return delta


def _hub(work: Path, broker: Mosquitto, site: Path, influxd: Influxd) -> HubProcess:
    """Return a hub on `broker`, its telemetry lane on the broker's Unix socket if it has one."""
    sock = broker.unix_socket
    extra = [] if sock is None else ["--broker-socket", str(sock)]
    return HubProcess(work, broker.url, site, influx_url=influxd.url, extra_args=extra)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _lane_up(hub: HubProcess) -> None:
    """Wait until the hub's telemetry lane has its subscription (set after the SUBACK)."""
    _until(lambda: metric(hub, "watchpost_telemetry_connected") == 1, "the telemetry lane")


def _hub_counts(hub: HubProcess) -> dict[str, float]:
    return {
        "written": metric(hub, POINTS, 'stat="points_written"'),
        "points": metric(hub, "watchpost_telemetry_points_total"),
        "shed": metric(hub, "watchpost_telemetry_shed_total"),
        "received": metric(hub, "watchpost_telemetry_received_total"),
        "rejected": metric(hub, "watchpost_ingest_rejected_total"),
        "waited_s": metric(hub, "watchpost_telemetry_writer_wait_seconds_total"),
    }


def _hub_phase(hub: HubProcess, port: int, devices: list[str], n: int, per_s: float,
               ) -> dict[str, float]:  # fmt: skip
    """Flood the hub; return its counters' growth and the rate its points grew at."""
    before = _hub_counts(hub)
    proc = flood(port, devices, n, per_s)
    samples = watch(lambda: metric(hub, "watchpost_telemetry_points_total"), proc)
    sent = report(proc)
    after = _hub_counts(hub)
    delta = {k: after[k] - before[k] for k in after}
    _, delta["seconds"], delta["per_s"] = rate(samples)
    delta["sent_per_s"] = n / sent["seconds"]
    delta["unaccounted"] = n - delta["points"] - delta["shed"] - delta["rejected"]
    return delta


def _hub_paced(work: Path, broker: Mosquitto, influxd: Influxd, devices: list[str],
               sizes: TelemetrySizes, capacity: float, note: Note,
               result: Result) -> None:  # fmt: skip
    hub = _hub(work / "hub-paced", broker, work / "site", influxd)
    at_ = f"(3) hub [{_via(broker.unix_socket)}]"
    with hub:
        _lane_up(hub)
        for factor in (1, 2):
            offered = factor * capacity
            n = int(offered * sizes.paced_s)
            note(f"telemetry: hub paced at {factor}x C = {offered:,.0f}/s")
            paced = _hub_phase(hub, broker.port, devices, n, offered)
            got = paced["per_s"]
            k, at = f"hub_{factor}x", f"{at_} {factor}x C"
            result.add(f"{k}_sent_per_s", f"{at}: offered", paced["sent_per_s"], "msg/s")
            result.add(f"{k}_per_s", f"{at}: ingested", got, "msg/s")
            result.add(f"{k}_of_capacity_pct", f"{at}: ingested / C",
                       100 * got / max(1e-9, capacity), "%")  # fmt: skip
            result.add(f"{k}_of_offered_pct", f"{at}: ingested / offered",
                       100 * got / max(1e-9, paced["sent_per_s"]), "%")  # fmt: skip
            result.add(f"{k}_shed_pct", f"{at}: shed (counted)",
                       100 * paced["shed"] / max(1, n), "%")  # fmt: skip
            result.add(f"{k}_unaccounted", f"{at}: neither written nor counted",
                       paced["unaccounted"], "msgs")  # fmt: skip
        result.add("hub_rss_mb", f"{at_} RSS after the floods", _rss_mb(hub), "MiB")


class _StandIn:
    """The stand-in broker process (`simulators.bench_flood broker`), driven over stdin."""

    def __init__(self, devices: list[str]) -> None:
        cmd = [sys.executable, "-m", "simulators.bench_flood", "broker", "--site", SITE]
        self.proc = subprocess.Popen(
            [*cmd, "--devices", ",".join(devices)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(self.proc.stdout.readline())["port"])

    def send(self, n: int, per_s: float) -> dict[str, float]:
        """Flood the hub's telemetry connection; return the stand-in's report."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"send {n} {per_s}\n".encode())
        self.proc.stdin.flush()
        result: dict[str, float] = json.loads(self.proc.stdout.readline())
        return result

    def stop(self) -> None:
        """Ask it to quit, then stop it by PID."""
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.flush()
        stop_process(self.proc, 5)


def _cpu_s(proc: HubProcess | subprocess.Popen[bytes] | None) -> float:
    """Return the CPU seconds (user + system, all threads) a process used so far."""
    if isinstance(proc, HubProcess):
        proc = proc.proc
    if proc is None:
        return 0.0
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alone_phase(hub: HubProcess, broker: _StandIn, n: int, per_s: float) -> dict[str, float]:
    cpu = _cpu_s(hub)
    before = _hub_counts(hub)
    sent = broker.send(n, per_s)
    _, changed = _settled(lambda: metric(hub, "watchpost_telemetry_points_total"))
    after = _hub_counts(hub)
    delta = {k: after[k] - before[k] for k in after}
    delta["offered_per_s"] = n / sent["seconds"]
    delta["per_s"] = delta["points"] / max(1e-9, changed - sent["started"])
    delta["unaccounted"] = n - delta["points"] - delta["shed"] - delta["rejected"]
    seconds = max(1e-9, changed - sent["started"])
    delta["cpu_us"] = (_cpu_s(hub) - cpu) / max(1, n) * 1e6
    delta["cpu_pct"] = 100 * (_cpu_s(hub) - cpu) / seconds
    delta["waited_pct"] = 100 * delta["waited_s"] / seconds
    return delta


def _settled(read: Callable[[], float], quiet_s: float = 1.5) -> tuple[float, float]:
    """Wait until `read()` stops growing; return (value, wall time it last grew)."""
    value, changed = read(), time.time()
    while time.time() - changed < quiet_s:
        time.sleep(0.1)
        now = read()
        if now != value:
            value, changed = now, time.time()
    return value, changed


def _hub_alone(work: Path, influxd: Influxd, devices: list[str], sizes: TelemetrySizes,
               note: Note, result: Result) -> None:  # fmt: skip
    """(4) the hub against the stand-in broker: offered load can exceed the hub's capacity."""
    broker = _StandIn(devices)
    try:
        url = f"mqtt://127.0.0.1:{broker.port}"
        with HubProcess(work / "hub-alone", url, work / "site", influx_url=influxd.url) as hub:
            # C from a few seconds of flat out, not a burst the lane's queue and the writer's
            # buffer would flatter (300,000 went by in under a second, and 1x C then shed).
            flat_n = ALONE_FLAT * sizes.n
            note(f"telemetry: hub alone, {flat_n:,} flat out")
            flat = _alone_phase(hub, broker, flat_n, 0.0)
            capacity = flat["per_s"]
            result.add("alone_per_s", "(4) hub alone [TCP], flat out = capacity C", capacity,
                       "msg/s")  # fmt: skip
            result.add("alone_flat_cpu_us", "(4) [TCP] flat out: hub CPU per message offered",
                       flat["cpu_us"], "µs")  # fmt: skip
            result.add("alone_flat_shed_pct",
                       "(4) [TCP] flat out (sender never waits): shed (counted)",
                       100 * flat["shed"] / flat_n, "%")  # fmt: skip
            for factor in (1, 2):
                n = int(factor * capacity * sizes.paced_s)
                note(f"telemetry: hub alone at {factor}x C")
                with profiled(hub, f"telemetry-alone-{factor}x"):
                    paced = _alone_phase(hub, broker, n, factor * capacity)
                k, at = f"alone_{factor}x", f"(4) [TCP] {factor}x C"
                result.add(f"{k}_offered", f"{at}: offered", paced["offered_per_s"], "msg/s")
                result.add(f"{k}_per_s", f"{at}: ingested", paced["per_s"], "msg/s")
                result.add(f"{k}_of_capacity_pct", f"{at}: ingested / C",
                           100 * paced["per_s"] / max(1e-9, capacity), "%")  # fmt: skip
                share = paced["per_s"] / max(1e-9, paced["offered_per_s"])
                result.add(f"{k}_of_offered_pct", f"{at}: ingested / offered", 100 * share, "%")
                result.add(f"{k}_shed_pct", f"{at}: shed (counted)",
                           100 * paced["shed"] / max(1, n), "%")  # fmt: skip
                result.add(f"{k}_unaccounted", f"{at}: neither written nor counted",
                           paced["unaccounted"], "msgs")  # fmt: skip
                result.add(f"{k}_cpu_pct", f"{at}: hub CPU (all threads, % of one core)",
                           paced["cpu_pct"], "%")  # fmt: skip
                result.add(f"{k}_waited_pct", f"{at}: lane held off, InfluxDB behind",
                           paced["waited_pct"], "% of time")  # fmt: skip
    finally:
        broker.stop()


def _costs(devices: list[str], result: Result) -> None:
    """(0) CPU per message of the lane's stages, in this process (no I/O)."""
    msgs = packets(SITE, devices, 50_000, datetime(2026, 12, 1, tzinfo=UTC))
    chunks = [b"".join(msgs[i : i + 1700]) for i in range(0, len(msgs), 1700)]  # ~256 KiB reads

    def framer(room: int) -> tuple[float, list[tuple[bytes, bytes]]]:
        framing, kept, started = Framer(), [], time.process_time()
        for chunk in chunks:
            kept += framing.feed(chunk, room).kept
        return (time.process_time() - started) / len(msgs) * 1e6, kept

    keep_us, kept = framer(10**9)
    shed_us, _ = framer(0)
    points = Points(lambda site, device: "grid-1")
    started = time.process_time()
    for topic, payload in kept:
        points.line(topic, payload)
    line_us = (time.process_time() - started) / len(kept) * 1e6
    started = time.process_time()
    for _, payload in kept[:10_000]:
        decode("telemetry", payload)
    pydantic_us = (time.process_time() - started) / 10_000 * 1e6
    result.add(
        "cost_frame_us", "(0) framer: a message kept (topic + payload sliced)", keep_us, "µs"
    )
    result.add("cost_shed_us", "(0) framer: a message shed (length header only)", shed_us, "µs")
    result.add("cost_point_us", "(0) message → line protocol (msgspec path)", line_us, "µs")
    result.add("cost_pydantic_us", "(0) the same decode with the protocol's pydantic model",
               pydantic_us, "µs")  # fmt: skip


def _rss_mb(hub: HubProcess) -> float:
    if hub.proc is None:
        return 0.0
    for line in Path(f"/proc/{hub.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_telemetry(quick: bool, note: Note, transport: Transport = "unix") -> Result:
    """Run the three phases; figures in msg/s, all from this run.

    `transport`: how (1)-(3) take their messages from Mosquitto (module docstring).
    """
    sizes = QUICK if quick else FULL
    with (
        tempfile.TemporaryDirectory(prefix="watchpost-bench-telemetry-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        sock = work / "mqtt.sock" if transport == "unix" else None
        via = _via(sock)
        result = Result(
            "telemetry", f"telemetry flat out and paced: hub vs gmqtt vs Node-RED, {via}"
        )
        broker = stack.enter_context(Mosquitto(work / "broker", unix_socket=sock))
        influxd = stack.enter_context(Influxd(work / "influxd"))
        opt = CommunityOptions(site=SITE, broker_url=broker.url, outbox_dir=str(work / "outbox"))
        registry = generate_community(sizes.devices, 1, opt)
        write_community(registry, work / "site")
        devices = [d.device for d in home_devices(registry)]
        _costs(devices, result)
        influxd.create_database("node_red")
        rounds: dict[str, list[Round]] = {"gmqtt": [], "node_red": [], "hub": []}
        for r in range(1, sizes.rounds + 1):
            at = f"round {r}/{sizes.rounds}, {sizes.n:,} messages"
            note(f"telemetry: bare gmqtt, {at}")
            rounds["gmqtt"].append(_gmqtt(broker.port, devices, sizes.n, sock))
            note(f"telemetry: Node-RED, {at}")
            try:
                rounds["node_red"].append(
                    _node_red(work / f"node-red-{r}", broker, influxd, devices, sizes.n)
                )
            except (ServiceError, OSError, subprocess.SubprocessError) as exc:
                result.notes.append(f"Node-RED not measured in round {r}: {str(exc)[-300:]}")
            note(f"telemetry: hub, {at}")
            rounds["hub"].append(
                _hub_flat(work / f"hub-{r}", broker, influxd, devices, sizes.n, f"telemetry-{r}")
            )
        capacity = _report_rounds(rounds, sizes, result, _via(sock))
        _hub_paced(work, broker, influxd, devices, sizes, capacity, note, result)
        _hub_alone(work, influxd, devices, sizes, note, result)
    result.notes.append(
        f"transport: hub, gmqtt and Node-RED subscribe over {via}"
        + (" (mqtt+unix://, MQTT.js)" if sock else "")
        + "; the flood publishes over TCP; (4)'s stand-in broker is TCP"
    )
    result.notes.append(
        f"{sizes.n:,} QoS 0 messages per flat-out phase from {sizes.devices} devices; phases run "
        "one consumer at a time on the same Mosquitto and influxd; paced phases last "
        f"{sizes.paced_s:.0f} s"
    )
    return result


def _median(rounds: list[Round], key: str) -> float:
    return statistics.median(r[key] for r in rounds) if rounds else 0.0


def _report_rounds(rounds: dict[str, list[Round]], sizes: TelemetrySizes, result: Result,
                   via: str) -> float:  # fmt: skip
    """Add the medians of (1)-(3) flat out and the same-run ratios; return the hub's C.

    Every label starts with the transport its consumer used (`via`)."""
    gm, red, hub = rounds["gmqtt"], rounds["node_red"], rounds["hub"]
    of = f"median of {sizes.rounds}"

    def add(key: str, label: str, value: float, unit: str) -> None:
        result.add(key, f"{label[:3]} [{via}]{label[3:]}" if label[0] == "(" else label,
                   value, unit)  # fmt: skip

    add("gmqtt_per_s", f"(1) bare gmqtt subscriber, flat out ({of})", _median(gm, "per_s"),
        "msg/s")  # fmt: skip
    add("gmqtt_lost", "(1) gmqtt: not received (all rounds)", sum(r["lost"] for r in gm), "msgs")
    add("gmqtt_cpu_us", "(1) gmqtt: CPU per message received (its whole process)",
        _median(gm, "cpu_us"), "µs")  # fmt: skip
    if red:
        add("node_red_per_s", f"(2) Node-RED into InfluxDB, flat out ({of})",
            _median(red, "per_s"), "msg/s")  # fmt: skip
        add("node_red_lost", "(2) Node-RED: not written (all rounds)",
            sum(r["lost"] for r in red), "msgs")  # fmt: skip
        add("node_red_cpu_us", "(2) Node-RED: CPU per point written (its whole process)",
            _median(red, "cpu_us"), "µs")  # fmt: skip
        add("node_red_rss_mb", "(2) Node-RED RSS after the flood", _median(red, "rss_mb"), "MiB")
    capacity = _median(hub, "per_s")
    add("hub_per_s", f"(3) hub into InfluxDB, flat out ({of}) = capacity C", capacity, "msg/s")
    add("hub_cpu_us", "(3) hub: CPU per point written (whole process, shed ones read)",
        _median(hub, "cpu_us"), "µs")  # fmt: skip
    add("hub_flat_written", "(3) hub, flat out: written to InfluxDB (all rounds)",
        sum(r["written"] for r in hub), "points")  # fmt: skip
    add("hub_flat_shed", "(3) hub, flat out: shed (counted, all rounds)",
        sum(r["shed"] for r in hub), "msgs")  # fmt: skip
    add("hub_flat_unaccounted", "(3) hub, flat out: neither written nor counted",
        sum(r["unaccounted"] for r in hub), "msgs")  # fmt: skip
    gm_per_s = _median(gm, "per_s")
    if gm_per_s:
        add("hub_vs_gmqtt", f"hub / bare gmqtt, both {via}, medians (target ≥ 0.5)",
            capacity / gm_per_s, "×")  # fmt: skip
    if red:
        add("hub_vs_node_red", f"hub / Node-RED, both {via}, medians (target ≥ 3)",
            capacity / _median(red, "per_s"), "×")  # fmt: skip
        add("node_red_vs_hub_cpu", f"Node-RED / hub, both {via}, CPU per point written (medians)",
            _median(red, "cpu_us") / max(1e-9, _median(hub, "cpu_us")), "×")  # fmt: skip
        same = [h["per_s"] / max(1e-9, n["per_s"]) for h, n in zip(hub, red, strict=False)]
        add("hub_vs_node_red_low", f"hub / Node-RED, both {via}, lowest of the rounds",
            min(same), "×")  # fmt: skip
    for name, runs in rounds.items():
        figures = " / ".join(f"{r['per_s']:,.0f}" for r in runs)
        result.notes.append(f"{name} per round ({via}, msg/s): {figures}")
    return capacity
