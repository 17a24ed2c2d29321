"""Batched, retrying, spilling writer.

Two named tasks in one TaskGroup:

- `influx-flush` sends the in-memory buffer in batches of at most `batch_size` points, at the
  latest `flush_interval_s` after the oldest point arrived. A failing batch is retried with
  capped, jittered backoff; after `retries_before_spill` retries (or when the buffer passes
  `max_buffer_points`) it is spilled to disk. While InfluxDB is unreachable every batch is
  spilled at once, so memory stays bounded.
- `influx-backfill` sends spilled files oldest first (this is also how it finds out that
  InfluxDB is back), deleting each once written. Files from an earlier run are sent on start.

Re-sending a point is harmless: InfluxDB keeps one point per series and timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from hub.influx.errors import BatchRefusedError, InfluxUnavailableError
from hub.influx.settings import InfluxSettings
from hub.influx.spill import SpillStore
from hub.influx.transport import Transport

log = logging.getLogger(__name__)

COUNTERS = (
    "points_submitted",
    "points_written",
    "points_dropped_invalid",
    "points_spilled",
    "points_backfilled",
    "points_dropped_spill_full",
    "batches_written",
    "batches_failed",
)


class InfluxWriter:
    """Async context manager that batches line-protocol points to InfluxDB."""

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self._buffer: list[str] = []
        self._oldest = 0.0
        self._inflight: list[str] = []
        self._counts: Counter[str] = Counter(dict.fromkeys(COUNTERS, 0))
        self._wake = asyncio.Event()
        self._spilled = asyncio.Event()
        self._stop = asyncio.Event()
        self._give_up = asyncio.Event()  # stop, or too many points in memory: spill now
        self._reachable = False
        self._transport: Transport | None = None
        self._spill = SpillStore(Path(settings.spill_dir))
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._latencies: deque[float] = deque(maxlen=1000)
        self._closed = self._warned_closed = False

    @property
    def enabled(self) -> bool:
        """Return whether time series are written at all (settings.url is set)."""
        return self.settings.url is not None

    async def __aenter__(self) -> Self:
        if not self.enabled:
            log.info("InfluxDB url not set: time series are disabled")
            return self
        waiting = await asyncio.to_thread(self._spill.load)
        if waiting:
            log.info("%d spilled batches from an earlier run will be back-filled", waiting)
        self._transport = Transport(self.settings)
        try:
            async with asyncio.timeout(min(self.settings.timeout_s, 5.0)):
                await self._transport.connect()
            self._reachable = True
        except (InfluxUnavailableError, TimeoutError) as exc:
            log.warning("InfluxDB not reachable at start (%r); will keep trying", exc)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._tasks = [
            self._tg.create_task(self._guard(self._flush_loop), name="influx-flush"),
            self._tg.create_task(self._guard(self._backfill_loop), name="influx-backfill"),
        ]
        self._spilled.set()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tg is None or self._transport is None:
            return
        self._stop.set()
        self._give_up.set()
        self._wake.set()
        self._spilled.set()
        _, pending = await asyncio.wait(self._tasks, timeout=self.settings.close_timeout_s)
        for task in pending:
            task.cancel()
        await self._tg.__aexit__(None, None, None)
        self._closed = True
        leftover = self._inflight + self._buffer
        self._inflight, self._buffer = [], []
        if leftover:
            try:
                await self._spill_batch(leftover)
            except OSError:
                log.exception("InfluxDB writer: %d points lost, cannot spill", len(leftover))
        await self._transport.aclose()
        log.info("InfluxDB writer closed: %s", self.stats())

    def submit(self, lines: Iterable[str]) -> None:
        """Queue points for writing; never blocks and never raises."""
        if not self.enabled:
            return
        if self._closed:
            if not self._warned_closed:
                self._warned_closed = True
                log.warning("InfluxDB writer is closed: points submitted now are not written")
            return
        try:
            self._queue(lines)
        except Exception:  # submit() promises never to raise to the hub
            log.warning("InfluxDB writer: could not queue points", exc_info=True)

    def _queue(self, lines: Iterable[str]) -> None:
        if isinstance(lines, str):
            lines = [lines]
        was_empty = not self._buffer
        before, bad = len(self._buffer), 0
        if type(lines) is list and _all_single_lines(lines):
            self._buffer += lines  # the common case, checked at C speed (the telemetry lane)
            lines = ()
        try:
            for line in lines:
                if isinstance(line, str) and line and "\n" not in line and "\r" not in line:
                    self._buffer.append(line)
                else:
                    bad += 1
        finally:
            self._counts["points_submitted"] += len(self._buffer) - before + bad
            self._counts["points_dropped_invalid"] += bad
        if bad:
            log.warning("InfluxDB writer: dropped %d empty or multi-line points", bad)
        if was_empty and self._buffer:
            self._oldest = time.monotonic()
            self._wake.set()
        if len(self._buffer) >= self.settings.batch_size:
            self._wake.set()
        if len(self._buffer) > self.settings.max_buffer_points:
            self._give_up.set()

    def stats(self) -> dict[str, int | str]:
        """Return counters (points written, spilled, failed batches...) for /metrics."""
        out: dict[str, int | str] = dict(self._counts)
        out["buffer_size"] = len(self._buffer) + len(self._inflight)
        out["spill_files"] = len(self._spill)
        out["spill_bytes"] = self._spill.size_bytes
        out["server_version"] = self._transport.version if self._transport else "disabled"
        out["reachable"] = int(self._reachable)
        return out

    async def _guard(self, loop: Callable[[], Awaitable[None]]) -> None:
        """Run a loop; a bug in it is logged and the loop restarted, never the hub stopped."""
        while True:
            try:
                await loop()
            except Exception:
                log.exception("InfluxDB writer: %s failed; restarting it", loop.__name__)
                await self._pause(1.0)
            else:
                return

    async def _pause(self, seconds: float, until: asyncio.Event | None = None) -> None:
        """Sleep, but wake up at once when the writer is closing (or `until` is set)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await (until or self._stop).wait()

    def _backoff(self, attempt: int) -> float:
        cap = min(self.settings.backoff_max_s, self.settings.backoff_initial_s * 2**attempt)
        return random.uniform(cap / 2, cap)

    async def _wait_for_batch(self) -> None:
        while not self._stop.is_set() and len(self._buffer) < self.settings.batch_size:
            timeout = None
            if self._buffer:
                timeout = self._oldest + self.settings.flush_interval_s - time.monotonic()
                if timeout <= 0:
                    return
            self._wake.clear()
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                return

    async def _flush_loop(self) -> None:
        if self._inflight:  # restarted by _guard after a bug: send that batch again
            self._buffer[:0], self._inflight = self._inflight, []
        while True:
            await self._wait_for_batch()
            if not self._buffer:
                if self._stop.is_set():
                    return
                continue
            size = self.settings.batch_size
            self._inflight, self._buffer = self._buffer[:size], self._buffer[size:]
            if self._buffer:
                self._oldest = time.monotonic()
            await self._deliver(self._inflight)
            self._inflight = []

    async def _deliver(self, batch: list[str]) -> None:
        attempt = 0
        while self._reachable:
            try:
                await self._send(batch)
            except InfluxUnavailableError as exc:
                self._counts["batches_failed"] += 1
                attempt += 1
                log.warning("InfluxDB write failed (try %d): %s", attempt, exc)
                if attempt > self.settings.retries_before_spill or self._overfull():
                    self._reachable = False
                elif self._stop.is_set():
                    break
                else:
                    await self._pause(self._backoff(attempt), until=self._give_up)
                    if self._overfull():
                        self._reachable = False
            else:
                return
        await self._spill_batch(batch)

    def _overfull(self) -> bool:
        if len(self._buffer) > self.settings.max_buffer_points:
            return True
        if not self._stop.is_set():
            self._give_up.clear()
        return False

    async def _spill_batch(self, batch: list[str]) -> None:
        limit = int(self.settings.max_spill_mb * 1024 * 1024)
        evicted = await asyncio.to_thread(self._spill.append, batch, limit)
        self._counts["points_spilled"] += len(batch)
        self._spilled.set()
        if evicted:
            self._counts["points_dropped_spill_full"] += evicted
            log.warning(
                "InfluxDB spill over %.0f MB: deleted the oldest %d points",
                self.settings.max_spill_mb,
                evicted,
            )

    def batch_latencies(self) -> list[float]:
        """Return how long (s) the latest successful batch writes took, oldest first."""
        return list(self._latencies)

    async def _send(self, batch: list[str]) -> None:
        """Write a batch, splitting it when the server refuses it whole; count the outcome."""
        started = time.monotonic()
        written, dropped, reason = await self._send_split(batch)
        self._latencies.append(time.monotonic() - started)
        self._counts["batches_written"] += 1
        self._counts["points_written"] += written
        self._counts["points_dropped_invalid"] += dropped
        if dropped:
            log.warning("InfluxDB dropped %d of %d points: %.300s", dropped, len(batch), reason)

    async def _send_split(self, batch: list[str]) -> tuple[int, int, str]:
        assert self._transport is not None
        try:
            result = await self._transport.write(batch)
        except BatchRefusedError as exc:
            if len(batch) == 1:
                return 0, 1, f"{exc}: {batch[0][:200]}"
            mid = len(batch) // 2
            w1, d1, r1 = await self._send_split(batch[:mid])
            w2, d2, r2 = await self._send_split(batch[mid:])
            return w1 + w2, d1 + d2, r1 or r2
        return len(batch) - result.dropped, result.dropped, result.reason

    async def _backfill_loop(self) -> None:
        attempt = 0
        span: tuple[int, int] | None = None  # time range back-filled since the backlog began
        while not self._stop.is_set():
            path = self._spill.oldest()
            if path is None:
                if span is not None:
                    await self._rollup(*span)
                    span = None
                self._spilled.clear()
                if not self._stop.is_set():
                    await self._spilled.wait()
                continue
            batch = await asyncio.to_thread(self._spill.read, path, claim=True)
            if not batch:  # evicted (spill full) or empty: nothing to send
                await asyncio.to_thread(self._spill.remove, path)
                continue
            try:
                await self._send(batch)
            except InfluxUnavailableError as exc:
                self._reachable = False
                attempt += 1
                log.info("InfluxDB still unreachable (%s); %d files wait", exc, len(self._spill))
                await self._pause(self._backoff(attempt))
                continue
            attempt = 0
            if not self._reachable:
                log.info("InfluxDB reachable again; back-filling %d files", len(self._spill))
            self._reachable = True
            self._counts["points_backfilled"] += len(batch)
            span = widen(span, batch)
            await asyncio.to_thread(self._spill.remove, path)

    async def _rollup(self, start_ms: int, end_ms: int) -> None:
        """Roll up back-filled points the continuous queries saw too late (1.x only)."""
        assert self._transport is not None
        try:
            await self._transport.rollup(start_ms, end_ms)
        except InfluxUnavailableError as exc:
            log.warning("InfluxDB: could not roll up back-filled points: %s", exc)


def widen(span: tuple[int, int] | None, batch: list[str]) -> tuple[int, int] | None:
    """Return span widened to the timestamps (ms) of a batch; lines without one are skipped."""
    stamps = []
    for line in batch:
        with contextlib.suppress(ValueError, IndexError):
            stamps.append(int(line.rsplit(" ", 1)[1]))
    if not stamps:
        return span
    lo, hi = min(stamps), max(stamps)
    return (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))


def _all_single_lines(lines: list[str]) -> bool:
    """Return whether every item is a non-empty str without CR or LF, at C speed: joined by LF,
    such a list has exactly one LF between neighbours, none doubled and none at either end."""
    try:
        text = "\n".join(lines)
    except TypeError:  # not all str: the per-line check sorts them out
        return False
    return (
        bool(text)
        and "\r" not in text
        and text.count("\n") == len(lines) - 1
        and "\n\n" not in text
        and text[0] != "\n"
        and text[-1] != "\n"
    )
