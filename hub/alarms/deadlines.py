"""Supervision without scanning every device each tick (issue #8, "a fast engine").

`Deadlines` keeps, in memory, for each supervised device the instant after which supervision
must look at it again (`trouble.due`): a heap ordered by that instant, one live entry per device.
A supervision tick judges only the devices whose instant has passed, reading them from the
store (`trouble.supervise(keys=…)`): the store stays the truth. A due instant is a lower bound
that can only be late by what this hub does not see:

* a sign of life this hub did not take itself (routine heartbeats written by `hub.liveness`,
  another hub's inputs on a shared PostgreSQL) only moves the true instant LATER: the device is
  read when its old instant passes, and put back with the new one, no trouble raised;
* a change this hub commits that may move it EARLIER (an `offline` status, a shorter heartbeat
  interval, anything decided by the ORM rules) marks the device due at once (`touch`), or sets
  the exact new instant (the bulk path, which knows the device's row);
* what another hub commits that moves it earlier (e.g. that hub took the device's last will):
  that hub raises the trouble; this one also sees it when its sweep comes by.

The engine builds the whole index from the store at its first supervision (a full pass), and
again when the number of registered devices changes (an import) or its clock goes backwards.
Besides the devices due, each supervision also judges the next `SWEEP` devices in (site, id)
order (`cursor`), so every device is read again now and then (100,000 devices, a pass every
10 s: every 33 min) without ever holding the engine for a full pass.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

Key = tuple[str, str]
NOW = datetime.min.replace(tzinfo=UTC)
"""The instant of a device to judge at the next supervision whatever its time."""
SWEEP = 500
"""Devices judged in turn at each supervision besides those due (the sweep)."""
JUDGE = 2000
"""Devices due judged in one tick at most; the rest at the next ticks, a second apart.
100,000 devices whose heartbeats `hub.liveness` writes are read again every ~2 min each:
~8,000 a 10 s pass."""
JUDGE_STEP = 250
"""Devices due judged in one engine transaction: a tick's judging is done in steps of this many,
and an SOS waiting for the engine goes between two steps (~10 ms each on a fast machine, ~40
on a slow one) instead of waiting for the whole tick (2,000 devices: 150-600 ms on the slow one)."""


class Deadlines:
    """Per device: when supervision must look at it next; which devices are due now."""

    def __init__(self) -> None:
        self._due: dict[Key, datetime] = {}
        self._queued: dict[Key, datetime] = {}
        self._heap: list[tuple[datetime, Key]] = []
        self.devices = -1
        """Registered devices at the last rebuild (-1: never built)."""
        self.built_at: datetime | None = None
        self.cursor: Key | None = None
        """The last device the sweep judged (None: start again from the first)."""

    def __len__(self) -> int:
        return len(self._due)

    def rebuild(self, due: Mapping[Key, datetime | None], devices: int, now: datetime) -> None:
        """Start again from a full pass: `due` of every registered device."""
        self._due, self._queued, self._heap = {}, {}, []
        self.devices, self.built_at, self.cursor = devices, now, None
        self.update(due)

    def stale(self, devices: int, now: datetime) -> bool:
        # `now` before the last build: the clock went back; instants in the index are wrong.
        """Tell whether the index must be rebuilt before it is used at `now`."""
        built = self.built_at
        return built is None or devices != self.devices or now < built

    def update(self, due: Mapping[Key, datetime | None]) -> None:
        """Set the next instant of each device (None: not supervised until it is seen)."""
        for key, when in due.items():
            if when is None:
                self._due.pop(key, None)
                continue
            self._due[key] = when
            queued = self._queued.get(key)
            if queued is None or when < queued:
                heapq.heappush(self._heap, (when, key))
                self._queued[key] = when

    def touch(self, keys: Iterable[Key]) -> None:
        """Look at `keys` at the next supervision (their rows changed in a way not computed
        here)."""
        self.update(dict.fromkeys(keys, NOW))

    def take_due(self, now: datetime, limit: int | None = None) -> list[Key]:
        """Return (and unqueue) the devices whose instant is before `now`, at most `limit` of
        them (the earliest); the caller judges them and `update`s each with its next instant."""
        taken: list[Key] = []
        heap = self._heap
        while heap and heap[0][0] < now and (limit is None or len(taken) < limit):
            when, key = heapq.heappop(heap)
            if self._queued.get(key) != when:
                continue  # an older entry of a device queued again earlier
            del self._queued[key]
            current = self._due.get(key)
            if current is None:
                continue
            if current >= now:
                heapq.heappush(heap, (current, key))  # moved later meanwhile: wait
                self._queued[key] = current
                continue
            taken.append(key)
        return taken
