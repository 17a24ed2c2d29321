"""Fault-suite kit: a hub process with its site, virtual workers, an edge publisher, SOS timing,
and the figures each scenario writes to `reports/faults/<scenario>.json` (gitignored), which
`docs/reliability.md` quotes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml

from protocol.codec import encode, new_event_id
from protocol.messages import Event, EventKind, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.workers import WorkerPool
from tests.hub.receiver import metric, write_site

__all__ = ["metric"]

REPORTS = Path(__file__).resolve().parents[2] / "reports" / "faults"
HOME_WORKER = {
    "home-b1-101": "w-zhang-wei",
    "home-b1-302": "w-zhang-wei",
    "home-b2-201": "w-li-na",
    "home-b3-905": "w-wang-fang",
}
WORKERS = ("w-zhang-wei", "w-li-na", "w-wang-fang", "w-duty-1", "w-maint-1", "w-sup-1")
SOS_WITHIN_S = 1.0
"""The issue's bound: an SOS is paged within 1 s during each fault (not with the broker down)."""


@dataclass
class Figures:
    """What one fault run measured: the row of docs/reliability.md."""

    scenario: str
    sent: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    worst_delay_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def delay(self, seconds: float) -> None:
        """Note one SOS's publish-to-page delay."""
        self.worst_delay_s = max(self.worst_delay_s, round(seconds, 4))

    def write(self) -> Path:
        """Write the figures to reports/faults/<scenario>.json and return the path."""
        REPORTS.mkdir(parents=True, exist_ok=True)
        path = REPORTS / f"{self.scenario}.json"
        doc = {**asdict(self), "at": utcnow().isoformat(timespec="seconds")}
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return path


async def until(check: Callable[[], bool], within: float = 15.0, what: str = "") -> None:
    """Wait until `check()` is true, failing the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within} s waiting for {what or check}")
        await asyncio.sleep(0.02)


def write_homes(root: Path, site: str, extra_per_home: int = 0) -> Path:
    """Write the example site as `site`, with `extra_per_home` more devices in each home
    (ids `<home>-<n>`, same household and grid worker) for scenarios with many alarms."""
    folder = write_site(root, site)
    for home in HOME_WORKER:
        doc = yaml.safe_load((folder / "devices" / f"{home}.yaml").read_text(encoding="utf-8"))
        for n in range(1, extra_per_home + 1):
            doc["device"] = f"{home}-{n}"
            path = folder / "devices" / f"{home}-{n}.yaml"
            path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder


def worker_of(device: str) -> str:
    """Return the grid worker paged first for a device of `write_homes`."""
    return HOME_WORKER[device if device in HOME_WORKER else device.rsplit("-", 1)[0]]


def event(device: str, kind: EventKind = "call", seq: int = 1, ts: datetime | None = None) -> Event:
    """Return a new event of `device`."""
    return Event(
        id=new_event_id(), device=device, seq=seq, ts=ts or utcnow(), kind=kind, source="fault"
    )


@asynccontextmanager
async def edge(port: int) -> AsyncIterator[aiomqtt.Client]:
    """Yield an MQTT client that publishes as the edge devices would (QoS 1 by default)."""
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"fault-edge-{new_event_id()[-8:]}"
    ) as c:
        yield c


async def publish(
    client: aiomqtt.Client, site: str, device: str, channel: str, body: bytes
) -> None:
    """Publish raw bytes on a device's topic (QoS 1, or 0 for telemetry)."""
    qos = 0 if channel == "telemetry" else 1
    await client.publish(device_topic(site, device, channel), body, qos=qos)


async def sos_paged(
    client: aiomqtt.Client, pool: WorkerPool, site: str, device: str, within_s: float = 10.0
) -> tuple[Event, float]:
    """Publish an SOS from `device`; return it and the seconds until its grid worker got it."""
    worker = pool[worker_of(device)]
    seen = len(worker.inbox)
    sos = event(device)
    started = time.monotonic()
    await client.publish(device_topic(site, device, "event"), encode(sos), qos=1)
    async with asyncio.timeout(within_s):
        while True:
            for got in worker.inbox[seen:]:
                if got.alert.device == device and got.alert.cls == "call":
                    return sos, got.received_mono - started
            await asyncio.sleep(0.005)


def hub_process(workdir: Path, broker_url: str, site: Path, *args: str, **env: str) -> HubProcess:
    """Return (not started) the hub as its own process on a SQLite store in `workdir`."""
    return HubProcess(
        workdir,
        broker_url,
        site,
        store_url=f"sqlite:///{workdir / 'hub.db'}",
        extra_args=["--name", "faults", *args],
        env=dict(env),
    )


def workers(broker_url: str, site: str) -> WorkerPool:
    """Return virtual workers for every worker of the example site (they never answer)."""
    return WorkerPool.build(broker_url, site, WORKERS, respond=False)
