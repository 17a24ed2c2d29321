"""What inputs report to: the agent implements `EventSink`; drivers and bridges call it.

Keeping this seam small lets the zigbee2mqtt/Tasmota/ESPHome bridges and the GPIO drivers
feed the same durable outbox without importing the agent.
"""

from __future__ import annotations

from typing import Protocol

from protocol.messages import EventKind, Scalar


class EventSink(Protocol):
    """Receives what inputs observed; thread-safe to call from the event loop only."""

    async def emit(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> None:
        """Queue an event durably (outbox) for publication; returns once it is on disk."""
        ...

    async def activity(self, source: str, what: str = "motion") -> None:
        """Note resident activity (presence, door, motion, bed): a rate-limited `activity`
        event per sensor for the hub's check-in rule, and the telemetry's activity age."""
        ...

    def availability(self, source: str, online: bool) -> None:
        """Note a bridged sub-device going online/offline (reported in telemetry/status)."""
        ...
