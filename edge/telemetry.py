"""Periodic readings of one device: uptime, outbox size, smoke level, CPU temperature, ..."""

from __future__ import annotations

import re
from pathlib import Path

from protocol.codec import encode
from protocol.messages import Telemetry, utcnow

CPU_TEMP = Path("/sys/class/thermal/thermal_zone0/temp")
_NAME = re.compile(r"[^a-z0-9_.-]")


def reading_name(prefix: str, source: str) -> str:
    """Return a valid reading name (`[a-z0-9_.-]{1,64}`) for a free-form source."""
    return f"{prefix}.{_NAME.sub('_', source.lower())}"[:64]


def cpu_temperature_c(path: Path = CPU_TEMP) -> float | None:
    """Return the SoC temperature in °C, or None where the kernel does not expose it."""
    try:
        return int(path.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


class Readings:
    """Collect what the telemetry message reports besides the agent's own counters."""

    def __init__(self) -> None:
        self._last_activity: float | None = None
        self._online: dict[str, bool] = {}

    def activity(self, source: str, now: float) -> None:
        """Note resident activity seen by `source` at monotonic time `now`."""
        self._last_activity = now

    def availability(self, source: str, online: bool) -> None:
        """Note a bridged sub-device's availability."""
        self._online[reading_name("online", source)] = online

    def payload(
        self,
        device: str,
        *,
        now: float,
        uptime_s: float,
        outbox: int,
        smoke_level: float | None,
    ) -> bytes:
        """Build the encoded Telemetry message."""
        readings: dict[str, float] = {"uptime_s": round(uptime_s, 1), "outbox": float(outbox)}
        if smoke_level is not None:
            readings["smoke_level"] = round(smoke_level, 4)
        temp = cpu_temperature_c()
        if temp is not None:
            readings["cpu_temp_c"] = round(temp, 1)
        if self._last_activity is not None:
            readings["activity_age_s"] = round(now - self._last_activity, 1)
        for name, online in list(self._online.items())[:50]:
            readings[name] = 1.0 if online else 0.0
        return encode(Telemetry(device=device, ts=utcnow(), readings=readings))
