"""Honest feedback: an alarm is only "received" when the hub says so.

A PUBACK means the broker has the alarm, not that anyone will act on it. `Confirmations` keeps
every resident alarm until the hub confirms it (any `indicate` but `failed`). If that has not
happened within `timing.confirm_s` (default 20 s) the device shows "failed — please phone for
help"; each unconfirmed alarm is written to the outbox again every `confirm_s` with its own
event id (the hub treats it as a duplicate and confirms it again) until the hub answers, which
clears "failed". Kept in memory: after a reboot only what is still in the outbox is retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from edge.feedback import Feedback
from edge.outbox import Outbox
from protocol.messages import EventKind

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Awaiting:
    kind: EventKind
    payload_for: Callable[[int], bytes]
    stored_at: float
    tried_at: float


class Confirmations:
    """Alarms the hub has not confirmed yet; `watch()` is the agent's confirm-watch task."""

    def __init__(
        self,
        outbox: Outbox,
        topic: str,
        feedback: Feedback,
        confirm_s: float,
        clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._topic = topic
        self._feedback = feedback
        self._limit = confirm_s
        self._clock = clock
        self._wake = wake
        self._awaiting: dict[str, _Awaiting] = {}

    def __len__(self) -> int:
        return len(self._awaiting)

    def expect(self, event_id: str, kind: EventKind, payload_for: Callable[[int], bytes]) -> None:
        """Remember an alarm just written to the outbox."""
        now = self._clock()
        self._awaiting[event_id] = _Awaiting(kind, payload_for, now, now)

    def confirmed(self) -> None:
        """The hub answered about our alarm: nothing waits for confirmation any more."""
        if self._awaiting:
            log.info("hub confirmed %d alarm(s) / 中心已确认", len(self._awaiting))
        self._awaiting.clear()

    async def watch(self) -> None:
        """Show `failed` when the hub is late; resend unconfirmed alarms every confirm_s."""
        while True:
            await asyncio.sleep(min(0.25, self._limit / 4))
            if self._awaiting:
                self._check(self._clock())

    def _check(self, now: float) -> None:
        oldest = min(a.stored_at for a in self._awaiting.values())
        if now - oldest >= self._limit and self._feedback.state != "failed":
            log.error(
                "no confirmation from the hub after %.0f s / 中心未确认，请打电话求助", self._limit
            )
            self._feedback.show("failed")
        if self._outbox.pending_events:
            return  # still on its way to the broker: the pump keeps trying
        for event_id, waiting in self._awaiting.items():
            if now - waiting.tried_at >= self._limit:
                waiting.tried_at = now
                self._outbox.add_event(self._topic, waiting.kind, waiting.payload_for)
                log.info("resending unconfirmed %s (%s)", waiting.kind, event_id)
                self._wake()
