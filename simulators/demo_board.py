"""The demo's live board: events seen on the broker, alarms polled from the hub, workers' phones."""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.error
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from edge.bus import parse_url
from protocol.codec import decode_event
from protocol.errors import ProtocolError
from protocol.messages import Event
from protocol.topics import device_filter, parse_topic
from simulators.home import VirtualHome
from simulators.hubproc import HubProcess
from simulators.scenario import Stage
from simulators.workers import VirtualWorker

log = logging.getLogger(__name__)

CLASS_NAMES = {
    "call": "一键呼叫 SOS call",
    "fall": "跌倒 fall",
    "fire": "火警 fire",
    "pre_alarm": "烟雾预警 smoke pre-alarm",
    "inactivity": "未活动 inactivity",
    "trouble": "设备故障 trouble",
}
STATES = ("raised", "notified", "acknowledged", "on_scene", "resolved", "cancelled")
OPEN = {"raised", "notified", "acknowledged", "on_scene"}


def everyone(stage: Stage) -> list[VirtualHome]:
    """Return every virtual device of the stage: homes and stairwell units."""
    return [*stage.homes, *stage.stairwells.values()]


@dataclass
class DemoBoard:
    """What the live table shows, and what the report is measured from."""

    stage: Stage
    workers: list[VirtualWorker]
    hub: HubProcess
    events: dict[str, Event] = field(default_factory=dict)
    alarms: list[dict[str, Any]] = field(default_factory=list)
    log_lines: deque[str] = field(default_factory=lambda: deque(maxlen=10))
    started: float = field(default_factory=time.monotonic)
    sirens_seen: set[str] = field(default_factory=set)

    def step(self, at: float, device: str, what: str) -> None:
        """Note a scenario step (observer for `play`)."""
        self.log_lines.append(f"[cyan]▶ {at:5.1f}s {device}: {escape(what)}")

    def open_alarms(self) -> list[dict[str, Any]]:
        """Return alarms that are not resolved or cancelled yet."""
        return [a for a in self.alarms if a["state"] in OPEN]

    async def poll(self) -> None:
        """Poll the hub's alarm list every second."""
        while True:
            try:
                self.alarms = await asyncio.to_thread(self.hub.get, "/api/v1/alarms?limit=1000")
            except (OSError, urllib.error.URLError, ValueError) as exc:
                self.log_lines.append(f"[yellow](hub API: {escape(str(exc))})")
            self.sirens_seen.update(h.device for h in everyone(self.stage) if h.siren_on)
            await asyncio.sleep(1.0)

    async def show(self, console: Console) -> None:
        """Refresh the live table twice a second."""
        with Live(self.render(), console=console, auto_refresh=False) as live:
            while True:
                await asyncio.sleep(0.5)
                live.update(self.render(), refresh=True)

    def render(self) -> Group:
        """Return the summary, the alarm matrix, recent alarms and the scenario log."""
        devices = everyone(self.stage)
        online = sum(h.connected for h in devices)
        pushes = sum(len(w.inbox) for w in self.workers)
        summary = Table.grid(padding=(0, 3))
        summary.add_row(
            f"[bold]{time.monotonic() - self.started:5.0f} s[/]",
            f"设备在线 devices online [bold]{online}/{len(devices)}[/]",
            f"事件 events [bold]{len(self.events)}[/]",
            f"推送 pushes to phones [bold]{pushes}[/]",
            f"未结警情 open alarms [bold]{len(self.open_alarms())}[/]",
        )
        return Group(summary, self._matrix(), self._recent(), self._log())

    def _matrix(self) -> Table:
        table = Table(title="警情 Alarms by class and state", title_justify="left")
        table.add_column("class")
        for state in STATES:
            table.add_column(state, justify="right")
        for cls, name in CLASS_NAMES.items():
            mine = [a for a in self.alarms if a["cls"] == cls]
            table.add_row(name, *[str(sum(a["state"] == s for a in mine)) for s in STATES])
        return table

    def _recent(self) -> Table:
        table = Table(title="最近警情 Latest alarms", title_justify="left")
        for col in ("raised", "class", "device", "state", "tier", "outcome"):
            table.add_column(col, no_wrap=True)
        for a in self.alarms[:8]:
            style = "bold red" if a["state"] in OPEN and a["cls"] == "fire" else ""
            table.add_row(
                a["raised_at"][11:19], a["cls"], a.get("device") or "", a["state"],
                str(a["tier"]), a.get("outcome") or "", style=style,
            )  # fmt: skip
        return table

    def _log(self) -> Table:
        table = Table(
            title="场景与事件 Scenario and events", show_header=False, title_justify="left"
        )
        table.add_column("line", overflow="ellipsis", no_wrap=True)
        for line in self.log_lines:
            table.add_row(line)
        return table


async def watch_events(url: str, site: str, board: DemoBoard) -> None:
    """Record every event on the site's event topics (QoS 1), reconnecting when needed."""
    endpoint = parse_url(url)
    while True:
        try:
            async with aiomqtt.Client(endpoint.host, endpoint.port) as client:
                await client.subscribe(device_filter(site, "event"), qos=1)
                async for message in client.messages:
                    _record(board, str(message.topic), message.payload)
        except aiomqtt.MqttError as exc:
            board.log_lines.append(f"[yellow](event watcher: {escape(str(exc))}; retrying)")
            await asyncio.sleep(1)


def _record(board: DemoBoard, topic: str, payload: object) -> None:
    if not isinstance(payload, bytes | bytearray):
        return
    try:
        device = parse_topic(topic).ident
        event = decode_event(bytes(payload), device=device)
    except ProtocolError as exc:
        log.warning("demo: undecodable event on %s: %s", topic, exc)
        return
    if event.id not in board.events:
        board.events[event.id] = event
        board.log_lines.append(f"  {event.ts:%H:%M:%S} {device} #{event.seq} [bold]{event.kind}")


def report_tables(report: dict[str, Any]) -> list[Table]:
    """Render the demo report as tables."""
    ev = report["events"]
    events = Table(title="事件 Events", title_justify="left")
    for col in ("published", "stored", "lost", "outbox pending"):
        events.add_column(col, justify="right")
    events.add_row(str(ev["published"]), str(ev["stored"]), str(ev["lost"]),
                   str(ev["outbox_pending"]))  # fmt: skip
    alarms = Table(title="警情 Alarms (reached state)", title_justify="left")
    alarms.add_column("class")
    for state in STATES:
        alarms.add_column(state, justify="right")
    for cls, counts in report["alarms"].items():
        alarms.add_row(CLASS_NAMES.get(cls, cls), *[str(counts.get(s, 0)) for s in STATES])
    latency = Table(title="时延 Latency (ms)", title_justify="left")
    for col in ("path", "n", "p50", "p99", "max"):
        latency.add_column(col, justify="right")
    for path, q in report["latency_ms"].items():
        latency.add_row(path, str(q["n"]), str(q["p50"]), str(q["p99"]), str(q["max"]))
    checks = Table(title="检查 Checks", title_justify="left")
    checks.add_column("check")
    checks.add_column("value", justify="right")
    checks.add_row("InfluxDB points", str(report["influx"]["points"]))
    for key, value in report["checks"].items():
        checks.add_row(key, str(value))
    return [events, alarms, latency, checks]
