"""`watchpost demo`: Mosquitto, InfluxDB, the hub (its own process), a simulated community and
simulated workers, a scenario with one of every alarm, a live table and a measured JSON report.

Every number in the report is counted during the run: events seen on the broker vs stored by
the hub, alarm states reached (from the hub's API), latencies from the events' edge timestamps
to the workers' phones and to the hub's store, and points in InfluxDB.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from rich.console import Console

from protocol.site_config import CheckinPlan, Registry
from simulators.community import CommunityOptions, generate_community, write_community
from simulators.demo_accounts import Login, demo_logins
from simulators.demo_board import DemoBoard, everyone, watch_events
from simulators.home import VirtualHome
from simulators.hubproc import HubProcess
from simulators.scenario import Scenario, Stage, builtin, load_scenario, play
from simulators.services import Influxd, Mosquitto
from simulators.workers import ReceivedAlert, VirtualWorker

log = logging.getLogger(__name__)

SITE = "demo"
CLASSES = ("call", "fall", "fire", "pre_alarm", "inactivity", "trouble")
STATES = ("raised", "notified", "acknowledged", "on_scene", "resolved", "cancelled")

# Short timers so a one-minute demo shows escalation, verification and supervision.
DEMO_POLICY: dict[str, Any] = {
    "escalation": {
        "call": {
            "tiers": [["grid"], ["backup"], ["duty_officer"], ["supervisor"]],
            "timeouts_s": [10],
        },
        "fall": {
            "tiers": [["grid"], ["backup"], ["duty_officer"], ["supervisor"]],
            "timeouts_s": [10],
        },
        "fire": {
            "tiers": [["fire_station", "grid", "duty_officer"], ["backup"], ["supervisor"]],
            "timeouts_s": [15],
        },
        "pre_alarm": {"tiers": [["duty_officer"], ["supervisor"]], "timeouts_s": [30]},
        "trouble": {"tiers": [["maintenance"], ["duty_officer"]], "timeouts_s": [30]},
    },
    "cancel_window_s": 20,
    "smoke_verify_s": 8,
    "missed_heartbeats": 3,
    "heartbeat_s": {"home": 10, "common": 10},
    "offline_grace_s": 3,
    "supervision_interval_s": 1,
}


@dataclass
class DemoOptions:
    """What `watchpost demo` was asked to do."""

    seconds: float = 90.0
    report: Path = Path("reports/demo.json")
    homes: int = 50
    grids: int = 3
    scenario: Path | None = None
    broker_url: str | None = None
    influx_url: str | None = None
    workdir: Path | None = None
    slow_worker: bool = True
    """Make grid-1's worker slower than the escalation timeout, so escalation is shown."""
    keep: bool = False
    """After the report, keep everything running (pages open) until Ctrl-C."""


@dataclass
class Running:
    """Everything the demo started."""

    opts: DemoOptions
    workdir: Path
    broker_url: str
    influx_url: str
    hub: HubProcess
    registry: Registry
    stage: Stage
    workers: list[VirtualWorker]
    scenario: Scenario
    board: DemoBoard = field(init=False)

    def __post_init__(self) -> None:
        self.board = DemoBoard(self.stage, self.workers, self.hub)


def main(opts: DemoOptions) -> int:
    """Run the demo; return the process exit code (0 when nothing was lost)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    console = Console()
    with _workdir(opts.workdir) as workdir:
        report = asyncio.run(_run(opts, workdir, console))
    opts.report.parent.mkdir(parents=True, exist_ok=True)
    opts.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_report(report, console)
    console.print(f"report written to {opts.report}")
    return 0 if report["events"]["lost"] == 0 else 1


@contextlib.contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="watchpost-demo-") as tmp:
        yield Path(tmp)


async def _run(opts: DemoOptions, workdir: Path, console: Console) -> dict[str, Any]:
    """Start the servers, run the community and the scenario, then measure."""
    with contextlib.ExitStack() as stack:
        broker_url = opts.broker_url
        if broker_url is None:
            console.print("starting Mosquitto …")
            broker_url = stack.enter_context(Mosquitto(workdir / "mosquitto")).url
        influx_url = opts.influx_url
        if influx_url is None:
            console.print("starting InfluxDB 1.x …")
            influx_url = stack.enter_context(Influxd(workdir / "influxdb")).url
        run = _prepare(opts, workdir, broker_url, influx_url)
        console.print(f"starting the hub (log: {workdir / 'hub' / 'hub.log'}) …")
        stack.enter_context(run.hub)
        return await _play(run, console)


def _prepare(opts: DemoOptions, workdir: Path, broker_url: str, influx_url: str) -> Running:
    """Generate the community, the policy, the hub process and the workers."""
    scenario = load_scenario(opts.scenario or builtin("demo"))
    site_dir = workdir / "site"
    opt = CommunityOptions(
        site=SITE, broker_url=broker_url, outbox_dir=str(workdir / "outbox"),
        homes_per_building=3, heartbeat_s=10, telemetry_s=15, cancel_window_s=8, smoke_warmup_s=1,
    )  # fmt: skip
    registry = _with_checkin_due(generate_community(opts.homes, opts.grids, opt), 40.0)
    write_community(registry, site_dir)
    stage = Stage([], {})
    for index, cfg in enumerate(registry.devices):
        home = VirtualHome(cfg, seed=index)
        if cfg.resident is None:
            stage.stairwells[cfg.building] = home
        else:
            stage.homes.append(home)
    policy = workdir / "policy.yaml"
    policy.write_text(yaml.safe_dump(DEMO_POLICY), encoding="utf-8")
    hub = HubProcess(
        workdir / "hub", broker_url, site_dir, influx_url=influx_url,
        extra_args=["--policy", str(policy)],
    )  # fmt: skip
    workers = [_worker(broker_url, w.id, w.role, w.grids, opts) for w in registry.site.workers]
    return Running(opts, workdir, broker_url, influx_url, hub, registry, stage, workers, scenario)


# Seconds to ack, to arrive and to resolve, per role. The duty officer checks a smoke
# pre-alarm (calls the resident, looks at the camera) before closing it.
ROLE_DELAYS = {
    "grid_worker": (2.0, 3.0, 3.0),
    "fire_station": (2.0, 4.0, 4.0),
    "duty_officer": (3.0, 12.0, 10.0),
    "supervisor": (2.0, 3.0, 3.0),
    "maintenance": (2.0, 3.0, 3.0),
}


def _with_checkin_due(registry: Registry, seconds: float) -> Registry:
    """Give the last resident a check-in window closing `seconds` into the demo.

    Nobody in the scenario touches that home, so the hub raises `inactivity` when it closes.
    """
    tz = ZoneInfo(registry.site.timezone)
    now = datetime.now(tz)
    plan = CheckinPlan(
        window_start=(now - timedelta(minutes=10)).time().replace(microsecond=0),
        window_end=(now + timedelta(seconds=seconds)).time().replace(microsecond=0),
    )
    residents = list(registry.site.residents)
    residents[-1] = residents[-1].model_copy(update={"checkin": plan})
    site = registry.site.model_copy(update={"residents": residents})
    return registry.model_copy(update={"site": site})


def _worker(url: str, worker: str, role: str, grids: list[str], opts: DemoOptions) -> VirtualWorker:
    """Return a virtual worker; grid-1's is slow to acknowledge when escalation is to be shown."""
    ack, arrive, resolve = ROLE_DELAYS[role]
    if opts.slow_worker and role == "grid_worker" and "grid-1" in grids:
        ack = 14.0
    return VirtualWorker(
        url, SITE, worker, ack_after_s=ack, arrive_after_s=arrive, resolve_after_s=resolve,
        outcome="handled",
    )  # fmt: skip


async def _play(run: Running, console: Console) -> dict[str, Any]:
    """Run homes, workers, the event watcher and the live table; play the scenario; measure.

    The report is taken while everything still runs: stopping the agents afterwards makes
    them go offline, which is not part of the scenario.
    """
    report: dict[str, Any] = {}
    stage, board = run.stage, run.board
    logins: list[Login] = []
    length = max(run.opts.seconds, run.scenario.duration_s)
    try:
        async with asyncio.timeout(length + 60), asyncio.TaskGroup() as tg:
            tg.create_task(watch_events(run.broker_url, SITE, board), name="events")
            for worker in run.workers:
                tg.create_task(worker.run(), name=f"worker:{worker.worker_id}")
            for home in everyone(stage):
                tg.create_task(home.run(), name=f"home:{home.device}")
            tg.create_task(board.poll(), name="poll-hub")
            live = tg.create_task(board.show(console), name="table")
            await _wait_ready(run)
            logins = await asyncio.to_thread(demo_logins, run.hub, run.registry)
            _print_logins(console, run.hub.api, logins)
            board.started = time.monotonic()
            await play(run.scenario, stage, observer=board.step)
            await asyncio.sleep(max(0.0, length - (time.monotonic() - board.started)))
            await _settle(run)
            live.cancel()
            report = await asyncio.to_thread(build_report, run)
            if run.opts.keep:
                print_report(report, console)
                _print_logins(console, run.hub.api, logins)
                console.print("everything keeps running: Ctrl-C to stop / 按 Ctrl-C 结束")
                await _until_interrupted()
            # Stop the hub before the agents: their goodbyes are not part of the scenario.
            await asyncio.to_thread(run.hub.stop)
            _stop()
    except* _Done:
        pass
    return report


def _print_logins(console: Console, api: str, logins: list[Login]) -> None:
    """Say where the pages are and how to log in (the passwords were made for this run)."""
    for login in logins:
        console.print(
            f"[bold]{api}{login.page}[/bold]  {login.role}: "
            f"user / 用户名 [cyan]{login.username}[/cyan]  "
            f"password / 密码 [cyan]{login.password}[/cyan]",
            soft_wrap=True,
        )


async def _until_interrupted() -> None:
    """Sleep until Ctrl-C (SIGINT) or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _stop() -> None:
    """Leave the demo's TaskGroup, cancelling homes, workers and watchers."""
    raise _Done


class _Done(Exception):  # noqa: N818 (a signal, not an error)
    """Raised inside the demo's TaskGroup to stop every task once the scenario is over."""


async def _wait_ready(run: Running, within: float = 30.0) -> None:
    """Wait until every agent and worker is connected."""
    async with asyncio.timeout(within):
        while not all(h.connected for h in everyone(run.stage)):  # noqa: ASYNC110 (no event)
            await asyncio.sleep(0.1)
        for worker in run.workers:
            await worker.connected.wait()


async def _settle(run: Running, within: float = 30.0) -> None:
    """Wait until every agent's outbox is empty and no alarm is still open."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pending = sum(h.outbox_pending for h in everyone(run.stage) if not h.silent)
        if pending == 0 and not run.board.open_alarms():
            return
        await asyncio.sleep(0.5)


def build_report(run: Running) -> dict[str, Any]:
    """Measure the run: events, alarm states reached, latencies, InfluxDB points."""
    board, hub = run.board, run.hub
    stored = {e["id"]: e for e in _all_events(hub)}
    published = board.events
    lost = sorted(set(published) - set(stored))
    alarms = hub.get("/api/v1/alarms?limit=1000")
    details = {a["id"]: hub.get(f"/api/v1/alarms/{a['id']}") for a in alarms}
    return {
        "events": {
            "published": len(published), "stored": len(set(published) & set(stored)),
            "lost": len(lost), "lost_ids": lost[:20],
            "outbox_pending": sum(h.outbox_pending for h in everyone(run.stage) if not h.silent),
        },
        "alarms": _alarm_counts(details),
        "latency_ms": {
            "event_to_push": _quantiles(_push_latencies(details, published, run.workers)),
            "event_to_store": _quantiles(
                [(_ts(e["received_at"]) - _ts(e["ts"])).total_seconds() for e in stored.values()]
            ),
        },
        "influx": {"points": _influx_points(run.influx_url)},
        "checks": _checks(details, run),
    }  # fmt: skip


def _all_events(hub: HubProcess) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = hub.get(f"/api/v1/events?site={SITE}&limit=100000")
    return events


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _alarm_counts(details: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Count, per class, the alarms that reached each state (from their histories)."""
    counts = {cls: dict.fromkeys(STATES, 0) for cls in CLASSES}
    for detail in details.values():
        cls = detail["alarm"]["cls"]
        reached = {h["to_state"] for h in detail["history"]} | {detail["alarm"]["state"]}
        for state in reached & set(STATES):
            counts.setdefault(cls, dict.fromkeys(STATES, 0))[state] += 1
    return counts


def _push_latencies(
    details: dict[str, Any], published: dict[str, Any], workers: list[VirtualWorker]
) -> list[float]:
    """Seconds from each alarm's first event (edge clock) to the first alert on a phone."""
    first_push: dict[str, ReceivedAlert] = {}
    for worker in workers:
        for got in worker.inbox:
            seen = first_push.get(got.alert.alarm)
            if seen is None or got.received_at < seen.received_at:
                first_push[got.alert.alarm] = got
    out = []
    for alarm_id, detail in details.items():
        ids = detail["alarm"]["event_ids"]
        push = first_push.get(alarm_id)
        if not ids or push is None or ids[0] not in published:
            continue
        out.append((push.received_at - published[ids[0]].ts).total_seconds())
    return out


def _quantiles(seconds: list[float]) -> dict[str, float | int]:
    if not seconds:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"n": len(ms), "p50": round(statistics.median(ms), 1), "p99": round(p99, 1),
            "max": round(ms[-1], 1)}  # fmt: skip


def _influx_points(url: str) -> int:
    """Count the points of every measurement in the hub's database."""
    import urllib.parse
    import urllib.request

    total = 0
    for measurement, fld in (("event", "seq"), ("alarm", "alarm_id"),
                             ("device_status", "online"), ("telemetry", "uptime_s")):  # fmt: skip
        q = urllib.parse.urlencode(
            {"db": "watchpost", "q": f'SELECT count("{fld}") FROM "{measurement}"'}  # noqa: S608
        )
        with urllib.request.urlopen(f"{url}/query?{q}", timeout=10) as resp:  # noqa: S310
            body = json.loads(resp.read())
        for series in body["results"][0].get("series", []):
            total += int(series["values"][0][1])
    return total


def _checks(details: dict[str, Any], run: Running) -> dict[str, Any]:
    """Scenario-specific checks: the burnt-toast spike must not reach field workers."""
    roles = {w.id: w.role for w in run.registry.site.workers}
    kitchen = [d for d in details.values() if d["alarm"]["cls"] == "pre_alarm"]
    field_roles = {"grid_worker", "fire_station"}
    dispatched = [
        d["alarm"]["id"] for d in kitchen
        if any(roles.get(x["worker"]) in field_roles for x in d["deliveries"])
    ]  # fmt: skip
    escalated = [d["alarm"]["id"] for d in details.values() if d["alarm"]["tier"] > 0]
    cancels = [e for e in run.board.events.values() if e.kind == "cancel"]
    return {
        "falls_cancelled_by_resident": sum(e.data.get("cancelled") == "fall" for e in cancels),
        "pre_alarms": len(kitchen),
        "pre_alarms_dispatched_to_field": len(dispatched),
        "alarms_escalated": len(escalated),
        "sirens_sounded": sorted(run.board.sirens_seen),
        "sirens_on_now": [h.device for h in everyone(run.stage) if h.siren_on],
    }


def print_report(report: dict[str, Any], console: Console) -> None:
    """Print the report as readable tables."""
    from simulators.demo_board import report_tables

    for table in report_tables(report):
        console.print(table)
