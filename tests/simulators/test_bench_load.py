"""The load benchmarks' own machinery, at small N (no timings asserted): the flood's packets are
valid telemetry the hub's lane turns into distinct points; the stand-in broker serves the real
telemetry lane and every message it sends is accounted for; the profile summariser adds up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.metrics import HubMetrics
from hub.telemetry import Endpoint, TelemetryLane
from hub.telemetry.points import Points
from hub.telemetry.wire import Framer
from simulators.bench_flood import packets
from simulators.bench_profile import load, summary
from simulators.services import stop_process
from tests.edge.conftest import until

DEVICES = ["home-1", "home-2", "home-3"]


def test_flood_packets_become_one_distinct_point_each() -> None:
    stream = b"".join(packets("bench", DEVICES, 300, datetime(2026, 12, 1, tzinfo=UTC)))
    frames = Framer().feed(stream, room=1000)
    points = Points(lambda site, device: "grid-1" if device in DEVICES else None)
    lines = [points.line(topic, payload) for topic, payload in frames.kept]
    assert len(lines) == 300
    assert len({(line.split(" ")[0], line.rsplit(" ", 1)[1]) for line in lines}) == 300


class Sink:
    """Keeps the points; a writer with no backlog."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def submit(self, lines: Sequence[str]) -> None:
        """Keep the points."""
        self.lines.extend(lines)

    def stats(self) -> Mapping[str, int | str]:
        """Report no backlog."""
        return {"buffer_size": 0}


@pytest.fixture
def stand_in() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start the stand-in broker; stop it by PID."""
    cmd = [sys.executable, "-m", "simulators.bench_flood", "broker", "--site", "bench"]
    proc = subprocess.Popen(
        [*cmd, "--devices", ",".join(DEVICES)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        yield proc, json.loads(proc.stdout.readline())["port"]
    finally:
        proc.stdin.close()
        stop_process(proc, 5)
        proc.stdout.close()


async def test_stand_in_broker_floods_the_real_lane_and_everything_is_counted(
    stand_in: tuple[subprocess.Popen[bytes], int],
) -> None:
    proc, port = stand_in
    assert proc.stdin is not None and proc.stdout is not None
    sink = Sink()

    async def on_sys(topic: str, payload: bytes) -> None:
        pass

    lane = TelemetryLane(
        Endpoint("127.0.0.1", port, "bench-hub-telemetry"),
        sink,
        HubMetrics(),
        lambda site, device: "grid-1",
        on_sys,
        capacity=500,
    )
    task = asyncio.create_task(lane.run(), name="telemetry-lane")
    try:
        await until(lambda: lane.connected, what="connected")
        proc.stdin.write(b"send 5000 0\n")
        proc.stdin.flush()
        sent = json.loads(await asyncio.to_thread(proc.stdout.readline))
        assert sent["sent"] == 5000
        await until(lambda: lane.stats()["received"] == 5000, what="all received")
        await until(lambda: lane.stats()["queue"] == 0, what="drained")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stats = lane.stats()
    assert stats["points"] + stats["shed"] + stats["rejected"] == 5000
    assert stats["points"] == len(sink.lines) > 0


def test_profile_summary_adds_up_samples(tmp_path: Path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(
        "t1;main;a (m.py:1);b (m.py:2) 30\nt1;main;a (m.py:1) 10\nt2;c (n.py:3) 60\n"
        "t3;_worker (concurrent/futures/thread.py:81) 500\n"
    )
    text = summary(load(raw), top=5, match="m.py")
    assert text.splitlines()[0] == "100 busy samples (of 600)"
    assert "60.0 %  c (n.py:3)" in text
    assert "40.0 %  a (m.py:1)" in text
