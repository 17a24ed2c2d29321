"""What a bridge's normaliser decides: effects on the sink, and the `Bridge` seam itself.

Normalisers are pure: they turn (topic, payload, now) into a list of effects and never touch
the network or the sink, so they are tested without a broker; `deliver` applies the effects.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from edge.sink import EventSink
from protocol.messages import EventKind, Scalar

log = logging.getLogger(__name__)

SOURCE_MAX = 64


@dataclass(frozen=True, slots=True)
class Emit:
    """Queue an event."""

    kind: EventKind
    source: str
    data: dict[str, Scalar]


@dataclass(frozen=True, slots=True)
class Activity:
    """Note resident activity (`what`: motion, presence, door, bed)."""

    source: str
    what: str = "motion"


@dataclass(frozen=True, slots=True)
class Availability:
    """Note a sub-device going online or offline."""

    source: str
    online: bool


Effect = Emit | Activity | Availability


def source_name(ecosystem: str, name: str) -> str:
    """Return the event `source` for a bridged device, cut to the contract's 64 characters."""
    return f"{ecosystem}:{name}"[:SOURCE_MAX]


async def deliver(effects: list[Effect], sink: EventSink) -> None:
    """Apply effects to the sink in order."""
    for effect in effects:
        if isinstance(effect, Emit):
            await sink.emit(effect.kind, effect.source, effect.data)
        elif isinstance(effect, Activity):
            await sink.activity(effect.source, effect.what)
        else:
            sink.availability(effect.source, effect.online)


@dataclass
class Rejects:
    """Counts dropped input per reason and logs it (lazily, payload cut short)."""

    bridge: str
    counts: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: str, topic: str, detail: object = "") -> list[Effect]:
        """Count and log one dropped message; return no effects."""
        self.counts[reason] += 1
        log.warning("%s bridge: dropped %s on %s (%.120s)", self.bridge, reason, topic, detail)
        return []


class ExactTopics:
    """Shared part of the bridges: a fixed table of exact topics (no wildcards) and rejects."""

    rejects: Rejects
    _topics: dict[str, tuple[str, Any]]

    @property
    def counters(self) -> dict[str, int]:
        """Return dropped messages per reason."""
        return dict(self.rejects.counts)

    def filters(self) -> list[str]:
        """Return the exact topics to subscribe to."""
        return list(self._topics)

    def accepts(self, topic: str) -> bool:
        """Return True for this bridge's topics."""
        return topic in self._topics


class Bridge(Protocol):
    """One ecosystem's normaliser as the local bus drives it."""

    name: str
    rejects: Rejects

    def filters(self) -> list[str]:
        """Return the MQTT subscription filters the bridge needs."""
        ...

    def accepts(self, topic: str) -> bool:
        """Return True if the topic belongs to this bridge."""
        ...

    def handle(self, topic: str, payload: bytes, retained: bool, now: float) -> list[Effect]:
        """Normalise one message (`now` from time.monotonic())."""
        ...

    def tick(self, now: float) -> list[Effect]:
        """Return effects due to the passage of time (availability timeouts)."""
        ...
