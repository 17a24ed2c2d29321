"""`hub_stats`: the hub's own counters as InfluxDB points, written periodically to influxd."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.influx import InfluxSettings, InfluxWriter
from hub.metrics import HubMetrics
from hub.stats import stats_lines, write_stats
from simulators.services import Influxd
from tests.edge.conftest import until

T = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
LANE = {"received": 10, "points": 6, "shed": 3, "rejected": 1, "queue": 0, "connected": 1}


def test_one_point_per_moment_and_one_per_rejection_reason() -> None:
    metrics = HubMetrics()
    metrics.rejected.labels("not_json").inc(2)
    metrics.rejected.labels("unknown_device").inc()
    writer = {"points_written": 40, "points_dropped_invalid": 1, "points_dropped_spill_full": 2}
    lines = stats_lines("hub-a", T, metrics, LANE, writer, dispatch_pending=5)
    stamp = "1796101200000"
    assert lines[0] == (
        "hub_stats,hub=hub-a telemetry_received_total=10i,telemetry_points_total=6i,"
        "telemetry_shed_total=3i,telemetry_rejected_total=1i,telemetry_queue=0i,"
        f"points_written=40i,points_spilled=0i,points_dropped=3i,dispatch_pending=5i {stamp}"
    )
    assert lines[1:] == [
        f"hub_stats,hub=hub-a,reason=not_json rejected_total=2i {stamp}",
        f"hub_stats,hub=hub-a,reason=unknown_device rejected_total=1i {stamp}",
    ]


async def test_written_periodically_to_influxdb(
    tmp_path: Path, influxd: Influxd, influx_db: str
) -> None:
    metrics = HubMetrics()
    metrics.rejected.labels("too_large").inc()
    settings = InfluxSettings(
        url=influxd.url, database=influx_db, spill_dir=str(tmp_path / "spill"), flush_interval_s=0.1
    )
    async with InfluxWriter(settings) as writer:
        task = asyncio.create_task(
            write_stats(
                "hub-a", metrics, lambda: LANE, writer.stats, lambda: 0, writer.submit, 0.05
            )
        )
        try:
            await until(lambda: int(writer.stats()["points_written"]) >= 4, what="two rounds")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    q = 'SELECT last("telemetry_shed_total") FROM "hub_stats" WHERE "hub" = \'hub-a\''
    answer: Any = influxd.query(q, db=influx_db)
    assert answer["results"][0]["series"][0]["values"][0][1] == 3
    q = 'SELECT last("rejected_total") FROM "hub_stats" GROUP BY "reason"'
    answer = influxd.query(q, db=influx_db)
    [series] = answer["results"][0]["series"]
    assert series["tags"] == {"reason": "too_large"}
    assert series["values"][0][1] == 1
