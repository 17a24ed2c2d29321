"""`watchpost demo` and `watchpost bench`: the whole system end to end, and its figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer


def demo(
    seconds: Annotated[
        float, typer.Option(help="How long to run the scenario (at least its length)")
    ] = 90.0,
    report: Annotated[Path, typer.Option(help="Where to write the JSON report")] = Path(
        "reports/demo.json"
    ),
    homes: Annotated[int, typer.Option(help="Virtual homes in the community")] = 50,
    grids: Annotated[int, typer.Option(help="Grids (one grid worker each)")] = 3,
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML (default: the demo)")] = None,
    broker: Annotated[
        str | None, typer.Option(help="Use this broker instead of starting one")
    ] = None,
    influx: Annotated[
        str | None, typer.Option(help="Use this InfluxDB instead of starting one")
    ] = None,
    workdir: Annotated[
        Path | None, typer.Option(help="Keep state here (default: a temp dir)")
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(help="After the report, keep everything running (board open) until Ctrl-C"),
    ] = False,
) -> None:
    """Run broker, InfluxDB, hub, a simulated community and workers; print a live table."""
    from simulators.demo import DemoOptions, main

    raise typer.Exit(
        main(
            DemoOptions(
                seconds=seconds,
                report=report,
                homes=homes,
                grids=grids,
                scenario=scenario,
                broker_url=broker,
                influx_url=influx,
                workdir=workdir,
                keep=keep,
            )
        )
    )


def bench(
    only: Annotated[list[str] | None, typer.Option(help="Run only these benchmarks")] = None,
    quick: Annotated[bool, typer.Option(help="Smaller sizes, for a smoke run")] = False,
    report: Annotated[Path | None, typer.Option(help="Also write the figures as JSON")] = None,
    hubs: Annotated[
        int | None,
        typer.Option(min=1, max=8, help="Only the several-hubs benchmark, with 1 … HUBS hubs"),
    ] = None,
    telemetry_transport: Annotated[
        str,
        typer.Option(
            help="How the telemetry benchmark's hub, gmqtt and Node-RED take their messages from "
            "Mosquitto: 'unix' (its Unix socket) or 'tcp' (all TCP, the earlier sessions' runs)"
        ),
    ] = "unix",
) -> None:
    """Measure throughput, latency and memory; print readable tables."""
    from simulators.bench import main

    if telemetry_transport not in ("unix", "tcp"):
        raise typer.BadParameter("'unix' or 'tcp'", param_hint="--telemetry-transport")
    transport: Literal["unix", "tcp"] = "unix" if telemetry_transport == "unix" else "tcp"
    raise typer.Exit(
        main(
            only=only or [],
            quick=quick,
            report=report,
            hubs=hubs,
            telemetry_transport=transport,
        )
    )


def register(app: typer.Typer) -> None:
    """Add `demo` and `bench` to the `watchpost` command."""
    app.command("demo")(demo)
    app.command("bench")(bench)
