"""/healthz tells the truth: a store that cannot write, a dispatcher that is stuck, an alarm path
that keeps reconnecting (HealthWatch on a real SQLite store; the bus and dispatcher figures are
the plain counters those objects expose). A store that cannot write: tests/faults/test_disk_full.py
(a real full disk)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.health import HealthWatch
from hub.metrics import HubMetrics
from hub.store import Store


@dataclass
class BusFigures:
    """What the bus exposes to health: connection flags and (re)connection counts."""

    connected: dict[Any, bool] = field(default_factory=lambda: {"alarm": True})
    reconnects: dict[Any, int] = field(default_factory=lambda: {"alarm": 1})


@dataclass
class DispatchFigures:
    """What the dispatcher exposes to health."""

    outbox_oldest_s: float = 0.0
    outbox_checked_mono: float | None = None

    def pending(self) -> int:
        return 0


class Pages:
    """Records what the direct pager was told."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.ok = 0

    def store_failed(self, detail: str) -> None:
        self.failed.append(detail)

    def store_ok(self) -> None:
        self.ok += 1


def watch(tmp_path: Path) -> tuple[HealthWatch, Store, BusFigures, DispatchFigures, Pages]:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    bus, dispatch, pages = BusFigures(), DispatchFigures(), Pages()
    health = HealthWatch("h", store, bus, dispatch, HubMetrics(), pages, stuck_after_s=30)
    return health, store, bus, dispatch, pages


async def test_healthy_hub_is_ok(tmp_path: Path) -> None:
    health, store, _, dispatch, pages = watch(tmp_path)
    dispatch.outbox_checked_mono = time.monotonic()
    await health.check()
    report = health.report("disabled")
    store.close()
    assert report["ok"] is True and report["problems"] == []
    assert pages.ok == 1 and pages.failed == []


async def test_a_stuck_dispatcher_and_a_reconnecting_alarm_path_are_problems(
    tmp_path: Path,
) -> None:
    health, store, bus, dispatch, _ = watch(tmp_path)
    dispatch.outbox_checked_mono = time.monotonic()
    dispatch.outbox_oldest_s = 45.0
    bus.reconnects["alarm"] = 6  # five reconnections since the first connection
    await health.check()
    report = health.report("disabled")
    store.close()
    assert set(report["problems"]) == {"dispatcher_stuck", "alarm_path_reconnecting"}
    assert report["alarm_path_reconnects_recent"] == 5
