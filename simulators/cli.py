"""`watchpost simulate`: N virtual homes (real agents) against a broker, playing a scenario.

Also `watchpost fall-eval`: the fall detector's sensitivity and false alarms on synthetic days.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import aiomqtt
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from edge.bus import parse_url
from protocol.codec import decode_event
from protocol.errors import ConfigError, ProtocolError
from protocol.topics import device_filter, parse_topic
from simulators.community import CommunityOptions, generate_community, write_community
from simulators.home import VirtualHome
from simulators.scenario import SCENARIO_DIR, Scenario, Stage, homes_needed, load_scenario, play

log = logging.getLogger(__name__)

MAX_ROWS = 30
"""Rows of the live table; homes with something going on come first."""


@dataclass
class Settings:
    """What `watchpost simulate` was asked to do."""

    broker: str
    devices: int
    grids: int
    site: str
    scenario: Scenario | None
    seconds: float | None
    config_out: Path | None
    outbox_dir: Path
    secrets: Path | None = None
    watch_user: str | None = None

    def password(self, user: str) -> str | None:
        """Return a user's MQTT password from `secrets/<user>.pw`, None without --secrets."""
        if self.secrets is None:
            return None
        path = self.secrets / f"{user}.pw"
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(str(path), [f"cannot read the password of {user}: {exc}"]) from exc


@dataclass
class Board:
    """What the live table shows: the stage, the latest step per device, recent events."""

    stage: Stage
    last_step: dict[str, str] = field(default_factory=dict)
    events: deque[str] = field(default_factory=lambda: deque(maxlen=12))
    started: float = field(default_factory=time.monotonic)

    def step(self, at: float, device: str, what: str) -> None:
        """Note a scenario step (observer for `play`)."""
        self.last_step[device] = f"{at:.0f}s {what.split(' — ')[0]}"
        self.events.append(f"[cyan]▶ {at:5.1f}s {device}: {escape(what)}")

    def render(self) -> Group:
        """Return the table of homes (busiest first, at most MAX_ROWS) and recent events."""
        everyone = [*self.stage.homes, *self.stage.stairwells.values()]
        online = sum(h.connected for h in everyone)
        homes = Table(
            title=f"Virtual homes / 虚拟住户: {online}/{len(everyone)} online, "
            f"{time.monotonic() - self.started:.0f} s"
        )
        for column in ("device", "online", "state", "LED", "buzzer", "siren", "outbox"):
            homes.add_column(column, no_wrap=True, min_width=len(column))
        homes.add_column("last step", no_wrap=True, overflow="ellipsis", max_width=48)
        busy = sorted(everyone, key=lambda h: h.device not in self.last_step and not h.silent)
        for h in busy[:MAX_ROWS]:
            state = "[red]silent" if h.silent else ("yes" if h.connected else "[yellow]no")
            homes.add_row(
                h.device, state, h.indicate_state, _flag(h.led_on), _flag(h.buzzer_on),
                _flag(h.siren_on, "[bold red]ON"), str(h.outbox_pending),
                escape(self.last_step.get(h.device, "")),
            )  # fmt: skip
        if len(busy) > MAX_ROWS:
            homes.add_row(f"… {len(busy) - MAX_ROWS} more", *[""] * 7)
        events = Table(title="Events on the broker / 总线事件", show_header=False)
        events.add_column("event", overflow="ellipsis", no_wrap=True)
        for line in self.events:
            events.add_row(line)
        return Group(homes, events)


def _flag(on: bool, text: str = "on") -> str:
    return text if on else "·"


def _resolve_scenario(value: str | None) -> Scenario | None:
    """Load a scenario by path, or by the name of one shipped in simulators/scenarios/."""
    if value is None:
        return None
    path = Path(value)
    if not path.exists() and (SCENARIO_DIR / f"{value}.yaml").exists():
        path = SCENARIO_DIR / f"{value}.yaml"
    return load_scenario(path)


def build_stage(settings: Settings) -> Stage:
    """Generate the community, write it if asked, and create a VirtualHome per device."""
    opt = CommunityOptions(
        site=settings.site, broker_url=settings.broker, outbox_dir=str(settings.outbox_dir),
        heartbeat_s=10, telemetry_s=30, cancel_window_s=8, smoke_warmup_s=1,
    )  # fmt: skip
    registry = generate_community(settings.devices, settings.grids, opt)
    if settings.config_out is not None:
        write_community(registry, settings.config_out)
    homes: list[VirtualHome] = []
    stairs: dict[str, VirtualHome] = {}
    for index, cfg in enumerate(registry.devices):
        home = VirtualHome(cfg, seed=index, password=settings.password(cfg.device))
        if cfg.resident is None:
            stairs[cfg.building] = home
        else:
            homes.append(home)
    return Stage(homes, stairs)


async def watch_events(settings: Settings, board: Board) -> None:
    """Subscribe to the site's events and list them on the board (reconnecting)."""
    endpoint = parse_url(settings.broker)
    user = settings.watch_user
    password = settings.password(user) if user else None
    site = settings.site
    while True:
        try:
            async with aiomqtt.Client(
                endpoint.host, endpoint.port, username=user, password=password
            ) as client:
                await client.subscribe(device_filter(site, "event"), qos=1)
                async for message in client.messages:
                    device = parse_topic(str(message.topic)).ident
                    payload = message.payload
                    if not isinstance(payload, bytes | bytearray):
                        continue
                    event = decode_event(bytes(payload), device=device)
                    stamp = event.ts.strftime("%H:%M:%S")
                    board.events.append(
                        f"{stamp} {device} #{event.seq} [bold]{event.kind}[/] {event.data}"
                    )
        except aiomqtt.MqttError as exc:
            board.events.append(f"(event watcher: {exc}; retrying)")
            await asyncio.sleep(2)
        except ProtocolError as exc:
            log.warning("undecodable event skipped: %s", exc)


async def show(board: Board, console: Console) -> None:
    """Refresh the live table twice a second."""
    with Live(board.render(), console=console, auto_refresh=False) as live:
        while True:
            await asyncio.sleep(0.5)
            live.update(board.render(), refresh=True)


async def run_simulation(settings: Settings, console: Console) -> None:
    """Run every virtual home, the scenario, the event watcher and the table until done."""
    stage = build_stage(settings)
    board = Board(stage)
    seconds = settings.seconds
    if seconds is None and settings.scenario is not None:
        seconds = settings.scenario.duration_s
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds), asyncio.TaskGroup() as tg:
            for home in [*stage.homes, *stage.stairwells.values()]:
                tg.create_task(home.run(), name=f"home:{home.device}")
            tg.create_task(watch_events(settings, board), name="events")
            tg.create_task(show(board, console), name="table")
            if settings.scenario is not None:
                await _wait_online(stage)
                tg.create_task(play(settings.scenario, stage, observer=board.step), name="scenario")


async def _wait_online(stage: Stage, within: float = 15.0) -> None:
    """Give the agents a moment to connect before the first step."""
    for _ in range(int(within * 10)):
        if all(h.connected for h in stage.homes):
            return
        await asyncio.sleep(0.1)


def simulate(
    broker: Annotated[
        str, typer.Option(help="Broker URL, mqtt://host:port")
    ] = "mqtt://127.0.0.1:1883",
    devices: Annotated[int, typer.Option(min=1, max=2000, help="Number of virtual homes")] = 6,
    scenario: Annotated[
        str | None, typer.Option(help="Scenario YAML file, or a shipped one by name (demo)")
    ] = None,
    grids: Annotated[int, typer.Option(min=1, help="Number of grids")] = 2,
    seconds: Annotated[
        float | None, typer.Option(help="Run this long (default: the scenario's length)")
    ] = None,
    site: Annotated[str, typer.Option(help="Site id used in topics")] = "sim",
    config_out: Annotated[
        Path | None, typer.Option(help="Write the generated site folder here (for the hub)")
    ] = None,
    secrets: Annotated[
        Path | None, typer.Option(help="Folder of <user>.pw MQTT passwords (secured brokers)")
    ] = None,
    watch_user: Annotated[
        str | None, typer.Option(help="MQTT user allowed to read every event (with --secrets)")
    ] = None,
) -> None:
    """Run N virtual homes (real edge agents on mock pins) and play a scenario."""
    try:
        chosen = _resolve_scenario(scenario)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if chosen is not None and homes_needed(chosen) > devices:
        typer.echo(f"scenario needs at least {homes_needed(chosen)} homes (--devices)", err=True)
        raise typer.Exit(2)
    if chosen is None and seconds is None:
        typer.echo("nothing to do: give --scenario and/or --seconds", err=True)
        raise typer.Exit(2)
    with tempfile.TemporaryDirectory(prefix="watchpost-sim-") as tmp:
        settings = Settings(
            broker,
            devices,
            grids,
            site,
            chosen,
            seconds,
            config_out,
            Path(tmp),
            secrets,
            watch_user,
        )
        try:
            if watch_user is not None:
                settings.password(watch_user)  # fail early, not inside the task group
            asyncio.run(run_simulation(settings, Console()))
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc


def fall_eval(
    days: Annotated[int, typer.Option(min=0, help="Continuous device-days per set and rate")] = 3,
    falls: Annotated[int, typer.Option(min=0, help="Fall traces per kind, set and rate")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the simulated data")] = 1,
    rate: Annotated[
        list[float] | None, typer.Option(min=25, max=100, help="Sample rate(s) in Hz")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="tuning, varied and/or held-out")
    ] = None,
) -> None:
    """Measure the fall detector per sample rate: falls per kind, slumps, false alarms/day."""
    from simulators.falleval import RATES, SETS, evaluate, print_report

    chosen = tuple(sets or SETS)
    unknown = [s for s in chosen if s not in SETS]
    if unknown:
        raise typer.BadParameter(f"unknown set(s) {unknown}; use {', '.join(SETS)}")
    rates = tuple(rate or RATES)
    print_report(evaluate(days, falls, seed, rates=rates, sets=chosen))


def register(app: typer.Typer) -> None:
    """Add `simulate` and `fall-eval` to the watchpost command."""
    app.command("simulate")(simulate)
    app.command("fall-eval")(fall_eval)
