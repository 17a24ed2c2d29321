"""The hub's own counters, written to InfluxDB every `every_s` as the `hub_stats` measurement.

Grafana draws the hub's health from InfluxDB like everything else (docs/influx.md, `hub_stats`).
Every value is a counter since the hub process started (use `non_negative_difference()` or
`derivative()`; a restart starts again from 0) or, for `*_queue`/`*_pending`, a level:

* one point per write, tag `hub`: `telemetry_received_total`, `telemetry_points_total`,
  `telemetry_shed_total`, `telemetry_rejected_total`, `telemetry_queue`, `points_written`,
  `points_spilled`, `points_dropped` (invalid + spill full), `dispatch_pending`;
* one point per rejection reason, tags `hub` and `reason`: `rejected_total` (both lanes).

All fields are integers (`…i` in line protocol), so their type never changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from hub.influx.lines import build_line
from hub.metrics import HubMetrics
from protocol.messages import utcnow

log = logging.getLogger(__name__)

Source = Callable[[], Mapping[str, int | str]]


def rejected_by_reason(metrics: HubMetrics) -> dict[str, int]:
    """Return `watchpost_ingest_rejected_total` per reason."""
    out: dict[str, int] = {}
    for family in metrics.rejected.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                out[sample.labels["reason"]] = int(sample.value)
    return out


def _int(source: Mapping[str, int | str], key: str) -> int:
    value = source.get(key, 0)
    return value if isinstance(value, int) else 0


def stats_lines(
    hub: str,
    ts: datetime,
    metrics: HubMetrics,
    lane: Mapping[str, int | str],
    writer: Mapping[str, int | str],
    dispatch_pending: int,
) -> list[str]:
    """Return the `hub_stats` points of one moment."""
    fields = {
        "telemetry_received_total": _int(lane, "received"),
        "telemetry_points_total": _int(lane, "points"),
        "telemetry_shed_total": _int(lane, "shed"),
        "telemetry_rejected_total": _int(lane, "rejected"),
        "telemetry_queue": _int(lane, "queue"),
        "points_written": _int(writer, "points_written"),
        "points_spilled": _int(writer, "points_spilled"),
        "points_dropped": _int(writer, "points_dropped_invalid")
        + _int(writer, "points_dropped_spill_full"),
        "dispatch_pending": dispatch_pending,
    }
    lines = [build_line("hub_stats", {"hub": hub}, {k: f"{v}i" for k, v in fields.items()}, ts)]
    for reason, n in sorted(rejected_by_reason(metrics).items()):
        tags = {"hub": hub, "reason": reason}
        lines.append(build_line("hub_stats", tags, {"rejected_total": f"{n}i"}, ts))
    return lines


async def write_stats(
    hub: str,
    metrics: HubMetrics,
    lane: Source,
    writer: Source,
    pending: Callable[[], int],
    submit: Callable[[Sequence[str]], None],
    every_s: float = 10.0,
) -> None:
    """Submit the `hub_stats` points every `every_s`, until cancelled."""
    while True:
        await asyncio.sleep(every_s)
        try:
            submit(stats_lines(hub, utcnow(), metrics, lane(), writer(), pending()))
        except ValueError:  # a reason line protocol cannot carry: skip this round, say why
            log.warning("hub_stats not written this round", exc_info=True)
