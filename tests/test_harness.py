"""The test harness itself: TLS and plain brokers, broker persistence across a restart, influxd.

Every other integration test trusts these fixtures; here they are checked against real clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import queue
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import Agent
from protocol.device_config import DeviceConfig
from protocol.topics import device_topic
from simulators.services import Influxd, Mosquitto
from simulators.tls import TlsBroker

pytestmark = pytest.mark.integration

WAIT_S = 10.0


class Paho:
    """A paho client on a background thread; received messages land in `inbox`."""

    def __init__(self, client_id: str, *, clean_session: bool = True) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        self.inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.session_present: bool | None = None
        self._connack = threading.Event()
        self._suback = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self._suback.set()
        self.client.on_message = lambda _c, _u, msg: self.inbox.put(msg)

    def _on_connect(self, _c: object, _u: object, flags: mqtt.ConnectFlags, *_: object) -> None:
        self.session_present = flags.session_present
        self._connack.set()

    @contextlib.contextmanager
    def connected(self, port: int) -> Iterator[Paho]:
        """Connect to 127.0.0.1:`port`, wait for CONNACK, and disconnect when the block ends."""
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        try:
            assert self._connack.wait(WAIT_S), "no CONNACK"
            yield self
        finally:
            self.client.disconnect()
            self.client.loop_stop()

    def subscribe(self, topic: str) -> None:
        """Subscribe at QoS 1 and wait for the SUBACK."""
        self._suback.clear()
        self.client.subscribe(topic, qos=1)
        assert self._suback.wait(WAIT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 1 and wait for the PUBACK."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(WAIT_S)
        assert info.is_published(), "no PUBACK"

    def receive(self) -> mqtt.MQTTMessage:
        """Return the next message, failing the test if none comes."""
        try:
            return self.inbox.get(timeout=WAIT_S)
        except queue.Empty:
            pytest.fail(f"no message within {WAIT_S} s")


def unique_topic(site_id: str) -> str:
    """Return a topic no other test uses."""
    return f"watchpost/v1/{site_id}/harness/{uuid.uuid4().hex[:8]}"


def test_tls_broker_round_trips_qos1_for_a_client_trusting_the_ca(
    mosquitto_tls: TlsBroker, site_id: str
) -> None:
    topic = unique_topic(site_id)
    assert mosquitto_tls.url == f"mqtts://127.0.0.1:{mosquitto_tls.port}"
    client = Paho(f"tls-{site_id}")
    client.client.tls_set(ca_certs=str(mosquitto_tls.ca_file))
    with client.connected(mosquitto_tls.port):
        client.subscribe(topic)
        client.publish(topic, b"over tls")
        message = client.receive()
    assert (message.topic, message.payload, message.qos) == (topic, b"over tls", 1)


def test_tls_broker_refuses_a_client_without_the_ca(mosquitto_tls: TlsBroker, site_id: str) -> None:
    client = Paho(f"no-ca-{site_id}")
    client.client.tls_set()  # the system's CAs only: our throw-away CA is not among them
    with warnings.catch_warnings():
        # paho drops the socket of a failed handshake without closing it; not our leak.
        warnings.simplefilter("ignore", ResourceWarning)
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            client.client.connect("127.0.0.1", mosquitto_tls.port)
        gc.collect()


def test_plain_broker_round_trips_qos1(mosquitto: Mosquitto, site_id: str) -> None:
    topic = unique_topic(site_id)
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    with Paho(f"plain-{site_id}").connected(mosquitto.port) as client:
        client.subscribe(topic)
        client.publish(topic, b"plain")
        message = client.receive()
    assert (message.topic, message.payload, message.qos) == (topic, b"plain", 1)


def test_broker_restart_keeps_a_persistent_sessions_queued_message(
    mosquitto: Mosquitto, site_id: str
) -> None:
    topic = unique_topic(site_id)
    subscriber_id = f"durable-{site_id}"
    with Paho(subscriber_id, clean_session=False).connected(mosquitto.port) as sub:
        sub.subscribe(topic)
    # The subscriber is offline: the broker must queue the message for its session.
    with Paho(f"pub-{site_id}").connected(mosquitto.port) as pub:
        pub.publish(topic, b"queued while offline")

    mosquitto.restart()

    with Paho(subscriber_id, clean_session=False).connected(mosquitto.port) as sub:
        assert sub.session_present is True
        message = sub.receive()
    assert (message.topic, message.payload, message.qos) == (topic, b"queued while offline", 1)


def test_influxd_writes_line_protocol_and_reads_it_back(influxd: Influxd, influx_db: str) -> None:
    ts_ms = int(time.time() * 1000)
    line = f"harness,site=s1 value=42i {ts_ms}".encode()
    params = urllib.parse.urlencode({"db": influx_db, "precision": "ms"})
    request = urllib.request.Request(f"{influxd.url}/write?{params}", data=line, method="POST")
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 204

    query = urllib.parse.urlencode(
        {"db": influx_db, "epoch": "ms", "q": "SELECT value, site FROM harness"}
    )
    with urllib.request.urlopen(f"{influxd.url}/query?{query}", timeout=10) as resp:
        series = json.loads(resp.read())["results"][0]["series"][0]
    assert series["columns"] == ["time", "value", "site"]
    assert series["values"] == [[ts_ms, 42, "s1"]]


async def test_edge_agent_publishes_retained_online_over_tls(
    mosquitto_tls: TlsBroker, site_id: str, tmp_path: Path
) -> None:
    config = DeviceConfig.model_validate(
        {
            "device": "tls-unit",
            "site": site_id,
            "grid": "g1",
            "building": "b1",
            "broker": {"url": mosquitto_tls.url, "ca_file": str(mosquitto_tls.ca_file)},
            "outbox": {"path": str(tmp_path / "outbox.db")},
        }
    )
    topic = device_topic(site_id, "tls-unit", "status")
    tls = aiomqtt.TLSParameters(ca_certs=str(mosquitto_tls.ca_file))

    async def first_online() -> aiomqtt.Message:
        async with aiomqtt.Client("127.0.0.1", mosquitto_tls.port, tls_params=tls) as client:
            await client.subscribe(topic, qos=1)
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                if json.loads(message.payload)["state"] == "online":
                    return message
        raise AssertionError("subscription ended")

    async with Agent(config, backoff=(0.1, 0.5)) as agent:
        task = asyncio.create_task(agent.run(), name="tls-agent")
        try:
            async with asyncio.timeout(WAIT_S):
                await first_online()  # live or retained: the agent got through
                retained = await first_online()  # a fresh subscriber gets the stored copy
        finally:
            agent.stop()
            async with asyncio.timeout(WAIT_S):
                await task
    assert retained.retain
    assert isinstance(retained.payload, bytes)
    assert json.loads(retained.payload)["device"] == "tls-unit"
