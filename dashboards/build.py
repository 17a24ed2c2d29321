"""Generate Watchpost's Grafana dashboards (InfluxQL on InfluxDB 1.x) as JSON files.

Run from the repository root: `python -m dashboards.build` writes `dashboards/watchpost/*.json`;
`python -m dashboards.build --check` exits 1 when the files are out of date.
"""

# ruff: noqa: S608  # queries are built from constants at build time; no input reaches them
from __future__ import annotations

import json
import sys
from pathlib import Path

from dashboards.panels import JSON, Layout, dashboard, site_variables, target, where

OUT_DIR = Path(__file__).resolve().parent / "watchpost"
DEVICE = '"device" =~ /^$device$/'
CLOSED = '"state" =~ /^(resolved|cancelled)$/'
RAISED = "\"state\" = 'raised'"
LOW_BATTERY = "\"kind\" = 'low_battery'"
OFFLINE = '"online" = 0'
ONLINE_MAP = [
    {
        "type": "value",
        "options": {
            "0": {"text": "离线 offline", "color": "red"},
            "1": {"text": "在线 online", "color": "green"},
        },
    }
]


def _bars() -> JSON:
    return {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}


def community_overview() -> JSON:
    """Return the duty officer's overview: alarms, acknowledgement times, devices, events."""
    lay = Layout()
    open_alarms = (
        'SELECT sum("n") AS "open" FROM '
        f'(SELECT count("alarm_id") AS "n" FROM "alarm" {where(RAISED)} '
        'GROUP BY "class"), '
        f'(SELECT -1 * count("alarm_id") AS "n" FROM "alarm" {where(CLOSED)} GROUP BY "class") '
        'WHERE $timeFilter GROUP BY "class"'
    )
    lay.add(
        "stat",
        "未结束告警 / Open alarms by class",
        [target(open_alarms, alias="$tag_class")],
        size=(8, 6),
        description="Raised minus resolved/cancelled over the last 7 days (the alarm board "
        "in the hub is authoritative).",
        time_from="7d",
        options={"colorMode": "background", "graphMode": "none", "textMode": "value_and_name"},
    )
    raised = f'SELECT count("alarm_id") FROM "alarm" {where(RAISED)} '
    lay.add(
        "stat",
        "告警数 / Alarms raised in range",
        [target(raised + 'GROUP BY "class"', alias="$tag_class")],
        size=(8, 6),
        options={"graphMode": "none", "textMode": "value_and_name"},
    )
    devices = (
        'SELECT sum("last") AS "在线 online", count("last") - sum("last") AS "离线 offline" '
        f'FROM (SELECT last("online") FROM "device_status" {where()} GROUP BY "device") '
        "WHERE $timeFilter"
    )
    lay.add(
        "stat",
        "设备在线 / Devices online and offline",
        [target(devices)],
        size=(8, 6),
        description="Last status of every device that reported in the time range.",
        options={"graphMode": "none", "textMode": "value_and_name"},
    )
    lay.add(
        "timeseries",
        "告警趋势 / Alarm transitions by class and state",
        [
            target(
                f'SELECT count("alarm_id") FROM "alarm" {where()} '
                'GROUP BY time($__interval), "class", "state" fill(none)',
                alias="$tag_class · $tag_state",
            )
        ],
        size=(24, 8),
        custom=_bars(),
    )
    ack = where("\"state\" = 'acknowledged'")
    lay.add(
        "timeseries",
        "确认用时 / Time to acknowledge",
        [
            target(
                f'SELECT mean("seconds_since_raised") FROM "alarm" {ack} '
                'GROUP BY time($__interval), "class" fill(none)',
                alias="$tag_class",
            )
        ],
        unit="s",
        custom={"drawStyle": "points", "pointSize": 6},
    )
    lay.add(
        "bargauge",
        "确认用时中位数与 P90 / Median and p90 time to acknowledge",
        [
            target(
                'SELECT median("seconds_since_raised") AS "median", '
                f'percentile("seconds_since_raised", 90) AS "p90" FROM "alarm" {ack} '
                'GROUP BY "class"',
                alias="$tag_class $col",
            )
        ],
        unit="s",
        options={"orientation": "horizontal", "displayMode": "gradient"},
    )
    lay.add(
        "timeseries",
        "事件 / Events per kind",
        [
            target(
                f'SELECT count("seq") FROM "event" {where()} '
                'GROUP BY time($__interval), "kind" fill(none)',
                alias="$tag_kind",
            )
        ],
        custom=_bars(),
    )
    lay.add(
        "timeseries",
        "烟感浓度 / Smoke level per device",
        [
            target(
                f'SELECT max("smoke_level") FROM "telemetry" {where()} '
                'GROUP BY time($__interval), "device" fill(none)',
                alias="$tag_device",
            )
        ],
    )
    low_battery = (
        'SELECT last("seq") AS "seq", count("seq") AS "次数 reports" FROM "event" '
        f'{where(LOW_BATTERY)} GROUP BY "grid", "device"'
    )
    battery_below = (
        'SELECT "battery" FROM (SELECT last("battery") AS "battery" FROM "telemetry" '
        f'{where()} GROUP BY "grid", "device") WHERE "battery" < 20 AND $timeFilter '
        'GROUP BY "grid", "device"'
    )
    lay.add(
        "table",
        "低电量设备 / Low battery",
        [target(low_battery, table=True), target(battery_below, ref="B", table=True)],
        description="A: devices that sent low_battery events; B: last battery reading < 20 %.",
    )
    offline = (
        'SELECT "online" FROM (SELECT last("online") AS "online" FROM "device_status" '
        f'{where()} GROUP BY "grid", "device") WHERE "online" = 0 AND $timeFilter '
        'GROUP BY "grid", "device"'
    )
    lay.add("table", "离线设备 / Offline devices", [target(offline, table=True)])
    return dashboard(
        "watchpost-overview",
        "社区总览 / Community overview",
        "Alarms, acknowledgement times, devices and events of one community.",
        lay,
        site_variables(),
    )


def device_health() -> JSON:
    """Return the maintenance view: availability, battery, backlog and lost events."""
    lay = Layout()
    dev = where(DEVICE)
    lay.add(
        "state-timeline",
        "在线状态 / Online",
        [
            target(
                f'SELECT last("online") FROM "device_status" {dev} '
                'GROUP BY time($__interval), "device" fill(previous)',
                alias="$tag_device",
            )
        ],
        size=(24, 8),
    )["fieldConfig"]["defaults"]["mappings"] = ONLINE_MAP
    lay.add(
        "table",
        "离线次数 / Offline reports per device",
        [
            target(
                'SELECT count("online") AS "离线 offline" FROM "device_status" '
                f'{where(DEVICE, OFFLINE)} GROUP BY "grid", "device"',
                table=True,
            )
        ],
        size=(8, 8),
    )
    lay.add(
        "table",
        "丢失事件 / Missing event sequence numbers",
        [
            target(
                'SELECT max("seq") - min("seq") + 1 - count("seq") AS "missing", '
                f'count("seq") AS "received" FROM "event" {dev} GROUP BY "device"',
                table=True,
            )
        ],
        size=(8, 8),
        description="Gaps in `seq` per device (a reboot that restarts seq shows as a gap).",
    )
    lay.add(
        "table",
        "最后上报 / Last telemetry",
        [
            target(
                f'SELECT last("uptime_s") AS "uptime_s" FROM "telemetry" {dev} '
                'GROUP BY "grid", "device"',
                table=True,
            )
        ],
        size=(8, 8),
    )
    for title, reading, unit, agg in (
        ("电量 / Battery", "battery", "percent", "last"),
        ("边缘积压 / Edge outbox backlog", "outbox", "short", "max"),
        ("CPU 温度 / CPU temperature", "cpu_temp_c", "celsius", "mean"),
    ):
        lay.add(
            "timeseries",
            title,
            [
                target(
                    f'SELECT {agg}("{reading}") FROM "telemetry" {dev} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    alias="$tag_device",
                )
            ],
            size=(8, 8),
            unit=unit,
        )
    trouble = '"kind" =~ /^(low_battery|tamper|fault)$/'
    lay.add(
        "timeseries",
        "故障事件 / Trouble events",
        [
            target(
                f'SELECT count("seq") FROM "event" {where(DEVICE, trouble)} '
                'GROUP BY time($__interval), "device", "kind" fill(none)',
                alias="$tag_device · $tag_kind",
            )
        ],
        custom=_bars(),
    )
    trouble_alarms = where("\"class\" = 'trouble'", "\"state\" = 'raised'")
    lay.add(
        "timeseries",
        "维护告警 / Trouble alarms raised",
        [
            target(
                f'SELECT count("alarm_id") FROM "alarm" {trouble_alarms} '
                'GROUP BY time($__interval), "grid" fill(none)',
                alias="$tag_grid",
            )
        ],
        custom=_bars(),
    )
    return dashboard(
        "watchpost-device-health",
        "设备健康 / Device health",
        "Availability, battery, backlog and lost events of every device.",
        lay,
        site_variables(device=True),
    )


DASHBOARDS = {
    "community-overview.json": community_overview,
    "device-health.json": device_health,
}


def render() -> dict[str, str]:
    """Return every dashboard file's name and JSON text."""
    return {
        name: json.dumps(build(), ensure_ascii=False, indent=2) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: list[str]) -> int:
    """Write the dashboard files, or with --check report whether they are current."""
    stale = [n for n, text in render().items() if _read(OUT_DIR / n) != text]
    if "--check" in argv:
        for name in stale:
            sys.stderr.write(
                f"dashboards/watchpost/{name} is out of date: run python -m dashboards.build\n"
            )
        return 1 if stale else 0
    OUT_DIR.mkdir(exist_ok=True)
    for name, text in render().items():
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    return 0


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
