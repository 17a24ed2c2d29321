"""The one translation table of the dashboards and alert rules: zh-CN (default) and English.

Every title, description, legend name and unit a person reads in Grafana comes from here;
`watchpost dashboards build --lang en` picks the English column. A key missing from one
language is a test failure, not a blank panel.
"""

from __future__ import annotations

LANGS = ("zh-CN", "en")
DEFAULT_LANG = "zh-CN"

# key: (zh-CN, English)
TEXT: dict[str, tuple[str, str]] = {
    # Dashboards
    "overview": ("社区总览", "Community overview"),
    "overview.desc": (
        "值班员看板：未结束告警、响应用时与目标（60 秒内确认、3 分钟内到场）、设备在线。",
        "Duty officer's view: open alarms, response times against the targets "
        "(acknowledged within 60 s, on scene within 3 minutes), devices online.",
    ),
    "fire": ("微型消防站", "Mini fire station"),
    "fire.desc": (
        "火警与烟感预警、出动（1 分钟）与到场（3 分钟）用时、各楼烟感浓度、警报器。",
        "Fires and pre-alarms, response start (1 minute) and arrival (3 minutes), "
        "smoke levels per building, sirens sounded.",
    ),
    "health": ("设备健康", "Device health"),
    "health.desc": (
        "维护人员看板：心跳与中断、电量、积压、固件版本、可疑设备、枢纽拒收与丢弃。",
        "Maintenance view: heartbeats and gaps, battery, outbox, firmware, suspect devices, "
        "messages the hub rejected or shed.",
    ),
    "wellbeing": ("居民关怀", "Resident wellbeing"),
    "wellbeing.desc": (
        "网格员看板：每户每小时活动、报平安、无活动告警、走访覆盖率（目标 100%）。",
        "Grid worker's view: activity per hour per household, check-ins, inactivity alarms, "
        "care-round coverage against 100 %.",
    ),
    "folder": ("Watchpost 社区应急", "Watchpost 社区应急"),
    # Variables
    "var.site": ("小区", "Site"),
    "var.grid": ("网格", "Grid"),
    "var.device": ("设备", "Device"),
    "var.hub": ("枢纽", "Hub"),
    # Annotations
    "anno.alarms": ("告警", "Alarms raised"),
    "anno.fires": ("火警", "Fires raised"),
    # Community overview
    "open": ("未结束告警（按类别）", "Open alarms by class"),
    "open.desc": (
        "近 7 天内发起减去已解除/已取消（权威数据以枢纽告警板为准）。",
        "Raised minus resolved/cancelled over the last 7 days (the hub's alarm board is "
        "authoritative).",
    ),
    "devices_online": ("设备在线/离线", "Devices online / offline"),
    "devices_online.desc": (
        "时间范围内每台设备最后一次状态。",
        "Last status of every device that reported in the time range.",
    ),
    "ack_inside": ("60 秒内确认占比", "Acknowledged within 60 s"),
    "ack_inside.desc": (
        "生命安全告警（火警、呼叫、跌倒）中 60 秒内被确认的比例。",
        "Share of life-safety alarms (fire, call, fall) acknowledged within 60 s.",
    ),
    "arrive_inside": ("消防 3 分钟内到场占比", "Fire: on scene within 3 min"),
    "arrive_inside.desc": (
        "火警中自发起起 3 分钟内有人到场的比例。",
        "Share of fires with someone on scene within 3 minutes of the raise.",
    ),
    "per_day": ("每日告警（按类别与网格）", "Alarms per day by class and grid"),
    "ack_stats": ("确认用时 P50/P90", "Time to acknowledge p50 / p90"),
    "ack_stats.desc": ("目标：60 秒内确认。", "Target: acknowledged within 60 s."),
    "arrive_stats": ("到场用时 P50/P90", "Time to arrive p50 / p90"),
    "arrive_stats.desc": (
        "自发起至到场；消防站目标 3 分钟（呼叫、跌倒按各自策略）。",
        "From raise to on scene; the fire station's target is 3 minutes "
        "(calls and falls follow their own policy).",
    ),
    "ack_series": ("每起告警的确认用时", "Time to acknowledge, each alarm"),
    "arrive_series": ("每起告警的到场用时", "Time to arrive, each alarm"),
    "recent": ("最近告警变化", "Recent alarm transitions"),
    # Mini fire station
    "fire_open": ("未结束火警与预警", "Open fires and pre-alarms"),
    "fire_alarms": ("火警与烟感预警", "Fires and pre-alarms raised"),
    "fire_response": ("出动用时（确认）", "Response start (acknowledged)"),
    "fire_response.desc": ("目标：1 分钟内出动。", "Target: response starts within 1 minute."),
    "fire_arrival": ("到场用时", "Arrival on scene"),
    "fire_arrival.desc": ("目标：3 分钟内到场。", "Target: on scene within 3 minutes."),
    "fire_stats": ("出动与到场 P50/P90", "Response and arrival p50 / p90"),
    "fire_response_inside": ("1 分钟内出动占比（按网格）", "Response within 1 min by grid"),
    "fire_arrival_inside": ("3 分钟内到场占比（按网格）", "On scene within 3 min by grid"),
    "smoke": ("烟感浓度（按网格与楼栋设备）", "Smoke level per building detector"),
    "smoke.desc": (
        "每个烟感的最大读数；设备按网格分组（时序库中没有楼栋标签）。",
        "Maximum reading per smoke detector, grouped by grid (the time series carry no "
        "building tag).",
    ),
    "station_on_duty": ("消防站在岗", "Fire station on duty"),
    "sirens": ("警报器鸣响", "Sirens sounded"),
    "sirens_total": ("警报器鸣响次数", "Siren commands"),
    # Device health
    "heartbeats": ("心跳（每 5 分钟）", "Heartbeats per 5 minutes"),
    "heartbeats.desc": (
        "每台设备每 5 分钟收到的状态心跳数；0 表示中断。",
        "Status heartbeats received per device per 5 minutes; 0 is a gap.",
    ),
    "gaps": ("心跳间隔", "Heartbeat gaps"),
    "gaps.desc": (
        "相邻两次状态上报的最长间隔与最后间隔。",
        "Longest and last interval between two status reports.",
    ),
    "offline": ("离线设备", "Offline devices"),
    "battery": ("电量", "Battery"),
    "outbox": ("边缘积压", "Edge outbox depth"),
    "firmware": ("固件版本", "Firmware versions"),
    "firmware_count": ("上报固件的设备", "Devices reporting firmware"),
    "suspect": ("可疑设备（误报多）", "Suspect devices (false alarms)"),
    "suspect.desc": (
        "30 天内 3 次及以上误报的设备；仍照常报警。",
        "Devices with 3 or more false alarms in 30 days; they still page.",
    ),
    "missing_seq": ("丢失事件序号", "Missing event sequence numbers"),
    "trouble_events": ("故障事件", "Trouble events"),
    "rejected": ("枢纽拒收消息（按原因）", "Messages rejected by the hub, per reason"),
    "shed": ("遥测丢弃（过载）", "Telemetry shed under overload"),
    "written": ("写入时序库的点数", "Points written to InfluxDB"),
    # Resident wellbeing
    "activity": ("每户每小时活动", "Activity per hour per household"),
    "activity.desc": (
        "每户活动传感器每小时的 activity 事件数（住户以其设备区分）。",
        "activity events per hour from each household's sensors (a household is known by "
        "its devices).",
    ),
    "checkins": ("报平安", "Check-ins"),
    "inactivity": ("无活动告警", "Inactivity alarms"),
    "inactivity_open": ("未结束无活动告警", "Open inactivity alarms"),
    "coverage": ("本月走访覆盖率（按网格）", "Care-round coverage by grid"),
    "coverage.desc": (
        "本月已走访 / 应走访，目标 100%。",
        "Visited this month / due, target 100 %.",
    ),
    "coverage_series": ("走访覆盖率趋势", "Care-round coverage over time"),
    "on_duty": ("在岗网格员（按网格）", "Grid workers on duty by grid"),
    # Legend and column names
    "fire_cls": ("火警", "fire"),
    "pre_alarm_cls": ("烟感预警", "pre-alarm"),
    "call_cls": ("呼叫", "call"),
    "fall_cls": ("跌倒", "fall"),
    "inactivity_cls": ("无活动", "inactivity"),
    "trouble_cls": ("设备故障", "trouble"),
    "col.online": ("在线", "online"),
    "col.offline": ("离线", "offline"),
    "col.sirens": ("鸣响", "sirens"),
    "col.published": ("已发送", "published"),
    "col.acknowledged": ("已确认", "acknowledged"),
    "col.on_scene": ("到场", "on scene"),
    "col.raised": ("发起", "raised"),
    "col.notified": ("已通知", "notified"),
    "col.resolved": ("已解除", "resolved"),
    "col.cancelled": ("已取消", "cancelled"),
    # Alert rules
    "rule.fire_unacked": ("火警 60 秒未确认", "Fire not acknowledged in 60 s"),
    "rule.fire_unacked.desc": (
        "{{ $labels.site }} {{ $labels.grid }}：有火警发起超过 60 秒仍无人确认。",
        "{{ $labels.site }} {{ $labels.grid }}: a fire raised more than 60 s ago is not "
        "acknowledged.",
    ),
    "rule.nobody_on_duty": ("网格无人在岗", "Grid with nobody on duty"),
    "rule.nobody_on_duty.desc": (
        "{{ $labels.site }} {{ $labels.grid }}：当前排班无人在岗。",
        "{{ $labels.site }} {{ $labels.grid }}: nobody is on duty in this grid.",
    ),
    "rule.hub_silent": ("枢纽 2 分钟未写入", "Hub not writing for 2 minutes"),
    "rule.hub_silent.desc": (
        "{{ $labels.hub }}：2 分钟内没有写入时序库。",
        "{{ $labels.hub }}: nothing written to InfluxDB for 2 minutes.",
    ),
}

# Grafana unit ids per language (`suffix:` is Grafana's custom unit).
UNITS: dict[str, tuple[str, str]] = {
    "seconds": ("suffix: 秒", "s"),
    "percent": ("percent", "percent"),
    "alarms": ("suffix: 起", "suffix: alarms"),
    "devices": ("suffix: 台", "suffix: devices"),
    "events": ("suffix: 次", "suffix: events"),
    "messages": ("suffix: 条", "suffix: messages"),
    "points": ("suffix: 点", "suffix: points"),
    "people": ("suffix: 人", "suffix: people"),
    "level": ("percentunit", "percentunit"),
    "celsius": ("celsius", "celsius"),
    "none": ("none", "none"),
}
CLASSES = ("fire", "pre_alarm", "call", "fall", "inactivity", "trouble")


def check_lang(lang: str) -> str:
    """Return `lang` when it is one of LANGS; raise ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: choose one of {', '.join(LANGS)}")
    return lang


def text(key: str, lang: str) -> str:
    """Return the text of `key` in `lang`."""
    zh, en = TEXT[key]
    return zh if check_lang(lang) == "zh-CN" else en


def unit(name: str, lang: str) -> str:
    """Return the Grafana unit id of `name` in `lang`."""
    zh, en = UNITS[name]
    return zh if check_lang(lang) == "zh-CN" else en
