"""A stolen client id against the real hub: devices with valid credentials connect with the hub's
client id and with a worker's while SOS events arrive; nobody loses a message.

The broker is the one `watchpost config broker` writes; the hub runs as its own process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from protocol.codec import encode, new_event_id
from protocol.messages import Event, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.site_broker import SiteBroker
from simulators.workers import VirtualWorker, WorkerPool
from tests.hub.receiver import write_site

pytestmark = pytest.mark.integration

# Device -> its grid worker (firmware-config/sites/sunflower).
HOMES = {"home-b1-101": "w-zhang-wei", "home-b2-201": "w-li-na", "home-b3-905": "w-wang-fang"}


def sos(device: str) -> bytes:
    return encode(
        Event(id=new_event_id(), device=device, seq=1, ts=utcnow(), kind="call", source="gpio")
    )


def pool(broker: SiteBroker, site_id: str, workers: list[str]) -> WorkerPool:
    return WorkerPool(
        [
            VirtualWorker(broker.url, site_id, w, respond=False, password=broker.password(w))
            for w in workers
        ]
    )


async def test_stolen_client_ids_cost_the_hub_and_a_worker_nothing(
    tmp_path: Path, site_id: str
) -> None:
    site = write_site(tmp_path, site_id)
    broker = SiteBroker(site, tmp_path / "site-broker").start()
    hub = HubProcess(
        tmp_path / "hub",
        broker.url,
        site,
        env={
            "WATCHPOST_BROKER_USERNAME": "hub",
            "WATCHPOST_BROKER_PASSWORD_FILE": str(broker.secrets.path("hub")),
        },
    )
    away = "w-zhang-wei"
    try:
        await asyncio.to_thread(hub.start)
        async with pool(broker, site_id, [away]).running():
            pass  # its persistent session exists; it is offline from now on

        def thief(device: str, client_id: str) -> aiomqtt.Client:
            return aiomqtt.Client(
                "127.0.0.1",
                broker.port,
                username=device,
                password=broker.password(device),
                identifier=client_id,
                clean_session=False,
            )

        online = pool(broker, site_id, ["w-li-na", "w-wang-fang"])
        async with (
            online.running(),
            thief("home-b1-302", "hub-events"),
            thief("stair-b1", away),
        ):
            for device in HOMES:
                async with aiomqtt.Client(
                    "127.0.0.1", broker.port, username=device, password=broker.password(device)
                ) as edge:
                    await edge.publish(device_topic(site_id, device, "event"), sos(device), qos=1)
            got = [await online[w].wait_for_alert() for w in ("w-li-na", "w-wang-fang")]
        async with pool(broker, site_id, [away]).running() as back:
            queued = await back[away].wait_for_alert()
        events = await asyncio.to_thread(hub.get, f"/api/v1/events?site={site_id}")
        health = await asyncio.to_thread(hub.get, "/healthz", auth=False)
    finally:
        await asyncio.to_thread(hub.stop)
        broker.stop()
    assert {a.alert.device for a in got} == {"home-b2-201", "home-b3-905"}
    assert queued.alert.device == "home-b1-101" and queued.alert.cls == "call"
    assert sorted(e["device"] for e in events) == sorted(HOMES)
    assert health["broker"]["alarm"] is True
    log = (tmp_path / "hub" / "hub.log").read_text(errors="replace")
    assert "path lost" not in log, "the hub's connection was taken over"
    worst = max(a.latency_s for a in got)
    print(f"identity: 3 SOS sent, 3 paged (1 queued for an offline worker), worst {worst:.3f} s")
    assert worst < 5
