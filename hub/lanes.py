"""Lanes on the alarm path (issue #8, item 1): life-safety first, before anything is parsed.

The alarm connection's reader moves every message the broker hands over into one of two lanes
as it arrives: **urgent** (an event whose raw bytes name a life-safety kind — `call`, `fall`,
`smoke`, `cancel` — and workers' replies) or **normal** (status, `test`, `activity`, other
events). The handler always takes the urgent lane first, all of it (up to `max_urgent`), and
the normal lane in small chunks (`max_normal`), so an SOS that arrives behind a backlog of
statuses and `test` events waits at most for one small chunk's transaction, not for the
backlog.

Nothing is held un-acknowledged by choice: what the lanes hold is bounded by the Receive Maximum
the alarm path announces to the broker (`hub.bus.RECEIVE_MAXIMUM`, MQTT 5: a whole backlog, not
just the broker's `max_inflight_messages` window), and every message is acknowledged as soon as
its batch is committed (docs/hub.md, "Flood control and the broker's in-flight window").
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, Protocol, TypeVar

from hub.limits import kind_hint


class Message(Protocol):
    """What the lanes need of a received message."""

    topic: str
    payload: bytes


def is_urgent(topic: str, payload: bytes) -> bool:
    """Return True for a worker's reply or an event naming a life-safety kind (raw bytes)."""
    if topic.endswith("/reply"):
        return True
    return topic.endswith("/event") and kind_hint(payload) is not None


M = TypeVar("M", bound=Message)


class Lanes(Generic[M]):
    """An urgent and a normal queue of received messages, and a wait for either."""

    def __init__(self, max_urgent: int = 1000, max_normal: int = 50) -> None:
        self.max_urgent = max_urgent
        self.max_normal = max_normal
        self.urgent: deque[M] = deque()
        self.normal: deque[M] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self.urgent) + len(self.normal)

    def put(self, message: M) -> None:
        """Queue one message in its lane."""
        lane = self.urgent if is_urgent(message.topic, message.payload) else self.normal
        lane.append(message)
        self._ready.set()

    async def take(self) -> list[M]:
        """Wait for messages; return the urgent ones first, else a chunk of normal ones."""
        while not self.urgent and not self.normal:
            self._ready.clear()
            await self._ready.wait()
        if self.urgent:
            lane, most = self.urgent, self.max_urgent
        else:
            lane, most = self.normal, self.max_normal
        return [lane.popleft() for _ in range(min(most, len(lane)))]
