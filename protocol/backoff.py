"""The one reconnect backoff of every Watchpost MQTT client: doubling, capped, jittered.

Part of the contract in the sense of docs/architecture.md ("losing a connection is normal"): after
a broker restart, thousands of devices must not reconnect in step. Attempt `n` (0-based) waits
`min(cap, first * 2**n)` scaled by a random factor in [0.5, 1].
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FIRST_S = 0.5
CAP_S = 30.0


def ceiling(attempt: int, first: float = FIRST_S, cap: float = CAP_S) -> float:
    """Return the un-jittered wait before reconnect attempt `attempt` (0-based)."""
    return min(cap, first * (1 << min(max(attempt, 0), 30)))


@dataclass(slots=True)
class Backoff:
    """Count failed attempts and say how long to wait before the next one."""

    first: float = FIRST_S
    cap: float = CAP_S
    attempt: int = 0

    def next_delay(self) -> float:
        """Return the wait before the next attempt (jittered) and count this failure."""
        delay = ceiling(self.attempt, self.first, self.cap) * random.uniform(0.5, 1.0)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from `first` (call once a connection is up)."""
        self.attempt = 0
