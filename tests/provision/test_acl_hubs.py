"""Several hubs on the generated passwd + ACL: own users and secrets, one share group."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import aiomqtt
import pytest
from typer.testing import CliRunner

from protocol.site_config import load_site
from protocol.topics import device_filter, device_topic, shared
from provision.acl import write_acl_files
from provision.secret_store import SecretStore
from simulators.services import Mosquitto
from watchpost_cli import app

pytestmark = pytest.mark.integration


async def test_two_hubs_each_log_in_as_themselves_and_split_a_share_group(
    site_dir: Path, tmp_path: Path, mosquitto_factory: Callable[..., Mosquitto], site_id: str
) -> None:
    out, store = tmp_path / "broker-auth", SecretStore(tmp_path / "secrets")
    files = write_acl_files(load_site(site_dir), out, store, ["hub-a", "hub-b"])
    assert sorted(p.name for p in store.folder.glob("hub*")) == ["hub-a.pw", "hub-b.pw"]
    assert store.get_or_create("hub-a") != store.get_or_create("hub-b")
    acl = files.acl.read_text()
    for user in ("hub-a-events", "hub-a-out", "hub-a-telemetry", "hub-b-events", "hub-b-out"):
        assert f"user {user}\n" in acl
    broker = mosquitto_factory(
        extra=f"user root\nallow_anonymous false\npassword_file {out}/passwd\nacl_file {out}/acl\n"
        "use_username_as_clientid true\n"
    )
    group = shared("hubs", device_filter(site_id, "event"))
    got: dict[str, list[bytes]] = {"hub-a": [], "hub-b": []}
    async with AsyncExitStack() as stack:
        hubs = {}
        for hub in got:
            c = aiomqtt.Client(
                "127.0.0.1",
                broker.port,
                username=f"{hub}-events",
                password=store.get_or_create(hub),
                identifier=f"{hub}-events",
            )
            hubs[hub] = await stack.enter_async_context(c)
            await c.subscribe(group, qos=1)
        # one hub's password does not open the other's user
        with pytest.raises(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1",
                broker.port,
                username="hub-b-events",
                password=store.get_or_create("hub-a"),
                identifier="hub-b-events",
            ):
                pass
        async with aiomqtt.Client(
            "127.0.0.1",
            broker.port,
            username="home-b1-101",
            password=store.get_or_create("home-b1-101"),
            identifier="home-b1-101",
        ) as dev:
            for i in range(20):
                await dev.publish(device_topic(site_id, "home-b1-101", "event"), b"%d" % i, qos=1)

        async def take(hub: str) -> None:
            async for msg in hubs[hub].messages:
                got[hub].append(bytes(msg.payload))  # type: ignore[arg-type]
                if sum(map(len, got.values())) == 20:
                    return

        async with asyncio.timeout(10):
            _done, pending = await asyncio.wait(
                [asyncio.create_task(take(h)) for h in hubs], return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
    # the shared subscription passed the ACL, and each message went to exactly one hub
    assert sorted(int(x) for x in got["hub-a"] + got["hub-b"]) == list(range(20))
    assert got["hub-a"] and got["hub-b"]


def test_config_broker_takes_several_hub_users(site_dir: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "broker", tmp_path / "secrets"
    args = ["config", "broker", str(site_dir), "--out", str(out), "--secrets", str(secrets)]
    args += ["--tls-listen", "off", "--hub-user", "hub-a", "--hub-user", "hub-b"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    users = {line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()}
    assert {"hub-a-events", "hub-a-out", "hub-b-events", "hub-b-out", "hub-b-telemetry"} <= users
    assert "hub-events" not in users
    assert "broker_username hub-a" in result.output and "broker_username hub-b" in result.output
