"""What the HTTP API needs from the hub process, handed in when the app is built."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.alarms.actions import Action
from hub.alarms.service import AlarmService
from hub.metrics import HubMetrics
from hub.store import Store


@dataclass(slots=True)
class ApiContext:
    """The engine, store, metrics and health probe the routes use."""

    engine: AlarmService
    store: Store
    metrics: HubMetrics
    submit: Callable[[Sequence[Action]], Awaitable[None]]
    health: Callable[[], Awaitable[dict[str, Any]]]
    token: str | None
