"""Line-protocol builders for the schema in ARCHITECTURE.md (ms precision)."""

from __future__ import annotations

from datetime import datetime


def telemetry_line(
    site: str, grid: str, device: str, ts: datetime, readings: dict[str, float]
) -> str:
    """Return a `telemetry` point."""
    raise NotImplementedError


def event_line(
    site: str, grid: str, device: str, kind: str, event_id: str, seq: int, ts: datetime
) -> str:
    """Return an `event` point."""
    raise NotImplementedError


def alarm_line(
    site: str,
    grid: str,
    cls: str,
    state: str,
    alarm_id: str,
    seconds_since_raised: float,
    ts: datetime,
) -> str:
    """Return an `alarm` transition point."""
    raise NotImplementedError


def status_line(site: str, grid: str, device: str, online: bool, ts: datetime) -> str:
    """Return a `device_status` point."""
    raise NotImplementedError
