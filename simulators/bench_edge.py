"""Edge benchmarks: the durable outbox (emit with fsync, replay after an outage) and the memory
one virtual edge agent costs, both with the real `edge.agent.Agent` against a real Mosquitto.

Each benchmark starts its own broker on a free loopback port in a temp dir, stopped by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from edge.agent import Agent
from protocol.device_config import DeviceConfig
from protocol.topics import device_topic
from simulators.bench_figures import Note, Result, rss_bytes
from simulators.bench_mqtt import Recorder
from simulators.community import CommunityOptions, generate_community, home_devices
from simulators.home import VirtualHome
from simulators.services import Mosquitto

SITE = "bench"


class _Ids:
    """Event ids a subscriber received, counted from paho's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.distinct: set[str] = set()
        self.total = 0

    def add(self, topic: str, payload: bytes, when: float) -> None:
        """Record one event payload."""
        event_id = json.loads(payload)["id"]
        with self.lock:
            self.distinct.add(event_id)
            self.total += 1

    def count(self) -> int:
        """Return how many distinct ids arrived."""
        with self.lock:
            return len(self.distinct)


async def _until(check: Callable[[], bool], within: float, step: float = 0.005) -> bool:
    """Poll `check()` until it is true or `within` seconds passed."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


async def _outbox_run(events: int, work: Path, note: Note, result: Result) -> None:
    broker = Mosquitto(work / "broker")
    device = "bench-outbox"
    ids = _Ids()
    config = DeviceConfig.model_validate({
        "device": device, "site": SITE, "grid": "grid-1", "building": "b1",
        "broker": {"url": broker.url}, "outbox": {"path": str(work / "outbox.db")},
    })  # fmt: skip
    agent = Agent(config, backoff=(0.05, 0.2), shutdown_timeout=5.0)
    with contextlib.ExitStack() as stack:
        stack.callback(broker.stop)
        broker.start()
        # A persistent session subscribed before the outage: the broker queues for it while
        # the agent replays, so the subscriber cannot miss the first messages by connecting late.
        topic = device_topic(SITE, device, "event")
        recorder = Recorder(broker.url, "bench-outbox-sub", [topic], ids.add, clean=False)
        recorder.start()
        stack.callback(recorder.stop)
        broker.stop()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(agent.run(), name=f"{device}:agent")
            await asyncio.sleep(0.1)  # let the agent find the broker down
            note(f"outbox: emitting {events:,} events with fsync, broker down")
            started = time.perf_counter()
            for i in range(events):
                await agent.emit("test", "bench:outbox", {"n": i})
            emit_s = time.perf_counter() - started
            note(f"outbox: broker back, replaying {events:,} events")
            broker.start()
            up = time.monotonic()
            await _until(lambda: agent.connected, 30)
            connected = time.monotonic()
            await _until(lambda: ids.count() >= events and agent.outbox_pending == 0, 120)
            finished = time.monotonic()
            agent.stop()
    replay_s = max(1e-6, finished - connected)
    result.add("emit_per_s", "emit (SQLite WAL, synchronous=FULL)", events / emit_s, "events/s")
    result.add("emit_ms", "emit: time per event", emit_s / events * 1000, "ms")
    result.add("reconnect_s", "broker up → agent connected", connected - up, "s")
    result.add("replay_per_s", "replay: connected → all PUBACKed + received", events / replay_s,
               "events/s")  # fmt: skip
    result.add("replay_s", "replay time", replay_s, "s")
    result.add("lost", "lost (distinct ids missing)", events - ids.count(), "events")
    result.add("duplicates", "duplicates received", ids.total - ids.count(), "events")
    result.add("left_in_outbox", "left in the outbox", agent.outbox_pending, "events")
    result.notes.append(
        f"{events:,} events on {filesystem(work)}, max_inflight {config.broker.max_inflight}, "
        "subscriber: paho persistent session at QoS 1"
    )


def filesystem(path: Path) -> str:
    """Return the type of the file system holding `path` (from /proc/mounts), or 'unknown'."""
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text(encoding="utf-8").splitlines():
            fields = line.split()
            mount = fields[1]
            inside = str(path.resolve()).startswith(mount.rstrip("/") + "/") or mount == "/"
            if len(fields) > 2 and inside and len(mount) > len(best):
                best, kind = mount, fields[2]
    return kind


def bench_outbox(quick: bool, note: Note) -> Result:
    """Measure durable emit rate and the replay rate after the broker comes back."""
    result = Result("outbox", "edge outbox: emit with fsync, replay after an outage")
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-outbox-") as tmp:
        asyncio.run(_outbox_run(300 if quick else 3_000, Path(tmp), note, result))
    return result


async def _agents_run(count: int, work: Path, note: Note, result: Result) -> None:
    broker = Mosquitto(work / "broker").start()
    opt = CommunityOptions(site=SITE, broker_url=broker.url, outbox_dir=str(work / "outbox"))
    configs = home_devices(generate_community(count + 1, 1, opt))[: count + 1]
    homes: list[VirtualHome] = []
    try:
        async with asyncio.TaskGroup() as tg:

            def start(config: DeviceConfig) -> None:
                home = VirtualHome(config, seed=len(homes), relay=False)  # one connection
                homes.append(home)
                tg.create_task(home.run(), name=f"{home.device}:home")

            gc.collect()
            rss0 = rss_bytes()
            note("agent_memory: first agent (warm-up)")
            start(configs[0])
            await _until(lambda: homes[0].connected, 30, 0.05)
            await asyncio.sleep(0.5)
            gc.collect()
            rss1 = rss_bytes()
            note(f"agent_memory: starting {count} more agents")
            for config in configs[1:]:
                start(config)
            all_up = await _until(lambda: all(h.connected for h in homes), 60, 0.05)
            await asyncio.sleep(1.0)
            gc.collect()
            rss2 = rss_bytes()
            note("agent_memory: measuring CPU for 3 s")
            cpu0, wall0 = time.process_time(), time.monotonic()
            await asyncio.sleep(3.0)
            cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
            for home in homes:
                home.agent.stop()
    finally:
        broker.stop()
    mib = 1024 * 1024
    result.add("agents", "agents measured (after one warm-up agent)", count, "")
    result.add("rss_base_mib", "process RSS before any agent", rss0 / mib, "MiB")
    result.add("rss_first_mib", "first agent (incl. one-time costs)", (rss1 - rss0) / mib, "MiB")
    result.add("rss_per_agent_kib", "RSS per further agent", (rss2 - rss1) / count / 1024, "KiB")
    result.add("rss_total_mib", f"process RSS with {count + 1} agents", rss2 / mib, "MiB")
    result.add("cpu_per_agent_pct", "CPU per agent (one core)", cpu * 100 / (count + 1), "%")
    result.notes.append(
        "home units: call + cancel buttons, LED, buzzer on MockFactory pins (one factory per "
        "agent), 50 Hz accelerometer and analog smoke from synthetic signals, one MQTT "
        "connection each" + ("" if all_up else "; NOT all agents connected within 60 s")
    )


def bench_agent_memory(quick: bool, note: Note) -> Result:
    """Measure resident memory per virtual edge agent running in one process."""
    result = Result("agent_memory", "virtual edge agents in one process")
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-agents-") as tmp:
        asyncio.run(_agents_run(5 if quick else 50, Path(tmp), note, result))
    return result
