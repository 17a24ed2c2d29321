"""The outbox pump: publish what the outbox holds, in order, with a cap on messages in flight."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from edge.bus import Bus, BusError
from edge.outbox import Outbox, Pending

log = logging.getLogger(__name__)


class OutboxPump:
    """Move messages from the outbox to the bus; delete each one only once the broker has it."""

    def __init__(
        self, outbox: Outbox, bus: Bus, max_inflight: int, on_sent: Callable[[Pending], None]
    ) -> None:
        self.outbox = outbox
        self.bus = bus
        self.max_inflight = max_inflight
        self._on_sent = on_sent
        self._wake = asyncio.Event()
        self._sent = asyncio.Event()

    def wake(self) -> None:
        """Tell the pump that the outbox has something new."""
        self._wake.set()

    async def run(self) -> None:
        """Publish forever: wait for a connection, send a batch, wait for news or free slots."""
        slots = asyncio.Semaphore(self.max_inflight)
        inflight: set[int] = set()
        async with asyncio.TaskGroup() as tg:
            while True:
                await self.bus.wait_connected()
                self._wake.clear()
                batch = self.outbox.peek(self.max_inflight, exclude=inflight)
                if not batch:
                    await self._wake.wait()
                    continue
                for message in batch:
                    await slots.acquire()
                    if not self.bus.connected:
                        slots.release()
                        break
                    inflight.add(message.id)
                    tg.create_task(self._send(message, slots, inflight), name=f"send:{message.id}")

    async def _send(self, message: Pending, slots: asyncio.Semaphore, inflight: set[int]) -> None:
        try:
            await self.bus.publish(message.topic, message.payload, qos=message.qos)
        except BusError as exc:
            log.debug("message %d not sent, kept in the outbox: %s", message.id, exc)
        else:
            self.outbox.remove(message)
            self._sent.set()
            self._on_sent(message)
        finally:
            inflight.discard(message.id)
            slots.release()
            self._wake.set()

    async def drain(self, deadline: float) -> None:
        """Wait until the outbox holds no event, the connection drops or loop time `deadline`."""
        loop = asyncio.get_running_loop()
        while self.bus.connected and self.outbox.pending_events and loop.time() < deadline:
            self._sent.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):  # re-check the connection now and then
                    await self._sent.wait()
