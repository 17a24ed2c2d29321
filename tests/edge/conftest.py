"""Edge test helpers: device configs, a running agent on mock pins, a broker-side collector."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import Agent
from protocol.device_config import DeviceConfig
from simulators.services import Mosquitto, free_port

DEVICE = "home-1"


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def device_config(
    tmp_path: Path, site: str, url: str, *, bare: bool = False, **sections: Any
) -> DeviceConfig:
    """Return a home unit's config: call/cancel buttons, LED, buzzer, siren; short timings."""
    raw: dict[str, Any] = {
        "device": DEVICE,
        "site": site,
        "grid": "g1",
        "building": "b1",
        "broker": {"url": url, "keepalive_s": 5},
        "outbox": {"path": str(tmp_path / "state" / "outbox.db")},
        "timing": {"heartbeat_s": 30, "telemetry_s": 3600, "cancel_window_s": 0.5},
        "inputs": {
            "call_button": {"pin": 17, "bounce_ms": 0},
            "cancel_button": {"pin": 27, "bounce_ms": 0},
        },
        "outputs": {"led": {"pin": 5}, "buzzer": {"pin": 6}, "siren": {"pin": 13}},
    }
    if bare:
        raw["inputs"], raw["outputs"] = {}, {}
    return DeviceConfig.model_validate(_merge(raw, sections))


def dead_url() -> str:
    """Return an mqtt:// URL where nothing listens."""
    return f"mqtt://127.0.0.1:{free_port()}"


def nodelay_to(port: int) -> list[int]:
    """Return TCP_NODELAY of each TCP connection this process has open to 127.0.0.1:`port`.

    Read from the sockets themselves, found through /proc/self/fd (Linux): no client library
    shows its socket, and a test must not reach into one.
    """
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            fd = os.dup(int(name))
        except OSError:  # closed since the listing
            continue
        with socket.socket(fileno=fd) as sock:  # closes the duplicate only
            if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
                continue
            try:
                peer = sock.getpeername()
            except OSError:  # not connected: a listener
                continue
            if peer == ("127.0.0.1", port):
                found.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    return found


async def until(
    check: Callable[[], bool], within: float = 10.0, what: str | Callable[[], str] = ""
) -> None:
    """Wait until `check()` is true, failing the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            detail = what() if callable(what) else what
            pytest.fail(f"timed out after {within} s waiting for {detail or check}")
        await asyncio.sleep(0.02)


class Running:
    """An agent running in a task; `stop()` shuts it down gracefully."""

    def __init__(self, agent: Agent, task: asyncio.Task[None], factory: MockFactory) -> None:
        self.agent = agent
        self.task = task
        self.factory = factory

    def pin(self, number: int) -> Any:
        """Return the mock pin with this BCM number."""
        return self.factory.pin(number)

    async def stop(self) -> None:
        """Stop gracefully and wait (bounded) for `run()` to return."""
        self.agent.stop()
        async with asyncio.timeout(15):
            await self.task


@contextlib.asynccontextmanager
async def running(config: DeviceConfig, **kw: Any) -> AsyncIterator[Running]:
    """Run an Agent on a fresh MockFactory until the block ends."""
    factory = kw.pop("pin_factory", None) or MockFactory()
    agent = Agent(config, pin_factory=factory, backoff=(0.1, 0.5), **kw)
    try:
        async with agent:
            task = asyncio.create_task(agent.run(), name="test-agent")
            run = Running(agent, task, factory)
            try:
                yield run
            finally:
                if not task.done():
                    await run.stop()
    finally:
        factory.close()


class Collector:
    """Subscribe (persistent session, QoS 1) and keep every message; reconnects on its own."""

    def __init__(self, broker: Mosquitto, topic: str, auth: tuple[str, str] | None = None) -> None:
        self.broker = broker
        self.topic = topic
        self.auth = auth or (None, None)
        self.messages: list[aiomqtt.Message] = []
        self.ready = asyncio.Event()
        self._id = f"collector-{uuid.uuid4().hex[:8]}"

    async def run(self) -> None:
        """Collect until cancelled."""
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.broker.port,
                    username=self.auth[0],
                    password=self.auth[1],
                    identifier=self._id,
                    clean_session=False,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.ready.set()
                    async for message in client.messages:
                        self.messages.append(message)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Collector]:
        """Collect in a task while the block runs; subscribed when the block starts."""
        task = asyncio.create_task(self.run(), name="collector")
        try:
            async with asyncio.timeout(10):
                await self.ready.wait()
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def on(self, channel: str) -> list[aiomqtt.Message]:
        """Return the messages received on one device channel."""
        return [m for m in self.messages if m.topic.value.endswith(f"/{channel}")]

    def payloads(self, channel: str) -> list[bytes]:
        """Return the raw payloads received on one device channel."""
        return [bytes(m.payload) for m in self.on(channel)]


@pytest.fixture
async def collector(mosquitto: Mosquitto, site_id: str) -> AsyncIterator[Collector]:
    """Collect every message of the test's site from the broker."""
    async with Collector(mosquitto, f"watchpost/v1/{site_id}/#").running() as coll:
        yield coll
