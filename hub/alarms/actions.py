"""What the alarm engine asks the rest of the hub to do, as plain data.

The engine (`AlarmService`) decides and persists; the hub process carries actions out:
`Notify` → dispatcher (MQTT alert, webhook, Apprise), `SendCommand` → MQTT `cmd` topic,
`Transition` → InfluxDB `alarm` point and the live board.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from protocol.messages import AlarmClass, AlarmState, Command, WorkerAlert


@dataclass(frozen=True, slots=True)
class Transition:
    """An alarm moved to a new state (already committed to the store)."""

    alarm_id: str
    site: str
    grid: str | None
    cls: AlarmClass
    state: AlarmState
    ts: datetime
    raised_at: datetime
    by: str = field(default="system", metadata={"doc": "worker id, 'resident', 'system', or user"})
    outcome: str | None = None
    device: str | None = None
    false_alarms_30d: int | None = field(
        default=None, metadata={"doc": "set when resolved as false_alarm: the device's count"}
    )


@dataclass(frozen=True, slots=True)
class Notify:
    """Push `alert` to one worker (MQTT first), on `channels`.

    A page lists every channel the worker has; a state update (someone else acknowledged,
    arrived, resolved, cancelled) lists ("mqtt",) alone. None: MQTT plus whatever channels
    the dispatcher was configured with for the worker.
    """

    alarm_id: str
    site: str
    worker: str
    tier: int
    alert: WorkerAlert
    channels: tuple[str, ...] | None = None
    outbox_id: int | None = None
    """Its row in the store's outbox (set once written there, with the alarm change)."""


@dataclass(frozen=True, slots=True)
class SendCommand:
    """Publish a `cmd` to a device (indicate to the resident, siren for a building)."""

    site: str
    device: str
    command: Command
    outbox_id: int | None = None
    """Its row in the store's outbox (set once written there, with the alarm change)."""


Action = Transition | Notify | SendCommand


@dataclass(slots=True)
class Outcome:
    """Result of feeding one input to the engine."""

    actions: list[Action] = field(default_factory=list)
    duplicate: bool = False
    """True when the input was already processed (same event id): nothing was changed."""
    rejected: str | None = None
    """Reason code when the input was refused (e.g. 'unknown_device'); nothing was changed."""
