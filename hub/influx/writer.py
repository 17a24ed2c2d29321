"""Batched, retrying, spilling writer (implementation in progress)."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Self

from hub.influx.settings import InfluxSettings


class InfluxWriter:
    """Async context manager that batches line-protocol points to InfluxDB."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def submit(self, lines: Iterable[str]) -> None:
        """Queue points for writing; never blocks and never raises."""

    def stats(self) -> dict[str, int]:
        """Return counters (points written, spilled, failed batches...) for /metrics."""
        return {}
