"""Time series to InfluxDB 1.x (v1 `/write`, line protocol) or 2.x (`influxdb-client`).

Public API used by the rest of the hub::

    settings = InfluxSettings(url="http://127.0.0.1:8086", database="watchpost")
    async with InfluxWriter(settings) as writer:   # detects 1.x/2.x, sets up retention
        writer.submit([telemetry_line(...), alarm_line(...)])   # never blocks, never raises
        writer.stats()                                          # counters for /metrics
"""

from hub.influx.lines import (
    LineError,
    alarm_line,
    command_line,
    device_quality_line,
    event_line,
    status_line,
    telemetry_line,
)
from hub.influx.settings import InfluxSettings
from hub.influx.writer import InfluxWriter

__all__ = [
    "InfluxSettings",
    "InfluxWriter",
    "LineError",
    "alarm_line",
    "command_line",
    "device_quality_line",
    "event_line",
    "status_line",
    "telemetry_line",
]
