"""Settings of the InfluxDB writer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
