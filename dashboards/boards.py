"""The four dashboards: community overview, mini fire station, device health, resident wellbeing.

Each function returns one dashboard in one language; the targets (ack within 60 s, response
start within 1 minute, on scene within 3 minutes, 100 % care-round coverage) are drawn as
thresholds.
"""

from __future__ import annotations

from collections.abc import Callable

from dashboards import queries as q
from dashboards.i18n import text
from dashboards.panels import (
    JSON,
    Layout,
    annotation,
    dashboard,
    over_target,
    reach_target,
    target,
    variables,
)

BARS: JSON = {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal"}}
POINTS: JSON = {"drawStyle": "points", "pointSize": 8}
NAMED: JSON = {"graphMode": "none", "textMode": "value_and_name", "colorMode": "background"}
HBAR: JSON = {"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True}
ONLINE_MAP = [
    {
        "type": "value",
        "options": {"0": {"color": "red", "index": 0}, "1": {"color": "green", "index": 1}},
    }
]


def _alarm_markers(lang: str, fires_only: bool = False) -> JSON:
    key, query = (
        ("anno.fires", q.FIRE_ALARMS_RAISED) if fires_only else ("anno.alarms", q.ALL_RAISED)
    )
    return annotation(text(key, lang), query, color="red", tags="class", text_column="alarm_id")


def community_overview(lang: str) -> JSON:
    """Return the duty officer's overview: open alarms, response times against the targets."""
    lay = Layout(lang)
    lay.add(
        "stat", "open", [target(q.OPEN_ALARMS, alias="$tag_class")], size=(8, 5),
        units="alarms", time_from="7d", options=NAMED, rename=True,
    )  # fmt: skip
    lay.add(
        "stat", "devices_online", [target(q.DEVICES_ONLINE, alias="$col")], size=(6, 5),
        units="devices", options=NAMED, rename=True,
    )  # fmt: skip
    lay.add(
        "gauge", "ack_inside", [target(q.ACK_INSIDE, alias="$tag_class")], size=(5, 5),
        units="percent", steps=reach_target(100), rename=True,
    )  # fmt: skip
    lay.add(
        "gauge", "arrive_inside", [target(q.ARRIVE_INSIDE, alias="$tag_class")], size=(5, 5),
        units="percent", steps=reach_target(100), rename=True,
    )  # fmt: skip
    lay.add(
        "bargauge", "ack_stats", [target(q.TIME_TO_ACK, alias="$tag_class $col")],
        units="seconds", steps=over_target(q.ACK_TARGET_S), options=HBAR, rename=True,
    )  # fmt: skip
    lay.add(
        "bargauge", "arrive_stats", [target(q.TIME_TO_ARRIVE, alias="$tag_class $col")],
        units="seconds", steps=over_target(q.ARRIVE_TARGET_S), options=HBAR, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "ack_series", [target(q.ACK_SERIES, alias="$tag_class")],
        units="seconds", steps=over_target(q.ACK_TARGET_S), custom=POINTS, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "arrive_series", [target(q.ARRIVE_SERIES, alias="$tag_class")],
        units="seconds", steps=over_target(q.ARRIVE_TARGET_S), custom=POINTS, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "per_day", [target(q.ALARMS_PER_DAY, alias="$tag_class · $tag_grid")],
        size=(24, 7), units="alarms", custom=BARS, time_from="7d",
    )  # fmt: skip
    lay.add(
        "table", "recent", [target(q.RECENT_TRANSITIONS, table=True)], size=(24, 8),
        rename=True,
    )  # fmt: skip
    return dashboard("watchpost-overview", "overview", lay, variables(lang), [_alarm_markers(lang)])


def mini_fire_station(lang: str) -> JSON:
    """Return the fire station's view: fires, response and arrival against 1 and 3 minutes."""
    lay = Layout(lang)
    lay.add(
        "stat", "fire_open", [target(q.FIRE_OPEN, alias="$tag_class")], size=(5, 5),
        units="alarms", time_from="7d", options=NAMED, rename=True,
    )  # fmt: skip
    lay.add(
        "stat", "station_on_duty", [target(q.FIRE_STATION_ON_DUTY, alias="$col")], size=(4, 5),
        units="people", steps=reach_target(1), options={**NAMED, "textMode": "value"},
    )  # fmt: skip
    lay.add(
        "stat", "sirens_total", [target(q.SIRENS_TOTAL, alias="$col")], size=(5, 5),
        units="events", options=NAMED, rename=True,
    )  # fmt: skip
    lay.add(
        "bargauge", "fire_response_inside",
        [target(q.FIRE_RESPONSE_INSIDE, alias="$tag_grid")], size=(5, 5),
        units="percent", steps=reach_target(100), options=HBAR,
    )  # fmt: skip
    lay.add(
        "bargauge", "fire_arrival_inside", [target(q.FIRE_ARRIVAL_INSIDE, alias="$tag_grid")],
        size=(5, 5), units="percent", steps=reach_target(100), options=HBAR,
    )  # fmt: skip
    lay.add(
        "timeseries", "fire_alarms", [target(q.FIRE_ALARMS, alias="$tag_class")],
        units="alarms", custom=BARS, rename=True,
    )  # fmt: skip
    lay.add(
        "bargauge", "fire_stats", [target(q.FIRE_STATS, alias="$tag_state $col")],
        units="seconds", steps=over_target(q.ARRIVE_TARGET_S), options=HBAR, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "fire_response", [target(q.FIRE_RESPONSE, alias="$tag_class")],
        units="seconds", steps=over_target(q.RESPONSE_TARGET_S), custom=POINTS, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "fire_arrival", [target(q.FIRE_ARRIVAL, alias="$tag_class")],
        units="seconds", steps=over_target(q.ARRIVE_TARGET_S), custom=POINTS, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "smoke", [target(q.SMOKE_LEVEL, alias="$tag_grid · $tag_device")],
        size=(16, 8), units="level",
    )  # fmt: skip
    lay.add(
        "timeseries", "sirens", [target(q.SIRENS, alias="$tag_device")], size=(8, 8),
        units="events", custom=BARS,
    )  # fmt: skip
    return dashboard(
        "watchpost-fire-station", "fire", lay, variables(lang), [_alarm_markers(lang, True)]
    )


def device_health(lang: str) -> JSON:
    """Return the maintenance view: heartbeats, battery, firmware, suspects, hub counters."""
    lay = Layout(lang)
    lay.add(
        "timeseries", "heartbeats", [target(q.HEARTBEATS, alias="$tag_device")], size=(16, 8),
        units="events", interval="5m", steps=reach_target(5),
    )  # fmt: skip
    lay.add("table", "gaps", [target(q.HEARTBEAT_GAPS, table=True)], size=(8, 8), units="seconds")
    lay.add(
        "timeseries", "battery", [target(q.reading_per_device("battery", "last"), "A",
                                         alias="$tag_device")],
        size=(8, 8), units="percent", steps=reach_target(20),
    )  # fmt: skip
    lay.add(
        "timeseries", "outbox", [target(q.reading_per_device("outbox", "max"),
                                        alias="$tag_device")], size=(8, 8), units="events",
    )  # fmt: skip
    lay.add("table", "offline", [target(q.OFFLINE_DEVICES, table=True)], size=(8, 8))
    lay.add("table", "firmware", [target(q.FIRMWARE, table=True)], size=(8, 8))
    lay.add("table", "suspect", [target(q.SUSPECT, table=True)], size=(8, 8), time_from="30d")
    lay.add("table", "missing_seq", [target(q.MISSING_SEQ, table=True)], size=(8, 8))
    lay.add(
        "timeseries", "trouble_events", [target(q.TROUBLE_EVENTS, alias="$tag_kind")],
        size=(12, 8), units="events", custom=BARS,
    )  # fmt: skip
    lay.add(
        "timeseries", "rejected", [target(q.REJECTED, alias="$tag_hub · $tag_reason")],
        size=(12, 8), units="messages", custom=BARS, interval="5m",
    )  # fmt: skip
    lay.add(
        "timeseries", "shed", [target(q.SHED, alias="$tag_hub")], size=(12, 8),
        units="messages", custom=BARS, interval="5m",
    )  # fmt: skip
    lay.add(
        "timeseries", "written", [target(q.POINTS_WRITTEN, alias="$tag_hub")], size=(12, 8),
        units="points", interval="5m",
    )  # fmt: skip
    return dashboard(
        "watchpost-device-health", "health", lay, variables(lang, device=True, hub=True)
    )


def resident_wellbeing(lang: str) -> JSON:
    """Return the grid worker's view: activity, check-ins, inactivity, care-round coverage."""
    lay = Layout(lang)
    lay.add(
        "bargauge", "coverage", [target(q.COVERAGE, alias="$tag_grid")], size=(8, 7),
        units="percent", steps=reach_target(100), options=HBAR,
    )  # fmt: skip
    lay.add(
        "stat", "on_duty", [target(q.ON_DUTY, alias="$tag_grid")], size=(8, 7),
        units="people", steps=reach_target(1), options=NAMED,
    )  # fmt: skip
    lay.add(
        "stat", "inactivity_open", [target(q.INACTIVITY_OPEN, alias="$tag_class")],
        size=(8, 7), units="alarms", time_from="7d", options=NAMED, rename=True,
    )  # fmt: skip
    lay.add(
        "timeseries", "activity", [target(q.ACTIVITY, alias="$tag_device")], size=(24, 8),
        units="events", custom=BARS,
    )  # fmt: skip
    lay.add("table", "checkins", [target(q.CHECKINS, table=True)], size=(8, 8))
    lay.add(
        "timeseries", "inactivity", [target(q.INACTIVITY, alias="$tag_grid")], size=(8, 8),
        units="alarms", custom=BARS,
    )  # fmt: skip
    lay.add(
        "timeseries", "coverage_series", [target(q.COVERAGE_SERIES, alias="$tag_grid")],
        size=(8, 8), units="percent", steps=reach_target(100),
    )  # fmt: skip
    return dashboard("watchpost-wellbeing", "wellbeing", lay, variables(lang, device=True))


DASHBOARDS: dict[str, Callable[[str], JSON]] = {
    "community-overview": community_overview,
    "mini-fire-station": mini_fire_station,
    "device-health": device_health,
    "resident-wellbeing": resident_wellbeing,
}
