"""The agent's broker socket has Nagle switched off, over plain MQTT and over TLS."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from edge.bus import Bus
from protocol.device_config import BrokerConfig
from simulators.services import Mosquitto
from simulators.tls import TlsBroker

pytestmark = pytest.mark.integration


async def _nodelay_of_connected_bus(broker: BrokerConfig, site_id: str) -> int:
    """Connect a Bus, return TCP_NODELAY as read back from its live socket, then stop it."""

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
        session = bus.session
        assert session is not None
        sock = session.socket()
        assert sock is not None
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_plain_connection_disables_nagle(mosquitto: Mosquitto, site_id: str) -> None:
    assert await _nodelay_of_connected_bus(BrokerConfig(url=mosquitto.url), site_id) != 0


async def test_tls_connection_disables_nagle(mosquitto_tls: TlsBroker, site_id: str) -> None:
    broker = BrokerConfig(url=mosquitto_tls.url, ca_file=str(mosquitto_tls.ca_file))
    assert await _nodelay_of_connected_bus(broker, site_id) != 0
