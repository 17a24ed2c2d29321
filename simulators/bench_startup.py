"""Start-up benchmark (d): the hub with 100,000 registered devices.

A site folder in the `firmware-config` layout is written straight from dicts (one home per
device: N devices, N households, N residents, N/6 buildings, 20 grids; `site.yaml` and the
device files are JSON, which YAML reads as flow style), then measured in this order:

1. `protocol.site_config.load_site` of the folder (parse + validate + cross-check), in-process,
   and the CPU a device file costs to parse and validate, as written (JSON: the JSON path of
   `protocol.yaml_loader`) and as the same files in block-style YAML (libyaml's);
2. `Store.import_registry` into a fresh SQLite store, and again with nothing changed;
3. every device's retained `online` status is published to the broker (as after a power cut:
   the hub takes them all in when it subscribes);
4. `watchpost hub` as its own process, first start (parse + import, by its child process) and
   a restart on the same store: seconds from exec to `/healthz` answering 200, the process's
   RSS then, the statuses it had taken in by then, and over the next `INTAKE_WINDOW_S` the
   slowest `/healthz` answer while it takes the rest in.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path

from hub.store import Store
from protocol.site_config import load_site
from simulators.bench_figures import Note, Result
from simulators.bench_hub import metric
from simulators.bench_mqtt import Publisher
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto

SITE = "bench"
PER_BUILDING = 6
INTAKE_WINDOW_S = 10.0
"""How long /healthz is polled after it first answered, while retained statuses come in."""


@dataclass(frozen=True)
class StartupSizes:
    """How many devices the start-up benchmark registers."""

    devices: int


QUICK = StartupSizes(devices=5_000)
FULL = StartupSizes(devices=100_000)


def write_site(folder: Path, devices: int, broker_url: str) -> Path:
    """Write a registry of `devices` homes (one device each); return the folder."""
    grids = [{"id": f"grid-{g + 1}", "name_zh": f"第{g + 1}网格"} for g in range(20)]
    buildings, households, residents = [], [], []
    dev_dir = folder / "devices"
    dev_dir.mkdir(parents=True, exist_ok=True)
    for i in range(devices):
        b, grid = f"b{i // PER_BUILDING + 1}", grids[(i // PER_BUILDING) % len(grids)]["id"]
        if i % PER_BUILDING == 0:
            buildings.append({"id": b, "grid": grid, "address": f"{b} 幸福路", "floors": 6})
        home, resident = f"{b}-{i % PER_BUILDING + 1}01", f"r-{i:06d}"
        households.append({"id": home, "building": b, "floor": i % PER_BUILDING + 1})
        residents.append({"id": resident, "household": home, "name": f"居民{i}", "age": 80})
        device = {
            "device": f"home-{i:06d}",
            "site": SITE,
            "grid": grid,
            "building": b,
            "household": home,
            "resident": resident,
            "location": "卧室 bedroom",
            "broker": {"url": broker_url, "username": f"home-{i:06d}"},
            "outbox": {"path": f"/var/lib/watchpost/home-{i:06d}.db"},
            "inputs": {"call_button": {"pin": 17}, "cancel_button": {"pin": 27}},
            "outputs": {"led": {"pin": 5}, "buzzer": {"pin": 6}},
        }
        (dev_dir / f"home-{i:06d}.yaml").write_text(json.dumps(device, ensure_ascii=False))
    workers: list[dict[str, object]] = [
        {
            "id": f"w-{g['id']}",
            "name": f"网格员 {g['id']}",
            "role": "grid_worker",
            "phone": "13800000000",
            "grids": [g["id"]],
        }
        for g in grids
    ]
    workers.append({"id": "w-duty", "name": "值班 duty", "role": "duty_officer", "phone": "110"})
    site = {
        "site": SITE,
        "name_zh": "压测社区",
        "name_en": "Bench community",
        "grids": grids,
        "buildings": buildings,
        "households": households,
        "residents": residents,
        "workers": workers,
    }
    (folder / "site.yaml").write_text(json.dumps(site, ensure_ascii=False))
    return folder


def _parse_cost(work: Path, site_dir: Path, n: int) -> tuple[float, float]:
    """Return the CPU µs a device file costs to parse and validate, as written (JSON) and the
    same files as block-style YAML (as `watchpost config device` writes them), over `n`."""
    import yaml  # here: only this figure needs it

    from hub.store.registry_import import parse_devices

    files = sorted((site_dir / "devices").iterdir())[:n]
    block = work / "block"
    block.mkdir()
    for path in files:
        doc = json.loads(path.read_text(encoding="utf-8"))
        (block / path.name).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    costs = []
    for paths in ([str(p) for p in files], [str(block / p.name) for p in files]):
        parse_devices(paths[:50])  # warm: imports and memoised scalars
        started = time.process_time()
        rows, error = parse_devices(paths)
        assert error is None and len(rows) == len(paths), error
        costs.append((time.process_time() - started) / len(paths) * 1e6)
    return costs[0], costs[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    """Return the CPU seconds of a process and of the children it has waited for (its import
    process and that one's parsers): a figure that depends less on the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _start(hub: HubProcess, timeout_s: float) -> tuple[float, float, float]:
    """Start the hub; return (seconds to /healthz, RSS in MiB, CPU seconds)."""
    started = time.monotonic()
    hub.start(timeout=timeout_s)
    seconds = time.monotonic() - started
    assert hub.proc is not None
    return seconds, _rss_mb(hub.proc.pid), _cpu_s(hub.proc.pid)


def _publish_statuses(broker_url: str, n: int) -> float:
    """Publish every device's retained `online` status (QoS 1); return the seconds it took."""
    from simulators.bench_load import status  # here: bench_load imports this module

    started = time.monotonic()
    with Publisher(broker_url, "bench-startup-statuses") as pub:
        for i in range(n):
            if i - pub.acked > 20_000:  # paho's message ids wrap at 65,535 queued messages
                pub.wait_acked(i - 10_000, 120)
            topic, payload = status(i)
            info = pub.client.publish(topic, payload, qos=1, retain=True)
            if info.rc != 0:
                raise ConnectionError(f"publish to {topic} failed ({info.rc})")
        if not pub.wait_acked(n, 600):
            raise TimeoutError(f"the broker did not acknowledge {n:,} statuses")
    return time.monotonic() - started


def _statuses(hub: HubProcess) -> float:
    return metric(hub, "watchpost_ingest_messages_total", 'channel="status"')


def _intake(hub: HubProcess) -> tuple[float, float, int, float]:
    """Return statuses taken in at /healthz, the slowest /healthz over `INTAKE_WINDOW_S`, how
    many of those answers were not 200, and statuses taken in at the end of the window."""
    at_ready = _statuses(hub)
    slowest, failed = 0.0, 0
    deadline = time.monotonic() + INTAKE_WINDOW_S
    while time.monotonic() < deadline:
        asked = time.monotonic()
        try:
            hub.get("/healthz", auth=False)
        except (urllib.error.URLError, TimeoutError):
            failed += 1
        slowest = max(slowest, time.monotonic() - asked)
        time.sleep(0.25)
    return at_ready, slowest, failed, _statuses(hub)


def bench_startup(quick: bool, note: Note) -> Result:
    """Measure registry load, bulk import and hub start-up with many registered devices."""
    result = Result("startup", "hub start-up and RSS with many registered devices")
    n = (QUICK if quick else FULL).devices
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-startup-") as tmp:
        work = Path(tmp)
        with Mosquitto(work / "broker") as broker:
            note(f"startup: writing a registry of {n:,} devices")
            site_dir = write_site(work / "site", n, broker.url)
            note("startup: load_site")
            started = time.monotonic()
            registry = load_site(site_dir)
            result.add("load_site_s", f"load_site: parse + validate {n:,} device files",
                       time.monotonic() - started, "s")  # fmt: skip
            as_json, as_block = _parse_cost(work, site_dir, min(n, 2_000))
            result.add("parse_json_us", "a device file parsed + validated, JSON (as written)",
                       as_json, "µs")  # fmt: skip
            result.add("parse_block_us", "the same file as block-style YAML", as_block, "µs")
            store = Store(f"sqlite:///{work / 'import.db'}")
            store.migrate()
            note("startup: bulk import")
            for key, label in (("import_s", "fresh store"), ("reimport_s", "nothing changed")):
                started = time.monotonic()
                store.import_registry(registry)
                result.add(key, f"import_registry, {label}", time.monotonic() - started, "s")
            store.close()
            del registry
            note(f"startup: publishing {n:,} retained statuses")
            result.add("statuses_s", f"{n:,} retained statuses published (not timed below)",
                       _publish_statuses(broker.url, n), "s")  # fmt: skip
            hub = HubProcess(work / "hub", broker.url, site_dir)
            for key, label in (("first", "first start (parse + import)"), ("restart", "restart")):
                note(f"startup: hub {label}")
                seconds, rss, cpu = _start(hub, 600)
                at_ready, slowest, failed, after = _intake(hub)
                hub.stop()
                result.add(f"hub_{key}_s", f"hub {label}: exec → /healthz", seconds, "s")
                result.add(f"hub_{key}_rss_mb", f"hub {label}: RSS at /healthz", rss, "MiB")
                result.add(f"hub_{key}_cpu_s", f"hub {label}: CPU by then (+ import processes)",
                           cpu, "s")  # fmt: skip
                result.add(f"hub_{key}_statuses", f"hub {label}: statuses taken in at /healthz",
                           at_ready, "")  # fmt: skip
                result.add(f"hub_{key}_healthz_ms",
                           f"hub {label}: slowest /healthz in the next {INTAKE_WINDOW_S:.0f} s",
                           slowest * 1000, "ms")  # fmt: skip
                result.add(f"hub_{key}_healthz_failed", f"hub {label}: of those, not 200",
                           failed, "")  # fmt: skip
                result.add(f"hub_{key}_statuses_after",
                           f"hub {label}: statuses taken in {INTAKE_WINDOW_S:.0f} s later",
                           after, "")  # fmt: skip
    result.notes.append(
        f"{n:,} devices, households and residents, {n // PER_BUILDING:,} buildings, 20 grids; "
        f"{n:,} retained statuses on the broker; SQLite store; "
        "targets: start ≤ 10 s, RSS ≤ 300 MB"
    )
    return result
