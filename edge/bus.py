"""The agent's MQTT connection to the hub; MQTT itself lives in `edge.session`.

One `Bus` keeps one connection alive forever (`edge.session.keep_connected`: the shared capped,
jittered backoff), sets the retained `offline` Status as last will, publishes `online` on every
connect, subscribes the device's `cmd` topic at QoS 1 and hands each command payload to a
callback.

Errors::

    Exception
     +-- BusError            a publish did not get its PUBACK (not connected, connection lost)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from edge.session import (
    NO_DELAY,
    Endpoint,
    Params,
    Session,
    SessionError,
    keep_connected,
    parse_url,
)
from protocol.backoff import CAP_S, FIRST_S, Backoff
from protocol.device_config import BrokerConfig

log = logging.getLogger(__name__)

__all__ = ["NO_DELAY", "Bus", "BusError", "Endpoint", "parse_url"]


class BusError(Exception):
    """A message could not be handed to the broker (no connection, or it was lost)."""


@dataclass(slots=True)
class _Live:
    session: Session
    lost: asyncio.Future[None]


class Bus:
    """A self-healing MQTT connection for one device."""

    def __init__(
        self,
        broker: BrokerConfig,
        *,
        client_id: str,
        password: str | None,
        cmd_topic: str,
        status_topic: str,
        status_payload: Callable[[bool], bytes],
        on_command: Callable[[bytes], Awaitable[None]],
        backoff: tuple[float, float] = (FIRST_S, CAP_S),
    ) -> None:
        self.broker = broker
        self.endpoint = parse_url(broker.url)
        self.client_id = client_id
        self._password = password
        self._cmd_topic = cmd_topic
        self._status_topic = status_topic
        self._status_payload = status_payload
        self._on_command = on_command
        self._backoff = Backoff(*backoff)
        self._live: _Live | None = None
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._stopping = False
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Return True while a connection to the broker is up."""
        return self._live is not None

    @property
    def session(self) -> Session | None:
        """Return the live session (None while disconnected)."""
        return None if self._live is None else self._live.session

    async def wait_connected(self) -> None:
        """Wait until the broker connection is up."""
        await self._up.wait()

    async def wait_disconnected(self) -> None:
        """Wait until there is no broker connection."""
        await self._down.wait()

    def _params(self) -> Params:
        return Params(
            url=self.broker.url,
            client_id=self.client_id,
            username=self.broker.username,
            password=self._password,
            ca_file=self.broker.ca_file,
            clean_session=True,
            keepalive=self.broker.keepalive_s,
            will=(self._status_topic, self._status_payload(False)),
            max_inflight=self.broker.max_inflight,
        )

    def _lost(self, exc: Exception, failures: int, delay: float) -> None:
        level = logging.WARNING if failures == 0 else logging.INFO
        log.log(level, "broker %s unreachable or lost: %s", self.broker.url, exc)

    async def run(self) -> None:
        """Keep the connection up, reconnecting with backoff, until cancelled or told to stop."""
        await keep_connected(
            self._params, self._serve, self._backoff, self._lost, stopped=lambda: self._stopping
        )

    async def _serve(self, session: Session) -> None:
        live = _Live(session, asyncio.get_running_loop().create_future())
        await session.subscribe([(self._cmd_topic, 1)])
        self._live = live
        self.connects += 1
        self._up.set()
        self._down.clear()
        log.info("connected to %s as %s", self.broker.url, self.client_id)
        try:
            await self.publish(self._status_topic, self._status_payload(True), qos=1, retain=True)
            async for message in session.messages():
                await self._on_command(message.payload)
        except BusError as exc:
            raise SessionError(str(exc)) from exc
        finally:
            self._live = None
            self._up.clear()
            self._down.set()
            if not live.lost.done():
                live.lost.set_result(None)

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> None:
        """Publish and return once the broker has it (PUBACK for QoS 1); raise BusError if not."""
        live = self._live
        if live is None:
            raise BusError("not connected")
        sending = asyncio.create_task(
            live.session.publish(topic, payload, qos=qos, retain=retain), name=f"publish:{topic}"
        )
        try:
            await asyncio.wait({sending, live.lost}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            sending.cancel()
            raise
        if not sending.done():
            sending.cancel()
            raise BusError("connection lost before PUBACK")
        if sending.cancelled():
            raise BusError("publish cancelled")
        exc = sending.exception()
        if exc is not None:
            raise BusError(f"publish failed: {exc}") from exc

    async def close(self, final_status: bytes | None, *, within: float) -> None:
        """Publish `final_status` (retained) if connected, within `within` seconds."""
        if final_status is None or self._live is None:
            return
        try:
            async with asyncio.timeout(within):
                await self.publish(self._status_topic, final_status, qos=1, retain=True)
        except (BusError, TimeoutError) as exc:
            log.warning("could not publish the offline status: %s", exc)

    def stop_reconnecting(self) -> None:
        """Let `run()` end quietly when the connection is next lost, instead of reconnecting."""
        self._stopping = True
