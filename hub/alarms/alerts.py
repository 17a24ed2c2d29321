"""Build the bilingual `WorkerAlert` a worker's phone shows, e.g.
"【一键呼叫】1号楼101 王秀英（84岁）" / "[SOS call] Bldg 1 #101 Wang Xiuying (84)".

A site-wide alarm of the system itself has no device or resident: "【系统故障】消息代理丢弃了
25 条消息，报警可能丢失" / "[System trouble] The MQTT broker dropped 25 messages; alarms may
have been lost" (`system_alert`).

An update (someone else took the alarm, arrived, resolved it) leads with a headline:
"【一键呼叫】张伟已接单：1号楼101 王秀英（84岁）" / "[SOS call] Zhang Wei has acknowledged: …".
"""

from __future__ import annotations

import re
from datetime import datetime

from hub.store.residents import Household
from hub.store.schema import AlarmRow, DeviceRow, SiteRow, WorkerRow
from hub.store.suspect import is_suspect
from protocol.messages import AlarmState, ResidentContext, WorkerAlert

CLASS_LABELS: dict[str, tuple[str, str]] = {
    "call": ("一键呼叫", "SOS call"),
    "fall": ("跌倒报警", "Fall detected"),
    "fire": ("火警", "FIRE"),
    "pre_alarm": ("烟感预警", "Smoke pre-alarm"),
    "inactivity": ("无活动报警", "No activity"),
    "trouble": ("设备故障", "Device trouble"),
}
REASON_LABELS: dict[str, tuple[str, str]] = {
    "checkin": ("签到时段内无活动", "no sign of life in the check-in window"),
    "offline": ("离线", "offline"),
    "low_battery": ("电量低", "low battery"),
    "tamper": ("防拆触发", "tamper"),
    "fault": ("故障", "fault"),
    "flapping": ("频繁上下线", "flapping online/offline"),
}
SYSTEM_LABEL: tuple[str, str] = ("系统故障", "System trouble")
SYSTEM_TEXT: dict[str, tuple[str, str, str, str]] = {
    # reason: (zh title, en title, zh advice, en advice); {n} is the alarm's count.
    "broker_drops": (
        "消息代理丢弃了 {n} 条消息，报警可能丢失",
        "The MQTT broker dropped {n} messages; alarms may have been lost",
        "请立即核对近期报警和设备状态；检查消息代理的队列上限（max_queued_messages）和慢订阅者。",
        "Check recent alarms and devices now; check the broker's queue limits "
        "(max_queued_messages) and slow subscribers.",
    ),
    "dead_letter": (
        "中心无法处理 {n} 条报警通道消息，已存入死信表",
        "The hub could not handle {n} alarm-path message(s); kept as dead letters",
        "请在 /api/v1/dead-letters 查看并核对相关设备；该消息已确认，不会阻塞其他报警。",
        "Look at /api/v1/dead-letters and check the devices concerned; the message was "
        "acknowledged and blocks no other alarm.",
    ),
    "nobody_on_duty": (
        "{n} 个网格无人当班，呼救将直接升级",
        "{n} grid(s) have nobody on duty; their calls go straight to escalation",
        "请在值班报警台调整排班（顶班或加班），见报警记录中的网格。",
        "Change the roster on the alarm board (swap or extra duty); the grids are in the "
        "alarm's history.",
    ),
    "care_overdue": (
        "{n} 位居民的上门走访已逾期",
        "{n} care visit(s) overdue",
        "网格员手机页已提示逾期；请安排走访，居民见报警记录。",
        "The worker's phone page shows them as overdue; arrange the visits (residents in the "
        "alarm's history).",
    ),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "cancelled": ("已取消", "cancelled"),
    "resolved": ("已解除", "resolved"),
    "acknowledged": ("已接单", "acknowledged"),
    "on_scene": ("已到场", "on scene"),
}
UPDATE_VERBS: dict[str, tuple[str, str]] = {
    "acknowledged": ("已接单", "has acknowledged"),
    "on_scene": ("已到场", "is on scene"),
    "resolved": ("已解除", "has resolved it"),
    "cancelled": ("已取消", "has cancelled it"),
}
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "handled": ("已处置", "handled"),
    "false_alarm": ("误报", "false alarm"),
    "transported": ("已送医", "taken to hospital"),
    "fire_extinguished": ("已灭火", "fire extinguished"),
    "test": ("测试", "test"),
    "other": ("其他", "other"),
    "cleared": ("烟雾已消散", "smoke cleared"),
    "recovered": ("设备已恢复", "device recovered"),
}
ACTOR_NAMES: dict[str, tuple[str, str]] = {
    "resident": ("居民", "The resident"),
    "system": ("系统", "The system"),
}
Headline = tuple[str, str]
_UNIT = re.compile(r"^(\d+)-(\w+)$")


def english_name(resident_id: str | None, name: str) -> str:
    """Return a Latin-script name: the name if ASCII, else romanised from an id like r-wang-li
    (residents) or w-zhang-wei (workers)."""
    if name.isascii():
        return name
    if resident_id and resident_id[:2] in ("r-", "w-"):
        parts = resident_id[2:].split("-")
        if len(parts) >= 2 and all(p.isalpha() for p in parts):
            return " ".join(p.capitalize() for p in parts)
    return name


def actor_names(actor: str, worker: WorkerRow | None) -> tuple[str, str]:
    """Return (zh, en) of who did something: a worker's name, the resident, the system."""
    if worker is not None:
        if " / " in worker.name:
            zh, en = worker.name.split(" / ", 1)
            return zh, en
        return worker.name, english_name(worker.id, worker.name)
    return ACTOR_NAMES.get(actor, (actor, actor))


def update_headline(state: str, by: tuple[str, str], outcome: str | None = None) -> Headline:
    """Return the (zh, en) headline of an update, e.g. 张伟已接单 / Zhang Wei has acknowledged."""
    verb_zh, verb_en = UPDATE_VERBS.get(state, STATE_LABELS.get(state, (state, state)))
    zh, en = f"{by[0]}{verb_zh}", f"{by[1]} {verb_en}"
    if outcome:
        out_zh, out_en = OUTCOME_LABELS.get(outcome, (outcome, outcome))
        zh, en = f"{zh}（{out_zh}）", f"{en} ({out_en})"
    return zh, en


def place(device: DeviceRow, household: Household | None) -> tuple[str, str]:
    """Return a short (zh, en) place label: 1号楼101 / Bldg 1 #101, or the device location."""
    if household is not None and household.unit:
        m = _UNIT.match(household.unit)
        if m:
            return f"{m[1]}号楼{m[2]}", f"Bldg {m[1]} #{m[2]}"
        return household.unit, f"#{household.unit}"
    if " / " in device.location:
        zh, en = device.location.split(" / ", 1)
        return zh, en
    label = device.location or device.id
    return label, label


def _who(ctx: ResidentContext) -> tuple[str, str]:
    if not ctx.name:
        return "", ""
    en = english_name(ctx.resident, ctx.name)
    if ctx.age is None:
        return ctx.name, en
    return f"{ctx.name}（{ctx.age}岁）", f"{en} ({ctx.age})"


def _label(alarm: AlarmRow, state: str, headline: Headline | None) -> tuple[str, str]:
    cls_zh, cls_en = CLASS_LABELS.get(alarm.cls, ("报警", "Alarm"))
    if alarm.cls in ("trouble", "inactivity") and alarm.reason in REASON_LABELS:
        why_zh, why_en = REASON_LABELS[alarm.reason]
        cls_zh, cls_en = f"{cls_zh}·{why_zh}", f"{cls_en}: {why_en}"
    if headline is None and state in STATE_LABELS:
        st_zh, st_en = STATE_LABELS[state]
        cls_zh, cls_en = f"{cls_zh}·{st_zh}", f"{cls_en}, {st_en}"
    return cls_zh, cls_en


def _lead(body: tuple[str, str], headline: Headline | None) -> tuple[str, str]:
    if headline is None:
        return body
    zh = f"{headline[0]}\n{body[0]}".rstrip()
    en = f"{headline[1]}\n{body[1]}".rstrip()
    return zh[:2000], en[:2000]


def _body(
    alarm: AlarmRow, device: DeviceRow, ctx: ResidentContext, false_alarms: int = 0
) -> tuple[str, str]:
    zh = [f"地址：{ctx.address}" if ctx.address else ""]
    en = [f"Address: {ctx.address}" if ctx.address else ""]
    if ctx.floor is not None:
        zh.append(f"楼层：{ctx.floor}")
        en.append(f"Floor: {ctx.floor}")
    if ctx.key_safe:
        zh.append(f"钥匙：{ctx.key_safe}")
        en.append(f"Key: {ctx.key_safe}")
    if ctx.conditions:
        zh.append("健康情况：" + "、".join(ctx.conditions))
        en.append("Conditions: " + ", ".join(ctx.conditions))
    for c in ctx.contacts:
        zh.append(f"紧急联系人：{c.name} {c.phone} {c.relation}".rstrip())
        en.append(f"Emergency contact: {c.name} {c.phone} {c.relation}".rstrip())
    zh.append(f"设备：{device.id} {device.location}".rstrip())
    en.append(f"Device: {device.id} {device.location}".rstrip())
    if alarm.repeats:
        zh.append(f"重复触发：{alarm.repeats} 次")
        en.append(f"Repeated: {alarm.repeats} times")
    if is_suspect(false_alarms):
        zh.append(f"可疑设备：近30天误报 {false_alarms} 次（仍照常派单，请报修）")
        en.append(
            f"Suspect device: {false_alarms} false alarms in 30 days (still paged; report it)"
        )
    return "\n".join(x for x in zh if x)[:2000], "\n".join(x for x in en if x)[:2000]


def build_alert(
    alarm: AlarmRow,
    device: DeviceRow,
    household: Household | None,
    ctx: ResidentContext,
    state: AlarmState,
    now: datetime,
    headline: Headline | None = None,
    false_alarms: int = 0,
) -> WorkerAlert:
    """Return the alert for `alarm` as it stands, with titles and bodies in zh-CN and English.

    With `headline` (an update), the title leads with it and the body starts with it.
    """
    cls_zh, cls_en = _label(alarm, state, headline)
    lead_zh, lead_en = _lead_in(headline)
    where_zh, where_en = place(device, household)
    who_zh, who_en = _who(ctx)
    return _alert(
        alarm,
        state,
        now,
        (f"【{cls_zh}】{lead_zh}{where_zh} {who_zh}", f"[{cls_en}] {lead_en}{where_en} {who_en}"),
        _lead(_body(alarm, device, ctx, false_alarms), headline),
        resident=ctx if ctx.resident else None,
    )


def _alert(
    alarm: AlarmRow,
    state: AlarmState,
    now: datetime,
    titles: tuple[str, str],
    bodies: tuple[str, str],
    resident: ResidentContext | None = None,
) -> WorkerAlert:
    """Return the WorkerAlert of `alarm` with the given titles and bodies (zh-CN, English)."""
    return WorkerAlert(
        alarm=alarm.id,
        cls=alarm.cls,
        state=state,
        ts=now,
        raised_at=alarm.raised_at,
        site=alarm.site,
        grid=alarm.grid,
        building=alarm.building,
        device=alarm.device,
        tier=alarm.tier,
        title_zh=titles[0].rstrip()[:200],
        title_en=titles[1].rstrip()[:200],
        body_zh=bodies[0],
        body_en=bodies[1],
        resident=resident,
    )


def _lead_in(headline: Headline | None) -> tuple[str, str]:
    """Return the headline as the start of a title, or nothing."""
    return (f"{headline[0]}：", f"{headline[1]}: ") if headline else ("", "")


def minimal_alert(
    alarm: AlarmRow, state: AlarmState, now: datetime, headline: Headline | None = None
) -> WorkerAlert:
    """Return a bare alert (class and device only) for when the full one cannot be built."""
    cls_zh, cls_en = _label(alarm, state, headline)
    lead_zh, lead_en = _lead_in(headline)
    device = alarm.device or ""
    return _alert(
        alarm,
        state,
        now,
        (f"【{cls_zh}】{lead_zh}{device}", f"[{cls_en}] {lead_en}{device}"),
        _lead(
            ("详情暂不可用，请查看值班看板。", "Details unavailable; see the duty board."), headline
        ),
    )


def system_alert(
    alarm: AlarmRow,
    site: SiteRow | None,
    state: AlarmState,
    now: datetime,
    headline: Headline | None = None,
) -> WorkerAlert:
    """Return the alert of a site-wide system alarm (no device, no resident), zh-CN and English."""
    default = (alarm.reason, alarm.reason, "", "")
    title_zh, title_en, advice_zh, advice_en = SYSTEM_TEXT.get(alarm.reason, default)
    label_zh, label_en = SYSTEM_LABEL
    if headline is None and state in STATE_LABELS:
        st_zh, st_en = STATE_LABELS[state]
        label_zh, label_en = f"{label_zh}·{st_zh}", f"{label_en}, {st_en}"
    lead_zh, lead_en = _lead_in(headline)
    zh = [f"社区：{site.name_zh or site.id}" if site else "", advice_zh]
    en = [f"Site: {site.name_en or site.id}" if site else "", advice_en]
    if alarm.repeats:
        zh.append(f"重复触发：{alarm.repeats} 次")
        en.append(f"Repeated: {alarm.repeats} times")
    body = "\n".join(x for x in zh if x)[:2000], "\n".join(x for x in en if x)[:2000]
    return _alert(
        alarm,
        state,
        now,
        (
            f"【{label_zh}】{lead_zh}{title_zh.format(n=alarm.count)}",
            f"[{label_en}] {lead_en}{title_en.format(n=alarm.count)}",
        ),
        _lead(body, headline),
    )
