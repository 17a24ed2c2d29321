"""A simulated hour of one community, as line protocol built with the hub's line builders.

Three grids with four devices each: telemetry every 30 s (smoke level, battery, outbox, CPU
temperature, uptime), events of every kind (one device skips a seq), alarms through
raised → notified → acknowledged → on_scene → resolved (one still open, one cancelled, one
trouble per grid), and device status heartbeats with flaps (two devices end offline).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.influx import alarm_line, event_line, status_line, telemetry_line
from protocol.messages import EVENT_KINDS

GRIDS = ("grid-1", "grid-2", "grid-3")
ROLES = ("smoke", "call", "fall", "gateway")
KINDS = tuple(k for k in EVENT_KINDS if k != "activity")
LOW_BATTERY_DEVICES = {"grid-1-smoke", "grid-2-fall"}
FLAPPING_DEVICES = {"grid-2-fall", "grid-3-gateway"}
GAP_DEVICE, SEQ_GAP = "grid-1-call", 5  # five events of this device never arrived
OFFLINE_AT_END = {"grid-2-fall", "grid-3-gateway"}


@dataclass(frozen=True)
class Device:
    """One simulated device."""

    grid: str
    role: str

    @property
    def id(self) -> str:
        """Return the device id."""
        return f"{self.grid}-{self.role}"


def devices() -> list[Device]:
    """Return the community's devices."""
    return [Device(grid, role) for grid in GRIDS for role in ROLES]


def _telemetry(site: str, dev: Device, now: datetime, rng: random.Random) -> list[str]:
    lines = []
    battery = 15.0 if dev.id in LOW_BATTERY_DEVICES else 80.0 + rng.random() * 15
    for step in range(120):
        ts = now - timedelta(seconds=3600 - 30 * step - rng.random())
        readings = {
            "uptime_s": 86_400.0 + 30 * step,
            "outbox": float(rng.randint(0, 3)),
            "cpu_temp_c": round(45 + rng.random() * 10, 1),
            "battery": round(battery - step * 0.01, 2),
        }
        if dev.role == "smoke":
            readings["smoke_level"] = round(0.02 + rng.random() * 0.01 + (step == 60) * 0.4, 4)
        lines.append(telemetry_line(site, dev.grid, dev.id, ts, readings))
    return lines


def _events(site: str, devs: list[Device], now: datetime) -> list[str]:
    lines, seqs = [], dict.fromkeys((d.id for d in devs), 0)
    for i, kind in enumerate(KINDS * 3):
        dev = devs[i % len(devs)]
        seqs[dev.id] += SEQ_GAP + 1 if dev.id == GAP_DEVICE and seqs[dev.id] == 1 else 1
        ts = now - timedelta(minutes=50 - i, milliseconds=i)
        lines.append(event_line(site, dev.grid, dev.id, kind, f"ev-{i:04d}", seqs[dev.id], ts))
    return lines


def _alarm(
    site: str, grid: str, cls: str, raised: datetime, states: list[tuple[str, float]]
) -> list[str]:
    alarm_id = f"al-{cls}-{grid}-{raised.minute}"
    return [
        alarm_line(site, grid, cls, state, alarm_id, after, raised + timedelta(seconds=after))
        for state, after in states
    ]


def _alarms(site: str, now: datetime) -> list[str]:
    full = [
        ("raised", 0.0),
        ("notified", 1.5),
        ("acknowledged", 42.0),
        ("on_scene", 300.0),
        ("resolved", 900.0),
    ]
    lines = []
    lines += _alarm(site, "grid-1", "fire", now - timedelta(minutes=55), full)
    lines += _alarm(site, "grid-2", "call", now - timedelta(minutes=40), full)
    lines += _alarm(site, "grid-3", "fall", now - timedelta(minutes=35), full[:3])
    lines += _alarm(site, "grid-1", "call", now - timedelta(minutes=10), full[:2])  # still open
    lines += _alarm(
        site, "grid-2", "call", now - timedelta(minutes=20), [("raised", 0.0), ("cancelled", 8.0)]
    )
    lines += _alarm(site, "grid-3", "trouble", now - timedelta(minutes=25), full[:1])
    lines += _alarm(site, "grid-2", "trouble", now - timedelta(minutes=15), full[:2])
    return lines


def _status(site: str, dev: Device, now: datetime) -> list[str]:
    lines = []
    for minute in range(60):
        online = True
        if dev.id in FLAPPING_DEVICES and minute in (20, 21, 40):
            online = False
        if dev.id in OFFLINE_AT_END and minute >= 55:
            online = False
        ts = now - timedelta(minutes=60 - minute, seconds=7)
        lines.append(status_line(site, dev.grid, dev.id, online, ts))
    return lines


def scenario_lines(site: str, now: datetime, seed: int = 7) -> list[str]:
    """Return every point of the simulated hour that ends at `now`."""
    rng = random.Random(seed)
    devs = devices()
    lines = _events(site, devs, now) + _alarms(site, now)
    for dev in devs:
        lines += _telemetry(site, dev, now, rng) + _status(site, dev, now)
    return lines
