"""The InfluxQL of every panel, built once from the schema in docs/influx.md.

Grafana expands `$timeFilter`, `$__interval` and the `$site`/`$grid`/`$device` variables.
"""

# ruff: noqa: S608  # queries are built from constants at build time; no input reaches them
from __future__ import annotations

from dashboards.panels import where

DEVICE = '"device" =~ /^$device$/'
RAISED = "\"state\" = 'raised'"
CLOSED = '"state" =~ /^(resolved|cancelled)$/'
ACKNOWLEDGED = "\"state\" = 'acknowledged'"
TROUBLE_KINDS = '"kind" =~ /^(low_battery|tamper|fault)$/'
TROUBLE_CLASS = "\"class\" = 'trouble'"
LOW_BATTERY = "\"kind\" = 'low_battery'"
OFFLINE = '"online" = 0'
BY_DEVICE = 'GROUP BY "grid", "device"'
LIFE_SAFETY = '"class" =~ /^(fire|call|fall)$/'

# InfluxQL cannot follow one alarm by its alarm_id field: open = raised − closed in the window.
OPEN_ALARMS = (
    'SELECT sum("n") AS "open" FROM '
    f'(SELECT count("alarm_id") AS "n" FROM "alarm" {where(RAISED)} GROUP BY "class"), '
    f'(SELECT -1 * count("alarm_id") AS "n" FROM "alarm" {where(CLOSED)} GROUP BY "class") '
    'WHERE $timeFilter GROUP BY "class"'
)
ALARMS_RAISED = f'SELECT count("alarm_id") FROM "alarm" {where(RAISED)} GROUP BY "class"'
RECENT_TRANSITIONS = (
    'SELECT "grid", "class", "state", "alarm_id", "seconds_since_raised" FROM "alarm" '
    f"{where()} ORDER BY time DESC LIMIT 100"
)
LIFE_SAFETY_RAISED = f'SELECT "alarm_id", "class", "grid" FROM "alarm" {where(RAISED, LIFE_SAFETY)}'
ALARM_TRANSITIONS = (
    f'SELECT count("alarm_id") FROM "alarm" {where()} '
    'GROUP BY time($__interval), "class", "state" fill(none)'
)
TIME_TO_ACK = (
    f'SELECT mean("seconds_since_raised") FROM "alarm" {where(ACKNOWLEDGED)} '
    'GROUP BY time($__interval), "class" fill(none)'
)
TIME_TO_ACK_STATS = (
    'SELECT median("seconds_since_raised") AS "median", '
    'percentile("seconds_since_raised", 90) AS "p90" '
    f'FROM "alarm" {where(ACKNOWLEDGED)} GROUP BY "class"'
)
DEVICES_ONLINE = (
    'SELECT sum("last") AS "在线 online", count("last") - sum("last") AS "离线 offline" '
    f'FROM (SELECT last("online") FROM "device_status" {where()} GROUP BY "device") '
    "WHERE $timeFilter"
)
EVENTS_BY_KIND = (
    f'SELECT count("seq") FROM "event" {where()} GROUP BY time($__interval), "kind" fill(none)'
)
SMOKE_LEVEL = (
    f'SELECT max("smoke_level") FROM "telemetry" {where()} '
    'GROUP BY time($__interval), "device" fill(none)'
)
LOW_BATTERY_EVENTS = (
    'SELECT last("seq") AS "seq", count("seq") AS "次数 reports" FROM "event" '
    f"{where(LOW_BATTERY)} {BY_DEVICE}"
)
BATTERY_BELOW_20 = (
    'SELECT "battery" FROM (SELECT last("battery") AS "battery" FROM "telemetry" '
    f'{where()} {BY_DEVICE}) WHERE "battery" < 20 AND $timeFilter {BY_DEVICE}'
)
OFFLINE_DEVICES = (
    'SELECT "online" FROM (SELECT last("online") AS "online" FROM "device_status" '
    f'{where()} {BY_DEVICE}) WHERE "online" = 0 AND $timeFilter {BY_DEVICE}'
)

ONLINE_TIMELINE = (
    f'SELECT last("online") FROM "device_status" {where(DEVICE)} '
    'GROUP BY time($__interval), "device" fill(previous)'
)
OFFLINE_REPORTS = (
    'SELECT count("online") AS "离线 offline" FROM "device_status" '
    f"{where(DEVICE, OFFLINE)} {BY_DEVICE}"
)
MISSING_SEQ = (
    'SELECT max("seq") - min("seq") + 1 - count("seq") AS "missing", '
    f'count("seq") AS "received" FROM "event" {where(DEVICE)} GROUP BY "device"'
)
LAST_TELEMETRY = (
    f'SELECT last("uptime_s") AS "uptime_s" FROM "telemetry" {where(DEVICE)} {BY_DEVICE}'
)
TROUBLE_EVENTS = (
    f'SELECT count("seq") FROM "event" {where(DEVICE, TROUBLE_KINDS)} '
    'GROUP BY time($__interval), "device", "kind" fill(none)'
)
TROUBLE_ALARMS = (
    f'SELECT count("alarm_id") FROM "alarm" {where(TROUBLE_CLASS, RAISED)} '
    'GROUP BY time($__interval), "grid" fill(none)'
)


def reading_per_device(reading: str, aggregate: str) -> str:
    """Return a per-device time series of one telemetry reading."""
    return (
        f'SELECT {aggregate}("{reading}") FROM "telemetry" {where(DEVICE)} '
        'GROUP BY time($__interval), "device" fill(none)'
    )
