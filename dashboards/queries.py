"""The InfluxQL of every panel and alert rule, built once from the schema in docs/influx.md.

Grafana expands `$timeFilter`, `$__interval` and the `$site`/`$grid`/`$device` variables
(`dashboards.macros` does the same in the tests and the pictures).
"""

# ruff: noqa: S608  # queries are built from constants at build time; no input reaches them
from __future__ import annotations

ACK_TARGET_S = 60  # acknowledged within 60 s
ARRIVE_TARGET_S = 180  # fire station on scene within 3 minutes
RESPONSE_TARGET_S = 60  # fire station starts its response within 1 minute

SITE = '"site" =~ /^$site$/'
GRID = '"grid" =~ /^$grid$/'
DEVICE = '"device" =~ /^$device$/'
RAISED = "\"state\" = 'raised'"
CLOSED = '"state" =~ /^(resolved|cancelled)$/'
ACKED = "\"state\" = 'acknowledged'"
ON_SCENE = "\"state\" = 'on_scene'"
LIFE_SAFETY = '"class" =~ /^(fire|call|fall)$/'
FIRE = "\"class\" = 'fire'"
FIRE_OR_PRE = '"class" =~ /^(fire|pre_alarm)$/'
TROUBLE_KINDS = '"kind" =~ /^(low_battery|tamper|fault)$/'
CHECKIN = "\"kind\" = 'activity' AND \"what\" = 'checkin'"  # "I'm OK" (docs/influx.md)
ACTIVITY_KIND = "\"kind\" = 'activity'"
INACTIVITY_CLASS = "\"class\" = 'inactivity'"
SIREN_ON = '"cmd" = \'siren\' AND "on" = 1'
ACK_OR_ON_SCENE = '"state" =~ /^(acknowledged|on_scene)$/'
IS_SUSPECT = '"suspect" = 1'
BY_TIME = "GROUP BY time($__interval)"


def where(*conditions: str, site: bool = True, grid: bool = True) -> str:
    """Return a WHERE clause with the site/grid variables, the conditions and $timeFilter."""
    parts = ([SITE] if site else []) + ([GRID] if grid else []) + list(conditions)
    return "WHERE " + " AND ".join([*parts, "$timeFilter"])


# InfluxQL cannot follow one alarm by its alarm_id field: open = raised − closed in the window.
OPEN_ALARMS = (
    'SELECT sum("n") AS "open" FROM '
    f'(SELECT count("alarm_id") AS "n" FROM "alarm" {where(RAISED)} GROUP BY "class"), '
    f'(SELECT -1 * count("alarm_id") AS "n" FROM "alarm" {where(CLOSED)} GROUP BY "class") '
    'WHERE $timeFilter GROUP BY "class"'
)
ALARMS_PER_DAY = (
    f'SELECT count("alarm_id") FROM "alarm" {where(RAISED)} '
    'GROUP BY time(1d), "class", "grid" fill(none)'
)
RECENT_TRANSITIONS = (
    'SELECT "grid", "class", "state", "alarm_id", "seconds_since_raised" FROM "alarm" '
    f"{where()} ORDER BY time DESC LIMIT 100"
)
LIFE_SAFETY_RAISED = f'SELECT "alarm_id", "class", "grid" FROM "alarm" {where(RAISED, LIFE_SAFETY)}'
ALL_RAISED = f'SELECT "alarm_id", "class", "grid" FROM "alarm" {where(RAISED)}'
DEVICES_ONLINE = (
    'SELECT sum("last") AS "online", count("last") - sum("last") AS "offline" '
    f'FROM (SELECT last("online") FROM "device_status" {where()} GROUP BY "device") '
    "WHERE $timeFilter"
)


def seconds_stats(state: str, *conditions: str) -> str:
    """Return p50 and p90 of `seconds_since_raised` of one transition, per class."""
    return (
        'SELECT percentile("seconds_since_raised", 50) AS "p50", '
        'percentile("seconds_since_raised", 90) AS "p90" '
        f'FROM "alarm" {where(state, *conditions)} GROUP BY "class"'
    )


def seconds_series(state: str, *conditions: str) -> str:
    """Return each transition's `seconds_since_raised` as points in time, per class."""
    return (
        f'SELECT max("seconds_since_raised") FROM "alarm" {where(state, *conditions)} '
        f'{BY_TIME}, "class" fill(none)'
    )


def inside_target(state: str, target_s: int, *conditions: str, by: str = "class") -> str:
    """Return the % of one transition reached within `target_s` of the raise."""
    # InfluxQL has no IF: for s ≥ 0, 1 − floor(s / (s + T) + 0.5) is 1 when s ≤ T, else 0.
    inside = f'1 - floor("seconds_since_raised" / ("seconds_since_raised" + {target_s}.001) + 0.5)'
    return (
        f'SELECT 100 * mean("inside") AS "inside" FROM (SELECT {inside} AS "inside" '
        f'FROM "alarm" {where(state, *conditions)} GROUP BY "{by}") '
        f'WHERE $timeFilter GROUP BY "{by}"'
    )


TIME_TO_ACK = seconds_stats(ACKED, LIFE_SAFETY)
TIME_TO_ARRIVE = seconds_stats(ON_SCENE, LIFE_SAFETY)
ACK_SERIES = seconds_series(ACKED, LIFE_SAFETY)
ARRIVE_SERIES = seconds_series(ON_SCENE, LIFE_SAFETY)
ACK_INSIDE = inside_target(ACKED, ACK_TARGET_S, LIFE_SAFETY)
ARRIVE_INSIDE = inside_target(ON_SCENE, ARRIVE_TARGET_S, FIRE)

# Mini fire station: fires and pre-alarms; response start = the station's acknowledgement.
FIRE_ALARMS = (
    f'SELECT count("alarm_id") FROM "alarm" {where(RAISED, FIRE_OR_PRE)} '
    f'{BY_TIME}, "class" fill(none)'
)
FIRE_OPEN = OPEN_ALARMS.replace('"alarm" WHERE', f'"alarm" WHERE {FIRE_OR_PRE} AND')
FIRE_RESPONSE = seconds_series(ACKED, FIRE)
FIRE_ARRIVAL = seconds_series(ON_SCENE, FIRE)
FIRE_STATS = (
    'SELECT percentile("seconds_since_raised", 50) AS "p50", '
    'percentile("seconds_since_raised", 90) AS "p90" '
    f'FROM "alarm" {where(FIRE, ACK_OR_ON_SCENE)} GROUP BY "state"'
)
FIRE_RESPONSE_INSIDE = inside_target(ACKED, RESPONSE_TARGET_S, FIRE, by="grid")
FIRE_ARRIVAL_INSIDE = inside_target(ON_SCENE, ARRIVE_TARGET_S, FIRE, by="grid")
SMOKE_LEVEL = (
    f'SELECT max("smoke_level") FROM "telemetry" {where()} {BY_TIME}, "grid", "device" fill(none)'
)
SIRENS = (
    'SELECT count("ok") FROM "command" '
    f"{where(SIREN_ON, grid=False)} "
    f'{BY_TIME}, "device" fill(none)'
)
SIRENS_TOTAL = (
    'SELECT count("ok") AS "sirens", sum("ok") AS "published" FROM "command" '
    f"{where(SIREN_ON, grid=False)}"
)

# Device health.
HEARTBEATS = (
    f'SELECT count("online") FROM "device_status" {where(DEVICE)} {BY_TIME}, "device" fill(0)'
)
HEARTBEAT_GAPS = (
    'SELECT max("gap") AS "longest gap", last("gap") AS "last gap" FROM '
    f'(SELECT elapsed("online", 1s) AS "gap" FROM "device_status" {where(DEVICE)} '
    'GROUP BY "device") WHERE $timeFilter GROUP BY "device"'
)
OFFLINE_DEVICES = (
    'SELECT "online" FROM (SELECT last("online") AS "online" FROM "device_status" '
    f'{where()} GROUP BY "grid", "device") WHERE "online" = 0 AND $timeFilter '
    'GROUP BY "grid", "device"'
)
FIRMWARE = (
    f'SELECT last("fw") AS "fw" FROM "device_status" {where(DEVICE)} GROUP BY "grid", "device"'
)
FIRMWARE_COUNT = (
    'SELECT count("fw") AS "devices" FROM '
    f'(SELECT last("fw") AS "fw" FROM "device_status" {where(DEVICE)} GROUP BY "device") '
    "WHERE $timeFilter"
)
SUSPECT = (  # the latest device_quality point per device is its state (docs/influx.md)
    'SELECT "suspect", "false_alarms" FROM (SELECT last("suspect") AS "suspect", '
    'last("false_alarms_30d") AS "false_alarms" FROM "device_quality" '
    f'{where(DEVICE)} GROUP BY "grid", "device") WHERE {IS_SUSPECT} AND $timeFilter '
    'GROUP BY "grid", "device"'
)
MISSING_SEQ = (
    'SELECT max("seq") - min("seq") + 1 - count("seq") AS "missing", '
    f'count("seq") AS "received" FROM "event" {where(DEVICE)} GROUP BY "device"'
)
TROUBLE_EVENTS = (
    f'SELECT count("seq") FROM "event" {where(DEVICE, TROUBLE_KINDS)} {BY_TIME}, "kind" fill(none)'
)
HUB_WHERE = where('"hub" =~ /^$hub$/', site=False, grid=False)
REJECTED = (
    f'SELECT non_negative_difference(last("rejected_total")) FROM "hub_stats" {HUB_WHERE} '
    f'{BY_TIME}, "hub", "reason" fill(none)'
)
SHED = (
    f'SELECT non_negative_difference(last("telemetry_shed_total")) FROM "hub_stats" '
    f'{HUB_WHERE} {BY_TIME}, "hub" fill(none)'
)
POINTS_WRITTEN = (
    f'SELECT non_negative_difference(last("points_written")) FROM "hub_stats" {HUB_WHERE} '
    f'{BY_TIME}, "hub" fill(none)'
)


def reading_per_device(reading: str, aggregate: str) -> str:
    """Return a per-device time series of one telemetry reading."""
    return (
        f'SELECT {aggregate}("{reading}") FROM "telemetry" {where(DEVICE)} '
        f'{BY_TIME}, "device" fill(none)'
    )


# Resident wellbeing: a household is known here by its devices (no household tag is written).
ACTIVITY = (
    f'SELECT count("seq") FROM "event" {where(DEVICE, ACTIVITY_KIND)} '
    'GROUP BY time(1h), "device" fill(0)'
)
CHECKINS = (
    f'SELECT count("seq") AS "check-ins", last("seq") AS "last seq" FROM "event" '
    f'{where(DEVICE, CHECKIN)} GROUP BY "grid", "device"'
)
INACTIVITY = (
    f'SELECT count("alarm_id") FROM "alarm" {where(RAISED, INACTIVITY_CLASS)} '
    f'{BY_TIME}, "grid" fill(none)'
)
INACTIVITY_OPEN = OPEN_ALARMS.replace('"alarm" WHERE', f'"alarm" WHERE {INACTIVITY_CLASS} AND')
COVERAGE = (
    'SELECT 100 * last("visited") / last("due") AS "coverage" FROM "care_coverage" '
    f'{where()} GROUP BY "grid"'
)
COVERAGE_SERIES = (
    'SELECT 100 * last("visited") / last("due") FROM "care_coverage" '
    f'{where()} {BY_TIME}, "grid" fill(previous)'
)
GRID_WORKER = "\"role\" = 'grid_worker'"
FIRE_STATION = "\"role\" = 'fire_station'"
# hub/duty.py: grid workers per grid; the overseeing roles with grid "-".
ON_DUTY = f'SELECT last("count") AS "on duty" FROM "on_duty" {where(GRID_WORKER)} GROUP BY "grid"'
FIRE_STATION_ON_DUTY = (
    f'SELECT last("count") AS "on duty" FROM "on_duty" {where(FIRE_STATION, grid=False)}'
)
FIRE_ALARMS_RAISED = f'SELECT "alarm_id", "class", "grid" FROM "alarm" {where(RAISED, FIRE_OR_PRE)}'

# Alert rules: no template variables (Grafana evaluates them on the server); one alert
# instance per series, so each groups by the tags a duty officer needs to act.
FIRE_UNACKED = (
    'SELECT sum("n") AS "unacknowledged" FROM '
    f'(SELECT count("alarm_id") AS "n" FROM "alarm" WHERE {FIRE} AND {RAISED} '
    f'AND time <= now() - {ACK_TARGET_S}s AND $timeFilter GROUP BY "site", "grid"), '
    f'(SELECT -1 * count("alarm_id") AS "n" FROM "alarm" WHERE {FIRE} '
    'AND "state" =~ /^(acknowledged|cancelled)$/ AND $timeFilter GROUP BY "site", "grid") '
    'WHERE $timeFilter GROUP BY "site", "grid"'
)
NOBODY_ON_DUTY = (
    f'SELECT last("count") AS "on duty" FROM "on_duty" WHERE {GRID_WORKER} AND $timeFilter '
    'GROUP BY "site", "grid"'
)
HUB_WRITING = (
    'SELECT sum("written") AS "written" FROM '
    '(SELECT spread("points_written") AS "written" FROM "hub_stats" '
    'WHERE time > now() - 2m AND $timeFilter GROUP BY "hub"), '
    '(SELECT 0 * count("points_written") AS "written" FROM "hub_stats" '
    'WHERE $timeFilter GROUP BY "hub") WHERE $timeFilter GROUP BY "hub"'
)
