"""The simulators' relay: where clients connect, and a cut that makes the broker send the will."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
import pytest

from simulators.community import CommunityOptions, generate_community, home_devices
from simulators.home import VirtualHome
from simulators.relay import Relay
from simulators.tls import TlsBroker


def test_clients_connect_to_the_relay_and_keep_a_tls_broker_name() -> None:
    plain = Relay("mqtt://broker.example:1884")
    assert (plain.target, plain.url) == (("broker.example", 1884), f"mqtt://127.0.0.1:{plain.port}")
    tls = Relay("mqtts://localhost")
    assert (tls.target, tls.url) == (("localhost", 8883), f"mqtts://localhost:{tls.port}")
    with pytest.raises(ValueError, match=r"only a broker named 127\.0\.0\.1 or localhost"):
        Relay("mqtts://broker.example:8883")


def test_a_home_without_a_relay_cannot_go_silent(tmp_path: Path) -> None:
    config = home_devices(generate_community(1, 1, CommunityOptions(outbox_dir=str(tmp_path))))[0]
    home = VirtualHome(config, relay=False)
    assert home.config.broker.url == config.broker.url
    with pytest.raises(RuntimeError, match="its power cannot be cut"):
        home.go_silent()
    assert not home.silent


@pytest.mark.integration
async def test_a_cut_tls_connection_ends_with_the_broker_sending_the_will(
    mosquitto_tls: TlsBroker, site_id: str
) -> None:
    topic = f"watchpost/v1/{site_id}/dev/relayed/status"
    tls = aiomqtt.TLSParameters(ca_certs=str(mosquitto_tls.ca_file))
    will = aiomqtt.Will(topic, b"offline", qos=1, retain=True)
    async with (
        Relay(mosquitto_tls.url) as relay,
        aiomqtt.Client("127.0.0.1", mosquitto_tls.port, tls_params=tls) as watcher,
        # the name verified is 127.0.0.1, the relay's, which the broker's certificate covers
        aiomqtt.Client("127.0.0.1", relay.port, tls_params=tls, will=will) as relayed,
    ):
        await watcher.subscribe(topic, qos=1)
        await relayed.publish(topic, b"online", qos=1, retain=True)
        async with asyncio.timeout(10):
            messages = aiter(watcher.messages)
            assert (await anext(messages)).payload == b"online"
            relay.cut()
            assert (await anext(messages)).payload == b"offline"
            with pytest.raises(aiomqtt.MqttError):
                async for _ in relayed.messages:
                    pass
