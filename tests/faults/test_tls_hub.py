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
from simulators.site_broker import SiteBroker
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
async def test_hub_pages_an_sos_over_tls_on_the_broker_config_writes(
    tmp_path: Path, site_id: str
) -> None:
    site = write_site(tmp_path, site_id)
    with SiteBroker(site, tmp_path / "site-broker") as broker:
        ca = str(broker.ca_file)
        hub = HubProcess(
            tmp_path / "hub",
            broker.tls_url,
            site,
            env={
                "WATCHPOST_BROKER_CA_FILE": ca,
                "WATCHPOST_BROKER_USERNAME": "hub",
                "WATCHPOST_BROKER_PASSWORD_FILE": str(broker.secrets.path("hub")),
            },
        )
        password = broker.password(GRID_WORKER)
        pool = WorkerPool.build(
            broker.tls_url, site_id, [GRID_WORKER], respond=False, ca_file=ca, password=password
        )
        await asyncio.to_thread(hub.start)
        try:
            health = await asyncio.to_thread(hub.get, "/healthz", auth=False)
            assert health["broker"]["alarm"] is True
            async with (
                pool.running(),
                aiomqtt.Client(
                    "127.0.0.1",
                    broker.tls_port,
                    username=DEVICE,
                    password=broker.password(DEVICE),
                    tls_params=aiomqtt.TLSParameters(ca_certs=ca),
                ) as device,
            ):
                event = Event(
                    id=new_event_id(), device=DEVICE, seq=1, ts=utcnow(), kind="call", source="gpio"
                )
                await device.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
                got = await pool[GRID_WORKER].wait_for_alert()
            assert got.alert.cls == "call" and got.alert.device == DEVICE
            print(f"tls: 1 SOS sent over mqtts, 1 paged over mqtts in {got.latency_s:.3f} s")
            assert got.latency_s < 5
        finally:
            await asyncio.to_thread(hub.stop)
    log = (tmp_path / "site-broker" / "broker" / "mosquitto.log").read_text()
    assert "as hub-events (p5, c0, k15, u'hub-events')" in log
    assert "as hub-out (p2, c1, k15, u'hub-out')" in log
    assert "u'hub-telemetry'" in log
