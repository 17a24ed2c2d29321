"""The one connection to the local broker that zigbee2mqtt, Tasmota and ESPHome publish to.

MQTT itself lives in `edge.session` (shared with the agent's own connection). Messages are handed
to the bridges in arrival order on the event loop; a lost connection is retried with the shared
capped, jittered backoff. `mqtts://` URLs use TLS verified against `ca_file` (or the system CAs);
a failed handshake is retried like any other failed connect, so the rest of the agent keeps
working.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from edge.bridges.effect import Bridge, Effect, deliver
from edge.session import Params, Session, keep_connected
from edge.sink import EventSink
from protocol.backoff import Backoff
from protocol.bridge_config import LocalBrokerConfig

log = logging.getLogger(__name__)


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

    def _params(self) -> Params:
        password = None
        if self.broker.password_file:
            password = Path(self.broker.password_file).read_text(encoding="utf-8").strip()
        return Params(
            url=self.broker.url,
            client_id=self.client_id,
            username=self.broker.username,
            password=password,
            ca_file=self.broker.ca_file,
            clean_session=False,
            keepalive=30,
        )

    async def run(self) -> None:
        """Run the connection and the timer until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._connection(), name="bridges-local-bus")
            tg.create_task(self._timer(), name="bridges-timer")

    async def _connection(self) -> None:
        # OSError from _params (an unreadable password file) is retried too: the bridges wait
        # rather than stop the agent, whose wired inputs must keep working.
        await keep_connected(self._params, self._serve, Backoff(), self._lost)

    async def _serve(self, session: Session) -> None:
        filters = [(f, 1) for bridge in self.bridges for f in bridge.filters()]
        await session.subscribe(filters)
        self.ready.set()
        log.info("bridges subscribed to %d topics on %s", len(filters), self.broker.url)
        try:
            async for message in session.messages():
                await self.dispatch(message.topic, message.payload, message.retain)
        finally:
            self.ready.clear()

    def _lost(self, exc: Exception, failures: int, delay: float) -> None:
        log.warning("local broker %s: %s; reconnecting in %.1f s", self.broker.url, exc, delay)

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
