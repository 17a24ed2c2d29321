"""The one connection to the local broker that zigbee2mqtt, Tasmota and ESPHome publish to.

The only module of `edge.bridges` that imports aiomqtt. Messages are handed to the bridges in
arrival order on the event loop; a lost connection is retried with capped, jittered backoff.
`mqtts://` URLs use TLS verified against `ca_file` (or the system CAs); a failed handshake is
retried like any other failed connect, so the rest of the agent keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

import aiomqtt

from edge.bridges.effect import Bridge, Effect, deliver
from edge.bus import NO_DELAY, parse_url
from edge.sink import EventSink
from protocol.bridge_config import LocalBrokerConfig

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 30.0


def backoff_delay(attempt: int, cap: float = BACKOFF_CAP_S) -> float:
    """Return the wait before reconnect attempt `attempt` (0-based): doubling, capped, jittered."""
    return min(cap, BACKOFF_FIRST_S * (1 << min(attempt, 16))) * random.uniform(0.5, 1.0)


def tick_interval(timeouts: list[float]) -> float:
    """Return how often timeouts are checked: a quarter of the shortest, at most every second."""
    shortest = min(timeouts, default=4.0) / 4
    return max(0.05, min(1.0, float(shortest)))


class LocalBus:
    """Subscribe for every bridge, dispatch messages, and run the bridges' timers."""

    def __init__(
        self,
        broker: LocalBrokerConfig,
        bridges: list[Bridge],
        sink: EventSink,
        *,
        client_id: str,
        tick_s: float = 1.0,
    ) -> None:
        self.broker = broker
        self.bridges = bridges
        self.sink = sink
        self.client_id = client_id
        self.tick_s = tick_s
        self.ready = asyncio.Event()
        """Set while subscribed to every bridge's topics."""

    def _client(self) -> aiomqtt.Client:
        endpoint = parse_url(self.broker.url)
        password = None
        if self.broker.password_file:
            password = Path(self.broker.password_file).read_text(encoding="utf-8").strip()
        tls = None
        if endpoint.tls:
            # ca_file None = the system CAs. A CA file that is missing or unreadable fails in
            # the connect attempt (as MqttError), so it is retried like an unreachable broker.
            tls = aiomqtt.TLSParameters(ca_certs=self.broker.ca_file)
        return aiomqtt.Client(
            endpoint.host,
            endpoint.port,
            username=self.broker.username,
            password=password,
            identifier=self.client_id,
            clean_session=False,
            keepalive=30,
            tls_params=tls,
            # Nagle off, as on the agent's own connection: our PUBACKs (which free the broker's
            # QoS 1 in-flight window) must not wait for its delayed ACK. What the broker sends
            # us is governed by its own `set_tcp_nodelay` option.
            socket_options=NO_DELAY,
        )

    async def run(self) -> None:
        """Run the connection and the timer until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._connection(), name="bridges-local-bus")
            tg.create_task(self._timer(), name="bridges-timer")

    async def _connection(self) -> None:
        filters = [(f, 1) for bridge in self.bridges for f in bridge.filters()]
        attempt = 0
        while True:
            try:
                async with self._client() as client:
                    await client.subscribe(filters)
                    attempt = 0
                    self.ready.set()
                    log.info("bridges subscribed to %d topics on %s", len(filters), self.broker.url)
                    async for message in client.messages:
                        payload = message.payload
                        raw = payload if isinstance(payload, bytes | bytearray) else b""
                        await self.dispatch(message.topic.value, bytes(raw), message.retain)
            except (aiomqtt.MqttError, OSError) as exc:
                # OSError: an unreadable password file. The bridges wait and retry rather
                # than stop the agent, whose wired inputs must keep working.
                self.ready.clear()
                delay = backoff_delay(attempt)
                attempt += 1
                log.warning(
                    "local broker %s: %s; reconnecting in %.1f s", self.broker.url, exc, delay
                )
                await asyncio.sleep(delay)

    async def dispatch(self, topic: str, payload: bytes, retained: bool) -> None:
        """Hand one message to the bridge that owns its topic and apply the effects."""
        now = time.monotonic()
        for bridge in self.bridges:
            if not bridge.accepts(topic):
                continue
            try:
                effects = bridge.handle(topic, payload, retained, now)
            except Exception:  # one odd message must not stop every bridge
                bridge.rejects.counts["internal_error"] += 1
                log.exception("%s bridge failed on a message on %s", bridge.name, topic)
                continue
            await deliver(effects, self.sink)

    async def _timer(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            effects: list[Effect] = []
            for bridge in self.bridges:
                effects += bridge.tick(now)
            await deliver(effects, self.sink)
