"""The one translation table: every text a person reads on the pages and in API errors.

zh-CN is the default; English per user. Keys are dotted nouns; `{name}` placeholders are
filled by `text()` on the server and by the pages' `t()` in the browser (served as JSON).
"""

from __future__ import annotations

from typing import Any

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")

TEXT: dict[str, tuple[str, str]] = {
    # --- API errors -------------------------------------------------------------------
    "err.auth_missing": ("请先登录", "Log in first"),
    "err.auth_invalid": ("登录已失效或令牌错误，请重新登录", "Session expired or wrong token"),
    "err.auth_rate": ("失败次数过多，请 {s} 秒后再试", "Too many failures; try again in {s} s"),
    "err.login_failed": ("用户名或密码错误", "Wrong username or password"),
    "err.forbidden": ("您的角色（{role}）无权执行此操作", "Your role ({role}) may not do this"),
    "err.not_found": ("未找到：{what}", "Not found: {what}"),
    "err.invalid": ("输入有误：{fields}", "Invalid input: {fields}"),
    "err.refused": ("操作被拒绝：{reason}", "Refused: {reason}"),
    "err.csrf": ("页面请求缺少 X-Watchpost 头", "Page request without the X-Watchpost header"),
    "err.internal": ("服务器内部错误，已记录", "Internal error; it has been logged"),
    "err.confirm": ("确认码错误或已过期", "Wrong or expired confirmation code"),
    "reason.outcome_required": ("请选择处理结果", "choose an outcome"),
    "reason.alarm_closed": ("报警已结束", "the alarm is closed"),
    "reason.invalid_transition": ("当前状态不允许此操作", "not allowed in the alarm's state"),
    "reason.unknown_alarm": ("没有这条报警", "no such alarm"),
    "reason.duplicate": ("已处理过", "already done"),
    "reason.no_sirens": ("该范围内没有警报器", "no sirens there"),
    # --- alarm classes, states, outcomes -----------------------------------------------
    "cls.call": ("一键呼叫", "SOS call"),
    "cls.fall": ("跌倒报警", "Fall"),
    "cls.fire": ("火警", "FIRE"),
    "cls.pre_alarm": ("烟感预警", "Smoke pre-alarm"),
    "cls.inactivity": ("无活动", "No activity"),
    "cls.trouble": ("设备故障", "Trouble"),
    "state.raised": ("新报警", "raised"),
    "state.notified": ("已通知", "notified"),
    "state.acknowledged": ("已接单", "acknowledged"),
    "state.on_scene": ("已到场", "on scene"),
    "state.resolved": ("已解除", "resolved"),
    "state.cancelled": ("已取消", "cancelled"),
    "outcome.handled": ("已处置", "handled"),
    "outcome.false_alarm": ("误报", "false alarm"),
    "outcome.transported": ("已送医", "taken to hospital"),
    "outcome.fire_extinguished": ("已灭火", "fire extinguished"),
    "outcome.test": ("测试", "test"),
    "outcome.other": ("其他", "other"),
    # --- pages --------------------------------------------------------------------------
    "page.board": ("值班报警台", "Alarm board"),
    "page.worker": ("我的报警", "My alarms"),
    "page.login": ("登录", "Log in"),
    "ui.username": ("用户名", "Username"),
    "ui.password": ("密码", "Password"),
    "ui.login": ("登录", "Log in"),
    "ui.logout": ("退出", "Log out"),
    "ui.lang": ("English", "中文"),
    "ui.open_alarms": ("未结束的报警", "Open alarms"),
    "ui.none_open": ("没有未结束的报警", "No open alarms"),
    "ui.elapsed": ("已用时", "Elapsed"),
    "ui.target": ("目标", "Target"),
    "ui.paged": ("已通知", "Paged"),
    "ui.acked_by": ("接单人", "Acknowledged by"),
    "ui.ack": ("接单", "Accept"),
    "ui.arrived": ("已到场", "Arrived"),
    "ui.resolve": ("解除", "Resolve"),
    "ui.decline": ("无法前往", "Decline"),
    "ui.outcome": ("处理结果", "Outcome"),
    "ui.note": ("备注", "Note"),
    "ui.address": ("地址", "Address"),
    "ui.floor": ("楼层", "Floor"),
    "ui.key_safe": ("钥匙", "Key"),
    "ui.conditions": ("健康状况", "Conditions"),
    "ui.contacts": ("联系人", "Contacts"),
    "ui.call": ("拨打", "Call"),
    "ui.offline": ("网络已断开，正在重连…", "Offline, reconnecting…"),
    "ui.online": ("在线", "Online"),
    "ui.devices": ("设备状态", "Device health"),
    "ui.online_n": ("在线 {n}", "{n} online"),
    "ui.offline_n": ("离线 {n}", "{n} offline"),
    "ui.filter_all": ("全部", "All"),
    "ui.sound_on": ("声音已开启", "Sound on"),
    "ui.sound_click": ("点击开启声音", "Click to enable sound"),
    "ui.shortcuts": (
        "快捷键：A 接单 · J/K 上下选择 · F 只看火警 · 1-3 网格 · 0 全部",
        "Keys: A accept · J/K move · F fires only · 1-3 grid · 0 all",
    ),
    "ui.broadcast": ("紧急广播", "Emergency broadcast"),
    "ui.broadcast_site": ("全小区", "Whole site"),
    "ui.broadcast_confirm": ("确认鸣响警报器？", "Sound the sirens?"),
    "ui.stop": ("停止", "Stop"),
    "ui.care_due": ("待走访", "Visits due"),
    "ui.care_overdue": ("已逾期", "overdue"),
    "ui.visit_done": ("已走访", "Visited"),
    "ui.coverage": ("走访覆盖率", "Visit coverage"),
    "ui.on_duty": ("当班", "On duty"),
    "ui.absent": ("今日请假", "Absent today"),
    "ui.swap": ("顶班", "Cover"),
    "ui.nobody_on_duty": ("无人当班", "Nobody on duty"),
    "ui.years": ("{n}岁", "{n} y"),
    "role.admin": ("管理员", "Admin"),
    "role.duty_officer": ("值班员", "Duty officer"),
    "role.supervisor": ("主管", "Supervisor"),
    "role.grid_worker": ("网格员", "Grid worker"),
    "role.fire_station": ("微型消防站", "Fire station"),
    "role.maintenance": ("维修", "Maintenance"),
    "role.viewer": ("只读", "Viewer"),
}


def lang_of(value: str | None) -> str:
    """Return a supported language for a user setting or an Accept-Language header."""
    if value and value.strip().lower().startswith("en"):
        return "en"
    return DEFAULT_LANG


def text(key: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """Return the text of `key` in `lang`, placeholders filled; the key itself if unknown."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    template = pair[1] if lang == "en" else pair[0]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def table(lang: str) -> dict[str, str]:
    """Return every text in `lang` (served to the pages)."""
    return {key: (en if lang == "en" else zh) for key, (zh, en) in TEXT.items()}
