"""Honest feedback: an alarm is only "received" when the hub says so.

A PUBACK means the broker has the alarm, not that anyone will act on it. Every resident alarm
is also kept in the outbox file (`Outbox.unconfirmed`, written in the same transaction as the
event) until the hub confirms it (any `indicate` but `failed`). If that has not happened within
`timing.confirm_s` (default 20 s) the device shows "failed — please phone for help"; each kept
alarm is queued again, byte for byte, every `confirm_s` once the outbox has nothing left for the
broker (the hub treats it as a duplicate and confirms it again), until the hub answers, which
clears "failed". Kept alarms survive a restart: they are armed again when the agent starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from edge.feedback import Feedback
from edge.outbox import Outbox

log = logging.getLogger(__name__)


class Confirmations:
    """Timing of the kept alarms; `watch()` is the agent's confirm-watch task."""

    def __init__(
        self,
        outbox: Outbox,
        feedback: Feedback,
        confirm_s: float,
        clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        self._outbox = outbox
        self._feedback = feedback
        self._limit = confirm_s
        self._clock = clock
        self._wake = wake
        now = clock()
        # event id -> (first kept, last tried); alarms kept before a restart start over now
        self._times: dict[str, tuple[float, float]] = {
            a.event_id: (now, now) for a in outbox.unconfirmed()
        }
        if self._times:
            log.warning("%d alarm(s) not confirmed before the restart / 重启前未确认", len(self))

    def __len__(self) -> int:
        return len(self._times)

    def expect(self, event_id: str) -> None:
        """Time an alarm just kept by `Outbox.add_event(..., confirm_id=event_id)`."""
        now = self._clock()
        self._times[event_id] = (now, now)

    def confirmed(self) -> None:
        """The hub answered about our alarm: nothing waits for confirmation any more."""
        if self._times:
            log.info("hub confirmed %d alarm(s) / 中心已确认", len(self._times))
        self._times.clear()
        self._outbox.confirmed()

    async def watch(self) -> None:
        """Show `failed` when the hub is late; resend kept alarms every confirm_s."""
        while True:
            await asyncio.sleep(min(0.25, self._limit / 4))
            if self._times:
                self._check(self._clock())

    def _check(self, now: float) -> None:
        oldest = min(first for first, _ in self._times.values())
        if now - oldest >= self._limit and self._feedback.state != "failed":
            log.error(
                "no confirmation from the hub after %.0f s / 中心未确认，请打电话求助", self._limit
            )
            self._feedback.show("failed")
        if self._outbox.pending_events:
            return  # still on its way to the broker: the pump keeps trying
        for alarm in self._outbox.unconfirmed():
            first, tried = self._times.get(alarm.event_id, (now, now - self._limit))
            if now - tried >= self._limit:
                self._times[alarm.event_id] = (first, now)
                self._outbox.resend(alarm)
                log.info("resending unconfirmed %s (%s)", alarm.kind, alarm.event_id)
                self._wake()
