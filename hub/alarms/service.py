"""The engine's public face: feed it inputs, get durable decisions back as `Outcome`s."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from hub.alarms.actions import Outcome
from protocol.messages import Event, ReplyAction, Status, WorkerReply


class AlarmService(Protocol):
    """Every method commits its changes to the store before it returns (durable first)."""

    async def on_event(self, site: str, event: Event) -> Outcome:
        """Record an event (idempotent by `event.id`) and raise/update/cancel alarms."""
        ...

    async def on_events(self, items: Sequence[tuple[str, Event]]) -> list[Outcome]:
        """Record (site, event) pairs in order in one transaction, as `on_event` would each.

        One `Outcome` per item, in order; an id seen earlier in the batch is a duplicate.
        All or nothing: if it raises, none of them was committed.
        """
        ...

    async def on_inputs(self, items: Sequence[tuple[str, Event | Status]]) -> list[Outcome]:
        """Take (site, event or status) pairs in order in one transaction (group commit).

        One `Outcome` per item, in order, each exactly the one its own `on_event` or
        `on_status` would give at that point of the batch: an unknown device refused, an event
        id seen before (also earlier in the batch) a duplicate, a status older (by the
        device's clock) than the one recorded ignored, pages and commands in the outbox.
        All or nothing: if it raises, none of them was committed.
        """
        ...

    async def on_status(self, site: str, status: Status) -> Outcome:
        """Record a device's online/offline state (supervision input)."""
        ...

    async def on_reply(self, site: str, worker: str, reply: WorkerReply) -> Outcome:
        """Apply a worker's ack/decline/arrived/resolve to an alarm."""
        ...

    async def on_system(self, reason: str, count: int, detail: str = "") -> Outcome:
        """Raise or update the site-wide `trouble` alarm `reason` of every site served.

        `reason` is a trouble of the system itself, not of a device (`broker_drops`: the MQTT
        broker dropped `count` messages). One active alarm per site and reason: a further
        report adds to its count and history and pages nobody again. Unknown reason or
        `count` < 1: refused (`Outcome.rejected`).
        """
        ...

    async def act(
        self,
        alarm_id: str,
        actor: str,
        action: ReplyAction,
        outcome: str | None = None,
        note: str = "",
    ) -> Outcome:
        """Apply an action from the HTTP API (same rules as `on_reply`)."""
        ...

    async def tick(self, now: datetime) -> Outcome:
        """Fire due timers: escalation, smoke verification, arrival, supervision, inactivity."""
        ...

    async def rehearse(self) -> float | None:
        """Run an SOS's path once, rolled back, so the first real one is not slower (seconds)."""
        ...
