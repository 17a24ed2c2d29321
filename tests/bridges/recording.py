"""A real EventSink for tests: records what bridges report, in order, and lets tests wait."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from protocol.messages import EventKind, Scalar

Record = tuple[Any, ...]


class RecordingSink:
    """Records emit/activity/availability calls as tuples."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self._changed = asyncio.Event()

    async def emit(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> None:
        """Record an event."""
        self._add(("emit", kind, source, data))

    async def activity(self, source: str, what: str = "motion") -> None:
        """Record activity."""
        self._add(("activity", source, what))

    def availability(self, source: str, online: bool) -> None:
        """Record availability."""
        self._add(("availability", source, online))

    def _add(self, record: Record) -> None:
        self.records.append(record)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[Record]], bool], within: float = 10) -> None:
        """Wait until predicate(records) holds; fail with the records after `within` s."""
        async with asyncio.timeout(within):
            while not predicate(self.records):
                self._changed.clear()
                await self._changed.wait()

    def events(self) -> list[Record]:
        """Return only the emitted events as (kind, source, data)."""
        return [r[1:] for r in self.records if r[0] == "emit"]
