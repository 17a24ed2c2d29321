"""The agent's broker socket has Nagle switched off, over plain MQTT and over TLS.

The option is read back from the process's own socket to the broker (`nodelay_to`): the one
connection open to the test's broker is the bus's.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from edge.bus import Bus
from protocol.device_config import BrokerConfig
from simulators.services import Mosquitto
from simulators.tls import TlsBroker
from tests.edge.conftest import nodelay_to

pytestmark = pytest.mark.integration


async def _nodelay_of_connected_bus(broker: BrokerConfig, port: int, site_id: str) -> list[int]:
    """Connect a Bus, return TCP_NODELAY of each connection to `port`, then stop the bus."""

    async def ignore(_: bytes) -> None:
        return None

    bus = Bus(
        broker,
        client_id=f"nodelay-{site_id}",
        password=None,
        cmd_topic=f"watchpost/v1/{site_id}/dev/nodelay/cmd",
        status_topic=f"watchpost/v1/{site_id}/dev/nodelay/status",
        status_payload=lambda online: b"online" if online else b"offline",
        on_command=ignore,
    )
    task = asyncio.create_task(bus.run(), name="bus-under-test")
    try:
        async with asyncio.timeout(10):
            await bus.wait_connected()
        return nodelay_to(port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_plain_connection_disables_nagle(mosquitto: Mosquitto, site_id: str) -> None:
    broker = BrokerConfig(url=mosquitto.url)
    assert await _nodelay_of_connected_bus(broker, mosquitto.port, site_id) == [1]


async def test_tls_connection_disables_nagle(mosquitto_tls: TlsBroker, site_id: str) -> None:
    broker = BrokerConfig(url=mosquitto_tls.url, ca_file=str(mosquitto_tls.ca_file))
    assert await _nodelay_of_connected_bus(broker, mosquitto_tls.port, site_id) == [1]
