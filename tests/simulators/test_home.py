"""Virtual homes running the real edge agent against a real Mosquitto."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiomqtt
import pytest

from protocol.codec import decode, encode
from protocol.device_config import SmokeContactConfig
from protocol.messages import Event, SirenCmd, Status
from protocol.topics import device_filter, device_topic
from simulators.community import CommunityOptions, generate_community, home_devices
from simulators.home import VirtualHome
from simulators.scenario import Stage, builtin, load_scenario, play
from simulators.services import Mosquitto

pytestmark = pytest.mark.integration


def options(site: str, broker: Mosquitto, tmp_path: Path) -> CommunityOptions:
    return CommunityOptions(
        site=site,
        broker_url=broker.url,
        outbox_dir=str(tmp_path / "outbox"),
        heartbeat_s=5,
        cancel_window_s=1.5,
        smoke_warmup_s=0,
    )


class Seen:
    """Events and statuses a subscriber decoded from the broker."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.status: dict[str, str] = {}
        self.changed = asyncio.Event()

    def kinds(self, device: str) -> list[str]:
        return [e.kind for e in self.events if e.device == device]

    async def until(self, check: Callable[[], bool], within: float = 30.0) -> None:
        async with asyncio.timeout(within):
            while not check():
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def watching(broker: Mosquitto, site: str) -> AsyncIterator[Seen]:
    seen = Seen()

    async def listen(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            channel = str(message.topic).rsplit("/", 1)[1]
            msg = decode(channel, bytes(message.payload))
            if isinstance(msg, Event):
                seen.events.append(msg)
            elif isinstance(msg, Status):
                seen.status[msg.device] = msg.state
            seen.changed.set()

    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(device_filter(site, "event"), qos=1)
        await client.subscribe(device_filter(site, "status"), qos=1)
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(listen(client), name="test:listen")
            try:
                yield seen
            finally:
                task.cancel()


@contextlib.asynccontextmanager
async def running(homes: list[VirtualHome], seen: Seen) -> AsyncIterator[None]:
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(h.run(), name=f"test:{h.device}") for h in homes]
        await seen.until(lambda: all(seen.status.get(h.device) == "online" for h in homes))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()


async def test_tiny_scenario_through_mosquitto(
    mosquitto: Mosquitto, site_id: str, tmp_path: Path
) -> None:
    registry = generate_community(3, 1, options(site_id, mosquitto, tmp_path))
    homes = [VirtualHome(cfg, seed=i) for i, cfg in enumerate(home_devices(registry))]
    a, b, c = (h.device for h in homes)
    async with watching(mosquitto, site_id) as seen, running(homes, seen):
        await play(load_scenario(builtin("smoke-test")), Stage(homes))
        await seen.until(lambda: "smoke_clear" in seen.kinds(c) and seen.status.get(b) == "offline")
        assert homes[1].silent
    assert seen.kinds(a) == ["call"]
    assert seen.kinds(b) == ["low_battery"]
    assert [e.data for e in seen.events if e.device == b] == [{"pct": 9}]
    assert seen.kinds(c) == ["smoke", "smoke_clear"]
    assert all(e.seq >= 0 for e in seen.events)


async def test_fall_cancelled_fall_and_fire(
    mosquitto: Mosquitto, site_id: str, tmp_path: Path
) -> None:
    registry = generate_community(2, 1, options(site_id, mosquitto, tmp_path))
    homes = [VirtualHome(cfg, seed=i) for i, cfg in enumerate(home_devices(registry))]
    stair = VirtualHome(next(d for d in registry.devices if d.device.startswith("stair-")))
    stage = Stage(homes, {stair.config.building: stair})
    scenario = load_scenario(builtin("smoke-test")).model_validate(
        {
            "name": "t",
            "tail_s": 0,
            "steps": [
                {"at": 0, "home": 0, "action": "fall", "kind": "backward"},
                {"at": 0, "home": 1, "action": "fall_cancelled", "cancel_after_s": 0.2},
                {"at": 0, "action": "fire", "building": 0, "home": 1, "stairwell_after_s": 1},
            ],
        }
    )
    fallen, cancelled = homes[0].device, homes[1].device
    async with watching(mosquitto, site_id) as seen, running([*homes, stair], seen):
        await play(scenario, stage)
        await seen.until(
            lambda: (
                "fall" in seen.kinds(fallen)
                and "cancel" in seen.kinds(cancelled)
                and "smoke" in seen.kinds(stair.device)
            )
        )
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as hub:
            topic = device_topic(site_id, stair.device, "cmd")
            await hub.publish(topic, encode(SirenCmd(on=True)), qos=1)
            for _ in range(200):  # at most 10 s
                if stair.siren_on:
                    break
                await asyncio.sleep(0.05)
            assert stair.siren_on
            assert stair.agent.siren_on
    fall = next(e for e in seen.events if e.device == fallen and e.kind == "fall")
    assert float(fall.data["peak_g"]) > 2.2  # type: ignore[arg-type]
    cancel = next(e for e in seen.events if e.device == cancelled and e.kind == "cancel")
    assert cancel.data["cancelled"] == "fall"
    assert "fall" not in seen.kinds(cancelled)
    assert "smoke" in seen.kinds(cancelled)
    assert [e.source for e in seen.events if e.device == stair.device] == ["gpio:smoke"]


async def test_long_press_button_and_smoke_relay_home(
    mosquitto: Mosquitto, site_id: str, tmp_path: Path
) -> None:
    (cfg,) = home_devices(generate_community(1, 1, options(site_id, mosquitto, tmp_path)))
    inputs = cfg.inputs.model_copy(
        update={
            "call_button": cfg.inputs.call_button.model_copy(update={"hold_s": 0.5}),  # type: ignore[union-attr]
            "smoke_analog": None,
            "smoke_contact": SmokeContactConfig(pin=22, confirm_s=0.2),
        }
    )
    home = VirtualHome(cfg.model_copy(update={"inputs": inputs}))
    async with watching(mosquitto, site_id) as seen, running([home], seen):
        await home.press_call()
        home.smoke("flaming")
        await seen.until(lambda: seen.kinds(home.device) == ["call", "smoke"])
        home.smoke_contact(False)
        await seen.until(lambda: "smoke_clear" in seen.kinds(home.device))
    assert [e.source for e in seen.events] == ["gpio:call", "gpio:smoke", "gpio:smoke"]
