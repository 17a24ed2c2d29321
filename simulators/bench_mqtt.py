"""The benchmarks' MQTT clients (paho, each in its own network thread): a recorder and a publisher.

The only module of the bench that imports paho. Both set TCP_NODELAY (Nagle plus delayed ACK
would add ~40 ms to every small message) and connect to 127.0.0.1 only.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Self
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(f"benchmarks talk to 127.0.0.1 only, not {host}")
    return "127.0.0.1", parts.port or 1883


class _Client:
    """A paho client with its network loop in a thread and an event set while connected."""

    def __init__(self, url: str, client_id: str, *, clean: bool = True) -> None:
        self.host, self.port = _endpoint(url)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=mqtt.MQTTv311,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        props: Properties | None,
    ) -> None:
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.subscribe_all()
        self.connected.set()

    def _on_disconnect(self, *args: object) -> None:
        self.connected.clear()

    def subscribe_all(self) -> None:
        """Subscribe on (re)connect; the recorder overrides it."""

    def start(self, timeout: float = 10.0) -> None:
        """Connect and start the network thread; wait until connected."""
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            self.stop()
            raise TimeoutError(f"no MQTT connection to {self.host}:{self.port} in {timeout} s")

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Recorder(_Client):
    """Subscribe to topic filters at QoS 1 and hand every message to `on_message` with its time.

    `on_message(topic, payload, wall_time)` runs in paho's thread: keep it short. With
    `clean=False` the broker keeps the subscription and queues messages while it is away.
    """

    def __init__(
        self,
        url: str,
        client_id: str,
        filters: list[str],
        on_message: Callable[[str, bytes, float], None],
        *,
        clean: bool = True,
    ) -> None:
        super().__init__(url, client_id, clean=clean)
        self.filters = filters
        self._handler = on_message
        self.subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.2)  # type: ignore[arg-type]

    def subscribe_all(self) -> None:
        """Subscribe every filter at QoS 1."""
        self.client.subscribe([(f, 1) for f in self.filters])

    def _on_subscribe(self, *args: object) -> None:
        self.subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._handler(msg.topic, bytes(msg.payload), time.time())

    def start(self, timeout: float = 10.0) -> None:
        """Connect, subscribe and wait for the SUBACK."""
        super().start(timeout)
        if not self.subscribed.wait(timeout):
            raise TimeoutError("no SUBACK from the broker")


class Publisher(_Client):
    """Publish with a counted PUBACK per QoS 1 message (at most `inflight` outstanding)."""

    def __init__(self, url: str, client_id: str, *, inflight: int = 100) -> None:
        super().__init__(url, client_id)
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._on_publish
        self.acked = 0
        self._lock = threading.Lock()

    def _on_publish(self, *args: object) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """Queue one message (paho sends it from its thread)."""
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")

    def wait_acked(self, count: int, timeout: float) -> bool:
        """Wait until `count` messages were acknowledged (QoS 0: written); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.acked >= count:
                    return True
            time.sleep(0.005)
        return False
