"""Poison messages cannot stop the hub (issue #7, rows 1-3).

The hub runs as its own process against a real Mosquitto. A registered device sends a 10 kB
`[[[[…]]]]` (5,000 levels) on its event topic and on its telemetry topic, then an event with
`seq = 2**63` (past SQLite's and PostgreSQL's BIGINT), a timestamp in 1970 and one in 2500.
Each is a counted rejection, acknowledged: the hub stays up, the alarm path never reconnects,
and another home's SOS is paged within 1 s — also after a restart (nothing poison is
redelivered).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from protocol.codec import encode
from simulators.services import Mosquitto
from tests.faults.harness import (
    SOS_WITHIN_S,
    Figures,
    edge,
    event,
    hub_process,
    metric,
    publish,
    sos_paged,
    workers,
    write_homes,
)

pytestmark = pytest.mark.integration

NOISY, OTHER = "home-b1-101", "home-b2-201"


def nested(levels: int = 5000) -> bytes:
    return b"[" * levels + b"]" * levels


def with_fields(**changes: object) -> bytes:
    body = json.loads(encode(event(NOISY, "test")))
    body.update(changes)
    return json.dumps(body).encode()


async def test_poison_payloads_are_rejected_and_the_next_sos_is_paged(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    site = write_homes(tmp_path, site_id)
    hub = hub_process(tmp_path / "hub", mosquitto.url, site)
    figures = Figures("poison")
    pool = workers(mosquitto.url, site_id)
    async with pool.running():
        await asyncio.to_thread(hub.start)
        try:
            async with edge(mosquitto.port) as client:
                await publish(client, site_id, NOISY, "event", nested())
                await publish(client, site_id, NOISY, "telemetry", nested())
                await publish(client, site_id, NOISY, "event", with_fields(seq=2**63))
                await publish(
                    client, site_id, NOISY, "event", with_fields(ts="1970-01-01T00:00:00Z")
                )
                await publish(
                    client, site_id, NOISY, "event", with_fields(ts="2500-01-01T00:00:00Z")
                )
                _, delay = await sos_paged(client, pool, site_id, OTHER)
                figures.sent, figures.delivered = 1, 1
                figures.delay(delay)
            metrics = await asyncio.to_thread(hub.get, "/metrics")
            health = await asyncio.to_thread(hub.get, "/healthz", auth=False)
            assert hub.proc is not None and hub.proc.poll() is None, "the hub died"
            # Restarted: the poison was acknowledged, so nothing comes back to kill it.
            await asyncio.to_thread(hub.stop)
            await asyncio.to_thread(hub.start)
            async with edge(mosquitto.port) as client:
                _, delay = await sos_paged(client, pool, site_id, "home-b3-905")
                figures.sent += 1
                figures.delivered += 1
                figures.delay(delay)
            assert hub.proc is not None and hub.proc.poll() is None
        finally:
            await asyncio.to_thread(hub.stop)
    figures.extra = {
        "too_deep": metric(metrics, "watchpost_ingest_rejected_total", reason="too_deep"),
        "invalid": metric(metrics, "watchpost_ingest_rejected_total", reason="invalid"),
    }
    figures.write()
    assert metric(metrics, "watchpost_ingest_rejected_total", reason="too_deep") == 2
    assert metric(metrics, "watchpost_ingest_rejected_total", reason="invalid") == 3
    assert metric(metrics, "watchpost_bus_reconnects_total", path="alarm") == 0
    assert health["ok"] is True, health
    assert health["alarm_path_reconnects_recent"] == 0
    assert figures.lost == 0
    assert figures.worst_delay_s < SOS_WITHIN_S
