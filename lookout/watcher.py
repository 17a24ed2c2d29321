"""What the watchdog concludes from what it sees: pure rules, no I/O, driven by monotonic time.

Targets are the broker and each expected hub. Each is `unknown` (not judged yet), `up` or
`silent`; a change to `silent` and a change from `silent` back to `up` each yield one `Notice`.

* **broker**: up while the watchdog is connected and `$SYS/broker/uptime` keeps arriving (every
  `sys_interval`); silent once neither has been true for `broker_grace_s` (also right after
  start: a broker never reached is silent).
* **hub**: judged only while connected and the broker is up (a hub cannot be seen through a
  dead broker). Up while live (non-retained) `online` heartbeats keep arriving; silent when no
  live heartbeat arrived for `grace_s` (it died, hangs, or lost its connection), or `confirm_s`
  after a live `offline` (its last will, or a graceful stop) if the watchdog stayed connected
  meanwhile: a broker that shuts down sends its clients' wills first (measured with Mosquitto
  2.0), which must page the broker, not the hub. Retained statuses replayed on subscribe say
  nothing: a retained `online` may be the last word of a hub that died while the broker was
  down, a retained `offline` the will a broker restart fired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from protocol.messages import HubStatus

State = Literal["unknown", "up", "silent"]
Change = Literal["silent", "back"]
BROKER = "broker"


@dataclass(frozen=True, slots=True)
class Notice:
    """One page to the duty officer: a target went silent or came back."""

    target: str
    change: Change
    reason_zh: str
    reason_en: str
    down_for_s: float | None = None

    @property
    def title(self) -> str:
        """Return the bilingual title, zh-CN first."""
        if self.target == BROKER:
            zh, en = "消息服务器（MQTT）", "MQTT broker"
        else:
            zh, en = f"监护中心服务 {self.target}", f"Watchpost hub {self.target}"
        if self.change == "silent":
            return f"【紧急】{zh}失联 / URGENT: {en} is silent"
        return f"{zh}已恢复 / {en} is back"

    @property
    def body(self) -> str:
        """Return the bilingual body: what was seen and what it means."""
        if self.change == "silent":
            zh = f"{self.reason_zh}。报警可能无法送达，请立即检查并通知值班人员。"
            en = f"{self.reason_en}. Alarms may not reach anybody: check it now."
        else:
            took = "" if self.down_for_s is None else f"{self.down_for_s:.0f}"
            zh = f"{self.reason_zh}。" + (f"中断约 {took} 秒。" if took else "")
            en = f"{self.reason_en}." + (f" It was silent for about {took} s." if took else "")
        return f"{zh}\n\n{en}"


@dataclass(slots=True)
class _Target:
    last_live: float
    state: State = "unknown"
    silent_since: float | None = None
    alive_seen: bool = False
    offline_at: float | None = None


@dataclass
class Watcher:
    """The rules above, for one site's broker and hubs."""

    hubs: tuple[str, ...]
    grace_s: float = 15.0
    broker_grace_s: float = 10.0
    started: float = 0.0
    confirm_s: float = 1.5
    connected: bool = False
    _broker: _Target = field(init=False)
    _hubs: dict[str, _Target] = field(init=False)

    def __post_init__(self) -> None:
        self._broker = _Target(self.started)
        self._hubs = {hub: _Target(self.started) for hub in self.hubs}

    def state(self, target: str) -> State:
        """Return the current state of `broker` or a hub."""
        return (self._broker if target == BROKER else self._hubs[target]).state

    def on_connected(self, now: float) -> None:
        """The watchdog's broker connection is up and subscribed."""
        self.connected = True
        self._broker.last_live = now
        for hub in self._hubs.values():
            # Judge hubs afresh: their retained status follows, then live heartbeats.
            hub.last_live, hub.alive_seen, hub.offline_at = now, False, None

    def on_disconnected(self) -> None:
        """The watchdog's broker connection is lost."""
        self.connected = False

    def on_broker_tick(self, now: float) -> None:
        """`$SYS/broker/uptime` arrived: the broker is alive and serving."""
        self._broker.last_live = now

    def on_hub_status(self, status: HubStatus, retained: bool, now: float) -> None:
        """A hub's status arrived (`retained`: replayed on subscribe, not a live heartbeat)."""
        hub = self._hubs.setdefault(status.hub, _Target(now))
        if retained:
            return
        if status.state == "online":
            hub.last_live, hub.alive_seen, hub.offline_at = now, True, None
        elif hub.offline_at is None:
            hub.offline_at = now

    def check(self, now: float) -> list[Notice]:
        """Apply the rules at `now`; return the notices of every change."""
        notices: list[Notice] = []
        broker = self._broker
        broker_quiet = now - broker.last_live
        if self.connected and broker_quiet <= self.broker_grace_s:
            notices += self._move(BROKER, broker, "up", now)
        elif broker_quiet > self.broker_grace_s:
            notices += self._move(BROKER, broker, "silent", now, broker_quiet)
        if broker.state != "up" or not self.connected:
            return notices
        for name, hub in self._hubs.items():
            quiet = now - hub.last_live
            said_offline = hub.offline_at is not None and now - hub.offline_at >= self.confirm_s
            if said_offline or quiet > self.grace_s:
                notices += self._move(name, hub, "silent", now, quiet)
            elif hub.alive_seen:
                notices += self._move(name, hub, "up", now)
        return notices

    def _move(
        self, name: str, target: _Target, to: State, now: float, quiet: float = 0.0
    ) -> list[Notice]:
        before = target.state
        if before == to:
            return []
        target.state = to
        if to == "silent":
            # Silence began when the last sign of life came, not when the grace ran out.
            target.silent_since = target.offline_at or now - quiet
            return [self._silent_notice(name, target, quiet)]
        down_for = None if target.silent_since is None else now - target.silent_since
        target.silent_since = None
        if before == "unknown":
            return []
        zh = "已重新连接" if name == BROKER else "心跳已恢复"
        en = "reachable again" if name == BROKER else "heartbeat received again"
        return [Notice(name, "back", zh, en, down_for)]

    def _silent_notice(self, name: str, target: _Target, quiet: float) -> Notice:
        if name == BROKER:
            return Notice(
                name,
                "silent",
                f"看门狗 {self.broker_grace_s:.0f} 秒内无法连接消息服务器或收不到其心跳",
                f"the watchdog could not reach it or saw no $SYS heartbeat for "
                f"{self.broker_grace_s:.0f} s",
            )
        if target.offline_at is not None:
            return Notice(
                name,
                "silent",
                "中心服务报告离线（进程已停止或崩溃）",
                "it reported offline (the process stopped or crashed)",
            )
        return Notice(
            name,
            "silent",
            f"{quiet:.0f} 秒未收到中心服务心跳",
            f"no heartbeat for {quiet:.0f} s",
        )
