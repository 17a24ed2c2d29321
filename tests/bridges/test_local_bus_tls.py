"""The bridges' local broker over TLS (mqtts:// with ca_file), and Nagle off on its socket
(read back from the process's own socket to the broker, `nodelay_to`).

A broker the bridges cannot trust (wrong or missing CA) must not take the agent down: its own
buttons keep reaching the hub while the bridges keep retrying.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from edge.bridges import build_bridges, run_bridges
from edge.bridges.local_bus import LocalBus
from protocol.codec import decode_event
from protocol.device_config import DeviceConfig
from simulators.services import Mosquitto
from simulators.tls import TlsBroker, make_certificates
from tests.bridges.recording import RecordingSink
from tests.edge.conftest import DEVICE, Collector, device_config, nodelay_to, running, until

pytestmark = pytest.mark.integration

SOS = {"sos": {"type": "sos_button"}}


def bridges_config(tmp_path: Path, site_id: str, broker: dict[str, Any]) -> DeviceConfig:
    """Return a bare device whose zigbee bridge reads `broker`; its own bus is unused here."""
    zigbee = {"base_topic": f"z2m-{site_id}", "devices": SOS}
    return device_config(
        tmp_path,
        site_id,
        "mqtt://127.0.0.1:1",
        bare=True,
        bridges={"broker": broker, "zigbee": zigbee},
    )


@contextlib.asynccontextmanager
async def local_bus_running(config: DeviceConfig) -> AsyncIterator[LocalBus]:
    """Run a LocalBus for the config's bridges until it is subscribed, and while the block runs."""
    bus = LocalBus(
        config.bridges.broker,
        build_bridges(config, time.monotonic()),
        RecordingSink(),
        client_id=f"watchpost-bridges-probe-{config.site}",
    )
    task = asyncio.create_task(bus.run(), name="local-bus")
    try:
        async with asyncio.timeout(10):
            await bus.ready.wait()
        yield bus
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_bridges_read_a_tls_broker_they_trust(
    tmp_path: Path, site_id: str, mosquitto_tls: TlsBroker
) -> None:
    ca = str(mosquitto_tls.ca_file)
    config = bridges_config(tmp_path, site_id, {"url": mosquitto_tls.url, "ca_file": ca})
    sink = RecordingSink()
    tls = aiomqtt.TLSParameters(ca_certs=ca)
    task = asyncio.create_task(run_bridges(config, sink), name="bridges-under-test")
    try:
        async with aiomqtt.Client("127.0.0.1", mosquitto_tls.port, tls_params=tls) as pub:
            state = f"z2m-{site_id}/bridge/state"
            await pub.publish(state, '{"state":"online"}', qos=1, retain=True)
            # The retained state arrives once the bridges have subscribed.
            await sink.wait_for(lambda r: ("availability", "zigbee:bridge", True) in r)
            await pub.publish(f"z2m-{site_id}/sos", '{"action":"emergency"}', qos=1)
            await sink.wait_for(lambda r: len(sink.events()) == 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    data = {"subdevice": "sos", "model": None, "room": None, "resident": None}
    assert sink.events() == [("call", "zigbee:sos", {**data, "action": "emergency"})]


async def test_plain_local_connection_disables_nagle(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto
) -> None:
    config = bridges_config(tmp_path, site_id, {"url": mosquitto.url})
    async with local_bus_running(config):
        assert nodelay_to(mosquitto.port) == [1]


async def test_tls_local_connection_disables_nagle(
    tmp_path: Path, site_id: str, mosquitto_tls: TlsBroker
) -> None:
    broker = {"url": mosquitto_tls.url, "ca_file": str(mosquitto_tls.ca_file)}
    async with local_bus_running(bridges_config(tmp_path, site_id, broker)):
        assert nodelay_to(mosquitto_tls.port) == [1]


@pytest.mark.parametrize(
    ("ca", "cause"),
    [
        # paho 2.2 does not close the socket of a failed TLS handshake (`_ssl_wrap_socket`);
        # the garbage collector does, with a ResourceWarning. Collected below, inside the test.
        pytest.param(
            "other-ca",
            "CERTIFICATE_VERIFY_FAILED",
            marks=pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning"),
        ),
        ("missing", "No such file or directory"),
    ],
)
async def test_untrusted_local_broker_is_retried_while_the_agent_keeps_working(
    tmp_path: Path,
    site_id: str,
    mosquitto: Mosquitto,
    mosquitto_tls: TlsBroker,
    caplog: pytest.LogCaptureFixture,
    ca: str,
    cause: str,
) -> None:
    if ca == "other-ca":
        ca_file = make_certificates(tmp_path / "other-ca").ca_cert
    else:
        ca_file = tmp_path / "no-such-ca.crt"
    zigbee = {"base_topic": f"z2m-{site_id}", "devices": SOS}
    broker = {"url": mosquitto_tls.url, "ca_file": str(ca_file)}
    config = device_config(
        tmp_path, site_id, mosquitto.url, bridges={"broker": broker, "zigbee": zigbee}
    )

    def failures() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.name == "edge.bridges.local_bus" and r.getMessage().startswith("local broker")
        ]

    collector = Collector(mosquitto, f"watchpost/v1/{site_id}/#")
    async with collector.running() as coll, running(config) as run:
        await until(lambda: len(failures()) >= 2, what="two failed local connects")
        run.pin(17).drive_low()
        await until(lambda: len(coll.on("event")) == 1, what="the call button's event")
        assert not run.task.done()
    gc.collect()  # the sockets paho left behind, while this test's warning filter applies
    assert all(cause in r.getMessage() for r in failures()), failures()[0].getMessage()
    assert decode_event(coll.payloads("event")[0], device=DEVICE).source == "gpio:call"
