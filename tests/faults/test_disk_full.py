"""The store's disk full (issue #7, row "disk full").

Injected honestly: the hub's SQLite store lives on its own 8 MB tmpfs (mounted for the test;
skipped where the test may not mount), which is filled with a filler file while the hub runs;
`test` events follow until a write fails with `SQLITE_FULL`, as on a real full disk (until
then SQLite writes into space its files already have: `_until_a_write_fails`). While it is full:

* an SOS cannot be committed: it stays un-acknowledged (the broker keeps it) and is paged at
  once, directly, to the home's grid worker and the duty officer (`unsaved-…` alert);
* the duty officer gets a `trouble` page "the alarm store cannot write" over MQTT, not through
  the store;
* `/healthz` says 503 with `store_not_writable`.

Once the filler is removed, the broker's redelivery is committed and paged as a normal alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protocol.codec import encode
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto
from tests.faults.harness import (
    SOS_WITHIN_S,
    Figures,
    edge,
    event,
    hub_process,
    sos_paged,
    until,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration

HOME = "home-b2-201"


@contextlib.contextmanager
def small_disk(where: Path, size: str = "8m") -> Iterator[Path]:
    """Mount a tmpfs of `size` at `where` (needs root and a mount-capable container)."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; return its path."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def _health(hub: HubProcess) -> dict[str, Any]:
    """Return /healthz whether it says 200 or 503."""
    try:
        with urllib.request.urlopen(hub.api + "/healthz", timeout=5) as resp:
            doc: dict[str, Any] = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        doc = json.loads(exc.read())
    return doc


async def _until_a_write_fails(client: Any, hub: HubProcess, site: str) -> None:
    """Send `test` events until the store reports it cannot write.

    A full disk is not at once a failed commit: SQLite writes its WAL over the space the file
    already has (after each checkpoint the WAL starts again from its beginning), and the
    checkpoint copies into the database's free pages. Only once a commit needs more space does
    it fail. The events are sent without waiting for their acks (a write that fails is not
    acked; the broker redelivers it later).
    """
    sent: list[asyncio.Task[None]] = []
    async with asyncio.timeout(60):
        seq = 1000
        while "store_not_writable" not in (await asyncio.to_thread(_health, hub))["problems"]:
            for _ in range(50):
                seq += 1
                body = encode(event(HOME, "test", seq))
                topic = device_topic(site, HOME, "event")
                sent.append(asyncio.create_task(client.publish(topic, body, qos=1)))
            await asyncio.sleep(0.1)
    for task in sent:
        task.cancel()


async def test_a_full_disk_is_reported_paged_and_the_sos_still_reaches_a_worker(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id)
    figures = Figures("disk_full")
    with small_disk(tmp_path / "disk") as disk:
        hub = hub_process(tmp_path / "hub", mosquitto.url, site)
        hub.store_url = f"sqlite:///{disk / 'hub.db'}"
        pool = workers(mosquitto.url, site_id)
        async with pool.running():
            await asyncio.to_thread(hub.start)
            try:
                filler = await asyncio.to_thread(fill, disk)
                async with edge(mosquitto.port) as client:
                    await _until_a_write_fails(client, hub, site_id)
                    sos, delay = await sos_paged(client, pool, site_id, HOME)
                    figures.sent, figures.delivered = 1, 1
                    figures.delay(delay)
                    direct = pool["w-li-na"].inbox[-1].alert
                    assert direct.alarm == f"unsaved-{sos.id}"
                    duty = pool["w-duty-1"]
                    await until(lambda: any(a.alert.alarm.startswith("store-") for a in duty.inbox))
                    await until(lambda: "store_not_writable" in _health(hub)["problems"], 10)
                    full = _health(hub)
                    filler.unlink()
                    # The broker redelivers the SOS once the hub reconnects; now it is stored
                    # and paged as a real alarm.
                    worker = pool["w-li-na"]
                    await until(
                        lambda: any(
                            a.alert.device == HOME and not a.alert.alarm.startswith("unsaved-")
                            for a in worker.inbox
                        ),
                        30,
                        "the SOS paged as a stored alarm",
                    )
                    await until(lambda: _health(hub)["ok"], 15, "healthy again")
                alarms = await asyncio.to_thread(hub.get, "/api/v1/alarms")
            finally:
                await asyncio.to_thread(hub.stop)
    figures.extra = {"health_while_full": full["problems"], "alarms_after": len(alarms)}
    figures.write()
    assert [a["device"] for a in alarms] == [HOME]
    assert alarms[0]["event_ids"] == [sos.id]
    assert figures.worst_delay_s < SOS_WITHIN_S
