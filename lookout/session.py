"""The watchdog's one MQTT connection: the only `lookout` module that imports aiomqtt.

Clean session, read-only: the hubs' retained status and `$SYS/broker/uptime`. A lost or
refused connection is retried forever with the shared backoff (`protocol.backoff`); each
connect and each loss is reported to the caller, which is how a dead broker is noticed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt

from protocol.backoff import Backoff

log = logging.getLogger(__name__)

BROKER_UPTIME = "$SYS/broker/uptime"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom the watchdog connects."""

    url: str
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    def client(self, keepalive: int) -> aiomqtt.Client:
        """Return a new client for this endpoint (the user name is also the client id)."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker URL {self.url!r} must look like mqtt(s)://host:port")
        tls = parts.scheme == "mqtts"
        ca = None if self.ca_file is None else str(self.ca_file)
        return aiomqtt.Client(
            parts.hostname,
            parts.port or (8883 if tls else 1883),
            username=self.username,
            password=self.password,
            identifier=self.username or "watchpost-watchdog",
            clean_session=True,
            keepalive=keepalive,
            timeout=5,
            tls_params=aiomqtt.TLSParameters(ca_certs=ca) if tls else None,
        )


OnMessage = Callable[[str, bytes, bool], None]
"""(topic, payload, retained) of one message."""


class WatchSession:
    """Keep the watchdog subscribed to `topics`, reporting connects, losses and messages."""

    def __init__(
        self,
        endpoint: Endpoint,
        topics: list[str],
        on_message: OnMessage,
        on_up: Callable[[], None],
        on_down: Callable[[], None],
        *,
        keepalive: int = 5,
        backoff: Backoff | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.topics = topics
        self.on_message = on_message
        self.on_up = on_up
        self.on_down = on_down
        self.keepalive = keepalive
        self.backoff = backoff or Backoff(first=0.5, cap=5.0)

    async def run(self) -> None:
        """Stay connected until cancelled."""
        while True:
            try:
                async with self.endpoint.client(self.keepalive) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    self.backoff.reset()
                    self.on_up()
                    log.info("watchdog connected to %s", self.endpoint.url)
                    async for message in client.messages:
                        payload = message.payload
                        raw = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
                        self.on_message(message.topic.value, raw, message.retain)
            except aiomqtt.MqttError as exc:
                self.on_down()
                delay = self.backoff.next_delay()
                log.info("watchdog: broker %s: %s; retry in %.1f s", self.endpoint.url, exc, delay)
                await asyncio.sleep(delay)
