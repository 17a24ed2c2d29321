"""Measure the InfluxDB writer's throughput against a real influxd 1.x.

`bench_influx(points, batch)` starts its own influxd on free loopback ports (unless given a
URL), writes `points` telemetry points through `InfluxWriter` with `batch_size=batch`, and
returns points/s plus p50/p99 batch latency. Used by `watchpost bench`.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from hub.influx import InfluxSettings, InfluxWriter, telemetry_line
from simulators.services import Influxd


def bench_lines(points: int, devices: int = 200) -> list[str]:
    """Return `points` telemetry lines from `devices` devices in 3 grids, 1 ms apart."""
    start = datetime.now(UTC) - timedelta(milliseconds=points)
    return [
        telemetry_line(
            "bench",
            f"grid-{i % 3}",
            f"dev-{i % devices}",
            start + timedelta(milliseconds=i),
            {"smoke_level": (i % 100) / 1000, "uptime_s": float(i)},
        )
        for i in range(points)
    ]


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def bench_influx_async(
    points: int, batch: int, url: str, spill_dir: Path, timeout_s: float = 600.0
) -> dict[str, Any]:
    """Write `points` points to the InfluxDB at `url`; return throughput and latencies."""
    built = time.monotonic()
    lines = bench_lines(points)
    build_s = time.monotonic() - built
    settings = InfluxSettings(
        url=url,
        database=f"bench_{uuid.uuid4().hex[:8]}",
        batch_size=batch,
        flush_interval_s=0.05,
        spill_dir=str(spill_dir),
        close_timeout_s=timeout_s,
    )
    writer = InfluxWriter(settings)
    async with writer:
        started = time.monotonic()
        writer.submit(lines)
    # Leaving the context flushes every batch (within close_timeout_s): that is the end.
    elapsed = time.monotonic() - started
    stats = writer.stats()
    latencies = writer.batch_latencies()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:  # leave no bench data
        await client.post("/query", data={"q": f'DROP DATABASE "{settings.database}"'})
    if stats["points_written"] != points:
        raise RuntimeError(f"bench wrote {stats['points_written']} of {points} points: {stats}")
    return {
        "points": points,
        "batch": batch,
        "seconds": round(elapsed, 3),
        "points_per_s": round(points / elapsed) if elapsed else None,
        "batches": len(latencies),
        "batch_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "batch_p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "build_lines_per_s": round(points / build_s) if build_s else None,
        "server_version": stats["server_version"],
        "points_spilled": stats["points_spilled"],
    }


def bench_influx(points: int, batch: int, url: str | None = None) -> dict[str, Any]:
    """Measure writer throughput (points/s, p50/p99 batch latency) against a real influxd."""
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-influx-") as tmp:
        work = Path(tmp)
        if url is not None:
            return asyncio.run(bench_influx_async(points, batch, url, work / "spill"))
        with Influxd(work / "influxd") as server:
            return asyncio.run(bench_influx_async(points, batch, server.url, work / "spill"))


if __name__ == "__main__":
    import json
    import sys

    n, size = (int(a) for a in (sys.argv[1:3] if len(sys.argv) > 2 else ("50000", "5000")))
    sys.stdout.write(json.dumps(bench_influx(n, size), indent=2) + "\n")
