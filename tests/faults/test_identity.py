"""Identity on the broker: nobody can use another user's client id, or command a device.

Against the broker `watchpost config broker` writes (`use_username_as_clientid true`): a device
with valid credentials that connects with the hub's or a worker's client id gets its own id
instead, so the hub's persistent session and a worker's queued SOS alert survive the attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from protocol.topics import device_filter, device_topic, worker_topic
from simulators.site_broker import SiteBroker
from tests.hub.receiver import write_site

pytestmark = pytest.mark.integration

DEVICE, OTHER_DEVICE, WORKER = "home-b1-101", "home-b2-201", "w-zhang-wei"


@pytest.fixture
def broker(tmp_path: Path, site_id: str):
    with SiteBroker(write_site(tmp_path, site_id), tmp_path / "site-broker") as running:
        yield running


@asynccontextmanager
async def connect(
    broker: SiteBroker, user: str, *, client_id: str | None = None, persistent: bool = False
) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=broker.password(user),
        identifier=client_id or user,
        clean_session=not persistent,
    ) as client:
        yield client


async def take(client: aiomqtt.Client, n: int, within_s: float = 10) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(within_s):
        async for message in client.messages:
            got.append(bytes(message.payload))  # type: ignore[arg-type]
            if len(got) == n:
                return got
    return got


async def test_device_with_the_hubs_client_id_costs_the_hub_nothing(
    broker: SiteBroker, site_id: str
) -> None:
    event = device_topic(site_id, DEVICE, "event")
    async with connect(broker, "hub-events", persistent=True) as hub:
        await hub.subscribe(device_filter(site_id, "event"), qos=1)
    # The hub is away: its persistent session queues what devices send.
    sent = [f"event-{i}".encode() for i in range(10)]
    async with connect(broker, DEVICE) as device:
        for payload in sent[:5]:
            await device.publish(event, payload, qos=1)
        async with connect(broker, OTHER_DEVICE, client_id="hub-events", persistent=True) as thief:
            await thief.subscribe(device_filter(site_id, "event"), qos=1)
            for payload in sent[5:]:
                await device.publish(event, payload, qos=1)
            with pytest.raises(TimeoutError):
                await take(thief, 1, within_s=1)  # the thief's own session, and no read right
    async with connect(broker, "hub-events", persistent=True) as hub:
        assert await take(hub, 10) == sent


async def test_device_with_a_workers_client_id_leaves_the_queued_sos_alert(
    broker: SiteBroker, site_id: str
) -> None:
    alert = worker_topic(site_id, WORKER, "alert")
    async with connect(broker, WORKER, persistent=True) as worker:
        await worker.subscribe(alert, qos=1)
    async with connect(broker, "hub-out") as hub:
        await hub.publish(alert, b"SOS home-b1-101", qos=1)
    async with connect(broker, DEVICE, client_id=WORKER, persistent=True):
        await asyncio.sleep(0.5)  # long enough to receive a session that was handed over
    async with connect(broker, WORKER, persistent=True) as worker:
        assert await take(worker, 1) == [b"SOS home-b1-101"]


async def test_the_hub_stays_connected_while_its_client_id_is_reused(
    broker: SiteBroker, site_id: str
) -> None:
    event = device_topic(site_id, DEVICE, "event")
    async with connect(broker, "hub-events", persistent=True) as hub:
        await hub.subscribe(event, qos=1)
        async with connect(broker, DEVICE, client_id="hub-events") as device:
            await device.publish(event, b"after the attempt", qos=1)
        assert await take(hub, 1) == [b"after the attempt"]


async def test_only_the_hub_commands_devices(broker: SiteBroker, site_id: str) -> None:
    cmd = device_topic(site_id, DEVICE, "cmd")
    async with (
        connect(broker, DEVICE) as device,
        connect(broker, OTHER_DEVICE) as neighbour,
        connect(broker, WORKER) as worker,
        connect(broker, "hub-telemetry") as telemetry,
        connect(broker, "hub-events") as hub_in,
        connect(broker, "hub-out") as hub,
    ):
        await device.subscribe(cmd, qos=1)
        for forger in (neighbour, worker, telemetry, hub_in, device):
            await forger.publish(cmd, b'{"cmd":"siren","forged":true}', qos=1)
        await hub.publish(cmd, b'{"cmd":"siren"}', qos=1)
        # Messages on one topic arrive in order: a forged one would come before the hub's.
        assert await take(device, 1) == [b'{"cmd":"siren"}']
