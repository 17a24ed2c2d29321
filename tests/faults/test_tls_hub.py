"""The hub over TLS: `--broker mqtts://…` with the CA from WATCHPOST_BROKER_CA_FILE."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from hub.bus import BrokerAddress
from protocol.codec import encode, new_event_id
from protocol.messages import Event, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.tls import TlsBroker
from simulators.workers import WorkerPool
from tests.hub.receiver import write_site

DEVICE = "home-b1-101"
GRID_WORKER = "w-zhang-wei"


def test_broker_url_schemes() -> None:
    assert BrokerAddress.from_url("mqtts://broker.lan") == BrokerAddress(
        "broker.lan", 8883, tls=True
    )
    assert BrokerAddress.from_url("mqtt://h:1884").port == 1884
    with pytest.raises(ValueError, match="mqtts://"):
        BrokerAddress.from_url("ws://h:80")


@pytest.mark.integration
async def test_hub_pages_an_sos_over_tls(
    tmp_path: Path, mosquitto_tls: TlsBroker, site_id: str
) -> None:
    ca = str(mosquitto_tls.ca_file)
    hub = HubProcess(
        tmp_path / "hub",
        mosquitto_tls.url,
        write_site(tmp_path, site_id),
        env={"WATCHPOST_BROKER_CA_FILE": ca},
    )
    pool = WorkerPool.build(mosquitto_tls.url, site_id, [GRID_WORKER], respond=False, ca_file=ca)
    await asyncio.to_thread(hub.start)
    try:
        health = await asyncio.to_thread(hub.get, "/healthz", auth=False)
        assert health["broker"]["alarm"] is True
        tls = aiomqtt.TLSParameters(ca_certs=ca)
        async with (
            pool.running(),
            aiomqtt.Client("127.0.0.1", mosquitto_tls.port, tls_params=tls) as device,
        ):
            event = Event(
                id=new_event_id(), device=DEVICE, seq=1, ts=utcnow(), kind="call", source="gpio"
            )
            await device.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
            got = await pool[GRID_WORKER].wait_for_alert()
        assert got.alert.cls == "call"
    finally:
        await asyncio.to_thread(hub.stop)
