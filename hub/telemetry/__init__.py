"""The telemetry lane: its own MQTT connection, a bounded queue, counted shedding, batched points.

Public API::

    lane = TelemetryLane(endpoint, writer, metrics, directory.cached_grid, ingest.on_broker_sys)
    tg.create_task(lane.run(), name="telemetry-lane")
"""

from hub.telemetry.lane import SYS_TOPICS, TelemetryLane
from hub.telemetry.wire import Endpoint

__all__ = ["SYS_TOPICS", "Endpoint", "TelemetryLane"]
