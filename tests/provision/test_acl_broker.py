"""The generated passwd + ACL loaded into a real Mosquitto (allow_anonymous false).

Denied publishes are silently dropped by Mosquitto, so each check publishes the forbidden
message first and an allowed sentinel second on the same connection: once the sentinel
arrives, the forbidden message would have arrived before it if the broker had let it through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from protocol.site_config import load_site
from protocol.topics import device_topic, worker_topic
from provision.acl import write_acl_files
from provision.secret_store import SecretStore
from simulators.services import Mosquitto

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(site_dir: Path, tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto]):
    out = tmp_path / "broker-auth"
    store = SecretStore(tmp_path / "secrets")
    write_acl_files(load_site(site_dir), out, store, "hub")
    assert sorted(p.name for p in store.folder.glob("hub*")) == ["hub.pw"]
    # Mosquitto started as root drops to the `mosquitto` user, which cannot enter pytest's
    # 0700 temp folders; `user root` keeps it able to read the files (no effect for non-root).
    broker = mosquitto_factory(
        extra=f"user root\nallow_anonymous false\npassword_file {out}/passwd\nacl_file {out}/acl\n"
    )
    return broker, store


@asynccontextmanager
async def client(
    broker: Mosquitto, store: SecretStore, user: str, *subscriptions: str
) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=user,
        password=store.get_or_create("hub" if user.startswith("hub-") else user),
        identifier=f"{user}-test",
    ) as c:
        for topic in subscriptions:
            await c.subscribe(topic, qos=1)
        yield c


async def received_until(c: aiomqtt.Client, sentinel: str) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    async with asyncio.timeout(10):
        async for msg in c.messages:
            got.append((msg.topic.value, bytes(msg.payload)))  # type: ignore[arg-type]
            if msg.topic.value == sentinel:
                return got
    return got


async def test_device_publishes_only_as_itself(secured, site_id: str) -> None:
    broker, store = secured
    mine = device_topic(site_id, "home-b1-101", "event")
    other = device_topic(site_id, "home-b1-302", "event")
    async with AsyncExitStack() as stack:
        hub = await stack.enter_async_context(
            client(broker, store, "hub-events", f"watchpost/v1/{site_id}/dev/+/+")
        )
        dev = await stack.enter_async_context(client(broker, store, "home-b1-101"))
        await dev.publish(other, b"forged", qos=1)
        await dev.publish(device_topic(site_id, "home-b1-101", "cmd"), b"self-cmd", qos=1)
        await dev.publish(mine, b"genuine", qos=1)
        got = await received_until(hub, mine)
    assert got == [(mine, b"genuine")]


async def test_device_reads_only_its_own_cmd(secured, site_id: str) -> None:
    broker, store = secured
    mine = device_topic(site_id, "home-b1-101", "cmd")
    other = device_topic(site_id, "home-b2-201", "cmd")
    async with AsyncExitStack() as stack:
        dev = await stack.enter_async_context(client(broker, store, "home-b1-101", other, mine))
        dev_wild = await stack.enter_async_context(
            client(broker, store, "home-b3-905", f"watchpost/v1/{site_id}/dev/+/cmd")
        )
        hub = await stack.enter_async_context(client(broker, store, "hub-out"))
        await hub.publish(other, b"for b2-201", qos=1)
        await hub.publish(device_topic(site_id, "home-b3-905", "cmd"), b"for b3-905", qos=1)
        await hub.publish(mine, b"for b1-101", qos=1)
        got = await received_until(dev, mine)
        got_wild = await received_until(dev_wild, device_topic(site_id, "home-b3-905", "cmd"))
    assert got == [(mine, b"for b1-101")]
    assert got_wild == [(device_topic(site_id, "home-b3-905", "cmd"), b"for b3-905")]


async def test_worker_reads_only_own_alerts_and_replies_only_as_itself(
    secured, site_id: str
) -> None:
    broker, store = secured
    alert_mine = worker_topic(site_id, "w-zhang-wei", "alert")
    alert_other = worker_topic(site_id, "w-li-na", "alert")
    reply_mine = worker_topic(site_id, "w-zhang-wei", "reply")
    reply_other = worker_topic(site_id, "w-li-na", "reply")
    async with AsyncExitStack() as stack:
        worker = await stack.enter_async_context(
            client(broker, store, "w-zhang-wei", alert_other, alert_mine)
        )
        hub = await stack.enter_async_context(
            client(broker, store, "hub-events", f"watchpost/v1/{site_id}/worker/+/reply")
        )
        out = await stack.enter_async_context(client(broker, store, "hub-out"))
        # The in connection may not page anyone: only the hub's out connection writes alerts.
        await hub.publish(alert_mine, b"from the in connection", qos=1)
        await out.publish(alert_other, b"li-na's alarm", qos=1)
        await out.publish(alert_mine, b"zhang-wei's alarm", qos=1)
        alerts = await received_until(worker, alert_mine)
        await worker.publish(reply_other, b"forged ack", qos=1)
        await worker.publish(reply_mine, b"ack", qos=1)
        replies = await received_until(hub, reply_mine)
    assert alerts == [(alert_mine, b"zhang-wei's alarm")]
    assert replies == [(reply_mine, b"ack")]


async def test_wrong_password_and_anonymous_are_refused(secured) -> None:
    broker, _ = secured
    for username, password in (("home-b1-101", "guess"), (None, None)):
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, username=username, password=password
            ):
                pass


async def test_hub_reads_through_a_shared_subscription_and_sees_sys(secured, site_id: str) -> None:
    broker, store = secured
    event = device_topic(site_id, "stair-b1", "event")
    async with AsyncExitStack() as stack:
        hub = await stack.enter_async_context(
            client(broker, store, "hub-events", f"$share/hub/watchpost/v1/{site_id}/dev/+/event")
        )
        dev = await stack.enter_async_context(client(broker, store, "stair-b1"))
        await dev.publish(event, b"smoke", qos=1)
        got = await received_until(hub, event)
        sys_topic = "$SYS/broker/uptime"
        telemetry = await stack.enter_async_context(
            client(broker, store, "hub-telemetry", sys_topic)
        )
        uptime = await received_until(telemetry, sys_topic)
        # A device may not read $SYS: retained ones (broker/version) arrive at once if it could.
        nosy = await stack.enter_async_context(client(broker, store, "stair-b2", "$SYS/#"))
        await nosy.subscribe(device_topic(site_id, "stair-b2", "cmd"), qos=1)
        out = await stack.enter_async_context(client(broker, store, "hub-out"))
        await out.publish(device_topic(site_id, "stair-b2", "cmd"), b"siren", qos=1)
        seen = await received_until(nosy, device_topic(site_id, "stair-b2", "cmd"))
    assert got == [(event, b"smoke")]
    assert uptime[-1][0] == sys_topic
    assert [topic for topic, _ in seen] == [device_topic(site_id, "stair-b2", "cmd")]
