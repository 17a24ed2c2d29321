"""The telemetry lane against a real Mosquitto (and influxd): every message is written, rejected
with its reason or counted as shed; a full queue sheds instead of growing; the broker's `$SYS`
counters still get through; readings reach InfluxDB in batches."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiomqtt

from hub.influx import InfluxSettings, InfluxWriter
from hub.metrics import HubMetrics
from hub.telemetry import Endpoint, TelemetryLane
from simulators.services import Influxd, Mosquitto
from tests.edge.conftest import until

DEVICE = "d-1"


class HeldWriter:
    """Collects points; reports a huge backlog while `held`, as a stalled InfluxDB would."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.held = True

    def submit(self, lines: Sequence[str]) -> None:
        """Keep the points."""
        self.lines.extend(lines)

    def stats(self) -> Mapping[str, int | str]:
        """Report the backlog the lane looks at."""
        return {"buffer_size": 10**9 if self.held else 0}


def reading(site: str, device: str, i: int) -> tuple[str, bytes]:
    """Return the topic and payload of one telemetry message."""
    doc = {"v": 1, "device": device, "ts": "2026-12-01T05:00:00Z", "readings": {"n": i}}
    return f"watchpost/v1/{site}/dev/{device}/telemetry", json.dumps(doc).encode()


@contextlib.asynccontextmanager
async def running(lane: TelemetryLane) -> AsyncIterator[None]:
    """Run the lane as a task until the block ends."""
    task = asyncio.create_task(lane.run(), name="telemetry-lane")
    try:
        await until(lambda: lane.connected, what="connected")
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_full_queue_sheds_and_every_message_is_accounted_for(
    mosquitto: Mosquitto, site_id: str
) -> None:
    writer, sys_seen = HeldWriter(), []

    async def on_sys(topic: str, payload: bytes) -> None:
        sys_seen.append(topic)

    def grid_of(site: str, device: str) -> str | None:
        return "g1" if (site, device) == (site_id, DEVICE) else None

    endpoint = Endpoint("127.0.0.1", mosquitto.port, f"lane-{site_id}")
    lane = TelemetryLane(
        endpoint, writer, HubMetrics(), grid_of, on_sys, site=site_id, capacity=100, step=10
    )
    async with running(lane), aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
        for i in range(900):
            await edge.publish(*reading(site_id, DEVICE, i), qos=0)
        for i in range(50):
            await edge.publish(*reading(site_id, "ghost", i), qos=0)
            await edge.publish(reading(site_id, DEVICE, i)[0], b"{oops", qos=0)
        await until(lambda: lane.stats()["received"] >= 1000, what="all received")
        assert lane.stats()["shed"] >= 1000 - 100 - 50  # the queue held 100 at most
        assert lane.writer_wait_s > 0  # it held off because the writer was behind, and says so
        writer.held = False
        await until(lambda: lane.stats()["queue"] == 0, what="drained")
        await until(lambda: len(sys_seen) > 0, what="a $SYS counter", within=5)
    stats = lane.stats()
    assert stats["received"] == 1000
    assert stats["shed"] + stats["rejected"] + stats["points"] == 1000
    assert stats["points"] == len(writer.lines) > 0
    assert lane.rejected.keys() <= {"unknown_device", "not_json"}
    assert all(line.startswith(f"telemetry,device={DEVICE},grid=g1") for line in writer.lines)


async def test_readings_reach_influxdb_and_nothing_is_shed_at_a_modest_rate(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, influx_db: str, site_id: str
) -> None:
    settings = InfluxSettings(
        url=influxd.url, database=influx_db, spill_dir=str(tmp_path / "spill")
    )

    async def on_sys(topic: str, payload: bytes) -> None:
        pass

    async with InfluxWriter(settings) as writer:
        lane = TelemetryLane(
            Endpoint("127.0.0.1", mosquitto.port, f"lane-{site_id}"),
            writer,
            HubMetrics(),
            lambda site, device: "g1" if device == DEVICE else None,
            on_sys,
            site=site_id,
        )
        async with running(lane), aiomqtt.Client("127.0.0.1", mosquitto.port) as edge:
            for i in range(500):
                topic, _ = reading(site_id, DEVICE, i)
                doc = {"v": 1, "device": DEVICE, "ts": f"2026-12-01T05:00:{i // 10:02d}."
                       f"{i % 10:03d}Z", "readings": {"n": i}}  # fmt: skip
                await edge.publish(topic, json.dumps(doc).encode(), qos=0)
            await until(lambda: writer.stats()["points_written"] == 500, what="written")
    assert lane.stats()["shed"] == 0
    answer: Any = influxd.query('SELECT count("n") FROM "telemetry"', db=influx_db)
    assert answer["results"][0]["series"][0]["values"][0][1] == 500
