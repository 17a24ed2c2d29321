"""`watchpost bench`: measure throughput, latency and memory; print one table per benchmark.

Benchmarks, in run order (names for `--only`):

* ``codec``: decode/encode cost of v1 payloads (`simulators.bench_cpu`).
* ``fall``: fall detector samples per CPU second (`simulators.bench_cpu`).
* ``outbox``: durable emit rate with fsync, and replay after the broker comes back
  (`simulators.bench_edge`).
* ``agent_memory``: RSS per virtual edge agent in one process (`simulators.bench_edge`).
* ``influx``: the hub's InfluxDB writer (`simulators.bench_influx`, when present).
* ``hub``: the hub as its own process: event ingest rate and SOS alert latency under a
  telemetry flood (`simulators.bench_hub`).
* ``hubs``: 1 … K hubs in one share group on one broker (`simulators.bench_hubs`;
  `watchpost bench --hubs K` runs only this one, with K hubs at most).

The hub-under-load scenarios run only when named (`--only storm`, …; minutes each):

* ``engine``: the alarm engine alone, hub time per input (`simulators.bench_engine`);
* ``storm``, ``heartbeat``: the alarm lane (`simulators.bench_load`);
* ``telemetry``: the telemetry lane against a bare gmqtt subscriber and Node-RED
  (`simulators.bench_telemetry`);
* ``startup``: start-up time and RSS with 100,000 registered devices (`simulators.bench_startup`).

Every server a benchmark starts listens on 127.0.0.1 and is stopped by PID. A failing
benchmark is reported in its table and makes the exit code 1; the others still run.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from simulators.bench_cpu import bench_codec, bench_fall
from simulators.bench_edge import bench_agent_memory, bench_outbox
from simulators.bench_engine import bench_engine
from simulators.bench_figures import Note, Result
from simulators.bench_hub import bench_hub
from simulators.bench_hubs import bench_hubs
from simulators.bench_load import bench_heartbeat, bench_storm
from simulators.bench_startup import bench_startup
from simulators.bench_telemetry import Transport, bench_telemetry

log = logging.getLogger(__name__)

Benchmark = Callable[[bool, Note], Result]

INFLUX_MODULE = "simulators.bench_influx"
"""The module providing `bench_influx(points, batch) -> dict`; optional, owned elsewhere."""


def bench_influx_writer(quick: bool, note: Note) -> Result:
    """Run `simulators.bench_influx.bench_influx` if that module exists; else skip."""
    result = Result("influx", "hub InfluxDB writer against a real influxd 1.x")
    try:
        # Imported by name at run time: the module is optional and is owned elsewhere.
        module = importlib.import_module(INFLUX_MODULE)
        run = module.bench_influx
    except (ImportError, AttributeError) as exc:
        result.skipped = f"{INFLUX_MODULE}.bench_influx is not available ({exc})"
        return result
    points, batch = (20_000, 2_000) if quick else (200_000, 5_000)
    note(f"influx: writing {points:,} points in batches of {batch:,}")
    figures: dict[str, Any] = run(points, batch)
    labels = {
        "points": ("points written", ""),
        "batch": ("batch size", "points"),
        "seconds": ("write time", "s"),
        "points_per_s": ("write rate", "points/s"),
        "batches": ("batches", ""),
        "batch_p50_ms": ("batch latency p50", "ms"),
        "batch_p99_ms": ("batch latency p99", "ms"),
        "build_lines_per_s": ("line protocol built", "lines/s"),
        "points_spilled": ("points spilled to disk", ""),
    }
    for key, value in figures.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            if value is not None:
                result.notes.append(f"{key}: {value}")
            continue
        label, unit = labels.get(key, (key.replace("_", " "), ""))
        result.add(key, label, value, unit)
    return result


LOAD = ("engine", "storm", "heartbeat", "telemetry", "startup", "hubs")
"""The hub-under-load scenarios (minutes each): run only when named, e.g. `--only storm`."""

BENCHMARKS: dict[str, Benchmark] = {
    "codec": bench_codec,
    "fall": bench_fall,
    "outbox": bench_outbox,
    "agent_memory": bench_agent_memory,
    "influx": bench_influx_writer,
    "hub": bench_hub,
    "engine": bench_engine,
    "storm": bench_storm,
    "heartbeat": bench_heartbeat,
    "telemetry": bench_telemetry,
    "startup": bench_startup,
    "hubs": bench_hubs,
}
"""Every benchmark by name, in the order `watchpost bench` runs them."""


def table(result: Result) -> Table:
    """Return a Rich table of one benchmark's figures, notes as a caption."""
    out = Table(title=f"{result.name}: {result.title}", title_justify="left", expand=False)
    out.add_column("figure")
    out.add_column("value", justify="right")
    out.add_column("unit")
    if result.skipped:
        out.add_row("[yellow]skipped[/]", "", "")
    for fig in result.figures:
        value = f"{fig.value:,.0f}" if abs(fig.value) >= 1000 else f"{fig.value:.4g}"
        out.add_row(fig.label, value, fig.unit)
    notes = ([result.skipped] if result.skipped else []) + result.notes
    if notes:
        out.caption = "\n".join(notes)
        out.caption_justify = "left"
    return out


def yardstick() -> float:
    """Seconds this interpreter takes for a loop of 10 million additions (the best of three
    loops of 2 million, times 5): how fast the machine runs plain Python right now.

    The "2 cores" this project is measured on have ranged from 0.84 to 1.68 s on it across
    sessions, and every CPU-bound figure (the engine's, start-up's) moves with it; a report
    carries it from the start and the end of its run so figures of two days compare.
    """
    best = float("inf")
    for _ in range(3):
        started, total = time.perf_counter(), 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best * 5, 3)


def machine(speed: tuple[float, float] | None = None) -> dict[str, Any]:
    """Describe the machine the figures come from (`speed`: `yardstick()` at start and end)."""
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    described: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": load,
    }
    if speed is not None:
        described["loop_10m_s"] = {"start": speed[0], "end": speed[1]}
    return described


def _run_one(name: str, quick: bool, note: Note) -> Result:
    started = time.monotonic()
    try:
        result = BENCHMARKS[name](quick, note)
    except Exception as exc:
        log.debug("benchmark %s failed", name, exc_info=True)
        result = Result(name, "failed")
        result.skipped = f"FAILED: {type(exc).__name__}: {exc}"
        result.notes.append(traceback.format_exc(limit=3).strip().splitlines()[-1])
    result.notes.append(f"took {time.monotonic() - started:.1f} s")
    return result


@contextlib.contextmanager
def _errors_only(console: Console) -> Iterator[None]:
    """Show log records of ERROR and above while benchmarks run.

    The outbox benchmark stops the broker on purpose: the agent's warnings about it are
    expected and would only clutter the tables.
    """
    handler = RichHandler(console=console, level=logging.ERROR, show_path=False)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def main(
    only: list[str],
    quick: bool,
    report: Path | None,
    hubs: int | None = None,
    telemetry_transport: Transport = "unix",
) -> int:
    """Run the named benchmarks (all if `only` is empty); print tables; write JSON if asked.

    `hubs`: run only the several-hubs benchmark, with 1 … `hubs` hubs. `telemetry_transport`:
    how the telemetry benchmark's consumers take their messages from Mosquitto ("tcp": all TCP,
    as before the hub could use its Unix socket).
    """
    console = Console()
    BENCHMARKS["telemetry"] = functools.partial(bench_telemetry, transport=telemetry_transport)
    if hubs is not None:
        only = ["hubs"]
        BENCHMARKS["hubs"] = functools.partial(bench_hubs, max_hubs=hubs)
    unknown = [n for n in only if n not in BENCHMARKS]
    if unknown:
        console.print(
            f"[red]unknown benchmark(s): {', '.join(unknown)}[/]; "
            f"choose from {', '.join(BENCHMARKS)}"
        )
        return 2
    names = [n for n in BENCHMARKS if n in only or (not only and n not in LOAD)]
    results: list[Result] = []
    started = datetime.now(UTC)
    first = yardstick()
    console.print(f"machine: a Python loop of 10 million additions takes {first:.2f} s")
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with _errors_only(console), Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(names))
        for name in names:

            def note(text: str, _name: str = name) -> None:
                progress.update(task, description=f"[{_name}] {text}")

            note("starting")
            result = _run_one(name, quick, note)
            results.append(result)
            progress.console.print(table(result))
            progress.advance(task)
    failed = [r.name for r in results if r.skipped and r.skipped.startswith("FAILED")]
    last = yardstick()
    console.print(f"machine: the same loop at the end: {last:.2f} s")
    if report is not None:
        doc = {
            "started": started.isoformat(),
            "quick": quick,
            "machine": machine((first, last)),
            "benchmarks": {r.name: r.as_json() for r in results},
            "failed": failed,
        }
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"report written to {report}")
    return 1 if failed else 0
