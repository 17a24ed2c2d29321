"""Settings of the InfluxDB writer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_DURATION = r"^(INF|[1-9][0-9]*[hdw])$"


class InfluxSettings(BaseModel):
    """Where and how the hub writes time series."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, description="http://host:8086; None disables time series")
    database: str = Field("watchpost", description="1.x database (2.x: bucket)")
    username: str | None = Field(None, description="1.x user")
    password: str | None = Field(None, description="1.x password (from env/file, never inline)")
    token: str | None = Field(None, description="2.x API token")
    org: str | None = Field(None, description="2.x organisation")
    batch_size: int = Field(5000, ge=1, description="Points per write request at most")
    flush_interval_s: float = Field(1.0, gt=0, description="Longest a point waits in memory")
    spill_dir: str = Field(
        "var/influx-spill", description="Where points wait while InfluxDB is down"
    )
    api_version: Literal["auto", "1", "2"] = Field(
        "auto", description="auto: from /ping's X-Influxdb-Version; 1 or 2 to force"
    )
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one request")
    retries_before_spill: int = Field(
        3, ge=0, description="Retries of a failing batch before it is spilled to disk"
    )
    backoff_initial_s: float = Field(0.2, gt=0, description="First retry delay (jittered)")
    backoff_max_s: float = Field(10.0, gt=0, description="Cap of the retry/probe delay")
    max_buffer_points: int = Field(
        100_000, ge=1, description="Points held in memory before spilling without retrying"
    )
    max_spill_mb: float = Field(
        1024, gt=0, description="Disk for spilled points; past it the oldest are deleted"
    )
    close_timeout_s: float = Field(
        5.0, gt=0, description="Longest flush on exit; what is left is spilled to disk"
    )
    setup_schema: bool = Field(
        True, description="1.x: create database, retention policies and continuous queries"
    )
    raw_retention_policy: str = Field("watchpost_raw", description="1.x default RP (raw)")
    raw_retention: str = Field("90d", pattern=_DURATION, description="How long raw points live")
    downsampled_retention_policy: str = Field(
        "watchpost_1y", description="1.x RP of the 1-minute continuous-query rollups"
    )
    downsampled_retention: str = Field(
        "365d", pattern=_DURATION, description="How long the 1-minute rollups live"
    )
