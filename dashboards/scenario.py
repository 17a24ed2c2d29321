"""Six simulated hours of one community, as line protocol, for the tests and the pictures.

Three grids of five devices (smoke, call button, fall sensor, motion sensor, gateway): telemetry
and heartbeats every minute (two devices flap, two end offline, one skips five event `seq`);
events of every kind and hourly activity per household; alarms through raised → notified →
acknowledged → on_scene → resolved, some inside the targets (ack ≤ 60 s, on scene ≤ 180 s),
some outside, a fire in grid-3 still unacknowledged, pre-alarms, inactivity and trouble; sirens;
rosters (grid-3 has nobody on duty at the end), care-round coverage, a suspect device, and two
hubs' counters (hub-b stopped writing 5 minutes ago). Shapes: docs/influx.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.influx import (
    alarm_line,
    command_line,
    device_quality_line,
    event_line,
    status_line,
    telemetry_line,
)
from hub.influx.lines import build_line

HOURS = 6
GRIDS = ("grid-1", "grid-2", "grid-3")
ROLES = ("smoke", "call", "fall", "motion", "gateway")
KINDS: tuple[str, ...] = (
    "call",
    "cancel",
    "fall",
    "smoke",
    "smoke_clear",
    "inactivity",
    "tamper",
    "fault",
)
KINDS += ("low_battery", "test")
LOW_BATTERY_DEVICES = {"grid-1-smoke", "grid-2-fall"}
FLAPPING_DEVICES = {"grid-2-fall", "grid-3-gateway"}
OFFLINE_AT_END = {"grid-2-fall", "grid-3-gateway"}
GAP_DEVICE, SEQ_GAP = "grid-1-call", 5  # five events of this device never arrived
SUSPECT_DEVICE = "grid-2-smoke"
OLD_FIRMWARE = "1.3.0"  # grid-3 runs it; everyone else 1.4.2
NOBODY_ON_DUTY_GRID = "grid-3"
OVERSEEING = {"duty_officer": 1, "fire_station": 4, "supervisor": 1, "maintenance": 0}
STOPPED_HUB = "hub-b"
UNACKED_FIRE_GRID = "grid-3"
# (grid, class, minutes before now, seconds to ack, seconds to on_scene, outcome state)
ALARMS: tuple[tuple[str, str, float, float | None, float | None, str], ...] = (
    ("grid-1", "fire", 300, 42, 150, "resolved"),
    ("grid-2", "fire", 200, 75, 240, "resolved"),
    ("grid-3", "fire", 2, None, None, ""),
    ("grid-1", "pre_alarm", 320, 30, None, "resolved"),
    ("grid-2", "pre_alarm", 150, 20, None, "resolved"),
    ("grid-3", "pre_alarm", 90, 55, None, "resolved"),
    ("grid-1", "call", 250, 35, 420, "resolved"),
    ("grid-2", "call", 180, 50, 600, "resolved"),
    ("grid-2", "call", 40, 20, None, ""),
    ("grid-3", "call", 100, 95, 700, "resolved"),
    ("grid-1", "fall", 130, 28, 380, "resolved"),
    ("grid-2", "fall", 60, 45, 500, "resolved"),
    ("grid-3", "fall", 35, 70, None, ""),
    ("grid-1", "inactivity", 230, 300, 1500, "resolved"),
    ("grid-3", "inactivity", 70, 120, None, ""),
    ("grid-2", "inactivity", 110, 240, 1300, "resolved"),
    ("grid-2", "call", 20, None, None, "cancelled"),
    ("grid-2", "trouble", 25, 900, None, ""),
    ("grid-3", "trouble", 15, None, None, ""),
)


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
    battery = 18.0 if dev.id in LOW_BATTERY_DEVICES else 80.0 + rng.random() * 15
    steps = HOURS * 60
    for step in range(steps):
        ts = now - timedelta(seconds=60 * (steps - step) - rng.random())
        readings = {
            "uptime_s": 86_400.0 + 60 * step,
            "outbox": float(rng.randint(0, 2) + (12 if 200 <= step < 215 else 0)),
            "cpu_temp_c": round(45 + rng.random() * 10, 1),
            "battery": round(battery - step * 0.005, 2),
        }
        if dev.role == "smoke":
            spike = 0.35 if dev.grid in ("grid-1", "grid-2") and step in (60, 61, 160) else 0
            readings["smoke_level"] = round(0.02 + rng.random() * 0.01 + spike, 4)
        lines.append(telemetry_line(site, dev.grid, dev.id, ts, readings))
    return lines


def _events(site: str, devs: list[Device], now: datetime) -> list[str]:
    lines, seqs = [], dict.fromkeys((d.id for d in devs), 0)
    for i, kind in enumerate(KINDS * 4):
        dev = devs[i % len(devs)]
        seqs[dev.id] += SEQ_GAP + 1 if dev.id == GAP_DEVICE and seqs[dev.id] == 1 else 1
        ts = now - timedelta(minutes=HOURS * 60 - 5 - 8 * i, milliseconds=i)
        lines.append(event_line(site, dev.grid, dev.id, kind, f"ev-{i:04d}", seqs[dev.id], ts))
    for dev in (d for d in devs if d.role == "motion"):
        quiet = dev.grid == "grid-3"  # fewer signs of life: the inactivity alarm's household
        for minute in range(0, HOURS * 60, 30 if quiet else 10):
            seqs[dev.id] += 1
            ts = now - timedelta(minutes=HOURS * 60 - minute - 3)
            lines.append(
                event_line(site, dev.grid, dev.id, "activity", "", seqs[dev.id], ts, what="motion")
            )
    for n, dev in enumerate(d for d in devs if d.role == "call"):
        for hour in range(HOURS):  # "I'm OK": a short press of the cancel button, or a visit
            seqs[dev.id] += 1
            ts = now - timedelta(hours=HOURS - hour, minutes=-(17 + 5 * n))
            lines.append(
                event_line(site, dev.grid, dev.id, "activity", "", seqs[dev.id], ts, what="checkin")
            )
    return lines


def _alarms(site: str, now: datetime) -> list[str]:
    lines = []
    for n, (grid, cls, minutes, ack, arrive, end) in enumerate(ALARMS):
        raised = now - timedelta(minutes=minutes, milliseconds=n)
        alarm_id = f"al-{n:02d}-{cls}-{grid}"
        states: list[tuple[str, float]] = [("raised", 0.0)]
        if end != "cancelled":
            states.append(("notified", 1.5))
        if ack is not None:
            states.append(("acknowledged", ack))
        if arrive is not None:
            states.append(("on_scene", arrive))
        if end:
            states.append((end, max(s for _, s in states) + 600 if end == "resolved" else 8.0))
        lines += [
            alarm_line(site, grid, cls, state, alarm_id, after, raised + timedelta(seconds=after))
            for state, after in states
            if raised + timedelta(seconds=after) < now
        ]
        if cls == "fire":
            for on, after in ((True, 5.0), (False, (arrive or 0) + 600)):
                ts = raised + timedelta(seconds=after)
                if ts < now:
                    lines.append(command_line(site, f"{grid}-smoke", "siren", True, ts, on=on))
    return lines


def _status(site: str, dev: Device, now: datetime) -> list[str]:
    lines = []
    fw = OLD_FIRMWARE if dev.grid == "grid-3" else "1.4.2"
    steps = HOURS * 60
    for minute in range(steps):
        online = not (
            (dev.id in FLAPPING_DEVICES and minute in (100, 101, 102, 250))
            or (dev.id in OFFLINE_AT_END and minute >= steps - 5)
        )
        if not online and minute in (101, 102):
            continue  # the device's heartbeats stopped: a gap, not an offline report
        ts = now - timedelta(minutes=steps - minute, seconds=7)
        lines.append(status_line(site, dev.grid, dev.id, online, ts, fw=fw))
    if dev.role == "smoke":  # false alarms: the suspect device reaches 3 (docs/influx.md)
        count = 3 if dev.id == SUSPECT_DEVICE else 1
        for n in range(1, count + 1):
            ts = now - timedelta(hours=4 - n)
            lines.append(device_quality_line(site, dev.grid, dev.id, n, n >= 3, ts))
    return lines


def _people(site: str, now: datetime) -> list[str]:
    lines = []
    for grid in GRIDS:
        for step in range(HOURS * 12):
            ts = now - timedelta(minutes=5 * (HOURS * 12 - step), seconds=11)
            late = step >= HOURS * 12 - 4
            n = 0 if grid == NOBODY_ON_DUTY_GRID and late else 2
            tags = {"site": site, "grid": grid, "role": "grid_worker"}
            lines.append(build_line("on_duty", tags, {"count": f"{n}i"}, ts))
            if grid == GRIDS[0]:  # the overseeing roles, grid "-" (hub/duty.py)
                for role, count in OVERSEEING.items():
                    tags = {"site": site, "grid": "-", "role": role}
                    lines.append(build_line("on_duty", tags, {"count": f"{count}i"}, ts))
        due = {"grid-1": 20, "grid-2": 16, "grid-3": 12}[grid]
        for hour in range(HOURS):
            visited = min(due, (hour + 1) * {"grid-1": 4, "grid-2": 3, "grid-3": 1}[grid])
            fields = {"due": f"{due}i", "visited": f"{visited}i", "coverage": f"{visited / due}"}
            ts = now - timedelta(hours=HOURS - hour - 1, minutes=30)
            lines.append(build_line("care_coverage", {"site": site, "grid": grid}, fields, ts))
    return lines


def _hubs(now: datetime) -> list[str]:
    lines = []
    for hub, stopped in (("hub-a", 0), (STOPPED_HUB, 5)):
        written, shed, rejected = 0, 0, {"not_json": 0, "unknown_device": 0, "rate_limited": 0}
        for step in range(HOURS * 120 - stopped * 2):
            ts = now - timedelta(seconds=30 * (HOURS * 120 - step), milliseconds=3)
            written += 900 + (step % 7) * 20
            shed += 40 if 400 <= step < 420 and hub == "hub-a" else 0
            for reason in rejected:
                rejected[reason] += (
                    step % {"not_json": 5, "unknown_device": 3}.get(reason, 11)
                ) == 0
            fields = {"points_written": f"{written}i", "telemetry_shed_total": f"{shed}i"}
            lines.append(build_line("hub_stats", {"hub": hub}, fields, ts))
            for reason, n in rejected.items():
                tags = {"hub": hub, "reason": reason}
                lines.append(build_line("hub_stats", tags, {"rejected_total": f"{n}i"}, ts))
    return lines


def scenario_lines(site: str, now: datetime, seed: int = 7) -> list[str]:
    """Return every point of the simulated hours that end at `now`."""
    rng = random.Random(seed)
    devs = devices()
    lines = _events(site, devs, now) + _alarms(site, now) + _people(site, now) + _hubs(now)
    for dev in devs:
        lines += _telemetry(site, dev, now, rng) + _status(site, dev, now)
    return lines
