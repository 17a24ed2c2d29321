"""Generate Watchpost's Grafana dashboards (InfluxQL on InfluxDB 1.x) as JSON files.

Run from the repository root: `python -m dashboards.build` writes `dashboards/watchpost/*.json`;
`python -m dashboards.build --check` exits 1 when the files are out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dashboards import queries as q
from dashboards.panels import JSON, Layout, annotation, dashboard, site_variables, target

OUT_DIR = Path(__file__).resolve().parent / "watchpost"
ONLINE_MAP = [
    {
        "type": "value",
        "options": {
            "0": {"text": "离线 offline", "color": "red"},
            "1": {"text": "在线 online", "color": "green"},
        },
    }
]
BARS: JSON = {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}
NAMED_VALUE: JSON = {"graphMode": "none", "textMode": "value_and_name"}
LIFE_SAFETY_MARKERS = annotation(
    "生命安全告警 / Life-safety alarms raised",
    q.LIFE_SAFETY_RAISED,
    color="red",
    tags="class",
    text="alarm_id",
)


def _overview_counts(lay: Layout) -> None:
    lay.add(
        "stat",
        "未结束告警 / Open alarms by class",
        [target(q.OPEN_ALARMS, alias="$tag_class")],
        size=(8, 6),
        description="Raised minus resolved/cancelled over the last 7 days (the alarm board "
        "in the hub is authoritative).",
        time_from="7d",
        options={"colorMode": "background", **NAMED_VALUE},
    )
    lay.add(
        "stat",
        "告警数 / Alarms raised in range",
        [target(q.ALARMS_RAISED, alias="$tag_class")],
        size=(8, 6),
        options=NAMED_VALUE,
    )
    lay.add(
        "stat",
        "设备在线 / Devices online and offline",
        [target(q.DEVICES_ONLINE)],
        size=(8, 6),
        description="Last status of every device that reported in the time range.",
        options=NAMED_VALUE,
    )


def _overview_alarms(lay: Layout) -> None:
    lay.add(
        "timeseries",
        "告警趋势 / Alarm transitions by class and state",
        [target(q.ALARM_TRANSITIONS, alias="$tag_class · $tag_state")],
        size=(24, 8),
        custom=BARS,
    )
    lay.add(
        "timeseries",
        "确认用时 / Time to acknowledge",
        [target(q.TIME_TO_ACK, alias="$tag_class")],
        unit="s",
        custom={"drawStyle": "points", "pointSize": 6},
    )
    lay.add(
        "bargauge",
        "确认用时中位数与 P90 / Median and p90 time to acknowledge",
        [target(q.TIME_TO_ACK_STATS, alias="$tag_class $col")],
        unit="s",
        options={"orientation": "horizontal", "displayMode": "gradient"},
    )


def _overview_devices(lay: Layout) -> None:
    lay.add(
        "timeseries",
        "事件 / Events per kind",
        [target(q.EVENTS_BY_KIND, alias="$tag_kind")],
        custom=BARS,
    )
    lay.add(
        "timeseries",
        "烟感浓度 / Smoke level per device",
        [target(q.SMOKE_LEVEL, alias="$tag_device")],
    )
    lay.add(
        "table",
        "低电量设备 / Low battery",
        [
            target(q.LOW_BATTERY_EVENTS, table=True),
            target(q.BATTERY_BELOW_20, ref="B", table=True),
        ],
        description="A: devices that sent low_battery events; B: last battery reading < 20 %.",
    )
    lay.add("table", "离线设备 / Offline devices", [target(q.OFFLINE_DEVICES, table=True)])
    lay.add(
        "table",
        "最近告警变化 / Recent alarm transitions",
        [target(q.RECENT_TRANSITIONS, table=True)],
        size=(24, 10),
        unit="s",
    )


def community_overview() -> JSON:
    """Return the duty officer's overview: alarms, acknowledgement times, devices, events."""
    lay = Layout()
    _overview_counts(lay)
    _overview_alarms(lay)
    _overview_devices(lay)
    return dashboard(
        "watchpost-overview",
        "社区总览 / Community overview",
        "Alarms, acknowledgement times, devices and events of one community.",
        lay,
        site_variables(),
        [LIFE_SAFETY_MARKERS],
    )


def _health_tables(lay: Layout) -> None:
    online = lay.add(
        "state-timeline",
        "在线状态 / Online",
        [target(q.ONLINE_TIMELINE, alias="$tag_device")],
        size=(24, 8),
    )
    online["fieldConfig"]["defaults"]["mappings"] = ONLINE_MAP
    lay.add(
        "table",
        "离线次数 / Offline reports per device",
        [target(q.OFFLINE_REPORTS, table=True)],
        size=(8, 8),
    )
    lay.add(
        "table",
        "丢失事件 / Missing event sequence numbers",
        [target(q.MISSING_SEQ, table=True)],
        size=(8, 8),
        description="Gaps in `seq` per device (a reboot that restarts seq shows as a gap).",
    )
    lay.add(
        "table",
        "最后上报 / Last telemetry",
        [target(q.LAST_TELEMETRY, table=True)],
        size=(8, 8),
    )


def _health_series(lay: Layout) -> None:
    for title, reading, unit, aggregate in (
        ("电量 / Battery", "battery", "percent", "last"),
        ("边缘积压 / Edge outbox backlog", "outbox", "short", "max"),
        ("CPU 温度 / CPU temperature", "cpu_temp_c", "celsius", "mean"),
    ):
        query = q.reading_per_device(reading, aggregate)
        lay.add("timeseries", title, [target(query, alias="$tag_device")], size=(8, 8), unit=unit)
    lay.add(
        "timeseries",
        "故障事件 / Trouble events",
        [target(q.TROUBLE_EVENTS, alias="$tag_device · $tag_kind")],
        custom=BARS,
    )
    lay.add(
        "timeseries",
        "维护告警 / Trouble alarms raised",
        [target(q.TROUBLE_ALARMS, alias="$tag_grid")],
        custom=BARS,
    )


def device_health() -> JSON:
    """Return the maintenance view: availability, battery, backlog and lost events."""
    lay = Layout()
    _health_tables(lay)
    _health_series(lay)
    return dashboard(
        "watchpost-device-health",
        "设备健康 / Device health",
        "Availability, battery, backlog and lost events of every device.",
        lay,
        site_variables(device=True),
        [LIFE_SAFETY_MARKERS],
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
