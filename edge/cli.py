"""`watchpost edge`: run the agent of one device, or replay an accelerometer trace.

`main()` builds the settings (device YAML + password), then `asyncio.run(run(settings))`.
SIGTERM and Ctrl-C shut down gracefully: flush the outbox, publish `offline`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from protocol.config_file import load_model, load_yaml
from protocol.device_config import DeviceConfig, FallConfig, load_device_config
from protocol.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EdgeSettings:
    """Everything the agent process needs, resolved before the event loop starts."""

    config: DeviceConfig
    password: str | None


def load_settings(path: Path) -> EdgeSettings:
    """Load the device YAML and its broker password; raise ConfigError on any problem."""
    from edge.credentials import broker_password

    config = load_device_config(path)
    return EdgeSettings(config, broker_password(config.broker, str(path)))


async def run(settings: EdgeSettings) -> None:
    """Run the agent until SIGTERM/SIGINT, then shut it down gracefully."""
    from edge.agent import Agent

    async with Agent(settings.config, password=settings.password) as agent:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, agent.stop)
        await agent.run()


def main(config: Path, log_level: str = "INFO") -> None:
    """Build the settings, then run the agent."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(config)
    asyncio.run(run(settings))


def _fall_config(path: Path | None) -> tuple[FallConfig | None, str]:
    """Read fall thresholds from a device YAML (its accelerometer) or a bare FallConfig YAML."""
    if path is None:
        return None, "z"
    raw = load_yaml(path)
    if isinstance(raw, dict) and "device" in raw:
        accel = load_model(DeviceConfig, path, raw).inputs.accelerometer
        return (accel.fall, accel.upright_axis) if accel else (None, "z")
    return load_model(FallConfig, path, raw), "z"


def _fail(exc: ConfigError) -> typer.Exit:
    typer.echo(str(exc), err=True)
    return typer.Exit(2)


def edge_command(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Device YAML file")] = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Run the agent: watchpost edge --config firmware-config/sites/S/devices/D.yaml."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None:
        typer.echo("watchpost edge: --config DEVICE.yaml is required", err=True)
        raise typer.Exit(2)
    try:
        main(config, log_level)
    except ConfigError as exc:
        raise _fail(exc) from None
    except OSError as exc:  # hardware or outbox file that cannot be opened
        typer.echo(f"watchpost edge: {exc}", err=True)
        raise typer.Exit(1) from None


def detect_falls_command(
    trace: Annotated[Path, typer.Argument(help="CSV: t,ax,ay,az (seconds, g)")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Device or fall-config YAML")
    ] = None,
) -> None:
    """Print one JSON line per fall found in an accelerometer trace."""
    from edge.fall_trace import detect_falls_csv

    try:
        fall, axis = _fall_config(config)
        found = detect_falls_csv(trace, fall, upright_axis=axis)
    except ConfigError as exc:
        raise _fail(exc) from None
    for hit in found:
        typer.echo(json.dumps({"t": round(hit.t, 3), "peak_g": hit.peak_g}))


def render_prompts_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for STATE.LANG.wav files")],
) -> None:
    """Render the spoken prompts (zh-CN and English) once with espeak-ng."""
    from edge.voice import render_prompts

    try:
        files = render_prompts(out)
    except OSError as exc:
        typer.echo(f"watchpost edge render-prompts: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(files)} prompts in {out}")


def register(app: typer.Typer) -> None:
    """Add the `edge` command group to the `watchpost` app."""
    edge_app = typer.Typer(
        help="Run the edge agent of one device. / 运行设备端代理", invoke_without_command=True
    )
    edge_app.callback(invoke_without_command=True)(edge_command)
    edge_app.command("detect-falls")(detect_falls_command)
    edge_app.command("render-prompts")(render_prompts_command)
    app.add_typer(edge_app, name="edge")
